"""The process's one TLS context: :func:`tls_context`.

httpx builds a new :class:`ssl.SSLContext` for every client and transport made without
one, reading and parsing the whole CA bundle each time (~17 ms of CPU). A run makes
several (its connection pools, the clock check, ``verify``'s probes), and most talk
plain HTTP to an emulator and never use it. Every client hlsync makes passes this one,
built on first use; a context is safe to share between clients and connections.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx

__all__ = ["tls_context"]


@cache
def tls_context() -> ssl.SSLContext:
    """The context httpx would build (its CA bundle, ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` honoured), made once per process."""
    return httpx.create_ssl_context()
