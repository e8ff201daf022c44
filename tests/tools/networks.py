"""The brownie networks a test registers (in the per-user ~/.brownie/network-config.yaml) are
removed again at its end."""

from __future__ import annotations

import subprocess

from support.chain import ROOT


def delete_network(name: str) -> None:
    subprocess.run(
        [str(ROOT / ".venv" / "brownie" / "bin" / "brownie"), "networks", "delete", name],
        check=False,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
