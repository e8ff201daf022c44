"""Brand operations: validate against state, turn into drafts, accept.

Each public method is what one route calls: it checks what needs state (`checks.py`),
builds the operation's typed payload (`model.payloads`) and hands a `Draft` to the
intake, which answers once the operation is durable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.access.sealing import bind_reference
from ledger_api.background.intake import Accepted, Draft
from ledger_api.domain import EarnKind, OpKind, quarter_label
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.domain.refs import ZERO_REF
from ledger_api.errors import NotSupported, TierAlreadyReviewed
from ledger_api.model import schemas
from ledger_api.model.payloads import (
    BadgeDefinePayload,
    BadgeIssuePayload,
    BadgeRedeemPayload,
    GiftPayload,
    RedemptionPayload,
    TierReviewPayload,
)

from .bulk import BulkEarns
from .campaigns import CampaignRules
from .checks import Checks, refusal_on_node
from .context import BrandDirectory, BrandInfo, RequestContext, draft
from .documents import benefit_document, gift_document, redeem_document
from .earns import Earns
from .reversals import Reversals

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

T = TypeVar("T")


async def _thread(fn: Callable[[], T]) -> T:
    return await run_in_threadpool(fn)


class OperationsService(Earns, BulkEarns, Reversals):
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.brands = BrandDirectory(runtime.db)
        self.checks = Checks(runtime)
        self.campaigns = CampaignRules(runtime.db)  # issue 16: rules applied at earn time

    async def _own_brand(self, who: Principal) -> BrandInfo:
        """The caller's brand, from memory when fresh (no thread hop on the hot path)."""
        cached = self.brands.cached(who.require_brand())
        return cached if cached is not None else await _thread(lambda: self.brands.own(who))

    async def _bound(self, brand: BrandInfo, reference: str) -> str:
        """`reference` as it goes on chain: bound with the brand's secret (`access.sealing`);
        the secret is unsealed once per process, in a worker thread."""
        secret = self.rt.refs.cached(brand.row_id)
        if secret is None:
            secret = await _thread(lambda: self.rt.refs.secret(brand.row_id))
        return bind_reference(secret, reference)

    # ------------------------------------------------------------------- earn

    async def earn_purchase(
        self, ctx: RequestContext, req: schemas.EarnPurchaseRequest
    ) -> Accepted:
        brand = await self._own_brand(ctx.principal)
        return await self._earn(
            ctx,
            brand,
            req.member,
            EarnKind.PURCHASE,
            req.multiplier_pct,
            req.amount_cents,
            await self._bound(brand, req.order_ref),
            green=req.green,
            birthday_week=req.birthday_week,
            referrer=req.referrer,
        )

    async def earn_engagement(
        self, ctx: RequestContext, req: schemas.EarnEngagementRequest
    ) -> Accepted:
        brand = await self._own_brand(ctx.principal)
        kind = EarnKind[req.kind.upper()]
        ref = await self._bound(brand, req.ref) if req.ref is not None else ZERO_REF
        return await self._earn(
            ctx,
            brand,
            req.member,
            kind,
            req.multiplier_pct,
            0,
            ref,
            birthday_week=req.birthday_week,
        )

    # ------------------------------------------------------- member-signed moves

    async def gift_typed_data(
        self, who: Principal, req: schemas.GiftTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            brand = self.checks.points_brand(self.brands.own(who), req.brand)
            self.checks.gift_receiver(req.to, req.member)
            nonce, held = self.checks.typed_data_nonce(req.member)
            deadline = self.checks.deadline(req.deadline)
            self.checks.balance(req.member, brand, req.amount)
            document = gift_document(
                self.rt.contracts(), req.member, req.to, brand, req.amount, nonce, deadline
            )
            return schemas.TypedDataResponse(
                typed_data=document, nonce=nonce, deadline=deadline, queued_reason=held
            )

        return await _thread(build)

    async def gift(self, ctx: RequestContext, req: schemas.GiftRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            brand = self.checks.points_brand(own, req.brand)
            return self._signed_gift(ctx, OpKind.GIFT, own, brand, req.to, req)

        return await self.rt.intake.submit(await _thread(check))

    async def donation_typed_data(
        self, who: Principal, req: schemas.DonationTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            brand = self.checks.points_brand(self.brands.own(who), None)
            nonce, held = self.checks.typed_data_nonce(req.member)
            deadline = self.checks.deadline(req.deadline)
            self.checks.balance(req.member, brand, req.amount)
            document = gift_document(
                self.rt.contracts(),
                req.member,
                self.checks.charity_pool(),
                brand,
                req.amount,
                nonce,
                deadline,
            )
            return schemas.TypedDataResponse(
                typed_data=document, nonce=nonce, deadline=deadline, queued_reason=held
            )

        return await _thread(build)

    async def donate(self, ctx: RequestContext, req: schemas.DonationRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            brand = self.checks.points_brand(own, None)
            pool = self.checks.charity_pool()
            return self._signed_gift(ctx, OpKind.DONATION, own, brand, pool, req)

        return await self.rt.intake.submit(await _thread(check))

    def _signed_gift(
        self,
        ctx: RequestContext,
        kind: OpKind,
        own: BrandInfo,
        brand: LedgerBrandId,
        to: str,
        req: schemas.GiftRequest | schemas.DonationRequest,
    ) -> Draft:
        """A gift (or a donation: `to` is the charity pool) the member signed."""
        if kind is OpKind.GIFT:
            self.checks.gift_receiver(to, req.member)
        else:  # the pool is no escrow: no code read, no scan of the auctions
            self.checks.receiver(to)
        document = gift_document(
            self.rt.contracts(), req.member, to, brand, req.amount, req.nonce, req.deadline
        )
        self.checks.signature(document, req.member, req.signature, req.nonce, req.deadline)
        self.checks.balance(req.member, brand, req.amount)
        payload = GiftPayload(
            member=req.member,
            to=to,
            brand=brand,
            amount=req.amount,
            nonce=req.nonce,
            deadline=req.deadline,
            signature=req.signature,
        )
        return draft(
            ctx, kind, own, payload, member=req.member, beneficiary=to, member_nonce=req.nonce
        )

    async def redemption_typed_data(
        self, who: Principal, req: schemas.RedemptionTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            own = self.brands.own(who)
            at_brand = own.onboarded()
            brand = LedgerBrandId(req.brand)
            self.checks.redeemable_brand(brand)
            nonce, held = self.checks.typed_data_nonce(req.member)
            deadline = self.checks.deadline(req.deadline)
            self.checks.balance(req.member, brand, req.amount)
            order_ref = self.rt.refs.bind(own.row_id, req.order_ref)
            document = redeem_document(
                self.rt.contracts(), req, at_brand, order_ref, nonce, deadline
            )
            return schemas.TypedDataResponse(
                typed_data=document, nonce=nonce, deadline=deadline, queued_reason=held
            )

        return await _thread(build)

    async def redeem(self, ctx: RequestContext, req: schemas.RedemptionRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            at_brand = own.onboarded()
            brand = LedgerBrandId(req.brand)
            self.checks.redeemable_brand(brand)
            order_ref = self.rt.refs.bind(own.row_id, req.order_ref)
            document = redeem_document(
                self.rt.contracts(), req, at_brand, order_ref, req.nonce, req.deadline
            )
            self.checks.signature(document, req.member, req.signature, req.nonce, req.deadline)
            self.checks.balance(req.member, brand, req.amount)
            payload = RedemptionPayload(
                member=req.member,
                brand=brand,
                at_brand=at_brand,
                amount=req.amount,
                order_ref=order_ref,
                nonce=req.nonce,
                deadline=req.deadline,
                signature=req.signature,
            )
            return draft(
                ctx, OpKind.REDEMPTION, own, payload, member=req.member, member_nonce=req.nonce
            )

        return await self.rt.intake.submit(await _thread(check))

    # --------------------------------------------------------- tiers and badges

    async def review_tier(self, ctx: RequestContext, member: str) -> Accepted:
        """`reviewTier(member)`, run on the node first (`_reviewable`): a member the chain
        already reviewed this quarter is 409 `tier_already_reviewed` before the 202."""

        def check() -> Draft:
            brand = self.brands.own(ctx.principal)
            _reviewable(self.rt, member)
            return draft(ctx, OpKind.TIER_REVIEW, brand, TierReviewPayload(member=member))

        # a brand whose keys do not open sends nothing: 503 before what the chain would say
        await self.rt.refs.admit(ctx.principal.require_brand())
        return await self.rt.intake.submit(await _thread(check))

    async def define_badge(self, ctx: RequestContext, req: schemas.BadgeTypeRequest) -> Accepted:
        def check() -> Draft:
            brand = self.brands.own(ctx.principal)
            if self.rt.contracts().badges is None:
                raise NotSupported("the AllianceBadges contract is not deployed")
            payload = BadgeDefinePayload(
                kind=0 if req.kind == "achievement" else 1,
                max_supply=req.max_supply,
                min_tier=req.min_tier,
                has_benefit=req.has_benefit,
                self_mint=req.self_mint,
                uri=req.uri,
            )
            return draft(ctx, OpKind.BADGE_DEFINE, brand, payload)

        return await self.rt.intake.submit(await _thread(check))

    async def issue_badge(self, ctx: RequestContext, req: schemas.BadgeIssueRequest) -> Accepted:
        def check() -> Draft:
            brand = self.brands.own(ctx.principal)
            self.checks.own_badge_type(
                brand, req.type_id, "a brand issues its own badge types only"
            )
            self.checks.issuable(brand, req.type_id, req.member, req.amount)
            payload = BadgeIssuePayload(type_id=req.type_id, member=req.member, amount=req.amount)
            return draft(ctx, OpKind.BADGE_ISSUE, brand, payload, beneficiary=req.member)

        return await self.rt.intake.submit(await _thread(check))

    async def benefit_typed_data(
        self, who: Principal, req: schemas.BenefitRedemptionTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            own = self.brands.own(who)
            self.checks.benefit_badge(own, req.type_id, req.holder)
            nonce, held = self.checks.typed_data_nonce(req.holder, "badges")
            deadline = self.checks.deadline(req.deadline)
            claim_ref = self.rt.refs.bind(own.row_id, req.claim_ref)
            document = benefit_document(self.rt.contracts(), req, claim_ref, nonce, deadline)
            return schemas.TypedDataResponse(
                typed_data=document, nonce=nonce, deadline=deadline, queued_reason=held
            )

        return await _thread(build)

    async def redeem_benefit(
        self, ctx: RequestContext, req: schemas.BenefitRedemptionRequest
    ) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            self.checks.benefit_badge(own, req.type_id, req.holder)
            claim_ref = self.rt.refs.bind(own.row_id, req.claim_ref)
            document = benefit_document(
                self.rt.contracts(), req, claim_ref, req.nonce, req.deadline
            )
            self.checks.signature(
                document, req.holder, req.signature, req.nonce, req.deadline, "badges"
            )
            payload = BadgeRedeemPayload(
                holder=req.holder,
                type_id=req.type_id,
                claim_ref=claim_ref,
                nonce=req.nonce,
                deadline=req.deadline,
                signature=req.signature,
            )
            return draft(
                ctx, OpKind.BADGE_REDEEM, own, payload, member=req.holder, member_nonce=req.nonce
            )

        return await self.rt.intake.submit(await _thread(check))


def _reviewable(rt: Runtime, member: str) -> None:
    """The review run by the node on its latest state (`eth_call` of `reviewTier`):
    `TierAlreadyReviewed` (409) as the contract refuses it. A review of 2026-12-06: a
    member already reviewed this quarter (by the quarterly round, or another brand a
    moment before) was accepted, then failed on chain on the relaying brand's gas. Its
    other refusals (a pause the review waits out) and a chain that does not answer are
    the sender's to judge."""
    call = rt.contracts().review_tier(member)
    refused = refusal_on_node(rt.chain(), call.to, call.data)
    if isinstance(refused, TierAlreadyReviewed):
        # the review's quarter and the quarter it judged, as a review's result names the
        # latter (`quarter`: a trial read Q4 here and Q3 in the result)
        quarter = int(refused.chain_args.get("quarter", 0))
        raise TierAlreadyReviewed(
            f"the member was already reviewed at {quarter_label(quarter)}'s start, on "
            f"{quarter_label(quarter - 1)}'s activity ({refused.chain_call})",
            reviewed_quarter=quarter_label(quarter),
            judged_quarter=quarter_label(quarter - 1),
            **refused.details,
        )
