"""Liveness and what the background workers are doing."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ledger_api.api import schemas
from ledger_api.db.models import IndexCursor
from ledger_api.deps import RuntimeDep
from ledger_api.services.indexer import CURSOR_ID
from ledger_api.services.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["health"])


def _stored_index_block(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        cursor = session.get(IndexCursor, CURSOR_ID)
        return cursor.next_block - 1 if cursor and cursor.last_block_hash else -1


@router.get("/health", summary="Gateway, sender and indexer status")
async def health(runtime: RuntimeDep) -> schemas.Health:
    if not runtime.is_sender:
        # an HTTP worker process: the sender and indexer run in the process holding the lock
        return schemas.Health(
            status="ok",
            role="api",
            chain_id=None,
            index_block=await run_in_threadpool(_stored_index_block, runtime),
            sender=[],
            indexer={"running": False},
        )
    sender = runtime.sender.status() if runtime.sender else []
    indexer = runtime.indexer
    index = {
        "running": indexer is not None,
        "healthy": bool(indexer and indexer.healthy),
        "last_error": indexer.last_error if indexer else None,
    }
    healthy = bool(indexer and indexer.healthy) and all(w["healthy"] for w in sender)
    return schemas.Health(
        status="ok" if healthy else "degraded",
        role="sender",
        chain_id=runtime.contracts().chain_id,
        index_block=runtime.notifier.index_height,
        sender=sender,
        indexer=index,
    )
