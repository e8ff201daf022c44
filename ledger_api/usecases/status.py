"""An operation's status, waiting until it is final (and indexed), and the HTTP answer.

A waiting request is woken by this process's sender and indexer, or by the notifier's
poll of the database when they run in another process; a process with neither polls.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select

from ledger_api.access.apikeys import Principal
from ledger_api.background.indexer.cursor import FOLLOWED_PAUSE, STORED_HEIGHT
from ledger_api.background.intake import Accepted
from ledger_api.background.multisig import admin_transaction
from ledger_api.background.notify import Settled
from ledger_api.background.sender.debit_order import waits_for_held_nonce
from ledger_api.db.models import Brand, Operation, table_of
from ledger_api.domain import OPEN_OP_STATUSES, OpKind, OpStatus
from ledger_api.domain.brands import daily_cap_uid
from ledger_api.errors import LedgerError, UnknownOperation
from ledger_api.model import schemas
from ledger_api.model.payloads import concerned_brand, payload_of

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime


_OPERATIONS, _BRANDS = table_of(Operation), table_of(Brand)
#: an operation (by `uid`): what its status shows (`Settled`), its brand row and payload, the
#: brand's ledger id (NULL: the admin's, or not onboarded yet) and the index height; prebuilt
#: (a hot read, issue 15): one plain row, none for no operation
_STATUS = (
    select(
        _OPERATIONS.c.uid,
        _OPERATIONS.c.kind,
        _OPERATIONS.c.status,
        _OPERATIONS.c.op_id,
        _OPERATIONS.c.tx_hash,
        _OPERATIONS.c.block_number,
        _OPERATIONS.c.result,
        _OPERATIONS.c.error_code,
        _OPERATIONS.c.error_message,
        _OPERATIONS.c.created_at,
        _OPERATIONS.c.updated_at,
        _OPERATIONS.c.brand_id,
        _OPERATIONS.c.payload,
        _BRANDS.c.ledger_id,
        STORED_HEIGHT.label("index_height"),
        FOLLOWED_PAUSE.label("ledger_paused"),
    )
    .select_from(_OPERATIONS.outerjoin(_BRANDS, _BRANDS.c.id == _OPERATIONS.c.brand_id))
    .where(_OPERATIONS.c.uid == bindparam("uid"))
)


#: the onboardings: one of them may have announced a follow-up (`_follow_up`)
_ONBOARDINGS = select(
    _OPERATIONS.c.uid,
    _OPERATIONS.c.status,
    _OPERATIONS.c.payload,
    _OPERATIONS.c.error_code,
    _OPERATIONS.c.error_message,
    _OPERATIONS.c.created_at,
    _OPERATIONS.c.updated_at,
).where(_OPERATIONS.c.kind == OpKind.ONBOARD_BRAND.value, _OPERATIONS.c.brand_id.is_(None))


def _follow_up(uid: str, connection: Connection) -> schemas.OperationStatus | None:
    """The `set_daily_cap` an onboarding's answer announced (`daily_cap_operation_id`), before
    the sender queues it once the onboarding lands (`domain.brands`): `queued` with
    `awaiting_onboarding` meanwhile, `failed` with the onboarding's error when that failed;
    None when no onboarding announced `uid`. A trial's multisig operator, following the
    announced id, read 404 `operation_not_found`, and `Prefer: wait` did not wait. One row
    per onboarding, a few hundred at most in an alliance: no index of announced ids."""
    for row in connection.execute(_ONBOARDINGS):
        if row.payload.get("daily_cap_points") is None or daily_cap_uid(row.uid) != uid:
            continue
        failed = row.status == OpStatus.FAILED.value
        error = None
        if failed:
            error = schemas.OperationError(
                code=row.error_code or "onboarding_failed",
                message=f"the onboarding it follows ({row.uid}) failed: {row.error_message}",
            )
        return schemas.OperationStatus(
            operation_id=uid,
            kind=OpKind.SET_DAILY_CAP.value,
            status="failed" if failed else "queued",
            brand_id=None,
            op_id=None,
            tx_hash=None,
            block_number=None,
            indexed=failed,
            queued_reason=None if failed else "awaiting_onboarding",
            result=None,
            error=error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
    return None


#: what a bulk answer's item shows of a brand's operations, by `uid` (its duplicate items)
_STATUSES = select(
    _OPERATIONS.c.uid,
    _OPERATIONS.c.status,
    _OPERATIONS.c.tx_hash,
    _OPERATIONS.c.block_number,
    _OPERATIONS.c.error_code,
    _OPERATIONS.c.error_message,
).where(
    _OPERATIONS.c.uid.in_(bindparam("uids", expanding=True)),
    _OPERATIONS.c.brand_id == bindparam("brand_id"),
)


def _final(status: str) -> bool:
    return OpStatus(status).final


class StatusService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _status(self, who: Principal, uid: str) -> schemas.OperationStatus:
        """The operation as `who` may see it (its brand's, or the admin's), in one statement."""
        # the index height from the same read: a notifier's copy may be stale in a process
        # nobody waits in, or high after the index was rolled back. A connection, no session:
        # one statement needs none of its bookkeeping.
        with self.rt.db.read_engine.connect() as connection:
            row = connection.execute(_STATUS, {"uid": uid}).first()
            if row is None and who.is_admin and (announced := _follow_up(uid, connection)):
                return announced
            if row is None or not (
                who.is_admin or (row.brand_id is not None and row.brand_id == who.brand_row_id)
            ):
                raise UnknownOperation(operation_id=uid)
            reason = None
            if row.status in OPEN_OP_STATUSES:  # why it waits, if something it needs is away
                reason = self.rt.queued_reason()
                if reason is None and self._may_wait_for_nonce(row.status, row.kind):
                    reason = self._held_reason(uid, connection)
                if reason is None and row.ledger_paused == "1":
                    reason = "ledger_paused" if OpKind(row.kind).stopped_by_pause else None
                if reason is None:
                    reason = self._stalled_reason(row.brand_id)
        if row.brand_id is not None:
            ledger_brand_id = row.ledger_id
        else:  # the admin's: the brand it acts on, if one
            ledger_brand_id = concerned_brand(row.kind, row.payload, row.result)
        view = self._view(Settled.of(row, ledger_brand_id), row.index_height)
        campaign = row.payload.get("campaign") if row.kind == OpKind.EARN.value else None
        if campaign or reason:
            view = view.model_copy(update={"campaign": campaign, "queued_reason": reason})
        if row.brand_id is None and row.status == OpStatus.QUEUED.value:
            return self._for_multisig(view, row.kind, row.payload)
        return view

    def _for_multisig(
        self, view: schemas.OperationStatus, kind: str, payload: dict[str, Any]
    ) -> schemas.OperationStatus:
        """A queued admin operation of a gateway without the admin key, with the transaction
        its multisig executes (the daily cap after an onboarding: no answer carried it)."""
        if self.rt.settings.admin_signs:
            return view
        try:
            transaction = admin_transaction(self.rt.contracts(), payload_of(kind, payload))
        except (LedgerError, ValueError):  # no manifest loaded yet, a payload of another shape
            return view
        return view.model_copy(update={"admin_transaction": transaction})

    def _stalled_reason(self, brand_row_id: int | None) -> str | None:
        """`signer_stalled` while the signer of the operation's queue cannot send
        (`SignerStalled`: no gas money, ...), as the admin's health says it: a trial's earn
        said `submitted` and nothing more for as long as the signer had no gas."""
        rt = self.rt
        report = None if rt.is_sender else rt.cached_work_status()
        signers = (report or {}).get("sender") or (rt.sender.status() if rt.sender else [])
        stalled = any(
            s.get("brand_row_id") == brand_row_id
            and not s.get("healthy", True)
            and str(s.get("last_error") or "").startswith("SignerStalled")
            for s in signers
        )
        return "signer_stalled" if stalled else None

    @staticmethod
    def _view(state: Settled, index_height: int) -> schemas.OperationStatus:
        block = indexed_by(state.status, state.block_number, state.result)
        indexed = state.status == OpStatus.FAILED.value or (
            state.status == OpStatus.CONFIRMED.value and block is not None and index_height >= block
        )
        return schemas.OperationStatus(
            operation_id=state.uid,
            kind=state.kind,
            status=state.status,
            brand_id=state.ledger_brand_id,
            op_id=state.op_id,
            tx_hash=state.tx_hash,
            block_number=state.block_number,
            indexed=indexed,
            result=state.result,
            error=schemas.OperationError(code=state.error_code, message=state.error_message or "")
            if state.error_code
            else None,
            created_at=state.created_at,
            updated_at=state.updated_at,
        )

    async def status(
        self, who: Principal, uid: str, wait_s: float | None, *, just_accepted: bool = False
    ) -> schemas.OperationStatus:
        """The operation's status; with `wait_s`, waits until it is final and indexed.

        `just_accepted`: the caller has just queued the operation, so the wait starts without
        reading it back (a query less per waiting request, which counts under load)."""
        current = None if just_accepted and wait_s else await self._read(who, uid)
        if not wait_s:
            assert current is not None
            return current
        deadline = time.monotonic() + min(wait_s, self.rt.settings.wait_max_s)
        poll = 0.5 if self.rt.notified else 0.05
        while time.monotonic() < deadline:
            if current is not None and _final(current.status):
                block = indexed_by(current.status, current.block_number, current.result)
                if current.indexed or block is None:
                    return current
                if await self._indexed(block, poll, deadline):
                    # The index reached the operation's block: nothing else about it changes.
                    return current.model_copy(update={"indexed": True})
                continue
            settled = await self.rt.notifier.wait_operation(
                uid, min(poll, max(0.0, deadline - time.monotonic()))
            )
            fresh = self._from_settled(settled) if settled else await self._read(who, uid)
            if current is not None and current.campaign and fresh.campaign is None:
                fresh = fresh.model_copy(update={"campaign": current.campaign})  # never changes
            current = fresh
        return current if current is not None else await self._read(who, uid)

    async def status_once_queued(
        self, who: Principal, uid: str, wait_s: float
    ) -> schemas.OperationStatus:
        """`status` with a wait, for an operation the sender queues itself (e.g. a brand's cap
        after its onboarding): `UnknownOperation` only if it is still missing after `wait_s`."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return await self.status(who, uid, max(0.0, deadline - time.monotonic()))
            except UnknownOperation:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.05)

    async def _read(self, who: Principal, uid: str) -> schemas.OperationStatus:
        return await self.rt.read(lambda: self._status(who, uid))

    async def _indexed(self, block_number: int, poll: float, deadline: float) -> bool:
        await self.rt.notifier.wait_index(block_number, min(poll, deadline - time.monotonic()))
        return self.rt.index_height() >= block_number

    def _from_settled(self, settled: Settled) -> schemas.OperationStatus:
        """The status of an operation the notifier has just seen settle (no database read)."""
        return self._view(settled, self.rt.notifier.index_height)

    async def answer(
        self, who: Principal, accepted: Accepted, wait_s: float | None
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP answer for an accepted operation: 202, or 200 with its final status. A
        multisig admin's operation (`admin_transaction` in the answer) is answered at once:
        only the multisig lands it, from the transaction this answer hands out (a trial's
        `?wait=true` held the answer 10 s for nothing)."""
        if accepted.body.get("admin_transaction") is not None:
            wait_s = None
        if not wait_s or accepted.operation_uid is None:
            return accepted.status_code, await self._with_reason(
                who, accepted.status_code, accepted.body
            )
        final = await self.status(
            who, accepted.operation_uid, wait_s, just_accepted=not accepted.replayed
        )
        if _final(final.status) and (final.indexed or final.status == OpStatus.FAILED.value):
            campaign = accepted.body.get("campaign")  # the earn's rules (issue 16)
            if campaign is not None:
                final = final.model_copy(update={"campaign": campaign})
            return 200, final.model_dump(mode="json")
        return accepted.status_code, await self._with_reason(
            who, accepted.status_code, {**accepted.body, "status": final.status}
        )

    async def bulk_answer(
        self, who: Principal, accepted: Accepted, wait_s: float | None
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP answer of a bulk request: 202 with each item's answer; with `wait_s`,
        each stored item's status once final (and indexed), 200 when all of them are."""
        body = accepted.body
        if not wait_s:
            return accepted.status_code, await self._duplicates_now(who, body)
        fresh = not accepted.replayed

        async def follow(item: dict[str, Any]) -> dict[str, Any]:
            uid = item.get("operation_id")
            if uid is None:
                return item
            just = fresh and item["result"] == "accepted"
            final = await self.status(who, uid, wait_s, just_accepted=just)
            error = final.error.model_dump() if final.error is not None else item.get("error")
            return {
                **item,
                "status": final.status,
                "tx_hash": final.tx_hash,
                "block_number": final.block_number,
                "error": error,
                "done": _final(final.status)
                and (final.indexed or final.status == OpStatus.FAILED.value),
            }

        items = await asyncio.gather(*(follow(item) for item in body["items"]))
        done = all(item.pop("done", True) for item in items)
        return (200 if done else 202), {**body, "items": items}

    async def _duplicates_now(self, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        """The bulk answer `body` with each `duplicate` item's operation as it is now (the
        intake stores none of it: an earlier request stored the operation): its status,
        transaction, block and, once failed, its error, read in one statement; the body itself
        when no item is a duplicate."""
        uids = [
            item["operation_id"]
            for item in body["items"]
            if item["result"] == "duplicate" and item.get("operation_id")
        ]
        if not uids or who.brand_row_id is None:
            return body

        def read() -> dict[str, Any]:
            with self.rt.db.read_engine.connect() as connection:
                rows = connection.execute(_STATUSES, {"uids": uids, "brand_id": who.brand_row_id})
                return {row.uid: row for row in rows}

        found = await self.rt.read(read)
        items = []
        for item in body["items"]:
            row = found.get(item.get("operation_id")) if item["result"] == "duplicate" else None
            if row is None:
                items.append(item)
                continue
            error = None
            if row.error_code:
                error = {"code": row.error_code, "message": row.error_message or "", "details": {}}
            items.append(
                {
                    **item,
                    "status": row.status,
                    "tx_hash": row.tx_hash,
                    "block_number": row.block_number,
                    "error": error,
                }
            )
        return {**body, "items": items}

    async def _with_reason(
        self, who: Principal, status_code: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        """A 202 for an operation still waiting says why (`queued_reason`): the chain or the
        sender process is away (`Runtime.queued_reason`), or, for a member-signed move, the
        member's earlier one waits at a brand whose key is shut (`earlier_nonce_held`), or the
        caller's queue's signer cannot send (`signer_stalled`: a trial's 202 said nothing)."""
        if status_code != 202 or body.get("status") not in ("queued", "submitted"):
            return body
        reason = self.rt.queued_reason()
        uid = body.get("operation_id")
        if reason is None and uid and self._may_wait_for_nonce(body["status"], body["kind"]):
            reason = await self.rt.read(lambda: self._held_reason(uid))
        if reason is None:
            reason = self._stalled_reason(None if who.is_admin else who.brand_row_id)
        return {**body, "queued_reason": reason} if reason else body

    @staticmethod
    def _may_wait_for_nonce(status: str, kind: str) -> bool:
        return status == OpStatus.QUEUED.value and OpKind(kind).member_signed

    def _held_reason(self, uid: str, connection: Connection | None = None) -> str | None:
        """`earlier_nonce_held` when the operation waits for its member's earlier one at a
        brand whose key is shut (`debit_order.waits_for_held_nonce`), else None."""
        if connection is None:
            with self.rt.db.read_engine.connect() as own:
                return self._held_reason(uid, own)
        return "earlier_nonce_held" if waits_for_held_nonce(connection, uid) else None


def indexed_by(status: str, block_number: int | None, result: Any) -> int | None:
    """The block the index must reach to hold a confirmed operation: its transaction's, or,
    for an earn found applied by an earlier transaction of ours that no receipt names
    (`applied_earlier` when its slot's nonce went elsewhere), the head it was found at; 0
    for one with no transaction of its own: in place before it (`sender.already`), or a
    multisig's admin operation, confirmed once the watcher found its effect in the index
    (`background.multisig`: a trial's stayed `indexed: false`, and the client's `wait` timed
    out on it)."""
    if block_number is not None or status != OpStatus.CONFIRMED.value:
        return block_number
    found = result.get("applied_by_block") if isinstance(result, dict) else None
    return found if isinstance(found, int) else 0
