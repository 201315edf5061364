"""Which HTTP/1.1 implementation ``hlsync emulator serve`` gives uvicorn."""

from __future__ import annotations

import importlib.util
import platform

import pytest

from hlsync.emulator import server


def test_httptools_where_installed_h11_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if platform.python_implementation() == "CPython":  # a dependency there
        assert server.http_protocol() == "httptools"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert server.http_protocol() == "h11"
