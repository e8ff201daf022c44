"""A contract test run launches a chain of its own (`scripts/dev_network.py`): brownie's
`development` network names port 8545 and attached to whatever answered there, so a second run
beside a first (another clone, a helper session, `make gas`) ran on the first one's chain, each
reverting the other's snapshots mid-test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from support.chain import ROOT, start_anvil

pytestmark = pytest.mark.slow


def _development_port() -> int:
    """The port the user's brownie `development` network names (8545 unless changed)."""
    config = yaml.safe_load((Path.home() / ".brownie" / "network-config.yaml").read_text())
    development = next(n for n in config["development"] if n["id"] == "development")
    return int(development["cmd_settings"]["port"])


def test_a_contract_test_run_launches_its_own_chain_beside_a_node_on_the_default_port() -> None:
    port = _development_port()
    try:
        other = start_anvil(port=port)  # another run's chain, on the port brownie names
    except RuntimeError:
        pytest.skip(f"port {port} is taken: another run is on it already")
    try:
        height = int(other.rpc("eth_blockNumber"), 16)
        run = subprocess.run(
            [
                "bash",
                "-c",
                "source tools/env.sh && .venv/brownie/bin/python -m pytest "
                "tests/contracts/ledger/test_administration.py -p no:cacheprovider -q",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = run.stdout + run.stderr
        assert run.returncode == 0, output
        assert "Launching 'anvil" in output and "Attached" not in output, output
        assert f"--port {port}" not in output, output
        assert int(other.rpc("eth_blockNumber"), 16) == height  # nothing was sent to it
    finally:
        other.stop()
