"""The member's points growth report (DOMAIN.md, "Points": where points came from and where
they went, with dates), page by page.

Its lines are the index's history (one per chain event and member: earned, pending, reversed,
gifted, received, bid, bid_returned, donated, redeemed) and two kinds worked out at the read:
`released` (a pending position whose return window closed) and `expired` (a lot past its 12
months). They come newest first, in one total order, so a page's `next_cursor` names the last
line shown and the next page (`before`) starts right after it, whatever was added since (a
member with more than 1,000 lines had no way to read the older ones: a trial).

The order is by each line's sort key, descending: `(time, group, a, b, kind)` with
- an index line: `(block time, 2, block number, log index, kind)` (two kinds may share a log:
  a member gifting to itself is `gifted` and `received`);
- a released position: `(release time, 1, brand, 0, "")`;
- an expired lot: `(expiry time, 0, brand, month, "")`.
Block times never decrease with the block number, so the index's lines keep the order of
`ix_idx_history_member` (member, block number, log index)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, get_args

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.db.keys import NOT_FAILED, exact, superset_of
from ledger_api.db.models import Brand, IdxHistory, IdxLot, IdxPending, Operation
from ledger_api.domain import OpKind, month_label, utc_datetime
from ledger_api.errors import InvalidCursor
from ledger_api.model import schemas

HISTORY_KINDS: tuple[str, ...] = get_args(schemas.HistoryKind)

#: a line's place in the order (see the module's docstring)
SortKey = tuple[int, int, int, int, str]

_INDEX_LINE, _RELEASED, _EXPIRED = 2, 1, 0

#: a cursor as pages hand them out: the five parts of a sort key, dot-separated
_CURSOR = re.compile(r"([0-9]{1,19})\.([0-2])\.([0-9]{1,19})\.([0-9]{1,19})\.([a-z_]{0,16})")
_MAX = 2**63 - 1


def parse_cursor(cursor: str) -> SortKey:
    """The sort key a page's `next_cursor` names; `InvalidCursor` (422) for anything a page
    does not hand out."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidCursor(cursor=cursor[:40])
    time, group, a, b = (int(match[i]) for i in range(1, 5))
    kind = match[5]
    if max(time, a, b) > _MAX or (group == _INDEX_LINE) != (kind in HISTORY_KINDS):
        raise InvalidCursor(cursor=cursor[:40])
    return time, group, a, b, kind


def format_cursor(key: SortKey) -> str:
    return ".".join(str(part) for part in key)


def member_history(
    session: Session,
    who: Principal,
    address: str,
    *,
    limit: int,
    before: str | None,
    as_of: schemas.AsOf,
    now: int,
) -> schemas.HistoryView:
    """The newest `limit` lines older than the cursor `before` (None: from the newest), and
    per kind the points of the whole history; a brand key sees the lines about its own brand
    (its points, or spent at it). `InvalidCursor` (422) for a cursor no page handed out."""
    start = parse_cursor(before) if before else None
    brand = None if who.is_admin else (who.ledger_brand_id or -1)
    mine = IdxHistory.member == address
    if brand is not None:
        mine = and_(mine, or_(IdxHistory.brand == brand, IdxHistory.at_brand == brand))
    query = select(IdxHistory).where(mine)
    if start is not None:
        query = query.where(_older_than(start))
    order = (IdxHistory.block_number.desc(), IdxHistory.log_index.desc(), IdxHistory.kind.desc())
    rows = session.scalars(query.order_by(*order).limit(limit + 1)).all()
    campaigns = _campaigns_of(session, rows)
    lines: list[tuple[SortKey, schemas.HistoryEntry]] = [
        (
            (row.timestamp, _INDEX_LINE, row.block_number, row.log_index, row.kind),
            _entry(row, campaigns),
        )
        for row in rows
    ]
    worked_out = _worked_out_lines(session, address, brand, now)
    lines += worked_out if start is None else [line for line in worked_out if line[0] < start]
    lines.sort(key=lambda line: line[0], reverse=True)
    page = lines[:limit]
    return schemas.HistoryView(
        address=address,
        as_of=as_of,
        entries=[entry for _, entry in page],
        totals=_totals(session, mine, address, brand, now),
        next_cursor=format_cursor(page[-1][0]) if len(lines) > limit else None,
    )


def _older_than(start: SortKey) -> ColumnElement[bool]:
    """The index lines whose sort key is below `start`."""
    time, group, block, log, kind = start
    if group != _INDEX_LINE:  # the index's lines of that second sort above the cursor
        return IdxHistory.timestamp < time
    return or_(
        IdxHistory.block_number < block,
        and_(
            IdxHistory.block_number == block,
            or_(
                IdxHistory.log_index < log,
                and_(IdxHistory.log_index == log, IdxHistory.kind < kind),
            ),
        ),
    )


def _entry(row: IdxHistory, campaigns: dict[tuple[int, int | None], Any]) -> schemas.HistoryEntry:
    return schemas.HistoryEntry(
        kind=row.kind,
        brand_id=row.brand,
        amount=row.amount,
        at=utc_datetime(row.timestamp),
        counterparty=row.counterparty,
        at_brand_id=row.at_brand,
        value_micro_usd=row.value_micro_usd,
        op_id=row.op_id,
        source=row.source,
        order_ref=row.order_ref,
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        release_at=utc_datetime(row.release_at) if row.release_at else None,
        campaign=campaigns.get((row.brand, row.op_id)),
    )


def _released(address: str, brand: int | None, now: int) -> Any:
    """What the return window left the member: a purchase's, or a tier gift's share that
    waited for one."""
    query = select(IdxPending).where(
        IdxPending.member == address, IdxPending.amount > 0, IdxPending.release_at <= now
    )
    return query if brand is None else query.where(IdxPending.brand == brand)


def _expired(address: str, brand: int | None, now: int) -> Any:
    query = select(IdxLot).where(
        IdxLot.member == address, IdxLot.amount > 0, IdxLot.expires_at <= now
    )
    return query if brand is None else query.where(IdxLot.brand == brand)


def _worked_out_lines(
    session: Session, address: str, brand: int | None, now: int
) -> list[tuple[SortKey, schemas.HistoryEntry]]:
    """The released and expired lines, with their sort keys (a member has one per brand and
    release day, and per brand and month: a few hundred at most)."""
    lines: list[tuple[SortKey, schemas.HistoryEntry]] = []
    for position in session.scalars(_released(address, brand, now)):
        entry = schemas.HistoryEntry(
            kind="released",
            brand_id=position.brand,
            amount=position.amount,
            at=utc_datetime(position.release_at),
            source="return_window",
        )
        lines.append(((position.release_at, _RELEASED, position.brand, 0, ""), entry))
    for lot in session.scalars(_expired(address, brand, now)):
        entry = schemas.HistoryEntry(
            kind="expired",
            brand_id=lot.brand,
            amount=lot.amount,
            at=utc_datetime(lot.expires_at),
            source=f"earned {month_label(lot.month)}",
        )
        lines.append(((lot.expires_at, _EXPIRED, lot.brand, lot.month, ""), entry))
    return lines


def _totals(
    session: Session, mine: ColumnElement[bool], address: str, brand: int | None, now: int
) -> dict[str, int]:
    """Points per kind over the whole history the key may see, whatever the page (a trial:
    they summed the lines shown, so `limit=1` and `limit=20` gave two different reports)."""
    totals = {kind: 0 for kind in HISTORY_KINDS}
    summed = select(IdxHistory.kind, func.sum(IdxHistory.amount)).where(mine)
    for kind, amount in session.execute(summed.group_by(IdxHistory.kind)):
        totals[kind] += int(amount or 0)
    released = _released(address, brand, now).with_only_columns(func.sum(IdxPending.amount))
    totals["released"] += int(session.scalar(released) or 0)
    expired = _expired(address, brand, now).with_only_columns(func.sum(IdxLot.amount))
    totals["expired"] += int(session.scalar(expired) or 0)
    return totals


def _campaigns_of(
    session: Session, rows: Sequence[IdxHistory]
) -> dict[tuple[int, int | None], Any]:
    """The campaign record (issue 16) of each earn line's operation, by (brand, op id)."""
    pairs = {(r.brand, r.op_id) for r in rows if r.kind in ("earned", "pending") and r.op_id}
    if not pairs:
        return {}
    found = session.execute(
        select(Brand.ledger_id, Operation.op_id, Operation.payload)
        .join(Brand, Brand.id == Operation.brand_id)
        .where(
            superset_of((Brand.ledger_id, Operation.op_id), list(pairs)),
            Operation.kind == OpKind.EARN.value,
            NOT_FAILED,  # a retried order's earns share an op id: the line is the applied one's
        )
    )
    return {
        (int(brand), int(op_id)): payload["campaign"]
        for brand, op_id, payload in exact(found, pairs)
        if payload.get("campaign")
    }
