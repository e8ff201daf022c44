"""The intake's look-ups of a group: its Idempotency-Keys' stored answers, the orders
already credited, the op ids of the orders whose earn failed, and whether the ledger is
paused.

They run in a read transaction before the writer lock is taken (issue 15: they were a
quarter of the intake's hold of the lock, which the intake held 55% of the time at 200
operations/s). What another writer stores meanwhile is caught by the unique indexes
(idempotency key, `uq_operations_brand_order`): the group then stores again, one by one,
and finds it (`Intake.store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.background.indexer import followed_ledger_paused, index_time
from ledger_api.db.keys import (
    ANY_CHAIN_CREDIT,
    chain_credits,
    credited_orders,
    credits_by_op_id,
    exact,
    released_op_ids,
    superset_of,
)
from ledger_api.db.models import IdempotencyRecord
from ledger_api.domain.ids import BrandRowId

from .drafts import Accepted, Bulk, Draft, chain_credit

__all__ = ["Known", "look_up"]


@dataclass(slots=True)
class Known:
    """What a group's look-ups found stored: each key's (request fingerprint, answer), each
    credited order's operation uid, and the op id of each order whose last earn failed (the
    order given back), the last two by (brand row id, order ref), whether the ledger is
    paused (`cursor.followed_ledger_paused`) and the last indexed block's time (unix seconds,
    0 before the first: the chain's day, for the daily mint cap, when the chain's clock is
    ahead of this machine's). Read in one snapshot: an order is either credited (held) or
    given back with its op id."""

    keys: dict[tuple[str, str], tuple[str, Accepted]] = field(default_factory=dict)
    orders: dict[tuple[BrandRowId | None, str], str] = field(default_factory=dict)
    released: dict[tuple[BrandRowId | None, str], int] = field(default_factory=dict)
    paused: bool = False
    chain_time: int = 0


def look_up(entries: Sequence[Draft | Bulk], reader: Session) -> Known:
    """The stored answers of every key of a group (and of its bulk items) and the orders
    already credited, read at once in `reader`."""
    known = Known(paused=followed_ledger_paused(reader), chain_time=index_time(reader))
    wanted = {(e.scope, e.idempotency_key) for e in entries}
    drafts = [e for e in entries if isinstance(e, Draft)]
    for entry in entries:
        if isinstance(entry, Bulk):
            drafts.extend(d for _, d in entry.items if isinstance(d, Draft))
            wanted.update(
                (d.scope, d.idempotency_key) for _, d in entry.items if isinstance(d, Draft)
            )
    keys = list(wanted)
    for start in range(0, len(keys), 400):
        rows = reader.execute(
            select(
                IdempotencyRecord.scope,
                IdempotencyRecord.key,
                IdempotencyRecord.request_hash,
                IdempotencyRecord.response_status,
                IdempotencyRecord.response_body,
                IdempotencyRecord.operation_uid,
            ).where(
                superset_of(
                    (IdempotencyRecord.scope, IdempotencyRecord.key), keys[start : start + 400]
                )
            )
        )
        for scope, key, fingerprint, status, body, uid in exact(rows, keys[start : start + 400]):
            known.keys[(scope, key)] = (fingerprint, Accepted(status, body, True, uid))
    _look_up_orders(reader, drafts, known)
    return known


def _look_up_orders(reader: Session, drafts: Sequence[Draft], known: Known) -> None:
    """The orders of `drafts` already credited (by an operation, or by the chain with none
    behind it: `chain_credit`), and the op ids of those whose last earn failed."""
    orders = list({(d.brand_row_id, d.order_ref) for d in drafts if d.order_ref is not None})
    if not orders:
        return
    credits_recorded = reader.execute(ANY_CHAIN_CREDIT).first() is not None
    for start in range(0, len(orders), 400):
        part = orders[start : start + 400]
        for brand_id, order_ref, uid in exact(credited_orders(reader, part), part):
            brand_row = BrandRowId(brand_id) if brand_id is not None else None
            known.orders[(brand_row, str(order_ref))] = uid
        if credits_recorded:  # a credit no operation stands for (a restore's, a brand's call)
            for brand_id, order_ref, tx_hash, op_id in exact(chain_credits(reader, part), part):
                holder = chain_credit(tx_hash, int(op_id))
                known.orders.setdefault((BrandRowId(brand_id), str(order_ref)), holder)
        for brand_id, order_ref, op_id in exact(released_op_ids(reader, part), part):
            if op_id is None:  # every earn takes its op id at intake; none to reuse if not
                continue
            brand_row = BrandRowId(brand_id) if brand_id is not None else None
            known.released[(brand_row, str(order_ref))] = int(op_id)  # the newest last
    if credits_recorded:
        _drop_ids_the_chain_gave_another_order(reader, known)


def _drop_ids_the_chain_gave_another_order(reader: Session, known: Known) -> None:
    """An order's failed op id is not carried again when the chain credited another order
    with it (`ChainCredit`: a restored backup had handed out an id used since): it failed
    `operation_used` and would fail so on every retry; the order takes a new id."""
    released = [(brand, op_id) for (brand, _), op_id in known.released.items() if brand]
    if not released:
        return
    taken = {
        (BrandRowId(brand), int(op_id)): str(ref)
        for brand, op_id, ref in exact(credits_by_op_id(reader, released), released)
    }
    for (brand, order_ref), op_id in list(known.released.items()):
        other = taken.get((brand, op_id)) if brand else None
        if other is not None and other != order_ref:
            del known.released[(brand, order_ref)]
