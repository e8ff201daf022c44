"""Earning campaigns (issue 16, item 1): a brand's rules (versioned, audited), the preview of
an earn, the brand's referrals, and the admin's cap on a combined multiplier.

Changes take an Idempotency-Key (a replay answers the first answer); reads and the preview
record nothing. The cap is the chain's (`setMaxMultiplier`): setting it is an admin operation
(202, or 200 with `Prefer: wait`; a multisig admin gets the transaction to execute)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import (
    AdminDep,
    AdminWriteDep,
    BrandDep,
    ContextDep,
    OperationsDep,
)
from ledger_api.api.operations import ACCEPTED
from ledger_api.api.responses import local_response
from ledger_api.model import campaigns as views
from ledger_api.model.fields import PathId
from ledger_api.model.schemas import Address
from ledger_api.usecases.campaigns import CampaignsService

router = APIRouter(prefix="/v1", tags=["campaigns"])

RuleBody = Annotated[views.CampaignRuleRequest, Body()]
RuleIdPath = Annotated[PathId, Path()]


async def get_campaigns(request: Request) -> CampaignsService:
    service: CampaignsService = request.app.state.campaigns
    return service


CampaignsDep = Annotated[CampaignsService, Depends(get_campaigns)]


def _answer(result: tuple[int, dict[str, Any], bool]) -> JSONResponse:
    """The change's answer; a replay's carries `Idempotent-Replayed: true`."""
    return local_response(*result)


@router.get("/campaigns/rules", summary="The caller's rules, the chain's base rule and the cap")
async def list_rules(who: BrandDep, service: CampaignsDep) -> views.CampaignRulesView:
    return await run_in_threadpool(service.list_rules, who)


@router.post(
    "/campaigns/rules",
    status_code=201,
    responses={201: {"model": views.CampaignRuleView}},
    summary="Add a rule (version 1)",
)
async def create_rule(
    body: RuleBody, ctx: ContextDep, _: BrandDep, service: CampaignsDep
) -> JSONResponse:
    return _answer(await run_in_threadpool(service.create_rule, ctx, body))


@router.put(
    "/campaigns/rules/{rule_id}",
    responses={200: {"model": views.CampaignRuleView}},
    summary="Change a rule (a new version; the old one stays in its history)",
)
async def update_rule(
    rule_id: RuleIdPath, body: RuleBody, ctx: ContextDep, _: BrandDep, service: CampaignsDep
) -> JSONResponse:
    return _answer(await run_in_threadpool(service.update_rule, ctx, rule_id, body))


@router.delete(
    "/campaigns/rules/{rule_id}",
    responses={200: {"model": views.CampaignRuleView}},
    summary="End a rule (kept, inactive, with its history)",
)
async def delete_rule(
    rule_id: RuleIdPath, ctx: ContextDep, _: BrandDep, service: CampaignsDep
) -> JSONResponse:
    return _answer(await run_in_threadpool(service.delete_rule, ctx, rule_id))


@router.get("/campaigns/rules/{rule_id}/versions", summary="A rule's history: who, when, old/new")
async def rule_versions(
    rule_id: RuleIdPath, who: BrandDep, service: CampaignsDep
) -> views.CampaignAuditView:
    return await run_in_threadpool(service.rule_versions, who, rule_id)


@router.get("/campaigns/referrals", summary="The caller's referrals and whether they are credited")
async def referrals(
    who: BrandDep,
    service: CampaignsDep,
    member: Annotated[Address | None, Query()] = None,
) -> views.ReferralsView:
    return await run_in_threadpool(service.referrals, who, member)


@router.post("/earn/preview", summary="What an earn would credit now and which rules apply")
async def preview(
    body: Annotated[views.EarnPreviewRequest, Body()],
    who: BrandDep,
    ops: OperationsDep,
    service: CampaignsDep,
) -> views.EarnPreviewAnswer:
    """Records nothing: no operation, no idempotency record, no referral."""
    brand = await run_in_threadpool(ops.brands.own, who)
    return await run_in_threadpool(service.preview, who, brand, body)


@router.get(
    "/admin/campaigns/cap",
    summary="The chain's cap on a combined multiplier, and a change not yet landed",
)
async def cap(_: AdminDep, service: CampaignsDep) -> views.CampaignCapView:
    return await run_in_threadpool(service.cap)


@router.put(
    "/admin/campaigns/cap",
    status_code=202,
    responses=ACCEPTED,
    summary="Set the cap on chain (`setMaxMultiplier`, 100 to MAX_MULTIPLIER_PCT, 1000)",
)
async def set_cap(
    body: views.CampaignCapRequest,
    write: AdminWriteDep,
    service: CampaignsDep,
) -> JSONResponse:
    accepted = await service.set_cap(write.ctx, body)
    return await write.answer(accepted)


@router.get("/admin/campaigns/cap/versions", summary="Every change of the cap: who, when")
async def cap_versions(_: AdminDep, service: CampaignsDep) -> views.CampaignAuditView:
    return await run_in_threadpool(service.cap_history)
