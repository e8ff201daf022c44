"""Intake: stores accepted operations and their Idempotency-Keys, many per commit.

Every mutating call becomes a `Draft`. One writer task drains the queue of
drafts and stores a whole group in one database transaction (group commit),
then answers each caller: 202 with the new operation id, the original answer
for a replay of the same request, or the error that rejects it (idempotency
conflict, suspended brand, daily cap, reused signature nonce, an order that a
live operation of the brand already credits, the ledger paused). A caller hears
202 only after the operation and its key are committed.
The daily cap is the chain's, as the brand's row holds it (`brands.daily_cap_points`: the index's,
taken once it has caught up with the chain); not known yet: no check here, the chain refuses
above its cap all the same (issue 10).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ledger_api.access.audit import INSERT_AUDIT, audit_row
from ledger_api.db import Database
from ledger_api.db.disk import is_storage_full
from ledger_api.db.session import writer_role
from ledger_api.db.types import utcnow
from ledger_api.domain import BrandStatus, OpKind, OpStatus, utc_day
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.error_bodies import ledger_error_body
from ledger_api.errors import (
    BrandNotReady,
    BrandSuspended,
    DailyCapExceeded,
    DepositInProgress,
    IdempotencyConflict,
    LedgerError,
    LedgerPaused,
    SignatureReplayed,
    StorageFull,
    Unavailable,
    UnknownBrand,
)
from ledger_api.model.payloads import ReversalPayload

from .campaigns import CampaignBook, Evaluated
from .deposit_flow import DEPOSIT_STEPS, other_deposit_step
from .drafts import Accepted, Bulk, Draft, accepted_body, find_replay, queue_of
from .intake_rows import (
    BRAND_FOR_UPDATE,
    COUNTER_FOR_UPDATE,
    COUNTER_POINTS,
    INSERT_COUNTERS,
    INSERT_OPERATIONS,
    INSERT_RECORDS,
    NEXT_OP_ID,
    NONCE_TAKEN,
    BrandRow,
    CounterRow,
)
from .lookups import Known, look_up
from .reversals import ReversalBook

__all__ = ["Accepted", "Bulk", "Draft", "Intake", "accepted_body", "find_replay"]

log = logging.getLogger(__name__)

#: a member's signature nonce as a group holds it: (member, nonce domain, nonce)
Signed = tuple[str, str | None, int]
#: an earn accepted this close to the end of its UTC day (seconds, the chain's clock) counts
#: in the next day's mint count too: it may be mined then, and the chain counts it there
DAY_EDGE_S = 120


class _Batch:
    """State shared by the drafts stored in one transaction (plain rows, Core statements)."""

    def __init__(self, session: Session, known: Known) -> None:
        self.session = session
        self.connection = session.connection()
        self.brands: dict[BrandRowId, BrandRow] = {}
        self.counters: dict[tuple[BrandRowId, str], CounterRow] = {}
        self.keys = known.keys
        self.nonces: set[Signed] = set()
        self.orders = known.orders
        self.released = known.released
        self.paused = known.paused
        self.operations: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.audits: list[dict[str, Any]] = []  # the admin actions' rows (`access.audit`)
        self.reversals = ReversalBook(session)
        self.campaigns = CampaignBook(session)

    def write(self) -> None:
        """Inserts the group's operations and idempotency records, many rows per statement,
        and moves the brands' op-id counters and daily mint counters."""
        # Core inserts: the ORM's bulk path costs more than the rows. A bulk request whose
        # items were all duplicates or refused has a record and no operation.
        if self.operations:
            self.connection.execute(INSERT_OPERATIONS, self.operations)
        if self.records:
            self.connection.execute(INSERT_RECORDS, self.records)
        if self.audits:
            self.connection.execute(INSERT_AUDIT, self.audits)
        moved = [
            {"row": brand.row_id, "next": brand.next_op_id}
            for brand in self.brands.values()
            if brand.next_op_id != brand.first_op_id
        ]
        if moved:
            self.connection.execute(NEXT_OP_ID, moved)
        counted = [c for c in self.counters.values() if c.points != c.first_points]
        stored = [
            {"brand": c.brand_row_id, "on": c.day, "sum": c.points} for c in counted if c.stored
        ]
        if stored:
            self.connection.execute(COUNTER_POINTS, stored)
        new = [
            {"brand_id": c.brand_row_id, "day": c.day, "points": c.points}
            for c in counted
            if not c.stored
        ]
        if new:
            self.connection.execute(INSERT_COUNTERS, new)

    def brand(self, brand_row_id: BrandRowId) -> BrandRow:
        brand = self.brands.get(brand_row_id)
        if brand is None:
            row = self.connection.execute(BRAND_FOR_UPDATE, {"brand_id": brand_row_id}).first()
            if row is None:
                raise UnknownBrand()
            brand = BrandRow(
                brand_row_id,
                LedgerBrandId(row.ledger_id) if row.ledger_id is not None else None,
                row.status,
                row.daily_cap_points,
                row.next_op_id,
                row.next_op_id,
            )
            self.brands[brand_row_id] = brand
        return brand

    def counter(self, brand_row_id: BrandRowId, day: str) -> CounterRow:
        counter = self.counters.get((brand_row_id, day))
        if counter is None:
            points = self.connection.scalar(
                COUNTER_FOR_UPDATE, {"brand_id": brand_row_id, "day": day}
            )
            counter = CounterRow(brand_row_id, day, points or 0, points is not None, points or 0)
            self.counters[(brand_row_id, day)] = counter
        return counter

    def accept(self, draft: Draft, now: float) -> Accepted:
        key = (draft.scope, draft.idempotency_key)
        seen = self.keys.get(key)
        if seen is not None:
            if seen[0] != draft.request_hash:
                raise IdempotencyConflict(idempotency_key=draft.idempotency_key)
            answer = seen[1]
            return Accepted(answer.status_code, answer.body, True, answer.operation_uid)
        draft, brand, counters, signed, evaluated = self._check(draft, now)
        domain = draft.kind.nonce_domain
        extra = dict(draft.extra_body)
        payload, points = draft.payload, draft.points
        if draft.reversal is not None and isinstance(payload, ReversalPayload):
            payload = self.reversals.claim(draft.reversal, payload)  # the last refusal
            points = extra["points"] = payload.points
        uid = str(uuid.uuid4())
        self._hold(draft, uid, signed, evaluated)
        op_id: int | None = None
        if draft.kind in (OpKind.EARN, OpKind.REVERSAL) and brand is not None:
            op_id = self._retried_op_id(draft)
            if op_id is None:
                op_id = brand.next_op_id
                brand.next_op_id += 1
            extra["op_id"] = op_id
        body = accepted_body(uid, draft.kind, extra)
        stamp = utcnow()
        self.operations.append(
            {
                "uid": uid,
                "brand_id": draft.brand_row_id,
                "kind": draft.kind.value,
                "status": OpStatus.QUEUED.value,
                "op_id": op_id,
                "member": draft.member,
                "beneficiary": draft.beneficiary,
                "member_nonce": draft.member_nonce,
                "nonce_domain": domain if draft.member_nonce is not None else None,
                "points": points,
                "order_ref": draft.order_ref,
                "reverses_id": draft.reversal.earn_row_id if draft.reversal else None,
                "payload": payload.stored(),
                "attempts": 0,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        self.records.append(
            {
                "scope": draft.scope,
                "key": draft.idempotency_key,
                "request_hash": draft.request_hash,
                "operation_uid": uid,
                "response_status": 202,
                "response_body": body,
                "created_at": stamp,
            }
        )
        if draft.audit is not None:
            self.audits.append(audit_row(draft.audit, uid, stamp))
        for counter in counters:
            counter.points += draft.points
        answer = Accepted(202, body, False, uid)
        self.keys[key] = (draft.request_hash, answer)
        return answer

    def accept_bulk(self, bulk: Bulk, now: float) -> Accepted:
        """Every item of a bulk request, and the request's own answer (stored with its key)."""
        key = (bulk.scope, bulk.idempotency_key)
        seen = self.keys.get(key)
        if seen is not None:
            if seen[0] != bulk.request_hash:
                raise IdempotencyConflict(idempotency_key=bulk.idempotency_key)
            return Accepted(seen[1].status_code, seen[1].body, True, None)
        items: list[dict[str, Any]] = []
        for item_key, item in bulk.items:
            try:
                if isinstance(item, LedgerError):
                    raise item
                answer = self.accept(item, now)
            except LedgerError as error:
                # the error of the single route's answer: code, message and details
                refusal = ledger_error_body(error)["error"]
                items.append({"key": item_key, "result": "refused", "error": refusal})
                continue
            items.append(
                {
                    "key": item_key,
                    "result": "duplicate" if answer.replayed else "accepted",
                    "operation_id": answer.operation_uid,
                    "op_id": answer.body.get("op_id"),
                    "points": answer.body.get("points"),
                    "status": None if answer.replayed else answer.body.get("status"),
                }
            )
        results = [item["result"] for item in items]
        body = {
            "accepted": results.count("accepted"),
            "duplicates": results.count("duplicate"),
            "refused": results.count("refused"),
            "items": items,
        }
        self.records.append(
            {
                "scope": bulk.scope,
                "key": bulk.idempotency_key,
                "request_hash": bulk.request_hash,
                "operation_uid": None,
                "response_status": 202,
                "response_body": body,
                "created_at": utcnow(),
            }
        )
        answer = Accepted(202, body, False, None)
        self.keys[key] = (bulk.request_hash, answer)
        return answer

    def _check(
        self, draft: Draft, now: float
    ) -> tuple[Draft, BrandRow | None, tuple[CounterRow, ...], Signed | None, Evaluated | None]:
        """Every refusal but a reversal's: the draft as its campaign rules make it, its brand
        and daily counter, the nonce it takes and its campaign facts. Changes nothing."""
        evaluated = None
        if draft.campaign is not None and draft.brand_row_id is not None:
            self.brand(draft.brand_row_id)  # its row locked: "first at this brand" is decided once
            draft, evaluated = self.campaigns.evaluate(draft)
        brand, counters = self._check_brand(draft, now)
        if brand is not None and draft.kind in DEPOSIT_STEPS:  # one deposit at a time
            busy = other_deposit_step(self.connection, brand.row_id, self.operations, draft.deposit)
            if busy is not None:
                raise DepositInProgress(operation_id=busy)
        signed = self._check_nonce(draft)
        self._check_order(draft)
        return draft, brand, counters, signed, evaluated

    def _hold(
        self, draft: Draft, uid: str, signed: Signed | None, evaluated: Evaluated | None
    ) -> None:
        """A taken draft holds its nonce, order and campaign facts for the rest of the group:
        only once every check passed (a draft refused after a check had held them: the next
        draft's first-order bonus and referral were lost, a corrected request's nonce was
        refused as replayed)."""
        if signed is not None:
            self.nonces.add(signed)
        if draft.order_ref is not None:
            self.orders[(draft.brand_row_id, draft.order_ref)] = uid
        if evaluated is not None:
            self.campaigns.record(evaluated)

    def _check_brand(
        self, draft: Draft, now: float
    ) -> tuple[BrandRow | None, tuple[CounterRow, ...]]:
        """The chain takes the kind now (`LedgerPaused`: not while the ledger is paused, as
        the index last followed it; a replay still answers) and the brand's queue takes
        operations (active; within the chain's daily mint cap)."""
        if self.paused and draft.kind.stopped_by_pause:
            raise LedgerPaused()
        if draft.brand_row_id is None:
            return None, ()
        brand = self.brand(draft.brand_row_id)
        if brand.status == BrandStatus.SUSPENDED:
            raise BrandSuspended(brand_id=brand.ledger_brand_id)
        if brand.status != BrandStatus.ACTIVE:
            raise BrandNotReady(brand_status=brand.status)
        if not draft.points:
            return brand, ()
        cap = brand.daily_cap_points
        # in a day's last `DAY_EDGE_S` an earn may be mined the next day, where the chain counts
        # it: it counts in both (a review's 900 of a 1,000 cap at 23:59:50, mined at 00:00:05,
        # then 900 more accepted and failed on chain)
        days = dict.fromkeys((utc_day(now), utc_day(now + DAY_EDGE_S)))
        counters = tuple(self.counter(brand.row_id, day) for day in days)
        for counter in counters:
            if cap is not None and counter.points + draft.points > cap:
                raise DailyCapExceeded(
                    daily_cap_points=cap, minted_today=counter.points, requested=draft.points
                )
        return brand, counters

    def _check_nonce(self, draft: Draft) -> Signed | None:
        """A member's signature nonce is used once (in this group and in the database): the
        nonce the draft takes if accepted, None without one."""
        if draft.member_nonce is None or draft.member is None:
            return None
        signed = (draft.member, draft.kind.nonce_domain, draft.member_nonce)
        if signed in self.nonces or self._nonce_taken(draft):
            raise SignatureReplayed(member=draft.member, nonce=draft.member_nonce)
        return signed

    def _check_order(self, draft: Draft) -> None:
        """One live credit per (brand, order reference), in this group and in the database
        (read by `prefetch`); the first draft of the group taken holds the order."""
        if draft.order_ref is None:
            return
        first = self.orders.get((draft.brand_row_id, draft.order_ref))
        if first is not None:
            raise draft.duplicate(first)

    def _retried_op_id(self, draft: Draft) -> int | None:
        """The op id of the order's failed earn, for an earn of an order a failure gave back:
        the ledger applies an op id once (`isOperationUsed`), so the order is credited at most
        once even if a chain that forgets the failure's block applies the failed earn after
        all (both signed transactions go out again). None: a new op id."""
        if draft.kind is not OpKind.EARN or draft.order_ref is None:
            return None
        return self.released.get((draft.brand_row_id, draft.order_ref))

    def _nonce_taken(self, draft: Draft) -> bool:
        signed = {"member": draft.member, "domain": draft.kind.nonce_domain}
        return (
            self.connection.scalar(NONCE_TAKEN, signed | {"nonce": draft.member_nonce}) is not None
        )


Outcome = Accepted | LedgerError


class Intake:
    """The group-commit writer. `submit` returns once the operation is durable."""

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int,
        accepted: Callable[[set[BrandRowId | None]], None] = lambda queues: None,
        admit: Callable[[BrandRowId], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.max_batch = max_batch
        self.accepted = accepted
        self.admit = admit  # raises for a brand whose sealed keys do not open
        self._queue: asyncio.Queue[tuple[Draft | Bulk, asyncio.Future[Accepted]]] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="intake")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, draft: Draft | Bulk) -> Accepted:
        """The answer once stored. A brand whose keys do not open takes no operation (503
        `key_passphrase_mismatch`): it would wait for good and hold back the member's debits
        at every other brand (a trial's queued review blocked a redemption elsewhere)."""
        if self._queue is None:
            raise Unavailable("the gateway is starting")
        if (brand := queue_of(draft)) is not None and self.admit is not None:
            await self.admit(brand)
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        await self._queue.put((draft, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            items = [await self._queue.get()]
            while len(items) < self.max_batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
            drafts = [draft for draft, _ in items]
            try:
                outcomes = await asyncio.to_thread(self.store, drafts)
            except Exception as exc:
                log.exception("intake: could not store %d operations", len(items))
                outcomes = [
                    StorageFull()
                    if is_storage_full(exc)
                    else Unavailable("the database is unavailable; retry with the same key")
                ] * len(items)
            queues: set[BrandRowId | None] = set()
            for (draft, future), outcome in zip(items, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, LedgerError):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
                    if outcome.replayed:
                        continue
                    if isinstance(draft, Bulk):
                        queues.update(
                            d.brand_row_id for _, d in draft.items if isinstance(d, Draft)
                        )
                    else:
                        queues.add(draft.brand_row_id)
            if queues:
                self.accepted(queues)

    def store(self, drafts: Sequence[Draft | Bulk]) -> list[Outcome]:
        """Stores drafts in one transaction; on a constraint race, one by one."""
        with writer_role("intake"):  # the writer lock's metrics
            return self._store(drafts)

    def _store(self, drafts: Sequence[Draft | Bulk]) -> list[Outcome]:
        try:
            return self._store_group(drafts)
        except (IntegrityError, OperationalError) as exc:
            if len(drafts) == 1:
                return [self._store_alone(drafts[0], exc)]
            return [self._store_alone(draft, exc) for draft in drafts]

    def _store_group(self, drafts: Sequence[Draft | Bulk]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with self.db.read() as reader:  # before the writer lock (see `lookups`)
            known = look_up(drafts, reader)
        now = max(time.time(), known.chain_time)  # the daily cap's day: the chain's (a trial)
        with self.db.write() as session:
            batch = _Batch(session, known)
            for draft in drafts:
                try:
                    if isinstance(draft, Bulk):
                        outcomes.append(batch.accept_bulk(draft, now))
                    else:
                        outcomes.append(batch.accept(draft, now))
                except LedgerError as error:
                    outcomes.append(error)
            batch.write()
        return outcomes

    def _store_alone(self, draft: Draft | Bulk, first: Exception) -> Outcome:
        for _ in range(3):
            try:
                return self._store_group([draft])[0]
            except IntegrityError:
                continue  # a concurrent writer stored the same key or nonce: read it back
            except OperationalError as exc:
                first = exc
        log.error("intake: giving up on one operation: %s", first)
        if is_storage_full(first):
            return StorageFull()
        return Unavailable("the database is busy; retry with the same key")
