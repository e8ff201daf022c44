"""`/v1/health`: liveness for anyone, each dependency for the admin (`process.health`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from ledger_api.api.deps import RuntimeDep, api_key_of, probe_caller
from ledger_api.model import health as health_model
from ledger_api.process import health as checks

router = APIRouter(prefix="/v1", tags=["health"])


#: `Retry-After` of a `failing` health (503): the probe's next write
FAILING_RETRY_AFTER_S = 5


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
    token = api_key_of(request.headers)  # the headers above: documented
    if token:
        full = (await probe_caller(request, token)).is_admin
    code, body = await checks.health(runtime, full=full)
    # a database that takes no write: asked again in a few seconds, as every 503 says
    headers = {"Retry-After": str(FAILING_RETRY_AFTER_S)} if code == 503 else None
    return JSONResponse(body, status_code=code, headers=headers)
