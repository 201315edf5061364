"""One module per resource kind behind one protocol (``base``); ``registry.KINDS``."""
