"""The follower: the indexer's thread, following the chain into the `idx_*` tables.

It reads `eth_getLogs` from the manifest's `deployed_block`, a chunk at a time,
stopping `confirmations` blocks behind the head, and applies each chunk (through the
projector) and the cursor in one transaction, so a crash never applies a log twice or
skips one. Before each chunk it checks that the last applied block is still on the
chain; when it is not (a reorg deeper than the confirmation depth, or a development
node restarted without its state) it rebuilds the index from the start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledger_api.background.deployment_guard import DeploymentGuard
from ledger_api.background.webhooks.outbox import NewEvent, write_events
from ledger_api.chain.abi import Event, Log, checksum
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.earned import expand_earned
from ledger_api.chain.lag import NodeBehind
from ledger_api.chain.manifest import LEDGER
from ledger_api.chain.port import BlockTag, Chain
from ledger_api.db import Database
from ledger_api.db.credit_models import ChainCredit
from ledger_api.db.metadata import INDEX_TABLES
from ledger_api.db.models import Brand, IdxMeta
from ledger_api.db.webhook_models import OutboxEvent
from ledger_api.domain import events as ev
from ledger_api.domain.brands import follow_indexed_brands
from ledger_api.errors import ChainUnavailable
from ledger_api.process.threads import Backoff, name_this_thread
from ledger_api.settings import Settings

from .cursor import (
    CHARITY_POOL,
    Cursor,
    advance_cursor,
    ensure_cursor,
    follow_indexed_rules,
    mark_replaying,
    read_cursor,
    reset_cursor,
)
from .projector import Projector
from .state import ProjectionState

log = logging.getLogger(__name__)

#: events whose projection reads the index only through the rows the chunk preloads and writes
#: nothing before `Projector.flush` (no other table, no session work of its own): a chunk of
#: only these is projected before the writer lock (`Indexer._project_before_lock`)
PROJECTED_BEFORE_LOCK = frozenset({(LEDGER, "Transfer"), (LEDGER, "PointsEarned")})
#: the events of the chain's rules the gateway follows (`ChainRule`), once the index caught up
FOLLOWED_RULES = frozenset(
    (LEDGER, name) for name in ("MaxMultiplierChanged", "Paused", "Unpaused")
)
#: the events whose brand the gateway's brand rows follow, once the index caught up
FOLLOWED_EVENTS = frozenset(
    (LEDGER, name)
    for name in (
        "BrandOnboarded",
        "BrandSuspensionChanged",
        "EarnRuleChanged",
        "DailyMintCapChanged",
    )
)


class Indexer(threading.Thread):
    """Follows the chain into the index; one thread per gateway."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        contracts: Contracts,
        chain_factory: Callable[[], Chain],
        advanced: Callable[[int], None] = lambda height: None,
        rewound: Callable[[int], None] = lambda height: None,
        unpaused: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(name="indexer", daemon=True)
        self.settings = settings
        self.db = db
        self.contracts = contracts
        self.guard = DeploymentGuard(contracts, db)
        self.chain_factory = chain_factory
        self.advanced = advanced
        self.rewound = rewound
        self.unpaused = unpaused
        self.rebuilds = 0
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._announced, self._announced_at = -1, 0.0
        self.healthy = False
        self.last_error: str | None = None
        self.chain_head: int | None = None  # the newest head read (set before indexing to it)
        self.found_events = False  # whether the last chunk applied held any of our events
        self.chain_error: str | None = None  # why the node did not answer, until it does
        self.lag = NodeBehind(settings.node_lag_patience_s)  # a node behind the index
        # the brands (ledger ids; None: all) whose suspension, earn rule and daily cap the
        # gateway's brands take from the index once it has caught up
        # (`domain.brands.follow_indexed_brands`): all at start and after a rebuild, then
        # those a chunk's `FOLLOWED_EVENTS` named
        self._brands: set[int] | None = None
        self._brands_due = True
        self._unpause_due = False  # a chunk held an `Unpaused`: the senders hear it once followed

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def wake(self) -> None:
        """A hint that a new block holds our transactions (the sender calls it)."""
        self._wake.set()

    def run(self) -> None:
        name_this_thread("indexer")
        chain = self.chain_factory()
        backoff = Backoff(self.settings.backoff_max_s)
        pause = fast = self.settings.index_poll_s
        slow = max(fast, self.settings.index_idle_poll_s)
        while not self._halt.is_set():
            try:
                head = self.chain_head
                busy = self.step(chain)
                self.healthy, self.last_error = True, None
                backoff.reset()
                if not busy:
                    # nothing of ours in the new blocks (or no new block): wait longer each
                    # time, up to `index_idle_poll_s`, so a chain sealing empty blocks costs
                    # one chunk per idle poll, not one per block; the sender wakes this thread
                    # when one of its transactions is mined (here or, through the bus, in
                    # another process), and a chunk with events keeps the pace fast
                    moved = self.chain_head != head
                    pause = fast if moved and self.found_events else min(slow, pause * 2)
                    if self._wake.wait(pause):
                        pause = fast
                    self._wake.clear()
            except Exception as exc:
                if isinstance(exc, ChainUnavailable):
                    self.chain_error = exc.message
                else:
                    log.exception("indexer: unexpected error")
                self.healthy, self.last_error = False, f"{exc.__class__.__name__}: {exc}"
                self._halt.wait(backoff.next())

    def cursor(self) -> Cursor:
        with self.db.read() as session:
            cursor = read_cursor(session)
        if cursor is not None:
            return cursor
        with self.db.write(durable=False) as session:  # the chain's: see `step`
            return ensure_cursor(session, self.contracts.manifest.deployed_block)

    def step(self, chain: Chain) -> bool:
        """Applies the next chunk of blocks; returns whether there was one.

        One JSON-RPC batch reads the head and the last applied block (whether it is still on
        the chain), a second one the chunk's logs: an idle poll costs two round trips."""
        cursor = self.cursor()
        tags: list[BlockTag] = ["latest"]
        if cursor.last_block_hash is not None:
            tags.append(cursor.next_block - 1)
        head, *last = chain.blocks(tags)
        if head is None:
            return False
        # the one head this pass reads and indexes up to, recorded before any block is applied
        # (and announced): a reader of the index height, then the head, never sees the index
        # ahead of the head (the admin health's `lag_blocks`)
        self.chain_head, self.chain_error = head.number, None
        applied = cursor.next_block - 1
        if last and last[0] is not None:
            self.lag.reset()
        elif last and self.lag.waits(head.number, applied):
            self.chain_error = self.lag.said(head.number, applied, "the index applied")
            return False  # a lagging node: asked again, nothing rebuilt
        if last and (last[0] is None or last[0].hash != cursor.last_block_hash):
            # forgotten blocks: a reorganisation, unless the node lost the deployment itself
            # (`ChainUnavailable`: the index waits as for a node away, nothing rebuilt)
            self.guard.verify(chain)
            log.error(
                "index: block %d is no longer %s on the chain; rebuilding the index",
                cursor.next_block - 1,
                cursor.last_block_hash,
            )
            assert cursor.last_block_hash is not None  # its block was asked for
            self.rebuild(forgotten=(cursor.next_block - 1, cursor.last_block_hash, head.number))
            return True
        target = head.number - self.settings.confirmations
        if cursor.next_block > target:
            self._follow_brands_at_head()
            self._announce(cursor.next_block - 1)
            return False
        start = cursor.next_block
        end = min(target, start + self.settings.indexer_chunk_blocks - 1)
        end_block = head if end == head.number else chain.block(end)
        if end_block is None:
            return False
        logs = chain.logs(self.contracts.indexed_addresses, start, end)
        missing = [lg.block_number for lg in logs if lg.timestamp is None]
        stamps = chain.block_timestamps(missing) if missing else {}
        events = self._decode(logs)
        self.found_events = bool(events)
        self._note_brands(events)
        projected = self._project_before_lock(events, stamps) if events else None
        read = self._preload(events) if events and projected is None else None
        # not synced to disk: every row here comes from the chain, and a power loss that undoes
        # the last chunks only moves the cursor back to them (`Database.write`); the next
        # durable write's sync covers them anyway
        with self.db.write(durable=False) as session:
            if projected is not None:  # the lock's turn only writes what was worked out
                projected.rebind(session)
                projected.flush()
            elif read is not None:  # blocks with none of our events only move the cursor
                self._project(session, chain, events, stamps, read)
            advance_cursor(session, start, end, end_block.hash, end_block.timestamp)
            # the gateway's brands take the index's suspensions and rules once it caught up with
            # the chain, never while it replays history, whose old suspensions, lifts and rules
            # would move a brand back and forth (a new user's trial: a rebuild refused a live
            # brand's earns)
            followed = end >= target and self._follow_brands(session)
        self._brands_followed(followed)
        self._announce(end)
        return end < target

    def _follow_brands_at_head(self) -> None:
        """Caught up before this pass (a start, a quiet chain): the gateway's brands follow."""
        if self._brands_due:
            with self.db.write(durable=False) as session:
                followed = self._follow_brands(session)
            self._brands_followed(followed)

    def _follow_brands(self, session: Session) -> bool:
        """In the chunk's transaction, when due (the chain's rules with the brands); whether
        it ran."""
        if self._brands_due:
            follow_indexed_brands(session, self._brands)
            follow_indexed_rules(session)
            mark_replaying(session, False)  # a rebuild's replay, if any, caught up
        return self._brands_due

    def _brands_followed(self, followed: bool) -> None:
        """After the commit: the brands followed are no longer due (one thread steps, so no
        chunk noted more of them in between)."""
        if followed:
            self._brands, self._brands_due = set(), False
            if self._unpause_due:
                self._unpause_due = False
                self.unpaused()

    def _note_brands(self, events: list[Event]) -> None:
        """The brands whose suspension, earn rule or daily cap this chunk moves, and whether it
        moves a chain rule: due once caught up."""
        moved = {int(e.args["brand"]) for e in events if (e.contract, e.name) in FOLLOWED_EVENTS}
        if any((e.contract, e.name) in FOLLOWED_RULES for e in events):
            self._brands_due = True  # the chain's rules: no brand to name
        if any((e.contract, e.name) == (LEDGER, "Unpaused") for e in events):
            self._unpause_due = True
        if moved:
            self._brands_due = True
            if self._brands is not None:
                self._brands |= moved

    def _announce(self, height: int) -> None:
        """Tells the process (and, by the bus, the others) the index height: when it moved,
        and otherwise every `wake_safety_poll_s` (a lost message costs latency only)."""
        now = time.monotonic()
        if (
            height != self._announced
            or now - self._announced_at >= self.settings.wake_safety_poll_s
        ):
            self._announced, self._announced_at = height, now
            self.advanced(height)

    def _preload(self, events: list[Event]) -> ProjectionState:
        """The index rows the chunk's events touch, read before the writer lock (issue 15: a
        quarter of the indexer's hold of it). Only the indexer writes them; a chunk another
        indexer applied in between is refused when the cursor moves (`advance_cursor`)."""
        with self.db.read() as reader:
            read = ProjectionState(reader)
            read.preload(events)
        return read

    def _project_before_lock(self, events: list[Event], stamps: dict[int, int]) -> Projector | None:
        """A chunk of only `PROJECTED_BEFORE_LOCK` events (mints, moves and earns: the bulk of
        the traffic), applied in a read transaction, so that the writer lock's turn only writes
        it (issue 15: the indexer's turns were the longest at the lock). Safe for the reason
        `_preload` is. None for any other chunk, and before the charity pool is indexed (the
        locked path seeds it), which then takes the locked path."""
        if not all((event.contract, event.name) in PROJECTED_BEFORE_LOCK for event in events):
            return None
        with self.db.read() as reader:
            projector = Projector(reader)
            if projector.charity_pool is None:
                return None
            projector.preload(events)
            for event in events:
                projector.apply(event, _timestamp(event, stamps))
            projector.settle_burn(None)  # a burn that ends the chunk is booked here too
        return projector

    def _project(
        self,
        session: Session,
        chain: Chain,
        events: list[Event],
        stamps: dict[int, int],
        read: ProjectionState,
    ) -> None:
        if session.get(IdxMeta, CHARITY_POOL) is None:
            self._seed_charity_pool(session, chain)
        projector = Projector(session)
        projector.adopt(read)
        for event in events:
            projector.apply(event, _timestamp(event, stamps))
        projector.flush()

    def _decode(self, logs: Iterable[Log]) -> list[Event]:
        ordered = sorted(logs, key=lambda lg: (lg.block_number, lg.log_index))
        decoded = (self.contracts.events.decode(lg) for lg in ordered)
        return expand_earned([e for e in decoded if e is not None])

    def _seed_charity_pool(self, session: Session, chain: Chain) -> None:
        call = self.contracts.charity_pool_call()
        (pool,) = self.contracts.ledger["charityPool"].decode(chain.call(call.to, call.data))
        session.add(IdxMeta(key=CHARITY_POOL, value=checksum(pool)))

    def rebuild(self, forgotten: tuple[int, str, int] | None = None) -> None:
        """Rolls the index back to the deployment block (then it is read again from there).

        The projection keeps running totals (lots consumed oldest first, tier counters,
        positions), which cannot be undone event by event; every row is rebuilt from the
        chain's logs instead, so the index equals the chain again once it caught up.
        `forgotten`: (number, hash) of the applied block the chain no longer has, and the
        head it has now: the outbox gets a `chain.rewound` event in the same transaction
        (`rewound_event`), every brand's and the admin's."""
        deployed = self.contracts.manifest.deployed_block
        with self.db.write(durable=False) as session:  # the chain's: see `step`
            for table in INDEX_TABLES:
                session.execute(delete(table))
            if forgotten is not None:  # credits in blocks past the head are gone with them
                session.execute(delete(ChainCredit).where(ChainCredit.block_number > forgotten[2]))
            reset_cursor(session, deployed)
            mark_replaying(session, True)  # until it caught up (`_follow_brands`)
            if forgotten is not None:
                write_events(session, [rewound_event(session, *forgotten, deployed)])
        self._brands, self._brands_due = None, True  # all, once caught up again
        self.rebuilds += 1
        self.rewound(deployed - 1)


def rewound_event(
    session: Session, number: int, block_hash: str, head: int, deployed: int
) -> NewEvent:
    """`chain.rewound`: the last block the index had applied (`forgotten_block`, its
    `forgotten_block_hash`) is no longer on the chain, whose head is now `head`. Events of
    blocks up to it may no longer hold (a consumer reconciles them with the operations'
    statuses); the index is read again from `rebuilt_from_block`, writing the events of the
    blocks the chain has now. Its id comes from the forgotten block and how many rewinds the
    outbox holds: the same block forgotten again (the chain had it back in between) is a
    rewind of its own, and a consumer must hear of it too."""
    brands = session.scalars(select(Brand.ledger_id).where(Brand.ledger_id.is_not(None)))
    said = session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == ev.CHAIN_REWOUND)
    )
    return NewEvent(
        event_id=ev.event_id(ev.CHAIN_REWOUND, number, block_hash, said),
        type=ev.CHAIN_REWOUND,
        occurred_at=datetime.now(UTC),
        brands=list(brands),
        payload={
            "forgotten_block": number,
            "forgotten_block_hash": block_hash,
            "head": head,
            "rebuilt_from_block": deployed,
        },
    )


def _timestamp(event: Event, stamps: dict[int, int]) -> int:
    """The event's block time (seconds): the log's own, else its block's from `stamps`."""
    timestamp = event.log.timestamp
    return timestamp if timestamp is not None else stamps[event.log.block_number]
