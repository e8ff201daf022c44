"""Liveness and what the background workers are doing."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.api import schemas
from ledger_api.deps import RuntimeDep
from ledger_api.services.runtime import BACKGROUND

router = APIRouter(prefix="/v1", tags=["health"])


# `ledger work` reports every second; a report older than this means it is not running
BACKGROUND_STALE_S = 5.0


@router.get("/health", summary="Gateway, sender and indexer status")
async def health(runtime: RuntimeDep) -> schemas.Health:
    if not runtime.is_sender:
        # an HTTP process: the sender and indexer run in `ledger work` (LEDGER_SENDER_PROCESS,
        # which reports to this process) or in the worker process holding the sender lock
        index_block = await runtime.read(runtime.stored_index_height)
        background = BACKGROUND.get(BACKGROUND_STALE_S) if runtime.settings.sender_process else None
        if background is None:
            return schemas.Health(
                status="degraded" if runtime.settings.sender_process else "ok",
                role="api",
                chain_id=None,
                index_block=index_block,
                sender=[],
                indexer={"running": False},
            )
        return schemas.Health(
            status="ok" if background["healthy"] else "degraded",
            role="api",
            chain_id=background["chain_id"],
            index_block=index_block,
            sender=background["sender"],
            indexer=background["indexer"],
        )
    status = runtime.worker_status()
    return schemas.Health(
        status="ok" if status["healthy"] else "degraded",
        role="sender",
        chain_id=status["chain_id"],
        index_block=status["index_block"],
        sender=status["sender"],
        indexer=status["indexer"],
    )
