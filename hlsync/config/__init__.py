"""Config loading: YAML/CSV files -> a validated ``DesiredState`` (no network)."""
