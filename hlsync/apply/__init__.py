"""Executing a plan: the applier and the writers that make each change's calls."""
