"""``hlsync init``: settings, the config text, the CI kit (templates/), and the writer."""
