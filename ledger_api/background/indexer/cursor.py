"""The index cursor: how far the index has applied the chain. All its SQL lives here.

One row (`index_cursor.id = 1`): `next_block` to apply, and the hash and time of the
last applied block (no hash: nothing applied yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ledger_api.db.campaign_models import ChainRule
from ledger_api.db.models import IdxMeta, IndexCursor, table_of
from ledger_api.domain import MAX_MULTIPLIER_PCT

CURSOR_ID = 1
CHARITY_POOL = "charity_pool"  # the `idx_meta` key of the ledger's charity pool address
# the `idx_meta` key of the ledger's cap on an earn's multiplier, in percent
# (`MaxMultiplierChanged`; absent: none set, the chain's MAX_MULTIPLIER_PCT)
MAX_MULTIPLIER = "max_multiplier_pct"
#: the `idx_meta` key of the ledger's order floor in whole USD (`OrderFloorChanged`; absent: 0,
#: every purchase counts as an order toward the tiers)
ORDER_FLOOR = "order_floor_usd"
#: the `idx_meta` (as indexed) and `chain_rules` (as followed) key of the alliance's one pause:
#: "1" after the ledger's `Paused`, "0" after its `Unpaused` (absent: never paused)
LEDGER_PAUSED = "ledger_paused"

#: the `chain_rules` key that says the index is being read again from the deployment block
#: (`Indexer.rebuild`) and has not caught up with the chain yet: its history is partial
REPLAYING = "index_replaying"

# For a read that takes the cursor in its own statement (a hot read: one round trip less).
CURSOR = table_of(IndexCursor)
#: `read_cursor`'s columns, of the row `AT_CURSOR` selects
CURSOR_COLUMNS = (CURSOR.c.next_block, CURSOR.c.last_block_hash, CURSOR.c.last_block_timestamp)
AT_CURSOR = CURSOR.c.id == CURSOR_ID
#: `stored_height` as a scalar subquery: the last block applied, -1 before the first
STORED_HEIGHT = func.coalesce(
    select(case((CURSOR.c.last_block_hash.is_(None), -1), else_=CURSOR.c.next_block - 1))
    .where(AT_CURSOR)
    .scalar_subquery(),
    -1,
)


def mark_replaying(session: Session, replaying: bool) -> None:
    """Says (in the caller's transaction) that the index replays the chain from its start
    (`Indexer.rebuild`), or that it caught up (the chunk that reached the chain's head)."""
    if replaying:
        session.merge(ChainRule(key=REPLAYING, value="1"))
    else:
        session.execute(delete(ChainRule).where(ChainRule.key == REPLAYING))


def index_replaying(session: Session) -> bool:
    """Whether the index's history is partial: a rebuild has not caught up with the chain."""
    return session.get(ChainRule, REPLAYING) is not None


def indexed_max_multiplier(session: Session) -> int:
    """The chain's cap on an earn's multiplier (percent) as indexed: the last
    `MaxMultiplierChanged`, else the chain's `MAX_MULTIPLIER_PCT` (1000, none set)."""
    row = session.get(IdxMeta, MAX_MULTIPLIER)
    return int(row.value) if row is not None else MAX_MULTIPLIER_PCT


def indexed_order_floor(session: Session) -> int:
    """The ledger's order floor (whole USD) as indexed: the last `OrderFloorChanged`, else 0."""
    row = session.get(IdxMeta, ORDER_FLOOR)
    return int(row.value) if row is not None else 0


def follow_indexed_rules(session: Session) -> None:
    """The chain's rules the gateway applies (`ChainRule`) take the index's: called once the
    indexer has caught up with the chain, never while it replays history (a rebuild's replay
    went back to the default cap, then to older ones, and through every pause)."""
    session.merge(ChainRule(key=MAX_MULTIPLIER, value=str(indexed_max_multiplier(session))))
    paused = session.get(IdxMeta, LEDGER_PAUSED)
    session.merge(ChainRule(key=LEDGER_PAUSED, value=paused.value if paused else "0"))


#: `followed_ledger_paused`'s one statement (read by every group the intake stores)
_PAUSED = select(ChainRule.value).where(ChainRule.key == LEDGER_PAUSED)
#: the same as a scalar subquery ("1" while paused), for a read that takes it in its own
#: statement (an operation's status: one round trip)
FOLLOWED_PAUSE = _PAUSED.scalar_subquery()


def followed_ledger_paused(session: Session | Connection) -> bool:
    """Whether the ledger is paused as of the index's last catch-up with the chain
    (`follow_indexed_rules`): the intake then refuses what the chain would (409
    `ledger_paused`). The gateway learns of a pause a block or so late; what it accepted
    meanwhile waits in the queue until the unpause (`background.sender`)."""
    return session.execute(_PAUSED).scalar() == "1"


def confirm_max_multiplier(session: Session, pct: int, *, indexed: bool) -> None:
    """The gateway's own `setMaxMultiplier` confirmed (in the settling transaction): the cap
    applies at once, not when the index applies the block (a rebuild kept the old one until
    it caught up: a new user's trial), unless the index has applied that block already; then
    the index's, which a later change sent straight to the chain may have moved."""
    if indexed:
        follow_indexed_rules(session)
    else:
        session.merge(ChainRule(key=MAX_MULTIPLIER, value=str(pct)))


def followed_max_multiplier(session: Session) -> int:
    """The cap on an earn's multiplier (percent) the gateway applies: the index's as of its
    last catch-up with the chain (`follow_indexed_rules`); the index's as it stands before
    the first."""
    row = session.get(ChainRule, MAX_MULTIPLIER)
    return int(row.value) if row is not None else indexed_max_multiplier(session)


@dataclass(frozen=True, slots=True)
class Cursor:
    next_block: int
    last_block_hash: str | None
    last_block_timestamp: int

    @property
    def height(self) -> int:
        """The last block applied, -1 before the first."""
        return self.next_block - 1 if self.last_block_hash else -1


def read_cursor(session: Session) -> Cursor | None:
    """The cursor as plain values (one Core query: it runs many times a second)."""
    row = session.execute(
        select(
            IndexCursor.next_block, IndexCursor.last_block_hash, IndexCursor.last_block_timestamp
        ).where(IndexCursor.id == CURSOR_ID)
    ).first()
    return Cursor(row.next_block, row.last_block_hash, row.last_block_timestamp) if row else None


def stored_height(session: Session) -> int:
    """The last block the index has applied, from its cursor (-1 before the first)."""
    cursor = read_cursor(session)
    return cursor.height if cursor else -1


def index_time(session: Session) -> int:
    """The timestamp of the last applied block (0 before the first)."""
    cursor = read_cursor(session)
    return cursor.last_block_timestamp if cursor else 0


def ensure_cursor(session: Session, deployed_block: int) -> Cursor:
    """The cursor, created at the deployment's first block when missing."""
    row = session.get(IndexCursor, CURSOR_ID)
    if row is None:
        row = IndexCursor(id=CURSOR_ID, next_block=deployed_block, last_block_hash=None)
        session.add(row)
        session.flush()
    return Cursor(row.next_block, row.last_block_hash, row.last_block_timestamp or 0)


#: `advance_cursor`'s one statement: a conditional UPDATE, atomic on both databases (it runs
#: on every block the indexer follows, 10 a second with 100 ms blocks, also when idle)
_ADVANCE = (
    update(CURSOR)
    .where(AT_CURSOR, CURSOR.c.next_block == bindparam("start"))
    .values(
        next_block=bindparam("next_block"),
        last_block_hash=bindparam("end_hash"),
        last_block_timestamp=bindparam("end_time"),
    )
)


def advance_cursor(session: Session, start: int, end: int, end_hash: str, end_time: int) -> None:
    """Moves the cursor past `end` (in the chunk's transaction). RuntimeError when it is no
    longer at `start` (another indexer moved it meanwhile): the chunk's writes roll back."""
    moved = session.connection().execute(
        _ADVANCE,
        {"start": start, "next_block": end + 1, "end_hash": end_hash, "end_time": end_time},
    )
    if moved.rowcount != 1:
        raise RuntimeError("another indexer moved the cursor")


def reset_cursor(session: Session, deployed_block: int) -> None:
    """Back to the deployment's first block (the index is being rebuilt)."""
    row = session.get_one(IndexCursor, CURSOR_ID)
    row.next_block = deployed_block
    row.last_block_hash = None
    row.last_block_timestamp = 0
