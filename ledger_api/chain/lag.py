"""A node behind the blocks the gateway has already seen: lagging, not forgetting.

A provider's URL often reaches several nodes behind a load balancer, and one of them may be a
few blocks behind the one asked before. Its head is then below a block the index applied or a
signer saw its transaction confirmed in, and it answers null for that block. Taken for blocks
the chain forgot, that rebuilt the whole index and reopened confirmed operations (they read
`submitted` again) on every such lag. `NodeBehind` tells the two apart by patience: while the
node's head is below the block for less than `LEDGER_NODE_LAG_PATIENCE_S` (default 30 s), the
caller waits for it; once the head reaches that block its hash decides, and a head still below
after the patience is taken for forgotten blocks (a node restarted from an older snapshot that
mines no block meanwhile).
"""

from __future__ import annotations

import time


class NodeBehind:
    """The patience with one node's head below a block seen before (see the module)."""

    def __init__(self, patience_s: float) -> None:
        self.patience_s = patience_s
        self._since: float | None = None  # since when the head has been below, this time

    def waits(self, head: int, seen: int) -> bool:
        """Whether to wait for a node whose head is `head` to reach block `seen`: True while
        it has been below for less than the patience (its first sighting included)."""
        if head >= seen:
            self._since = None
            return False
        now = time.monotonic()
        if self._since is None:
            self._since = now
        return now - self._since < self.patience_s

    def reset(self) -> None:
        """The node holds the block: the next lag gets the whole patience (a trial's second
        lag, minutes after the first, was taken for forgotten blocks at once)."""
        self._since = None

    def said(self, head: int, seen: int, what: str) -> str:
        """Why the caller waits, for the health."""
        return (
            f"node_behind: the node's head {head} is below block {seen} {what} (a lagging node,"
            f" behind a load balancer?); waiting up to {self.patience_s:.0f} s for it before"
            " taking the block for forgotten"
        )
