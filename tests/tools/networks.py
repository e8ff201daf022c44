"""The brownie networks a test registers (in the per-user ~/.brownie/network-config.yaml) are
removed again at its end."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.chain import ROOT


def delete_network(name: str) -> None:
    """Deletes network `name`, holding the config's lock as tools/brownie_network.sh does."""
    lock = Path.home() / ".brownie" / "network-config.lock"
    brownie = str(ROOT / ".venv" / "brownie" / "bin" / "brownie")
    subprocess.run(
        ["flock", "-x", str(lock), brownie, "networks", "delete", name],
        check=False,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
