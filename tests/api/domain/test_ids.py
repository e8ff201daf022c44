"""The two brand ids are distinct types: passing one where the other is expected is a mypy
error (domain/ids.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SNIPPET = """
from ledger_api.domain.ids import BrandRowId, LedgerBrandId

def on_chain(brand: LedgerBrandId) -> int:
    return brand

def in_database(brand: BrandRowId) -> int:
    return brand

on_chain(LedgerBrandId(7))
in_database(BrandRowId(3))
{mixed}
"""


def mypy(tmp_path: Path, mixed: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "ids_usage.py"
    source.write_text(SNIPPET.format(mixed=mixed))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_row_id_where_the_ledger_id_is_expected_is_a_type_error(tmp_path: Path) -> None:
    result = mypy(tmp_path, "on_chain(BrandRowId(3))")
    assert result.returncode == 1, result.stdout
    assert 'incompatible type "BrandRowId"; expected "LedgerBrandId"' in result.stdout


def test_the_same_calls_with_the_right_ids_type_check(tmp_path: Path) -> None:
    result = mypy(tmp_path, "")
    assert result.returncode == 0, result.stdout
