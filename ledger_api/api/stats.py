"""`/v1/stats/...`: the program health statistics the dashboard (`/dashboard`) draws.

The admin key sees the whole alliance; a brand key its own brand, the members who hold or held
its points and the pairs it is in (`usecases.stats`). `/v1/stats/gateway` gives a brand its
own queue and signer only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import PrincipalDep, ReaderDep
from ledger_api.model import stats
from ledger_api.usecases.monitoring import Monitor
from ledger_api.usecases.stats import StatsService

router = APIRouter(prefix="/v1/stats", tags=["stats"])
_service = StatsService()


def monitor_of(request: Request) -> Monitor:
    """The app's one `Monitor` (its balance cache), made on first use."""
    monitor: Monitor | None = getattr(request.app.state, "monitor", None)
    if monitor is None:
        monitor = request.app.state.monitor = Monitor(request.app.state.runtime)
    return monitor


@router.get("/overview", summary="Tiers, tier movements, points per brand, activity, badges")
async def overview(who: PrincipalDep, read: ReaderDep) -> stats.Overview:
    return await read(lambda session: _service.overview(session, who))


@router.get("/series", summary="Points per month (usage and expiry rates), earns per day")
async def series(
    who: PrincipalDep,
    read: ReaderDep,
    days: Annotated[int, Query(ge=1, le=366, description="UTC days of earn volume")] = 30,
) -> stats.Series:
    return await read(lambda session: _service.series(session, who, days))


@router.get("/flows", summary="Points spent where (brand x brand), positions, settlements")
async def flows(who: PrincipalDep, read: ReaderDep) -> stats.Flows:
    return await read(lambda session: _service.flows(session, who))


@router.get("/gateway", summary="Queue depth, sender lag, index lag, signers' gas balances")
async def gateway(request: Request, who: PrincipalDep) -> stats.GatewayStats:
    figures = await run_in_threadpool(monitor_of(request).figures)
    brand = None if who.is_admin else int(who.ledger_brand_id or -1)
    signers = [s for s in figures.signers if who.is_admin or s.brand_id == brand]
    return stats.GatewayStats(
        scope="alliance" if who.is_admin else "brand",
        queue_depth=figures.queue_depth if who.is_admin else figures.queued_by_brand.get(brand, 0),
        submitted=figures.submitted if who.is_admin else figures.submitted_by_brand.get(brand, 0),
        # a brand's own queue only (it read the alliance's oldest: another brand's stall)
        sender_lag_s=figures.oldest_queued_age_s
        if who.is_admin
        else figures.queued_age_by_brand.get(brand, 0.0),
        chain_head=figures.chain_head,
        index_block=figures.index_block,
        index_lag_blocks=figures.index_lag_blocks,
        signers=[
            stats.SignerStats(
                address=s.address,
                brand_id=s.brand_id,
                balance_wei=s.balance_wei,
                in_flight=s.in_flight,
            )
            for s in signers
        ],
    )
