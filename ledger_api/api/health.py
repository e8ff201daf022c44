"""Liveness and what the background workers are doing (`process.supervision.health`)."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.api.deps import RuntimeDep
from ledger_api.model import schemas
from ledger_api.process import supervision

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", summary="Gateway, sender and indexer status")
async def health(runtime: RuntimeDep) -> schemas.Health:
    return await supervision.health(runtime)
