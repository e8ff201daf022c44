"""The wake-ups a `Runtime` sends and answers (`background.wakeup`): new operations for the
sender, settled operations and the index height for waiting requests, in this process
directly and in the gateway's other processes through the bus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ledger_api.background.indexer import Indexer, followed_ledger_paused, stored_height
from ledger_api.background.notify import Notifier, Settled
from ledger_api.background.wakeup import Topic, WakeBus
from ledger_api.db import Database
from ledger_api.domain.ids import BrandRowId
from ledger_api.process import metrics
from ledger_api.settings import Settings

if TYPE_CHECKING:  # started by `Runtime` where they run (an HTTP process may not)
    from ledger_api.background.sender import Sender
    from ledger_api.background.webhooks.delivery import Deliverer


#: a `Topic.QUEUED` item for the signers held by the ledger's pause, which was lifted
HELD = "held"


class WakeUps:
    """Mixed into `Runtime`, which sets these attributes."""

    settings: Settings
    db: Database
    is_sender: bool
    bus: WakeBus
    notifier: Notifier
    sender: Sender | None
    indexer: Indexer | None
    webhooks: Deliverer | None

    def _sender_wakeable(self) -> bool:
        """Whether every process that accepts operations wakes this process's sender: it is
        the only one (one HTTP process, no `ledger work`), or they reach it by the bus."""
        alone = self.settings.workers == 1 and not self.settings.sender_process
        return alone or self.bus.cross_process

    def wake_sender(self, queues: set[BrandRowId | None]) -> None:
        """New operations wait in `queues`: the sender here, or in another process, looks."""
        if self.sender is not None:
            self.sender.wake(queues)
        if self.sender is None or not self.settings.is_sqlite:
            # PostgreSQL: another process may hold the queue's signer (`sender.ownership`)
            self.bus.publish(Topic.QUEUED, ["admin" if q is None else str(q) for q in queues])

    def _queued_elsewhere(self, queues: list[str]) -> None:
        """Another process accepted operations for these queues (the bus's thread), or its
        indexer followed an unpause (`HELD`)."""
        if self.sender is not None:
            if HELD in queues:
                self.sender.pause_lifted()
            self.sender.wake(
                {None if q == "admin" else BrandRowId(int(q)) for q in queues if q != HELD}
            )

    def _pause_lifted(self) -> None:
        """The indexer followed an `Unpaused` (its thread): the signers holding operations for
        the pause go now, here and, on PostgreSQL, in the processes that hold other signers
        (else they went at their safety poll, `wake_safety_poll_s` later; a session-34 note)."""
        if self.sender is not None:
            self.sender.pause_lifted()
        if self.sender is None or not self.settings.is_sqlite:
            self.bus.publish(Topic.QUEUED, [HELD])

    def _wake_indexer(self) -> None:
        """The sender mined a transaction: the indexer here looks at once."""
        indexer = self.indexer
        if indexer is not None:
            indexer.wake()

    def _settled_elsewhere(self, uids: list[str]) -> None:
        """Another process's sender settled operations (the bus's thread): their block holds
        events, so the indexer here (if this process holds it) looks at once instead of at
        its idle pace, and so does the deliverer (the settlement wrote webhook events)."""
        self._wake_indexer()
        self._wake_deliverer()

    def wake_webhooks(self) -> None:
        """New webhook events or deliveries are stored (a test event, a retry): the deliverer
        here, or in the process that holds it, looks at once."""
        if self.webhooks is not None:
            self.webhooks.wake()
        else:
            self.bus.publish(Topic.WEBHOOKS, ["w"])

    def _wake_deliverer(self, items: list[str] | None = None) -> None:
        if self.webhooks is not None:
            self.webhooks.wake()

    def _operations_settled(self, settled: Mapping[str, Settled]) -> None:
        """Operations turned final in this process (the sender's settlements, its failures
        before sending, the admin watcher's): counted once, here, for every path."""
        metrics.observe_settled(
            (s.kind, s.status, s.created_at, s.updated_at) for s in settled.values()
        )
        self.notifier.operations_settled(settled)
        if settled:
            self._wake_deliverer()  # the settlement wrote the operations' webhook events
            self.bus.publish(Topic.SETTLED, list(settled))

    def _index_advanced(self, height: int) -> None:
        self.notifier.index_advanced(height)
        if self.indexer is not None and self.indexer.found_events:
            self._wake_deliverer()  # the projection wrote the chain events' webhook events
        self.bus.publish(Topic.INDEXED, [str(height)])

    def _index_rewound(self, height: int) -> None:
        """The indexer found its last block gone (a reorg, a node back at an older state): the
        waiting requests learn it, and every signer here checks its confirmed slots now."""
        self.notifier.index_rewound(height)
        if self.sender is not None:
            self.sender.recheck()

    def _indexed_elsewhere(self, heights: list[str]) -> None:
        """`ledger work`'s indexer applied blocks up to this height (the bus's thread)."""
        if heights:
            self.notifier.index_advanced(max(int(h) for h in heights))

    @property
    def notified(self) -> bool:
        """Settled operations and the index height reach this process's notifier (it sends and
        indexes itself, or polls for `ledger work`); else it reads them from the database.
        On PostgreSQL other processes send too (`background.sender.ownership`), so a waiter
        reads the database."""
        return (self.is_sender and self.db.is_sqlite) or self.notifier.polling

    def index_height(self) -> int:
        """The last block the index applied (from the notifier when `notified`)."""
        return self.notifier.index_height if self.notified else self.stored_index_height()

    def stored_index_height(self) -> int:
        with self.db.read() as session:
            return stored_height(session)

    def ledger_paused(self) -> bool:
        """The ledger's pause as the index last followed the chain (`followed_ledger_paused`)."""
        with self.db.read() as session:
            return followed_ledger_paused(session)
