"""Liveness and what the background workers are doing."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.api import schemas
from ledger_api.deps import RuntimeDep

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", summary="Gateway, sender and indexer status")
def health(runtime: RuntimeDep) -> schemas.Health:
    sender = runtime.sender.status() if runtime.sender else []
    indexer = runtime.indexer
    index = {
        "running": indexer is not None,
        "healthy": bool(indexer and indexer.healthy),
        "last_error": indexer.last_error if indexer else None,
    }
    healthy = bool(indexer and indexer.healthy) and all(w["healthy"] for w in sender)
    chain_id = runtime.contracts().chain_id if runtime.is_sender else None
    return schemas.Health(
        status="ok" if healthy else "degraded",
        chain_id=chain_id,
        index_block=runtime.notifier.index_height,
        sender=sender,
        indexer=index,
    )
