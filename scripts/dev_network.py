"""Brownie's `development` network on a port of its own, for each process that launches it.

Brownie's `development` network (`~/.brownie/network-config.yaml`, shared by every project of
the user) names port 8545, and `brownie.network.connect` attaches to whatever already answers
there instead of launching anvil. A second contract test run beside a first one (another clone,
a helper, `make gas`) therefore ran on the first one's chain, each reverting the other's
snapshots (`chain.revert`) in the middle of its tests.
"""

from __future__ import annotations

import socket

from brownie._config import CONFIG


def launch_on_a_free_port() -> int:
    """Points this process's `development` network at a port nobody listens on (the kernel's
    choice), so that `connect` launches anvil there; the user's file is not changed. Returns
    the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    CONFIG.networks["development"].setdefault("cmd_settings", {})["port"] = port
    return port
