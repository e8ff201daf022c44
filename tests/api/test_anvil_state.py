"""The suites' chain (`support.chain.start_anvil`) keeps no old state on disk: by default
anvil writes each older block's state under ~/.foundry/anvil/tmp, and a killed anvil left it
there (73 GB on the development machine after a few days of test runs and benches)."""

from __future__ import annotations

import signal
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
