"""`tools/compile.sh` compiles every contract again when any source changed: brownie's own
incremental build kept `build/contracts/AllianceLedger.json` as it was after an edit of
`contracts/types/PendingWord.sol` alone (the ledger uses it through a user-defined value type
and its library), so `make gas`, `make run` and the contract tests ran the old ledger (a
helper's finding, 2026-12-06)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.chain import ROOT

pytestmark = pytest.mark.slow

MAX_ORDERS = "uint256 internal constant MAX_ORDERS = 63;"


def _project(tmp_path: Path) -> Path:
    """A copy of the project's contracts and build, beside links to its toolchain."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("contracts", "tools"):
        shutil.copytree(ROOT / name, copy / name, symlinks=True)
    shutil.copy(ROOT / "brownie-config.yaml", copy / "brownie-config.yaml")
    for name in (".venv", "node_modules", ".toolchain"):
        (copy / name).symlink_to(ROOT / name)
    for folder in ("tests/contracts", "scripts", "reports"):  # brownie's project structure
        (copy / folder).mkdir(parents=True)
    (copy / "build").mkdir()
    shutil.copytree(ROOT / "build" / "contracts", copy / "build" / "contracts")
    shutil.copytree(ROOT / "build" / "interfaces", copy / "build" / "interfaces")
    return copy


def _compile(project: Path) -> None:
    run = subprocess.run(
        ["bash", "tools/compile.sh"], cwd=project, capture_output=True, text=True, timeout=1800
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def _ledger_code(project: Path) -> str:
    built = json.loads((project / "build/contracts/AllianceLedger.json").read_text())
    return str(built["deployedBytecode"])


def test_an_edit_of_a_type_file_alone_recompiles_the_ledger_that_uses_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _compile(project)  # the suite's build, recompiled here once: the stamp of these sources
    before = _ledger_code(project)
    pending = project / "contracts/types/PendingWord.sol"
    source = pending.read_text()
    assert MAX_ORDERS in source
    pending.write_text(source.replace(MAX_ORDERS, MAX_ORDERS.replace("63", "62")))

    _compile(project)

    assert _ledger_code(project) != before, "AllianceLedger.json kept the old PendingWord"
