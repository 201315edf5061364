from __future__ import annotations

import pytest

from hlsync.cli import main


def test_list_agency_scopes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scopes", "--level", "agency"]) == 0
    out = capsys.readouterr().out
    assert "locations.write" in out
    assert "contacts.write" not in out


def test_show_one_scope_lists_endpoints_and_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scopes", "contacts.readonly"]) == 0
    out = capsys.readouterr().out
    assert "GET /contacts/:contactId" in out
    assert "ContactCreate" in out


def test_unknown_scope_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scopes", "contacts.raedonly"]) == 1
    err = capsys.readouterr().err
    assert "unknown scope 'contacts.raedonly'" in err
    assert "did you mean contacts.readonly" in err
    assert "Traceback" not in err


def test_bad_flag_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scopes", "--level", "galaxy"]) == 1
    assert "invalid choice" in capsys.readouterr().err
