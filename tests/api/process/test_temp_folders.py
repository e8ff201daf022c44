"""`ledger serve` leaves no temporary folder behind: its metrics, wake-up and `ledger work`
status folders go when it stops cleanly (SIGTERM, SIGINT), its sender process's with them."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.gateway import GatewayProcess
from support.progress import process_alive, wait_for

pytestmark = pytest.mark.slow


def _work_process(parent: int) -> int:
    """The pid of `ledger work`, a child of `parent`."""
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and "ledger_api.cli work" in cmdline:
            return int(entry.name)
    raise AssertionError(f"no ledger work under {parent}")


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if "ledger" in p.name)


@pytest.fixture
def temp() -> Iterator[Path]:
    """A fresh TMPDIR for the gateway, with a short path: a wake-up socket's path must stay
    within AF_UNIX's 108 bytes (pytest's tmp_path is too long for it)."""
    folder = Path(tempfile.mkdtemp(prefix="lt-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
@pytest.mark.parametrize("sender_process", [True, False], ids=["work", "alone"])
def test_a_clean_stop_removes_every_temporary_folder(
    env: dict[str, str],
    tmp_path: Path,
    temp: Path,
    stop_signal: signal.Signals,
    sender_process: bool,
) -> None:
    gateway = GatewayProcess(
        {**env, "TMPDIR": str(temp), "LEDGER_SENDER_PROCESS": str(sender_process).lower()},
        tmp_path / "gateway.log",
    ).start()
    process = gateway.process
    assert process is not None
    try:
        # healthy: the HTTP server answers, the sender sends and the indexer indexes (with
        # LEDGER_SENDER_PROCESS, as `ledger work` reports it)
        wait_for(
            lambda: (gateway.health() or {}).get("status") == "ok",
            what="the gateway's health ok",
            alive=lambda: process.poll() is None,
            progress=gateway.progress,
            poll_s=0.2,
        )
        worker = _work_process(process.pid) if sender_process else None
        made = _leftovers(temp)
        assert made, "the gateway made no temporary folder in TMPDIR: the test tests nothing"
        process.send_signal(stop_signal)
        try:
            process.wait(120)  # a cap, not a pace: the stop takes a few seconds
        except subprocess.TimeoutExpired:
            pytest.fail(f"ledger serve did not stop on {stop_signal.name}")
    finally:
        gateway.stop()
    if worker is not None:
        wait_for(lambda: not process_alive(worker), what="ledger work's exit", poll_s=0.1)
    log = (tmp_path / "gateway.log").read_text()[-3000:]
    assert _leftovers(temp) == [], f"made {made}; log: {log}"


def test_a_gateway_removes_the_folders_a_killed_one_left_and_keeps_a_live_ones(
    env: dict[str, str], tmp_path: Path, temp: Path
) -> None:
    def start(name: str) -> GatewayProcess:
        return GatewayProcess(
            {
                **env,
                "TMPDIR": str(temp),
                "LEDGER_SENDER_PROCESS": "true",
                "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
            },
            tmp_path / f"{name}.log",
        ).start()

    live = start("live")
    try:
        (live_folder,) = _leftovers(temp)
        killed = start("killed")
        try:
            assert killed.process is not None
            worker = _work_process(killed.process.pid)
            (killed_folder,) = set(_leftovers(temp)) - {live_folder}
            killed.kill()  # SIGKILL: no clean-up; its `ledger work` follows it (PDEATHSIG)
            wait_for(
                lambda: not process_alive(worker), what="the killed gateway's ledger work exit"
            )
        finally:
            killed.stop()
        assert killed_folder in _leftovers(temp)
        third = start("third")
        try:
            after = _leftovers(temp)
        finally:
            third.stop()
    finally:
        live.stop()
    assert live_folder in after and killed_folder not in after, (live_folder, killed_folder, after)
    assert len(after) == 2, after  # the live one's and the third's
    assert _leftovers(temp) == []
