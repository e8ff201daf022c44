"""Brand operations: earn, gift, donate, redeem, tier reviews, badges; and their status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from ledger_api.api.deps import (
    BrandWriteDep,
    MemberDep,
    OperationsDep,
    SigningBrandDep,
    StatusReadDep,
)
from ledger_api.api.responses import local_response
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
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.earn_purchase(write.ctx, body))


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
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    """One durable write for the whole request; each item idempotent on its own `key`."""
    accepted = await ops.earn_batch(write.ctx, body)
    status_code, answer = await write.status.bulk_answer(write.ctx.principal, accepted, write.wait)
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
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    """By the brand that credited the order, while its points are pending (issue 11):
    `order_not_found` (404), `order_not_settled`, `reversal_exceeds_order`,
    `reversal_window_closed` (409)."""
    return await write.answer(await ops.reverse(write.ctx, body))


@router.post(
    "/earn/engagement",
    status_code=202,
    responses=ACCEPTED,
    summary="Earn points for a review, share, event or referral",
)
async def earn_engagement(
    body: schemas.EarnEngagementRequest,
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.earn_engagement(write.ctx, body))


@router.post("/gifts/typed-data", summary="EIP-712 data the member signs to gift points")
async def gift_typed_data(
    body: schemas.GiftTypedDataRequest, who: SigningBrandDep, ops: OperationsDep
) -> schemas.TypedDataResponse:
    return await ops.gift_typed_data(who, body)


@router.post("/gifts", status_code=202, responses=ACCEPTED, summary="Relay a member-signed gift")
async def gift(
    body: schemas.GiftRequest,
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.gift(write.ctx, body))


@router.post("/donations/typed-data", summary="EIP-712 data the member signs to donate points")
async def donation_typed_data(
    body: schemas.DonationTypedDataRequest, who: SigningBrandDep, ops: OperationsDep
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
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.donate(write.ctx, body))


@router.post(
    "/redemptions/typed-data",
    summary="EIP-712 data the member signs to redeem at the caller's brand",
)
async def redemption_typed_data(
    body: schemas.RedemptionTypedDataRequest, who: SigningBrandDep, ops: OperationsDep
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
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.redeem(write.ctx, body))


@router.post(
    "/tiers/{address}/review",
    status_code=202,
    responses=ACCEPTED,
    summary="Trigger a member's quarterly tier review",
)
async def review_tier(
    member: MemberDep,
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.review_tier(write.ctx, member))


@router.post(
    "/badges/types",
    status_code=202,
    responses=ACCEPTED,
    summary="Define a badge type of the caller's brand",
)
async def define_badge(
    body: schemas.BadgeTypeRequest,
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.define_badge(write.ctx, body))


@router.post(
    "/badges/issue",
    status_code=202,
    responses=ACCEPTED,
    summary="Issue badges of the caller's brand to a member",
)
async def issue_badge(
    body: schemas.BadgeIssueRequest,
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.issue_badge(write.ctx, body))


@router.post(
    "/badges/benefit-redemptions/typed-data",
    summary="EIP-712 data the holder signs to redeem a badge's benefit",
)
async def benefit_typed_data(
    body: schemas.BenefitRedemptionTypedDataRequest, who: SigningBrandDep, ops: OperationsDep
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
    write: BrandWriteDep,
    ops: OperationsDep,
) -> JSONResponse:
    return await write.answer(await ops.redeem_benefit(write.ctx, body))


@router.get("/operations/{operation_id}", summary="Follow an operation")
async def operation_status(
    operation_id: Annotated[OperationId, Path()],
    read: StatusReadDep,
) -> schemas.OperationStatus:
    return await read.status.status(read.who, operation_id, read.wait)
