"""Tokens: custody of new tokens, the journal, rotation decisions and the sinks."""
