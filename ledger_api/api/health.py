"""`/v1/health`: liveness for anyone, each dependency for the admin (`process.health`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from ledger_api.api.deps import RuntimeDep, bearer, probe_caller
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
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Without a key, or with a brand's key: `{"status"}` only. With the admin key: the
    database write probe, the chain, the sender's workers and the indexer's lag."""
    full = False
    token = bearer(authorization, x_api_key)
    if token:
        full = (await probe_caller(request, token)).is_admin
    code, body = await checks.health(runtime, full=full)
    return JSONResponse(body, status_code=code)
