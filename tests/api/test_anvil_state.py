"""The suites' chain (`support.chain.start_anvil`) keeps no old state on disk: by default
anvil writes each older block's state under ~/.foundry/anvil/tmp, and a killed anvil left it
there (73 GB on the development machine after a few days of test runs and benches)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from support.chain import start_anvil
from support.progress import process_alive, wait_for


def test_a_killed_test_chain_leaves_no_old_state_on_disk(tmp_path: Path) -> None:
    node = start_anvil(env={"HOME": str(tmp_path)})
    try:
        for _ in range(3):
            node.rpc("anvil_mine", hex(300))
        assert node.web3().eth.block_number >= 900
    finally:
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()
    left = [p for p in (tmp_path / ".foundry").rglob("*") if p.is_file()]
    assert not left, f"{len(left)} files of old state left, e.g. {left[:3]}"


def test_reads_at_latest_while_blocks_land_find_their_state() -> None:
    """With no state kept but the newest (`--prune-history` alone), an `eth_call` at
    "latest" failed when a block landed while it ran ("block height is 65 but requested was
    64"): gifts and auction closes answered 503 in the suites."""
    node = start_anvil()
    mining = threading.Event()

    def mine() -> None:
        while not mining.is_set():
            node.rpc("evm_mine")

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        call = {"to": "0x" + "00" * 19 + "01", "data": "0x"}
        for _ in range(500):
            node.rpc("eth_call", call, "latest")
    finally:
        mining.set()
        miner.join(timeout=30)
        node.stop()


def test_a_chain_no_fixture_stopped_ends_with_the_test_process(tmp_path: Path) -> None:
    """A fixture that failed between `start_anvil` and its `yield` never ran its `stop`: a
    session whose contracts' build was missing left 10 anvils running after it ended.
    `support.chain` stops what is left when the test process exits."""
    script = tmp_path / "leave_a_chain.py"
    script.write_text(
        "from support.chain import start_anvil\n"
        "node = start_anvil()\n"
        "print(node.process.pid, flush=True)\n"
        "raise SystemExit(1)  # as a failed fixture: no stop\n"
    )
    support = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(support), str(support.parents[1])])}
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    pid = int(run.stdout.split()[0])
    try:
        gone = wait_for(lambda: not process_alive(pid), what="the left chain to end", idle_s=30)
    finally:
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert gone
