"""HTTP routers; `router` mounts them all."""

from fastapi import APIRouter

from ledger_api.api import (
    admin,
    auctions,
    campaigns,
    dashboard,
    enterprises,
    health,
    metrics,
    operations,
    program,
    reads,
    settlement,
    stats,
    webhooks,
)

router = APIRouter()
for module in (operations, reads, settlement, program, enterprises, admin, health, webhooks):
    router.include_router(module.router)
router.include_router(auctions.router)  # issue 16 item 2
for module in (stats, dashboard, metrics):  # issue 13: the dashboard, its data, /metrics
    router.include_router(module.router)
router.include_router(campaigns.router)  # issue 16: earning campaigns

__all__ = ["router"]
