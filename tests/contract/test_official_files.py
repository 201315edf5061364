"""Where the official files are missing, contract tests skip, or fail under CI=true."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.conftest import require_official_files
from tests.contract.openapi import OPENAPI


def test_present_folder_passes() -> None:
    require_official_files(OPENAPI, ci=True)


def test_missing_folder_skips_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(
        pytest.skip.Exception, match="official OpenAPI files are not at"
    ):
        require_official_files(tmp_path, ci=False)


def test_missing_folder_fails_under_ci(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        require_official_files(tmp_path, ci=True)
