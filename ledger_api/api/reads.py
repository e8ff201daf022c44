"""Reads served from the gateway's index of chain events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ledger_api.api.deps import MemberDep, PrincipalDep, ReaderDep, ReadsDep
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.domain.tier_names import LOCALE_PATTERN
from ledger_api.model import schemas
from ledger_api.model.fields import PathId

router = APIRouter(prefix="/v1", tags=["reads"])


@router.get(
    "/members/{address}",
    summary="The caller's brand's lots, what the member may spend at it, tier and progress",
)
async def member(
    address: MemberDep,
    who: PrincipalDep,
    reads: ReadsDep,
    read: ReaderDep,
    locale: Annotated[
        str | None,
        Query(
            pattern=LOCALE_PATTERN,
            description="a market's locale (`id`, `pt-BR`): `tier.display_name` and "
            "`tier.next_tier.display_name` name the tiers as the membership badge does there",
        ),
    ] = None,
) -> schemas.MemberView:
    return await read(lambda session: reads.member(session, who, address, locale))


@router.get("/members/{address}/history", summary="The member's points growth report")
async def history(
    address: MemberDep,
    who: PrincipalDep,
    reads: ReadsDep,
    read: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before: Annotated[
        str | None,
        Query(description="a page's `next_cursor`: the lines older than it"),
    ] = None,
) -> schemas.HistoryView:
    """Newest first, `limit` lines a page; `next_cursor`, passed as `before`, reads the next
    (older) page, null on the last. 422 `invalid_cursor` for a cursor no page handed out."""
    return await read(lambda session: reads.history(session, who, address, limit, before))


@router.get("/members/{address}/badges", summary="The member's membership badge and badges")
async def badges(
    address: MemberDep, who: PrincipalDep, reads: ReadsDep, read: ReaderDep
) -> schemas.BadgesView:
    return await read(lambda session: reads.badges(session, who, address))


@router.get(
    "/brands/{brand_id}/liability",
    summary="A brand's issued, redeemed, expired and outstanding points",
)
async def liability(
    brand_id: Annotated[PathId, Path()], who: PrincipalDep, reads: ReadsDep, read: ReaderDep
) -> schemas.LiabilityView:
    return await read(lambda session: reads.liability(session, who, LedgerBrandId(brand_id)))


@router.get("/settlement/positions", summary="Net positions between brands (micro-USD)")
async def positions(who: PrincipalDep, reads: ReadsDep, read: ReaderDep) -> schemas.PositionsView:
    return await read(lambda session: reads.positions(session, who))
