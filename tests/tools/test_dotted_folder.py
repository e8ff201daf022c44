"""The project works from a folder whose path holds a dot (issue 9 item 11): brownie imported
scripts by a dotted module name built from the folder's path (`tmp.tmp...`), and
tools/chain.sh hid the error behind "deployment failed"."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from networks import delete_network
from support.chain import ROOT, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def dotted_copy() -> Iterator[Path]:
    """The project's files (tracked and new, as in this checkout) in /tmp/tmp.XXXX/clone, with
    this checkout's toolchain (virtualenvs, node_modules) and compiled build linked or copied."""
    parent = Path(tempfile.mkdtemp(prefix="tmp.", dir="/tmp"))
    clone = parent / "clone"
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    for name in (".venv", "node_modules", ".toolchain"):
        (clone / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "build", clone / "build", ignore=shutil.ignore_patterns("deployments"))
    yield clone
    shutil.rmtree(parent, ignore_errors=True)


def _chain(clone: Path, data: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    port = free_port()
    env = {**os.environ, "LEDGER_DATA_DIR": str(data), "LEDGER_CHAIN_PORT": str(port), **extra}
    env.pop("LEDGER_MANIFEST", None)
    try:
        return subprocess.run(
            ["bash", "tools/chain.sh"],
            check=False,
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    finally:
        delete_network(f"alliance-local-{port}")


def _stop_chain(data: Path) -> None:
    pid_file = data / "chain.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def test_chain_sh_deploys_from_a_folder_whose_path_holds_a_dot(dotted_copy: Path) -> None:
    assert "." in str(dotted_copy.parent.name)
    data = dotted_copy / "data"
    try:
        result = _chain(dotted_copy, data)
        assert result.returncode == 0, result.stderr
        assert (data / "deployment.json").stat().st_size > 0
        assert "No module named" not in result.stderr
        assert "deploy: AllianceLedger at 0x" in result.stderr
    finally:
        _stop_chain(data)


def test_a_failed_deploy_shows_its_real_error(dotted_copy: Path) -> None:
    data = dotted_copy / "data"
    try:
        result = _chain(dotted_copy, data, LEDGER_SETTLEMENT_UNITS_PER_USD="lots")
        assert result.returncode != 0
        assert "deploy the contracts (or find them deployed) failed" in result.stderr
        # the script's own error (since 2026-12-06 said before anything is deployed; it was a
        # ValueError's traceback)
        assert "LEDGER_SETTLEMENT_UNITS_PER_USD is the settlement token's units" in result.stderr
        assert "not 'lots'; nothing deployed" in result.stderr
    finally:
        _stop_chain(data)
