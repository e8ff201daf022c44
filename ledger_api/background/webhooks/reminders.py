"""Reminders computed from the index on a schedule, with no chain transaction.

Time is the index's (the timestamp of the last applied block), so a reminder is consistent
with the lots the index holds at that time. For each offset (days) a mark in
`reminder_marks` says up to which reminder time the lots were done: one pass takes the lots
whose reminder time lies in (mark, now], writes one `points.expiring` event per lot (id from
member, brand, month and offset) and moves the mark, in one transaction. A restart resumes
from the mark: no reminder twice, none skipped. `points.expired` works the same with offset 0
(the expiry itself), and so does `points.released` (issue 11): a pending position of the
index (`idx_pending`) whose release time passed, with what its return window left.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.db.models import IdxLot, IdxPending
from ledger_api.db.webhook_models import ReminderMark
from ledger_api.domain import events as ev
from ledger_api.domain import month_label

from .outbox import NewEvent, at, iso, write_events

DAY_S = 86_400
#: at most this many lots per pass and offset (the next pass goes on from the mark)
PASS_LIMIT = 5_000


def compute_reminders(session: Session, now: int, offsets_days: Sequence[int]) -> int:
    """Writes the reminders due at chain time `now` (seconds); returns how many."""
    if now <= 0:
        return 0
    written = 0
    for offset in sorted(set(offsets_days)):
        written += _pass(session, ev.POINTS_EXPIRING, offset, now)
    written += _pass(session, ev.POINTS_EXPIRED, 0, now)
    written += _released(session, now)
    return written


def _released(session: Session, now: int) -> int:
    """Pending positions released in (mark, now]: one `points.released` each."""
    mark = session.get(ReminderMark, (ev.POINTS_RELEASED, 0), with_for_update=True)
    if mark is None:
        mark = ReminderMark(kind=ev.POINTS_RELEASED, offset_days=0, until=now)
        session.add(mark)
        session.flush()
    if now <= mark.until:
        return 0
    rows = session.execute(
        select(IdxPending.member, IdxPending.brand, IdxPending.release_at, IdxPending.amount)
        .where(
            IdxPending.release_at > mark.until,
            IdxPending.release_at <= now,
            IdxPending.amount > 0,
        )
        .order_by(IdxPending.release_at, IdxPending.member, IdxPending.brand)
        .limit(PASS_LIMIT)
    ).all()
    reached = now
    if len(rows) == PASS_LIMIT:
        reached = rows[-1].release_at - 1
        rows = [r for r in rows if r.release_at <= reached]
    events = [
        NewEvent(
            ev.event_id(ev.POINTS_RELEASED, member, brand, release_at),
            ev.POINTS_RELEASED,
            at(release_at),
            [brand],
            {"member": member, "brand_id": brand, "points": amount, "released_at": iso(release_at)},
        )
        for member, brand, release_at, amount in rows
    ]
    write_events(session, events)
    mark.until = reached
    return len(events)


def _pass(session: Session, kind: str, offset_days: int, now: int) -> int:
    """Lots whose reminder time (expiry - offset) lies in (mark, now]."""
    mark = session.get(ReminderMark, (kind, offset_days), with_for_update=True)
    if mark is None:
        # first run: start from now (lots already past their reminder time are not reminded
        # of, except that expiring reminders still cover lots not yet expired)
        start = now if kind == ev.POINTS_EXPIRED else now - offset_days * DAY_S
        mark = ReminderMark(kind=kind, offset_days=offset_days, until=start)
        session.add(mark)
        session.flush()
    low, high = mark.until + offset_days * DAY_S, now + offset_days * DAY_S
    if high <= low:
        return 0
    rows = session.execute(
        select(IdxLot.member, IdxLot.brand, IdxLot.month, IdxLot.amount, IdxLot.expires_at)
        .where(IdxLot.expires_at > low, IdxLot.expires_at <= high, IdxLot.amount > 0)
        .order_by(IdxLot.expires_at, IdxLot.member, IdxLot.brand)
        .limit(PASS_LIMIT)
    ).all()
    reached = high
    if len(rows) == PASS_LIMIT:
        # stop before the last expiry seen, so the rest of its lots come in the next pass
        reached = rows[-1].expires_at - 1
        rows = [r for r in rows if r.expires_at <= reached]
    events = []
    for member, brand, month, amount, expires_at in rows:
        if kind == ev.POINTS_EXPIRING and expires_at <= now:
            continue  # already expired: the expired event says it
        expiring = kind == ev.POINTS_EXPIRING
        cause = (kind, member, brand, month) + ((offset_days,) if expiring else ())
        payload = {
            "member": member,
            "brand_id": brand,
            "points": amount,
            "lot_month": month_label(month),
            "expires_at": iso(expires_at),
        }
        if kind == ev.POINTS_EXPIRING:
            payload["days_before"] = offset_days
        when = at(expires_at - offset_days * DAY_S)
        events.append(NewEvent(ev.event_id(*cause), kind, when, [brand], payload))
    write_events(session, events)
    mark.until = reached - offset_days * DAY_S
    return len(events)
