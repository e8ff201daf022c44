"""HTTP routers; `router` mounts them all."""

from fastapi import APIRouter

from ledger_api.api import admin, enterprises, health, operations, program, reads, webhooks

router = APIRouter()
for module in (operations, reads, program, enterprises, admin, health, webhooks):
    router.include_router(module.router)

__all__ = ["router"]
