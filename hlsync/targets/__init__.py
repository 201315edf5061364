"""Targets (sandbox, url, live cloud), how to reach them, and Private Integration drivers."""
