"""Brand operations: validate against state, turn into drafts, accept; and follow them.

Each public method is what one route calls. Checks that need state (the
member's signature, nonce and live balance, the brand's rule, scope) run here
and answer 4xx at once; the chain remains the authority and the sender
simulates member-signed operations again right before sending them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from ledger_api.api import schemas
from ledger_api.chain.typed_data import (
    gift_typed_data,
    recover_signer,
    redeem_benefit_typed_data,
    redeem_typed_data,
)
from ledger_api.db.models import (
    Brand,
    IdxBadgeBalance,
    IdxBadgeType,
    IdxLot,
    IdxMeta,
    IndexCursor,
    Operation,
)
from ledger_api.domain import OPEN_OP_STATUSES, BrandStatus, EarnKind, EarnRule, OpKind, OpStatus
from ledger_api.errors import (
    BadgeNoBenefit,
    BadgeNotHeld,
    BrandForbidden,
    BrandNotReady,
    BrandSuspended,
    Forbidden,
    InsufficientBalance,
    InvalidNonce,
    InvalidSignature,
    NotSupported,
    SignatureExpired,
    SignatureReplayed,
    UnknownBadge,
    UnknownBrand,
    UnknownOperation,
    ZeroPoints,
)
from ledger_api.services.apikeys import Principal
from ledger_api.services.indexer import CHARITY_POOL
from ledger_api.services.intake import Accepted, Draft
from ledger_api.services.notify import Settled
from ledger_api.services.runtime import Runtime

T = TypeVar("T")
ZERO_REF = "0x" + "00" * 32
FINAL = (OpStatus.CONFIRMED.value, OpStatus.FAILED.value)


@dataclass(frozen=True, slots=True)
class BrandInfo:
    id: int
    ledger_id: int | None
    status: str
    rule: EarnRule


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who calls, with which Idempotency-Key, and the request's fingerprint."""

    principal: Principal
    idempotency_key: str
    request_hash: str


class OperationsService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._brands: dict[int, tuple[float, BrandInfo]] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- helpers

    def _brand_info(self, brand_id: int) -> BrandInfo:
        now = time.monotonic()
        with self._lock:
            cached = self._brands.get(brand_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.rt.db.read() as session:
            brand = session.get(Brand, brand_id)
            if brand is None:
                raise UnknownBrand()
            info = BrandInfo(
                brand.id,
                brand.ledger_id,
                brand.status,
                EarnRule(
                    brand.points_per_usd,
                    brand.points_per_review,
                    brand.points_per_share,
                    brand.points_per_event,
                    brand.points_per_referral,
                ),
            )
        with self._lock:
            self._brands[brand_id] = (now + 1.0, info)
        return info

    def _own_brand(self, who: Principal) -> BrandInfo:
        if who.is_admin or who.brand_id is None:
            raise Forbidden("this call needs a brand API key")
        return self._brand_info(who.brand_id)

    async def _own_brand_async(self, who: Principal) -> BrandInfo:
        """`_own_brand`, from memory when fresh (no thread hop on the hot path)."""
        if who.is_admin or who.brand_id is None:
            raise Forbidden("this call needs a brand API key")
        with self._lock:
            cached = self._brands.get(who.brand_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return await self._thread(lambda: self._own_brand(who))

    @staticmethod
    def _ledger_id(brand: BrandInfo) -> int:
        if brand.ledger_id is None:
            raise BrandNotReady()
        return brand.ledger_id

    async def _submit(self, draft: Draft) -> Accepted:
        return await self.rt.intake.submit(draft)

    @staticmethod
    async def _thread(fn: Callable[[], T]) -> T:
        return await run_in_threadpool(fn)

    def _draft(
        self,
        ctx: RequestContext,
        kind: OpKind,
        brand: BrandInfo | None,
        payload: dict[str, Any],
        **kw: Any,
    ) -> Draft:
        return Draft(
            scope=ctx.principal.scope,
            idempotency_key=ctx.idempotency_key,
            request_hash=ctx.request_hash,
            kind=kind,
            brand_id=brand.id if brand else None,
            payload=payload,
            **kw,
        )

    # ------------------------------------------------------------------- earn

    async def earn_purchase(
        self, ctx: RequestContext, req: schemas.EarnPurchaseRequest
    ) -> Accepted:
        brand = await self._own_brand_async(ctx.principal)
        return await self._earn(
            ctx,
            brand,
            req.member,
            EarnKind.PURCHASE,
            req.multiplier_pct,
            req.amount_cents,
            req.order_ref,
        )

    async def earn_engagement(
        self, ctx: RequestContext, req: schemas.EarnEngagementRequest
    ) -> Accepted:
        brand = await self._own_brand_async(ctx.principal)
        kind = EarnKind[req.kind.upper()]
        return await self._earn(
            ctx, brand, req.member, kind, req.multiplier_pct, 0, req.ref or ZERO_REF
        )

    async def _earn(
        self,
        ctx: RequestContext,
        brand: BrandInfo,
        member: str,
        kind: EarnKind,
        multiplier_pct: int,
        amount_cents: int,
        order_ref: str,
    ) -> Accepted:
        points = brand.rule.points(kind, multiplier_pct, amount_cents)
        if points == 0:
            raise ZeroPoints(earn_kind=kind.name.lower(), multiplier_pct=multiplier_pct)
        payload = {
            "member": member,
            "earn_kind": int(kind),
            "multiplier_pct": multiplier_pct,
            "amount_cents": amount_cents,
            "order_ref": order_ref,
        }
        draft = self._draft(
            ctx,
            OpKind.EARN,
            brand,
            payload,
            member=member,
            beneficiary=member,
            points=points,
            extra_body={"points": points},
        )
        return await self._submit(draft)

    # ------------------------------------------------------- member-signed moves

    def _now(self) -> int:
        """The later of the wall clock and the chain's time (a dev chain may run ahead)."""
        head = self.rt.chain().block("latest")
        return max(int(time.time()), self._index_time(), head.timestamp if head else 0)

    def _deadline(self, deadline: int | None) -> int:
        return deadline if deadline is not None else self._now() + self.rt.settings.signature_ttl_s

    def _next_member_nonce(self, member: str, domain: str = "ledger") -> tuple[int, int]:
        """(the contract's nonce, the next nonce once the gateway's pending operations land)."""
        contracts = self.rt.contracts()
        if domain == "badges":
            call = contracts.badge_nonces_call(member)
            assert contracts.badges is not None  # badge_nonces_call raised otherwise
            codec = contracts.badges["nonces"]
        else:
            call = contracts.nonces_call(member)
            codec = contracts.ledger["nonces"]
        (chain_nonce,) = codec.decode(self.rt.chain().call(call.to, call.data))
        with self.rt.db.read() as session:
            pending = session.scalar(
                select(func.max(Operation.member_nonce)).where(
                    Operation.member == member,
                    Operation.nonce_domain == domain,
                    Operation.status.in_(OPEN_OP_STATUSES),
                )
            )
        expected = max(int(chain_nonce), (pending + 1) if pending is not None else 0)
        return int(chain_nonce), expected

    def _check_signature(
        self,
        document: dict[str, Any],
        member: str,
        signature: str,
        nonce: int,
        deadline: int,
        domain: str = "ledger",
    ) -> None:
        if deadline < self._now():
            raise SignatureExpired(deadline=deadline)
        signer = recover_signer(document, bytes.fromhex(signature[2:]))
        if signer != member and self.rt.chain().code_size(member) == 0:
            # contract wallets (ERC-1271) are checked by the contract itself
            raise InvalidSignature(member=member, recovered=signer)
        chain_nonce, expected = self._next_member_nonce(member, domain)
        if nonce < chain_nonce:
            raise SignatureReplayed(member=member, nonce=nonce, next_nonce=chain_nonce)
        if nonce > expected:
            raise InvalidNonce(member=member, nonce=nonce, next_nonce=expected)

    def _check_balance(self, member: str, brand: int, amount: int) -> None:
        """The index's live balance, less the member's debits still in flight."""
        now = self._now()
        with self.rt.db.read() as session:
            live = session.scalar(
                select(func.coalesce(func.sum(IdxLot.amount), 0)).where(
                    IdxLot.member == member, IdxLot.brand == brand, IdxLot.expires_at > now
                )
            )
            pending = session.scalars(
                select(Operation.payload).where(
                    Operation.member == member,
                    Operation.kind.in_(
                        [OpKind.GIFT.value, OpKind.DONATION.value, OpKind.REDEMPTION.value]
                    ),
                    Operation.status.in_(OPEN_OP_STATUSES),
                )
            ).all()
        in_flight = sum(int(p["amount"]) for p in pending if int(p["brand"]) == brand)
        available = int(live or 0) - in_flight
        if available < amount:
            raise InsufficientBalance(
                member=member, brand_id=brand, available=available, needed=amount
            )

    def _index_time(self) -> int:
        with self.rt.db.read() as session:
            cursor = session.get(IndexCursor, 1)
            return cursor.last_block_timestamp if cursor else 0

    def _points_brand(self, own: BrandInfo, requested: int | None) -> int:
        ledger_id = self._ledger_id(own)
        if requested is not None and requested != ledger_id:
            raise BrandForbidden("a brand relays gifts and donations of its own points only")
        return ledger_id

    def _charity_pool(self) -> str:
        with self.rt.db.read() as session:
            meta = session.get(IdxMeta, CHARITY_POOL)
            if meta is not None:
                return meta.value
        contracts = self.rt.contracts()
        call = contracts.charity_pool_call()
        (pool,) = contracts.ledger["charityPool"].decode(self.rt.chain().call(call.to, call.data))
        return str(pool)

    def _gift_document(
        self, member: str, to: str, brand: int, amount: int, nonce: int, deadline: int
    ) -> dict[str, Any]:
        contracts = self.rt.contracts()
        return gift_typed_data(
            chain_id=contracts.chain_id,
            ledger=contracts.ledger_address,
            member=member,
            to=to,
            brand=brand,
            amount=amount,
            nonce=nonce,
            deadline=deadline,
        )

    async def gift_typed_data(
        self, who: Principal, req: schemas.GiftTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            brand = self._points_brand(self._own_brand(who), req.brand)
            _, nonce = self._next_member_nonce(req.member)
            deadline = self._deadline(req.deadline)
            document = self._gift_document(req.member, req.to, brand, req.amount, nonce, deadline)
            return schemas.TypedDataResponse(typed_data=document, nonce=nonce, deadline=deadline)

        return await self._thread(build)

    async def gift(self, ctx: RequestContext, req: schemas.GiftRequest) -> Accepted:
        def check() -> Draft:
            own = self._own_brand(ctx.principal)
            brand = self._points_brand(own, req.brand)
            document = self._gift_document(
                req.member, req.to, brand, req.amount, req.nonce, req.deadline
            )
            self._check_signature(document, req.member, req.signature, req.nonce, req.deadline)
            self._check_balance(req.member, brand, req.amount)
            payload = {
                "member": req.member,
                "to": req.to,
                "brand": brand,
                "amount": req.amount,
                "nonce": req.nonce,
                "deadline": req.deadline,
                "signature": req.signature,
            }
            return self._draft(
                ctx,
                OpKind.GIFT,
                own,
                payload,
                member=req.member,
                beneficiary=req.to,
                member_nonce=req.nonce,
            )

        return await self._submit(await self._thread(check))

    async def donation_typed_data(
        self, who: Principal, req: schemas.DonationTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            brand = self._points_brand(self._own_brand(who), None)
            _, nonce = self._next_member_nonce(req.member)
            deadline = self._deadline(req.deadline)
            document = self._gift_document(
                req.member, self._charity_pool(), brand, req.amount, nonce, deadline
            )
            return schemas.TypedDataResponse(typed_data=document, nonce=nonce, deadline=deadline)

        return await self._thread(build)

    async def donate(self, ctx: RequestContext, req: schemas.DonationRequest) -> Accepted:
        def check() -> Draft:
            own = self._own_brand(ctx.principal)
            brand = self._points_brand(own, None)
            pool = self._charity_pool()
            document = self._gift_document(
                req.member, pool, brand, req.amount, req.nonce, req.deadline
            )
            self._check_signature(document, req.member, req.signature, req.nonce, req.deadline)
            self._check_balance(req.member, brand, req.amount)
            payload = {
                "member": req.member,
                "to": pool,
                "brand": brand,
                "amount": req.amount,
                "nonce": req.nonce,
                "deadline": req.deadline,
                "signature": req.signature,
            }
            return self._draft(
                ctx,
                OpKind.DONATION,
                own,
                payload,
                member=req.member,
                beneficiary=pool,
                member_nonce=req.nonce,
            )

        return await self._submit(await self._thread(check))

    def _redeemable_brand(self, ledger_id: int) -> None:
        with self.rt.db.read() as session:
            brand = session.scalar(select(Brand).where(Brand.ledger_id == ledger_id))
        if brand is None:
            raise UnknownBrand(brand_id=ledger_id)
        if brand.status == BrandStatus.SUSPENDED:
            raise BrandSuspended(brand_id=ledger_id)

    def _redeem_document(
        self,
        req: schemas.RedemptionRequest | schemas.RedemptionTypedDataRequest,
        at_brand: int,
        nonce: int,
        deadline: int,
    ) -> dict[str, Any]:
        contracts = self.rt.contracts()
        return redeem_typed_data(
            chain_id=contracts.chain_id,
            ledger=contracts.ledger_address,
            member=req.member,
            brand=req.brand,
            at_brand=at_brand,
            amount=req.amount,
            order_ref=req.order_ref,
            nonce=nonce,
            deadline=deadline,
        )

    async def redemption_typed_data(
        self, who: Principal, req: schemas.RedemptionTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            at_brand = self._ledger_id(self._own_brand(who))
            self._redeemable_brand(req.brand)
            _, nonce = self._next_member_nonce(req.member)
            deadline = self._deadline(req.deadline)
            document = self._redeem_document(req, at_brand, nonce, deadline)
            return schemas.TypedDataResponse(typed_data=document, nonce=nonce, deadline=deadline)

        return await self._thread(build)

    async def redeem(self, ctx: RequestContext, req: schemas.RedemptionRequest) -> Accepted:
        def check() -> Draft:
            own = self._own_brand(ctx.principal)
            at_brand = self._ledger_id(own)
            self._redeemable_brand(req.brand)
            document = self._redeem_document(req, at_brand, req.nonce, req.deadline)
            self._check_signature(document, req.member, req.signature, req.nonce, req.deadline)
            self._check_balance(req.member, req.brand, req.amount)
            payload = {
                "member": req.member,
                "brand": req.brand,
                "at_brand": at_brand,
                "amount": req.amount,
                "order_ref": req.order_ref,
                "nonce": req.nonce,
                "deadline": req.deadline,
                "signature": req.signature,
            }
            return self._draft(
                ctx, OpKind.REDEMPTION, own, payload, member=req.member, member_nonce=req.nonce
            )

        return await self._submit(await self._thread(check))

    # --------------------------------------------------------- tiers and badges

    async def review_tier(self, ctx: RequestContext, member: str) -> Accepted:
        brand = await self._thread(lambda: self._own_brand(ctx.principal))
        return await self._submit(self._draft(ctx, OpKind.TIER_REVIEW, brand, {"member": member}))

    async def define_badge(self, ctx: RequestContext, req: schemas.BadgeTypeRequest) -> Accepted:
        def check() -> Draft:
            brand = self._own_brand(ctx.principal)
            contracts = self.rt.contracts()
            if contracts.badges is None:
                raise NotSupported("the AllianceBadges contract is not deployed")
            payload = {
                "kind": 0 if req.kind == "achievement" else 1,
                "max_supply": req.max_supply,
                "min_tier": req.min_tier,
                "has_benefit": req.has_benefit,
                "self_mint": req.self_mint,
                "uri": req.uri,
            }
            return self._draft(ctx, OpKind.BADGE_DEFINE, brand, payload)

        return await self._submit(await self._thread(check))

    async def issue_badge(self, ctx: RequestContext, req: schemas.BadgeIssueRequest) -> Accepted:
        def check() -> Draft:
            brand = self._own_brand(ctx.principal)
            with self.rt.db.read() as session:
                badge = session.get(IdxBadgeType, req.type_id)
            if badge is None:
                raise UnknownBadge(type_id=req.type_id)
            if badge.brand != brand.ledger_id:
                raise BrandForbidden("a brand issues its own badge types only")
            payload = {"type_id": req.type_id, "member": req.member, "amount": req.amount}
            return self._draft(ctx, OpKind.BADGE_ISSUE, brand, payload, beneficiary=req.member)

        return await self._submit(await self._thread(check))

    def _benefit_badge(self, own: BrandInfo, type_id: int, holder: str) -> None:
        """The brand's own badge type, with a benefit, of which the holder owns a unit."""
        with self.rt.db.read() as session:
            badge = session.get(IdxBadgeType, type_id)
            held = session.get(IdxBadgeBalance, (holder, str(type_id)))
        if badge is None:
            raise UnknownBadge(type_id=type_id)
        if badge.brand != own.ledger_id:
            raise BrandForbidden("a brand redeems the benefits of its own badge types only")
        if not badge.has_benefit:
            raise BadgeNoBenefit(type_id=type_id)
        if held is None or held.amount <= 0:
            raise BadgeNotHeld(type_id=type_id, holder=holder)

    def _benefit_document(
        self,
        req: schemas.BenefitRedemptionRequest | schemas.BenefitRedemptionTypedDataRequest,
        nonce: int,
        deadline: int,
    ) -> dict[str, Any]:
        contracts = self.rt.contracts()
        if contracts.badges_address is None:
            raise NotSupported("the AllianceBadges contract is not deployed")
        return redeem_benefit_typed_data(
            chain_id=contracts.chain_id,
            badges=contracts.badges_address,
            holder=req.holder,
            type_id=req.type_id,
            claim_ref=req.claim_ref,
            nonce=nonce,
            deadline=deadline,
        )

    async def benefit_typed_data(
        self, who: Principal, req: schemas.BenefitRedemptionTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            self._benefit_badge(self._own_brand(who), req.type_id, req.holder)
            _, nonce = self._next_member_nonce(req.holder, "badges")
            deadline = self._deadline(req.deadline)
            document = self._benefit_document(req, nonce, deadline)
            return schemas.TypedDataResponse(typed_data=document, nonce=nonce, deadline=deadline)

        return await self._thread(build)

    async def redeem_benefit(
        self, ctx: RequestContext, req: schemas.BenefitRedemptionRequest
    ) -> Accepted:
        def check() -> Draft:
            own = self._own_brand(ctx.principal)
            self._benefit_badge(own, req.type_id, req.holder)
            document = self._benefit_document(req, req.nonce, req.deadline)
            self._check_signature(
                document, req.holder, req.signature, req.nonce, req.deadline, "badges"
            )
            payload = {
                "holder": req.holder,
                "type_id": req.type_id,
                "claim_ref": req.claim_ref,
                "nonce": req.nonce,
                "deadline": req.deadline,
                "signature": req.signature,
            }
            return self._draft(
                ctx, OpKind.BADGE_REDEEM, own, payload, member=req.holder, member_nonce=req.nonce
            )

        return await self._submit(await self._thread(check))

    # ----------------------------------------------------------------- status

    def _status(self, who: Principal, uid: str) -> schemas.OperationStatus:
        with self.rt.db.read() as session:
            op = session.scalar(select(Operation).where(Operation.uid == uid))
            ledger_id = None
            if op is not None and op.brand_id is not None:
                ledger_id = session.scalar(select(Brand.ledger_id).where(Brand.id == op.brand_id))
        if op is None or not (
            who.is_admin or (op.brand_id is not None and op.brand_id == who.brand_id)
        ):
            raise UnknownOperation(operation_id=uid)
        return self._view(Settled.of(op, ledger_id), self.rt.index_height())

    @staticmethod
    def _view(state: Settled, index_height: int) -> schemas.OperationStatus:
        indexed = state.status == OpStatus.FAILED.value or (
            state.status == OpStatus.CONFIRMED.value
            and state.block_number is not None
            and index_height >= state.block_number
        )
        return schemas.OperationStatus(
            operation_id=state.uid,
            kind=state.kind,
            status=state.status,
            brand_id=state.brand_id,
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
        read = lambda: self._status(who, uid)
        current = None if just_accepted and wait_s else await self.rt.read(read)
        if not wait_s:
            assert current is not None
            return current
        deadline = time.monotonic() + min(wait_s, self.rt.settings.wait_max_s)
        # Wake-ups come from this process's sender and indexer, or from the notifier's poll of
        # the database when they run in another process; a process with neither polls itself.
        poll = 0.5 if self.rt.notified else 0.05
        while time.monotonic() < deadline:
            if current is not None and current.status in FINAL:
                if current.indexed or current.block_number is None:
                    return current
                await self.rt.notifier.wait_index(
                    current.block_number, min(poll, deadline - time.monotonic())
                )
                if self.rt.index_height() >= current.block_number:
                    # The index reached the operation's block: nothing else about it changes.
                    return current.model_copy(update={"indexed": True})
                continue
            settled = await self.rt.notifier.wait_operation(
                uid, min(poll, max(0.0, deadline - time.monotonic()))
            )
            current = self._from_settled(settled) if settled else await self.rt.read(read)
        return current if current is not None else await self.rt.read(read)

    def _from_settled(self, settled: Settled) -> schemas.OperationStatus:
        """The status of an operation the notifier has just seen settle (no database read)."""
        return self._view(settled, self.rt.notifier.index_height)

    async def answer(
        self, who: Principal, accepted: Accepted, wait_s: float | None
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP answer for an accepted operation: 202, or 200 with its final status."""
        if not wait_s or accepted.operation_uid is None:
            return accepted.status_code, accepted.body
        final = await self.status(
            who, accepted.operation_uid, wait_s, just_accepted=not accepted.replayed
        )
        if final.status in FINAL and (final.indexed or final.status == "failed"):
            return 200, final.model_dump(mode="json")
        return accepted.status_code, {**accepted.body, "status": final.status}
