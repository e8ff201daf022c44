"""The indexer: follows the contracts' events into the `idx_*` tables reads are served from.

follower.py   Indexer: the thread that reads logs a chunk at a time (reorg-safe)
projector.py  Projector: what each event does to the index
state.py      the projection's working set, read and written in bulk
lots.py       its lots and pending months (ProjectionState's base, LotsState)
bulk_sql.py   bulk upserts and inserts (one statement for many rows)
cursor.py     the index cursor (how far the index has applied the chain)
"""

from .cursor import (
    CHARITY_POOL,
    CURSOR_ID,
    MAX_MULTIPLIER,
    followed_ledger_paused,
    followed_max_multiplier,
    index_time,
    indexed_max_multiplier,
    read_cursor,
    stored_height,
)
from .follower import Indexer
from .projector import Projector
from .state import ZERO

__all__ = [
    "CHARITY_POOL",
    "CURSOR_ID",
    "Indexer",
    "MAX_MULTIPLIER",
    "Projector",
    "ZERO",
    "followed_ledger_paused",
    "followed_max_multiplier",
    "index_time",
    "indexed_max_multiplier",
    "read_cursor",
    "stored_height",
]
