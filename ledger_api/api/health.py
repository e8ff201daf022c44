"""`/v1/health`: liveness for anyone, each dependency for the admin (`process.health`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import RuntimeDep, bearer
from ledger_api.model import health as health_model
from ledger_api.process import health as checks

router = APIRouter(prefix="/v1", tags=["health"])


@router.get(
    "/health",
    summary="Liveness (anyone); each dependency (admin key)",
    response_model=health_model.Health,
    responses={503: {"model": health_model.Health, "description": "the database takes no write"}},
)
async def health(
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Without a key, or with a brand's key: `{"status"}` only. With the admin key: the
    database write probe, the chain, the sender's workers and the indexer's lag."""
    full = False
    token = bearer(authorization, x_api_key)
    if token:
        # not counted against the key's rate limit: monitoring must not eat the admin's budget
        principal = runtime.api_keys.in_memory(token)
        if principal is None:
            principal = await run_in_threadpool(runtime.api_keys.authenticate, token)
        full = principal.is_admin
    code, body = await checks.health(runtime, full=full)
    return JSONResponse(body, status_code=code)
