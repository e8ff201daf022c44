"""Alliance administration (admin API key) and brand key self-service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import (
    AdminDep,
    AdminWriteDep,
    BrandDep,
    BrandsDep,
    ContextDep,
)
from ledger_api.api.operations import ACCEPTED
from ledger_api.api.responses import local_response
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.model import admin_schemas
from ledger_api.model.fields import KeyPrefix, PathId, TierPath

router = APIRouter(prefix="/v1", tags=["admin"])
BrandPath = Annotated[PathId, Path(description="the brand's ledger id")]


@router.post(
    "/admin/brands",
    status_code=202,
    responses={
        202: {"model": admin_schemas.BrandCreated},
        200: {"model": admin_schemas.BrandCreated},
    },
    summary="Create a brand: signing key, API key (shown once), on-chain onboarding",
)
async def create_brand(
    body: admin_schemas.BrandCreateRequest,
    write: AdminWriteDep,
    brands: BrandsDep,
) -> JSONResponse:
    status_code, answer = await brands.create(write.ctx, body, write.wait)
    response = local_response(status_code, answer, replayed=answer.get("api_key") is None)
    if answer.get("queued_reason"):
        response.headers["Ledger-Queued-Reason"] = answer["queued_reason"]
    return response


@router.get("/admin/brands", summary="All brands")
async def list_brands(who: AdminDep, brands: BrandsDep) -> list[admin_schemas.BrandView]:
    return await run_in_threadpool(brands.list_brands, who)


@router.get(
    "/admin/brands/{brand_id}",
    summary="One brand",
    description="The brand with this ledger id, as `GET /v1/admin/brands` lists it: its signer, "
    "point value, earn rule, the indexed daily cap and return window, its active keys' "
    "prefixes. 404 `unknown_brand` when no brand has the id (a brand gets it when its "
    "onboarding lands on chain; it may stay `onboarding` until its daily cap lands too).",
)
async def get_brand(
    brand_id: BrandPath, who: AdminDep, brands: BrandsDep
) -> admin_schemas.BrandView:
    return await run_in_threadpool(brands.get_brand, who, LedgerBrandId(brand_id))


@router.post(
    "/admin/brands/{brand_id}/suspension",
    status_code=202,
    responses=ACCEPTED,
    summary="Suspend a brand or lift its suspension",
    description='`{"suspended": false}` lifts it. Either way the operation is of kind '
    "`suspend_brand` (the chain's `setBrandSuspended`); its confirmed `result` says which: "
    '`{"suspended": true}` or `{"suspended": false}`.',
)
async def suspend_brand(
    brand_id: BrandPath,
    body: admin_schemas.SuspendRequest,
    write: AdminWriteDep,
    brands: BrandsDep,
) -> JSONResponse:
    accepted = await brands.suspend(write.ctx, LedgerBrandId(brand_id), body)
    return await write.answer(accepted)


@router.put(
    "/admin/brands/{brand_id}/point-value",
    status_code=202,
    responses=ACCEPTED,
    summary="Change a brand's published point value (governance act)",
)
async def set_point_value(
    brand_id: BrandPath,
    body: admin_schemas.PointValueRequest,
    write: AdminWriteDep,
    brands: BrandsDep,
) -> JSONResponse:
    accepted = await brands.set_point_value(write.ctx, LedgerBrandId(brand_id), body)
    return await write.answer(accepted)


@router.put(
    "/admin/pause",
    status_code=202,
    responses=ACCEPTED,
    summary="Pause or unpause the ledger (the alliance's one switch)",
    description='`{"paused": true}` sends `pause()`, `{"paused": false}` `unpause()` (kind '
    '`set_pause`; confirmed `result` `{"paused": ...}`), on the admin\'s queue, which runs '
    "while the ledger is paused. While paused every contract refuses value moves and rule "
    "changes: the gateway answers 409 `ledger_paused` to writes the chain would refuse and "
    "holds what it accepted before (webhooks `ledger.paused`, `ledger.unpaused`). 409 "
    "`ledger_paused` / `ledger_not_paused` when the ledger already is so.",
)
async def set_paused(
    body: admin_schemas.PauseRequest, write: AdminWriteDep, brands: BrandsDep
) -> JSONResponse:
    return await write.answer(await brands.set_paused(write.ctx, body))


@router.put(
    "/admin/brands/{brand_id}/return-window",
    status_code=202,
    responses=ACCEPTED,
    summary="Set a brand's return window (days its purchase points stay pending, 0-90)",
)
async def set_return_window(
    brand_id: BrandPath,
    body: admin_schemas.ReturnWindowRequest,
    write: AdminWriteDep,
    brands: BrandsDep,
) -> JSONResponse:
    accepted = await brands.set_return_window(write.ctx, LedgerBrandId(brand_id), body)
    return await write.answer(accepted)


@router.put(
    "/admin/brands/{brand_id}/daily-cap",
    status_code=202,
    responses=ACCEPTED,
    summary="Set a brand's daily mint cap on chain (points per UTC day, tier gifts included)",
)
async def set_daily_cap(
    brand_id: BrandPath,
    body: admin_schemas.DailyCapRequest,
    write: AdminWriteDep,
    brands: BrandsDep,
) -> JSONResponse:
    accepted = await brands.set_daily_cap(write.ctx, LedgerBrandId(brand_id), body)
    return await write.answer(accepted)


@router.put(
    "/admin/tiers/{tier}",
    status_code=202,
    responses=ACCEPTED,
    summary="Set a tier's thresholds and upgrade gift",
)
async def set_tier_rule(
    tier: Annotated[TierPath, Path()],
    body: admin_schemas.TierRuleRequest,
    write: AdminWriteDep,
    brands: BrandsDep,
) -> JSONResponse:
    accepted = await brands.set_tier_rule(write.ctx, tier, body)
    return await write.answer(accepted)


@router.put(
    "/admin/order-floor",
    status_code=202,
    responses=ACCEPTED,
    summary="Set the least a purchase must be worth to count as a tier order (whole USD, 0-31)",
)
async def set_order_floor(
    body: admin_schemas.OrderFloorRequest, write: AdminWriteDep, brands: BrandsDep
) -> JSONResponse:
    accepted = await brands.set_order_floor(write.ctx, body)
    return await write.answer(accepted)


@router.post(
    "/admin/brands/{brand_id}/api-keys",
    status_code=201,
    response_model=admin_schemas.ApiKeyCreated,
    summary="Rotate a brand's API key (new key shown once)",
)
async def rotate_brand_key(
    brand_id: BrandPath,
    body: admin_schemas.RotateKeyRequest,
    ctx: ContextDep,
    _: AdminDep,
    brands: BrandsDep,
) -> JSONResponse:
    status_code, answer = await run_in_threadpool(
        brands.rotate_key_sync, ctx, LedgerBrandId(brand_id), body
    )
    return local_response(status_code, answer, replayed=answer.get("api_key") is None)


@router.post(
    "/admin/api-keys",
    status_code=201,
    response_model=admin_schemas.ApiKeyCreated,
    summary="Create another admin API key (shown once)",
)
async def create_admin_key(ctx: ContextDep, _: AdminDep, brands: BrandsDep) -> JSONResponse:
    status_code, answer = await run_in_threadpool(brands.create_admin_key_sync, ctx)
    return local_response(status_code, answer, replayed=answer.get("api_key") is None)


@router.delete("/admin/api-keys/{prefix}", status_code=204, summary="Revoke an API key")
async def revoke_key(
    prefix: Annotated[KeyPrefix, Path()], who: AdminDep, brands: BrandsDep
) -> Response:
    await run_in_threadpool(brands.revoke_key, who, prefix)
    return Response(status_code=204)


@router.post(
    "/keys/rotate",
    status_code=201,
    response_model=admin_schemas.ApiKeyCreated,
    tags=["keys"],
    summary="Rotate the calling brand's own API key",
)
async def rotate_own_key(
    body: admin_schemas.RotateKeyRequest, ctx: ContextDep, _: BrandDep, brands: BrandsDep
) -> JSONResponse:
    status_code, answer = await run_in_threadpool(brands.rotate_key_sync, ctx, None, body)
    return local_response(status_code, answer, replayed=answer.get("api_key") is None)


@router.delete(
    "/keys/current", status_code=204, tags=["keys"], summary="Revoke the calling brand's key"
)
async def revoke_own_key(who: BrandDep, brands: BrandsDep) -> Response:
    await run_in_threadpool(brands.revoke_key, who, who.key_prefix)
    return Response(status_code=204)
