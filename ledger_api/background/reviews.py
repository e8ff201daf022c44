"""Quarterly tier reviews that nobody has to ask for (issue 10).

At each quarter start (UTC) the process that holds the sender lock queues the review of
every member with a tier whose review is due, in `reviewTiers` batches sent with the admin
key. The clock is the index's (the timestamp of the last indexed block), so a round follows
the chain's calendar, as the ledger's own review rule does, and never runs ahead of it.

Due: a member with a tier in the index (`idx_members.tier > 0`) whose last earn was before
this quarter (a member's first earn of a quarter already applied its due review on chain).
The chain skips a member already reviewed this quarter (`TierReviewSkipped`), so a review a
brand asked for in between costs a skip, never a second judgement.

Once per quarter, durably: the round's marker (`tier_review_rounds`, keyed by the quarter)
and its operations (`tier_review_batch`, `LEDGER_TIER_REVIEW_BATCH` members each, in the
admin queue) are written in one transaction. A restart finds the marker and queues nothing
again; a crash before the commit leaves neither, and the next turn queues the round; two
processes racing on the same quarter collide on the marker's key and one writes nothing. The
first round after the gateway starts is the current quarter's, whatever the day: a member
never reviewed is reviewed then (a late review applies every quarter start since the last
one, in order). A round's batch waits in the queue while the ledger is paused and is sent
once it is lifted (`background.sender`); one that fails is not retried by the round: its
members are reviewed at their next earn, by anyone's `reviewTier`, or by the next round.

Without the admin key (a multisig admin) no round runs: anyone may call `reviewTiers`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger_api.background.indexer.cursor import index_time
from ledger_api.db import Database
from ledger_api.db.models import IdxMember, Operation, TierReviewRound
from ledger_api.domain import OpKind, OpStatus, month_of
from ledger_api.domain.ids import BrandRowId
from ledger_api.model.payloads import TierReviewsPayload
from ledger_api.process.threads import name_this_thread
from ledger_api.settings import Settings

log = logging.getLogger(__name__)


def quarter_of(timestamp: int) -> int:
    """Quarters since January 1970 (the ledger's `Calendar.currentMonth() / 3`)."""
    return month_of(timestamp) // 3


def queue_round(session: Session, now: int, batch_size: int) -> int | None:
    """Queues the review round of the quarter of chain time `now` (seconds) unless it was
    queued before; returns how many operations it queued (None: nothing to do)."""
    if now <= 0:
        return None  # nothing indexed yet
    quarter = quarter_of(now)
    if session.get(TierReviewRound, quarter) is not None:
        return None
    due = list(
        session.scalars(
            select(IdxMember.member)
            .where(IdxMember.tier > 0, IdxMember.quarter < quarter)
            .order_by(IdxMember.member)
        )
    )
    batches = [due[i : i + batch_size] for i in range(0, len(due), batch_size)]
    session.add(TierReviewRound(quarter=quarter, members=len(due), operations=len(batches)))
    session.add_all(
        Operation(
            uid=str(uuid.uuid4()),
            brand_id=None,
            kind=OpKind.TIER_REVIEW_BATCH.value,
            status=OpStatus.QUEUED.value,
            payload=TierReviewsPayload(quarter=quarter, members=batch).stored(),
            points=0,
            attempts=0,
        )
        for batch in batches
    )
    session.flush()
    return len(batches)


class TierReviewer(threading.Thread):
    """Queues each quarter's review round once (`queue_round`), looking every `poll_s`."""

    def __init__(
        self, *, db: Database, batch_size: int, poll_s: float, queued: Callable[[], None]
    ) -> None:
        super().__init__(name="tier-reviews", daemon=True)
        self.db = db
        self.batch_size = batch_size
        self.poll_s = poll_s
        self.queued = queued
        self.turns = 0  # looks taken (tests wait on it)
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout=5)

    def run(self) -> None:
        name_this_thread("tier-reviews")
        while True:
            try:
                self.step()
            except Exception:  # the database away: the next turn tries again
                log.exception("tier reviews: could not queue the quarter's round")
            if self._halt.wait(self.poll_s):
                return

    def step(self) -> int | None:
        """One look; returns how many operations it queued (None: none due)."""
        try:
            with self.db.write() as session:
                queued = queue_round(session, index_time(session), self.batch_size)
        except IntegrityError:
            return None  # another process queued this quarter's round first
        finally:
            self.turns += 1
        if queued:
            log.info("tier reviews: queued %d reviewTiers batches", queued)
            self.queued()
        return queued


def start_tier_reviewer(
    settings: Settings, db: Database, wake_sender: Callable[[set[BrandRowId | None]], None]
) -> TierReviewer | None:
    """The reviewer of the process holding the sender lock, started; None when rounds are off
    (`LEDGER_TIER_REVIEWS`) or the gateway holds no admin key."""
    if not (settings.tier_reviews and settings.admin_signs):
        return None
    reviewer = TierReviewer(
        db=db,
        batch_size=settings.tier_review_batch,
        poll_s=settings.tier_review_poll_s,
        queued=lambda: wake_sender({None}),
    )
    reviewer.start()
    return reviewer
