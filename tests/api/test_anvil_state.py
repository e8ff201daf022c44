"""The suites' chain (`support.chain.start_anvil`) keeps no old state on disk: by default
anvil writes each older block's state under ~/.foundry/anvil/tmp, and a killed anvil left it
there (73 GB on the development machine after a few days of test runs and benches)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from support.chain import start_anvil


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
