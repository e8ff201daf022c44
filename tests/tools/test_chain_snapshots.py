"""The embedded chain's state survives kills (tools/chain_supervisor.py, issue 9 item 2).

anvil's own `--state` file was written in place: a SIGKILL during the write cut it and anvil
refused to start. Now snapshots are written atomically and the newest readable one is loaded.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.chain import ANVIL, ROOT, free_port
from support.progress import files_progress, wait_for
from web3 import Web3
from web3.providers.rpc import HTTPProvider

SUPERVISOR = ROOT / "tools" / "chain_supervisor.py"


class Chain:
    """tools/chain_supervisor.py (and its anvil) on a free port with a data folder."""

    def __init__(self, data: Path, interval: float = 0.3, home: Path | None = None) -> None:
        self.data = data
        self.home = home  # anvil's HOME (where it would keep old blocks' state)
        self.port = free_port()
        self.interval = interval
        self.log = data / "chain.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def snapshots(self) -> Path:
        return self.data / "chain-state"

    def start(self) -> Chain:
        self.data.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(SUPERVISOR),
                    "--data",
                    str(self.data),
                    "--port",
                    str(self.port),
                    "--interval",
                    str(self.interval),
                    "--keep",
                    "3",
                    "--anvil",
                    str(ANVIL),
                    "--",
                    "--silent",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **({"HOME": str(self.home)} if self.home else {})},
            )
        process = self.process
        wait_for(
            self.answers,
            what="the chain",
            alive=lambda: process.poll() is None,
            progress=files_progress(self.log, self.data / "anvil.log"),
        )
        return self

    def answers(self) -> bool:
        try:
            self.rpc("eth_chainId")
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return True

    def rpc(self, method: str, *params: Any) -> Any:
        w3 = Web3(HTTPProvider(f"http://127.0.0.1:{self.port}", request_kwargs={"timeout": 60}))
        answer = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def block(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def anvil_pid(self) -> int | None:
        assert self.process is not None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.process.pid:
                return int(entry.name)
        return None

    def kill_all(self) -> None:
        """SIGKILL of the supervisor and anvil at once (a crash of the machine's processes)."""
        assert self.process is not None
        anvil = self.anvil_pid()
        self.process.send_signal(signal.SIGKILL)
        if anvil is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(anvil, signal.SIGKILL)
        self.process.wait()
        wait_for(lambda: not _port_open(self.port), what="the port freed", cap_s=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        anvil = self.anvil_pid() if self.process else None
        if anvil is not None:
            os.kill(anvil, signal.SIGKILL)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def completed(folder: Path) -> list[Path]:
    """The completed snapshot files, newest first."""
    return sorted(folder.glob("snapshot-*.json.gz"), reverse=True)


def _sequence(path: Path) -> int:
    return int(path.name.split("-")[1].split(".")[0])


def snapshot_block(path: Path) -> int:
    state = json.loads(gzip.decompress(path.read_bytes()))
    return (
        int(state["best_block_number"], 0)
        if isinstance(state["best_block_number"], str)
        else int(state["best_block_number"])
    )


def inflate(chain: Chain, accounts: int = 150) -> None:
    """Code at many addresses (incompressible), so that a snapshot takes a while to write."""
    rng = random.Random(7)
    for i in range(accounts):
        code = "0x" + rng.randbytes(20_000).hex()
        chain.rpc("anvil_setCode", "0x" + f"{i + 1:040x}", code)


@pytest.fixture
def chain(tmp_path: Path) -> Any:
    running = Chain(tmp_path / "data")
    yield running
    running.stop()


def test_random_kills_always_restart_from_the_newest_completed_snapshot(chain: Chain) -> None:
    chain.start()
    inflate(chain)
    # a snapshot begun after the inflation ended (the one being written may have begun before)
    seen = _sequence(completed(chain.snapshots)[0]) if completed(chain.snapshots) else 0
    wait_for(
        lambda: completed(chain.snapshots) and _sequence(completed(chain.snapshots)[0]) >= seen + 2,
        what="a snapshot of the inflated state",
    )
    rng = random.Random(2026)
    during_write = 0
    for round_ in range(14):
        for _ in range(rng.randint(1, 5)):
            chain.rpc("evm_mine")
        wait_for(lambda: completed(chain.snapshots), what="a first snapshot")
        if round_ % 2 == 0:
            # kill while a snapshot is being written (its temporary file exists)
            wait_for(
                lambda: list(chain.snapshots.glob(".snapshot-*.tmp")),
                what="a snapshot being written",
                poll_s=0.001,
            )
        else:
            time.sleep(rng.uniform(0, 1.0))
        writing = bool(list(chain.snapshots.glob(".snapshot-*.tmp")))
        if round_ % 3 == 1:
            # anvil alone (in the middle of anvil_dumpState or not): the supervisor restarts it
            old = chain.anvil_pid()
            assert old is not None
            floor = snapshot_block(completed(chain.snapshots)[0])
            os.kill(old, signal.SIGKILL)
            wait_for(
                lambda old=old: chain.anvil_pid() not in (None, old) and chain.answers(),
                what="anvil started again by its supervisor",
                alive=lambda: chain.process is not None and chain.process.poll() is None,
                progress=files_progress(chain.log),
            )
            newest = completed(chain.snapshots)[0]
        else:
            chain.kill_all()
            during_write += writing
            newest = completed(chain.snapshots)[0]
            floor = snapshot_block(newest)
            chain.start()
        assert chain.block() >= floor, (round_, newest.name, chain.block(), floor)
        # the inflated state came back too
        assert len(chain.rpc("eth_getCode", "0x" + f"{150:040x}", "latest")) > 40_000
    assert during_write >= 2, "the kills did not hit snapshots in writing"
    assert len(completed(chain.snapshots)) <= 3


def test_a_cut_snapshot_is_skipped_with_a_message_and_the_previous_one_loaded(
    chain: Chain,
) -> None:
    chain.start()
    for _ in range(3):
        chain.rpc("evm_mine")
    wait_for(lambda: len(completed(chain.snapshots)) >= 2, what="two snapshots")
    chain.stop()
    newest, previous = completed(chain.snapshots)[:2]
    floor = snapshot_block(previous)
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])  # what a kill mid-write did to anvil's own file

    chain.start()
    assert chain.block() >= floor
    log = chain.log.read_text()
    assert f"skipping unreadable snapshot {newest}" in log, log
    assert f"loading state from {previous}" in log, log


def test_sigterm_saves_the_state_it_has_at_that_moment(chain: Chain) -> None:
    chain.interval = 3600  # no interval snapshot: only the one at the stop
    chain.start()
    for _ in range(7):
        chain.rpc("evm_mine")
    height = chain.block()
    assert (chain.data / "anvil.pid").exists()
    chain.stop()
    assert chain.process is not None and chain.process.returncode == 0
    assert snapshot_block(completed(chain.snapshots)[0]) == height
    assert not (chain.data / "anvil.pid").exists(), "a stale pid left after a clean stop"
    chain.start()
    assert chain.block() >= height


def test_a_killed_chain_leaves_no_old_state_on_disk(tmp_path: Path) -> None:
    """anvil kept each older block's state under ~/.foundry/anvil/tmp, and a killed anvil left
    it there: 73 GB after a few days of benches (100 ms blocks) and test runs."""
    home = tmp_path / "home"
    home.mkdir()
    chain = Chain(tmp_path / "data", interval=3600, home=home).start()
    try:
        inflate(chain, accounts=20)
        for _ in range(3):
            chain.rpc("anvil_mine", hex(300))
        assert chain.block() >= 900
    finally:
        chain.kill_all()
    left = [p for p in (home / ".foundry").rglob("*") if p.is_file()]
    assert not left, f"{len(left)} files of old state left, e.g. {left[:3]}"


def test_a_clock_moved_forward_stays_forward_across_a_restart(chain: Chain) -> None:
    """A trial: a chain moved two days ahead (`evm_increaseTime`, as for a quarter's review)
    stamped its first block after a restart with this machine's time, two days back (the
    README said the snapshots keep a clock moved forward). The supervisor sets anvil's time
    to the newest loaded block's when that is ahead."""
    chain.interval = 3600  # only the snapshot at the stop
    chain.start()
    chain.rpc("evm_increaseTime", 2 * 86_400)
    chain.rpc("evm_mine")
    ahead = int(chain.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    chain.stop()
    chain.start()
    wait_for(
        lambda: "clock is" in chain.log.read_text() or "could not keep" in chain.log.read_text(),
        what="the supervisor's word on the clock",
    )
    assert "ahead of this machine's: kept" in chain.log.read_text(), chain.log.read_text()
    chain.rpc("evm_mine")
    after = int(chain.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    assert after >= ahead, (after, ahead)
