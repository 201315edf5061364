"""hlsync: declarative config-as-code for HighLevel accounts."""

__version__ = "0.1.0"
