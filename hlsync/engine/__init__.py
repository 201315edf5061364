"""The pipeline over the kinds: read the target, plan, apply (each loops over KINDS)."""
