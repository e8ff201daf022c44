"""Reminders computed from the index on a schedule, with no chain transaction.

Time is the index's (the timestamp of the last applied block), so a reminder is consistent
with the lots the index holds at that time. For each offset (days) a mark in
`reminder_marks` says up to which reminder time the lots were done: one pass takes the lots
whose reminder time lies in (mark, now], writes one `points.expiring` event per lot (id from
member, brand, month and offset) and moves the mark, in one transaction. A pass takes at most
`PASS_LIMIT` lots in (time, member, brand) order and its mark keeps the last member and brand,
so an instant that holds more lots (every lot of a month expires at one instant) is paged
through, pass after pass. A restart resumes from the mark: no reminder twice, none skipped.
`points.expired` works the same with offset 0 (the expiry itself), and so does
`points.released` (issue 11): a pending position of the index (`idx_pending`) whose release
time passed, with what its return window left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ledger_api.background.indexer.holders import no_members
from ledger_api.db.models import IdxLot, IdxPending
from ledger_api.db.webhook_models import ReminderMark
from ledger_api.domain import events as ev
from ledger_api.domain import iso_utc, month_label, utc_datetime

from .outbox import NewEvent, write_events

DAY_S = 86_400
#: at most this many lots per pass and offset (the next pass goes on from the mark)
PASS_LIMIT = 5_000


def compute_reminders(session: Session, now: int, offsets_days: Sequence[int]) -> int:
    """Writes the reminders due at chain time `now` (seconds); returns how many: at most
    `PASS_LIMIT` per kind and offset, the rest on the next passes."""
    if now <= 0:
        return 0
    written = 0
    for offset in sorted(set(offsets_days)):
        written += _pass(session, ev.POINTS_EXPIRING, offset, now)
    written += _pass(session, ev.POINTS_EXPIRED, 0, now)
    written += _released(session, now)
    return written


def _mark(session: Session, kind: str, offset_days: int, start: int) -> ReminderMark:
    """The mark of `kind` and `offset_days`, made at `start` on the first pass."""
    mark = session.get(ReminderMark, (kind, offset_days), with_for_update=True)
    if mark is None:
        mark = ReminderMark(kind=kind, offset_days=offset_days, until=start)
        session.add(mark)
        session.flush()
    return mark


def _done(mark: ReminderMark, now: int) -> bool:
    """Whether nothing can be due at reminder time `now` past `mark`."""
    return now < mark.until or (now == mark.until and mark.after_member is None)


def _page(
    session: Session,
    table: type[IdxLot] | type[IdxPending],
    time: Any,
    columns: Sequence[Any],
    mark: ReminderMark,
    shift: int,
    high: int,
) -> list[Any]:
    """The next page after `mark` of `table`'s rows with points whose `time` (the mark's
    reminder time plus `shift` seconds) is at most `high`, in (time, member, brand) order,
    and moves the mark to the page's end: the last row when the page is full, else `high`.
    The condition keeps the index's leading range (`time >= low`) so the scan follows the
    (time, member, brand) index and stops after the page."""
    low = mark.until + shift
    after: Any = time > low
    if mark.after_member is not None:
        after = or_(
            after,
            and_(
                time == low,
                or_(
                    table.member > mark.after_member,
                    and_(table.member == mark.after_member, table.brand > mark.after_brand),
                ),
            ),
        )
    rows = list(
        session.execute(
            select(*columns)
            .where(time >= low, after, time <= high, table.amount > 0)
            .order_by(time, table.member, table.brand)
            .limit(PASS_LIMIT)
        ).all()
    )
    if len(rows) == PASS_LIMIT:
        last = rows[-1]
        mark.until = last[0] - shift
        mark.after_member, mark.after_brand = last.member, last.brand
    else:
        mark.until, mark.after_member, mark.after_brand = high - shift, None, None
    return rows


def _released(session: Session, now: int) -> int:
    """Pending positions released in (mark, now]: one `points.released` each."""
    mark = _mark(session, ev.POINTS_RELEASED, 0, now)
    if _done(mark, now):
        return 0
    rows = _page(
        session,
        IdxPending,
        IdxPending.release_at,
        (IdxPending.release_at, IdxPending.member, IdxPending.brand, IdxPending.amount),
        mark,
        0,
        now,
    )
    events = [
        NewEvent(
            ev.event_id(ev.POINTS_RELEASED, member, brand, release_at),
            ev.POINTS_RELEASED,
            utc_datetime(release_at),
            [brand],
            {
                "member": member,
                "brand_id": brand,
                "points": amount,
                "released_at": iso_utc(release_at),
            },
        )
        for release_at, member, brand, amount in rows
    ]
    write_events(session, events)
    return len(events)


def _pass(session: Session, kind: str, offset_days: int, now: int) -> int:
    """Lots whose reminder time (expiry - offset) lies after the mark and at or before `now`."""
    # first run: start from now (lots already past their reminder time are not reminded of,
    # except that expiring reminders still cover lots not yet expired)
    shift = offset_days * DAY_S
    mark = _mark(session, kind, offset_days, now if kind == ev.POINTS_EXPIRED else now - shift)
    if _done(mark, now):
        return 0
    rows = _page(
        session,
        IdxLot,
        IdxLot.expires_at,
        (IdxLot.expires_at, IdxLot.member, IdxLot.brand, IdxLot.month, IdxLot.amount),
        mark,
        shift,
        now + shift,
    )
    events = []
    holders = no_members(session, {row.member for row in rows}) if rows else set()
    for expires_at, member, brand, month, amount in rows:
        if kind == ev.POINTS_EXPIRING and expires_at <= now:
            continue  # already expired: the expired event says it
        if kind == ev.POINTS_EXPIRING and member in holders:
            continue  # an escrow's or the pool's: no member for the brand to remind
        expiring = kind == ev.POINTS_EXPIRING
        cause = (kind, member, brand, month) + ((offset_days,) if expiring else ())
        payload = {
            "member": member,
            "brand_id": brand,
            "points": amount,
            "lot_month": month_label(month),
            "expires_at": iso_utc(expires_at),
        }
        if kind == ev.POINTS_EXPIRING:
            payload["days_before"] = offset_days
        when = utc_datetime(expires_at - shift)
        events.append(NewEvent(ev.event_id(*cause), kind, when, [brand], payload))
    write_events(session, events)
    return len(events)
