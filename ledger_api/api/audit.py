"""The audit trail (DOMAIN.md, "keep an audit trail"): the admin's whole trail, a brand's
own rows (`usecases.audit`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import AdminDep, BrandDep, RuntimeDep
from ledger_api.domain.audit import AuditAction
from ledger_api.model import audit as views
from ledger_api.model.fields import PathId
from ledger_api.usecases.audit import AuditService

router = APIRouter(prefix="/v1", tags=["audit"])


async def get_audit(runtime: RuntimeDep) -> AuditService:
    return AuditService(runtime.db)  # holds nothing but the database


AuditDep = Annotated[AuditService, Depends(get_audit)]
Before = Annotated[str | None, Query(description="a page's `next_cursor`: the rows older than it")]
Limit = Annotated[int, Query(ge=1, le=500)]
Action = Annotated[AuditAction | None, Query(description="only the rows of this action")]


@router.get("/admin/audit", summary="The audit trail: who did what, when; newest first")
async def admin_audit(
    who: AdminDep,
    service: AuditDep,
    before: Before = None,
    limit: Limit = 100,
    action: Action = None,
    actor: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=r"^[0-9a-z]+$",
            description="only the acts of the key with this prefix (`settings`, `cli` too)",
        ),
    ] = None,
    brand_id: Annotated[
        PathId | None, Query(description="only the rows about this brand (its ledger id)")
    ] = None,
) -> views.AuditPage:
    """Every security-relevant action (README, "Audit trail"), newest first. `next_cursor`,
    passed as `before`, reads the next (older) page; null on the last. 422 `invalid_cursor`
    for a cursor that is not one, 404 `unknown_brand` for a `brand_id` no brand has."""
    query = views.AuditQuery(before, limit, action, actor, brand_id)
    return await run_in_threadpool(service.admin_page, who, query)


@router.get("/audit", summary="The calling brand's audit trail, newest first")
async def brand_audit(
    who: BrandDep,
    service: AuditDep,
    before: Before = None,
    limit: Limit = 100,
    action: Action = None,
) -> views.AuditPage:
    """The rows about the caller's brand: its keys' acts (key rotations and revocations,
    webhook endpoints, campaign rules) and the admin's acts on it (suspension, point value,
    keys...; the admin key's prefix withheld). Pages as `GET /v1/admin/audit`."""
    query = views.AuditQuery(before, limit, action)
    return await run_in_threadpool(service.brand_page, who, query)
