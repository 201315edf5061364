from __future__ import annotations

import json
from pathlib import Path

import pytest

from hlsync.core import catalog_build
from hlsync.core.catalog import load_catalog
from tests.conftest import SHARED, require_shared, under_ci

SOURCE = SHARED / "reference" / "scopes.json"


def test_catalog_has_every_scope_of_the_reference() -> None:
    assert len(load_catalog()) == 91


def require_source(source: Path, ci: bool) -> None:
    """The reference scopes file, or a skip (a failure under CI=true)."""
    require_shared(source, f"the reference scopes file is not at {source}", ci)


def test_committed_catalog_is_current() -> None:
    require_source(SOURCE, under_ci())
    expected = catalog_build.render(SOURCE)
    assert catalog_build.OUT.read_text(encoding="utf-8") == expected, (
        "run: python -m hlsync.core.catalog_build"
    )
    assert len(json.loads(expected)["scopes"]) == len(json.loads(SOURCE.read_text()))


def test_suggestions_for_a_misspelt_scope() -> None:
    assert load_catalog().suggest("contacts.raedonly")[0] == "contacts.readonly"


def test_access_levels() -> None:
    cat = load_catalog()
    contacts = cat.get("contacts.write")
    locations_write = cat.get("locations.write")
    assert contacts is not None and locations_write is not None
    assert contacts.access == ("sub-account",)
    assert locations_write.access == ("agency",)
    agency = {s.name for s in cat.select(level="agency")}
    assert "locations.write" in agency and "contacts.write" not in agency


def test_select_by_prefix_and_glob() -> None:
    cat = load_catalog()
    names = [s.name for s in cat.select(pattern="contacts")]
    assert names == ["contacts.readonly", "contacts.write"]
    assert [s.name for s in cat.select(pattern="locations/*.write")] == [
        "locations/customFields.write",
        "locations/customValues.write",
        "locations/tags.write",
    ]


def test_a_missing_reference_skips_or_fails_under_ci(tmp_path: Path) -> None:
    missing = tmp_path / "scopes.json"
    with pytest.raises(pytest.skip.Exception, match="reference scopes file is not at"):
        require_source(missing, ci=False)
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        require_source(missing, ci=True)
