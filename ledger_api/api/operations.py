"""Brand operations: earn, gift, donate, redeem, tier reviews, badges; and their status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from ledger_api.api.deps import (
    BrandDep,
    ContextDep,
    MemberDep,
    OperationsDep,
    PrincipalDep,
    StatusDep,
    WaitDep,
)
from ledger_api.api.responses import local_response, operation_response
from ledger_api.model import bulk, schemas
from ledger_api.model.fields import OperationId

router = APIRouter(prefix="/v1", tags=["operations"])

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": schemas.OperationAccepted,
        "description": "stored; follow it at /v1/operations/{id}",
    },
    200: {
        "model": schemas.OperationStatus,
        "description": "final (with ?wait=true or Prefer: wait=N)",
    },
}


@router.post(
    "/earn/purchase", status_code=202, responses=ACCEPTED, summary="Earn points for a purchase"
)
async def earn_purchase(
    body: schemas.EarnPurchaseRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(status, ctx.principal, await ops.earn_purchase(ctx, body), wait)


@router.post(
    "/earn/batch",
    status_code=202,
    responses={
        202: {"model": bulk.EarnBatchAnswer, "description": "stored; an answer per item"},
        200: {
            "model": bulk.EarnBatchAnswer,
            "description": "with Prefer: wait=N, every stored item final within N seconds",
        },
    },
    summary="Earn points for up to 1,000 purchases and engagements at once",
)
async def earn_batch(
    body: bulk.EarnBatchRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    """One durable write for the whole request; each item idempotent on its own `key`."""
    accepted = await ops.earn_batch(ctx, body)
    status_code, answer = await status.bulk_answer(ctx.principal, accepted, wait)
    shaped = bulk.EarnBatchAnswer.model_validate(answer).model_dump(mode="json")
    return local_response(status_code, shaped, accepted.replayed)


@router.post(
    "/earn/reversals",
    status_code=202,
    responses=ACCEPTED,
    summary="Reverse a returned order's pending points, in whole or in part",
)
async def earn_reversal(
    body: schemas.EarnReversalRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    """By the brand that credited the order, while its points are pending (issue 11):
    `order_not_found` (404), `order_not_settled`, `reversal_exceeds_order`,
    `reversal_window_closed` (409)."""
    return await operation_response(status, ctx.principal, await ops.reverse(ctx, body), wait)


@router.post(
    "/earn/engagement",
    status_code=202,
    responses=ACCEPTED,
    summary="Earn points for a review, share, event or referral",
)
async def earn_engagement(
    body: schemas.EarnEngagementRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(
        status, ctx.principal, await ops.earn_engagement(ctx, body), wait
    )


@router.post("/gifts/typed-data", summary="EIP-712 data the member signs to gift points")
async def gift_typed_data(
    body: schemas.GiftTypedDataRequest, who: BrandDep, ops: OperationsDep
) -> schemas.TypedDataResponse:
    return await ops.gift_typed_data(who, body)


@router.post("/gifts", status_code=202, responses=ACCEPTED, summary="Relay a member-signed gift")
async def gift(
    body: schemas.GiftRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(status, ctx.principal, await ops.gift(ctx, body), wait)


@router.post("/donations/typed-data", summary="EIP-712 data the member signs to donate points")
async def donation_typed_data(
    body: schemas.DonationTypedDataRequest, who: BrandDep, ops: OperationsDep
) -> schemas.TypedDataResponse:
    return await ops.donation_typed_data(who, body)


@router.post(
    "/donations",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay a member-signed donation to the charity pool",
)
async def donate(
    body: schemas.DonationRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(status, ctx.principal, await ops.donate(ctx, body), wait)


@router.post(
    "/redemptions/typed-data",
    summary="EIP-712 data the member signs to redeem at the caller's brand",
)
async def redemption_typed_data(
    body: schemas.RedemptionTypedDataRequest, who: BrandDep, ops: OperationsDep
) -> schemas.TypedDataResponse:
    return await ops.redemption_typed_data(who, body)


@router.post(
    "/redemptions",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay a member-signed redemption (same or cross-brand)",
)
async def redeem(
    body: schemas.RedemptionRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(status, ctx.principal, await ops.redeem(ctx, body), wait)


@router.post(
    "/tiers/{address}/review",
    status_code=202,
    responses=ACCEPTED,
    summary="Trigger a member's quarterly tier review",
)
async def review_tier(
    member: MemberDep,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(status, ctx.principal, await ops.review_tier(ctx, member), wait)


@router.post(
    "/badges/types",
    status_code=202,
    responses=ACCEPTED,
    summary="Define a badge type of the caller's brand",
)
async def define_badge(
    body: schemas.BadgeTypeRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(status, ctx.principal, await ops.define_badge(ctx, body), wait)


@router.post(
    "/badges/issue",
    status_code=202,
    responses=ACCEPTED,
    summary="Issue badges of the caller's brand to a member",
)
async def issue_badge(
    body: schemas.BadgeIssueRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(status, ctx.principal, await ops.issue_badge(ctx, body), wait)


@router.post(
    "/badges/benefit-redemptions/typed-data",
    summary="EIP-712 data the holder signs to redeem a badge's benefit",
)
async def benefit_typed_data(
    body: schemas.BenefitRedemptionTypedDataRequest, who: BrandDep, ops: OperationsDep
) -> schemas.TypedDataResponse:
    return await ops.benefit_typed_data(who, body)


@router.post(
    "/badges/benefit-redemptions",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay a holder-signed badge benefit redemption (once per unit)",
)
async def redeem_badge_benefit(
    body: schemas.BenefitRedemptionRequest,
    ctx: ContextDep,
    _: BrandDep,
    ops: OperationsDep,
    status: StatusDep,
    wait: WaitDep,
) -> JSONResponse:
    return await operation_response(
        status, ctx.principal, await ops.redeem_benefit(ctx, body), wait
    )


@router.get("/operations/{operation_id}", summary="Follow an operation")
async def operation_status(
    operation_id: Annotated[OperationId, Path()],
    who: PrincipalDep,
    status: StatusDep,
    wait: WaitDep,
) -> schemas.OperationStatus:
    return await status.status(who, operation_id, wait)
