"""Ledger events as the indexer reads them, made up for projection tests (no chain)."""

from __future__ import annotations

import itertools

from ledger_api.background.indexer import ZERO
from ledger_api.chain.abi import Event, Log

_blocks = itertools.count()


def ledger_event(name: str, args: dict[str, object], timestamp: int) -> Event:
    """An `AllianceLedger` event `name` with `args`, alone in a block of its own (numbered
    from 0 in the order they are made) at `timestamp`."""
    log = Log(
        address=ZERO,
        topics=(),
        data=b"",
        block_number=next(_blocks),
        block_hash="0x",
        tx_hash="0x",
        log_index=0,
        timestamp=timestamp,
    )
    return Event("AllianceLedger", name, args, log)
