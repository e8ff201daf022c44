"""Liveness and what the background workers are doing."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.api import schemas
from ledger_api.db.models import IndexCursor
from ledger_api.deps import RuntimeDep
from ledger_api.services.indexer import CURSOR_ID
from ledger_api.services.runtime import BACKGROUND, Runtime

router = APIRouter(prefix="/v1", tags=["health"])


def _stored_index_block(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        cursor = session.get(IndexCursor, CURSOR_ID)
        return cursor.next_block - 1 if cursor and cursor.last_block_hash else -1


# `ledger work` reports every second; a report older than this means it is not running
BACKGROUND_STALE_S = 5.0


@router.get("/health", summary="Gateway, sender and indexer status")
async def health(runtime: RuntimeDep) -> schemas.Health:
    if not runtime.is_sender:
        # an HTTP process: the sender and indexer run in `ledger work` (LEDGER_SENDER_PROCESS,
        # which reports to this process) or in the worker process holding the sender lock
        index_block = await runtime.read(lambda: _stored_index_block(runtime))
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
