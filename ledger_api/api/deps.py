"""Typed FastAPI dependencies, all in one place (tests swap them with `dependency_overrides`).

Dependencies that do no blocking work are `async def`: FastAPI runs a plain `def`
dependency in its thread pool, a hop that costs more than the dependency itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.errors import (
    IdempotencyKeyRequired,
    InvalidAddress,
    InvalidIdempotencyKey,
    MalformedBody,
)
from ledger_api.model.schemas import ADDRESS_SCHEMA, checksum_address
from ledger_api.process.runtime import Runtime
from ledger_api.settings import Settings
from ledger_api.usecases.brands import BrandsService
from ledger_api.usecases.context import RequestContext
from ledger_api.usecases.operations import OperationsService
from ledger_api.usecases.reads import ReadsService
from ledger_api.usecases.status import StatusService

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_PREFER_WAIT = re.compile(r"(?:^|[;,\s])wait=(\d+(?:\.\d+)?)")


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


T = TypeVar("T")


class Reader:
    """Runs a read with its own session, at most one thread hop per request (none for SQLite:
    see `Runtime.read`); a sync session dependency plus a sync route cost two."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def __call__(self, read: Callable[[Session], T]) -> T:
        def work() -> T:
            with self._runtime.db.read() as session:
                return read(session)

        return await self._runtime.read(work)


async def get_reader(runtime: RuntimeDep) -> Reader:
    return Reader(runtime)


ReaderDep = Annotated[Reader, Depends(get_reader)]


def bearer(authorization: str | None, x_api_key: str | None) -> str | None:
    """The API key of a request: `Authorization: Bearer <key>`, else `X-API-Key`."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            return token.strip()
    return x_api_key


async def current_principal(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller, from `Authorization: Bearer <key>` (or `X-API-Key`): rate limited per
    client address first (before any key look-up), then per key."""
    runtime.address_limiter.check(request.client.host if request.client else "unknown")
    token = bearer(authorization, x_api_key)
    principal = runtime.api_keys.in_memory(token)
    if principal is None:
        principal = await runtime.read(lambda: runtime.api_keys.authenticate(token))
    if runtime.db.is_sqlite:
        runtime.limiter.check(principal.key_prefix)
    else:  # shared by every process on the database: a write, off the event loop
        await runtime.read(lambda: runtime.limiter.check(principal.key_prefix))
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_brand(principal: PrincipalDep) -> Principal:
    principal.require_brand()
    return principal


BrandDep = Annotated[Principal, Depends(current_brand)]


async def current_admin(principal: PrincipalDep) -> Principal:
    principal.require_admin()
    return principal


AdminDep = Annotated[Principal, Depends(current_admin)]


async def idempotency_key(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    if idempotency_key is None:
        raise IdempotencyKeyRequired()
    if not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise InvalidIdempotencyKey(length=len(idempotency_key))
    return idempotency_key


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]


async def request_context(
    request: Request, principal: PrincipalDep, key: IdempotencyKeyDep
) -> RequestContext:
    """Caller, Idempotency-Key and a fingerprint of method, path and (canonical) JSON body."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        raise MalformedBody() from None
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(
        f"{request.method} {request.url.path}\n{canonical}".encode()
    ).hexdigest()
    context = RequestContext(principal, key, fingerprint)
    request.state.ledger_context = context  # for a refusal's replay check (`api.replays`)
    return context


ContextDep = Annotated[RequestContext, Depends(request_context)]


async def wait_seconds(
    request: Request,
    settings: SettingsDep,
    wait: Annotated[bool, Query(description="wait for confirmation (up to 10 s)")] = False,
    prefer: Annotated[str | None, Header()] = None,
) -> float | None:
    """`?wait=true` waits 10 s; `Prefer: wait=N` waits N seconds (both capped by settings)."""
    seconds = min(10.0, settings.wait_max_s) if wait else None
    if prefer:
        match = _PREFER_WAIT.search(prefer)
        if match:
            seconds = min(float(match.group(1)), settings.wait_max_s)
    request.state.ledger_wait = seconds
    return seconds


WaitDep = Annotated[float | None, Depends(wait_seconds)]


async def member_address(
    address: Annotated[
        str,
        Path(description="the member's 0x address", json_schema_extra=ADDRESS_SCHEMA),
    ],
) -> str:
    try:
        return checksum_address(address)
    except ValueError as exc:  # the body of a validation error (`app._validation_error`)
        problem = {"loc": ["path", "address"], "type": InvalidAddress.code, "message": str(exc)}
        raise InvalidAddress(f"path.address: {exc}", errors=[problem]) from None


MemberDep = Annotated[str, Depends(member_address)]


async def get_operations(request: Request) -> OperationsService:
    service: OperationsService = request.app.state.operations
    return service


OperationsDep = Annotated[OperationsService, Depends(get_operations)]


async def get_brands(request: Request) -> BrandsService:
    service: BrandsService = request.app.state.brands
    return service


BrandsDep = Annotated[BrandsService, Depends(get_brands)]


async def get_reads(request: Request) -> ReadsService:
    service: ReadsService = request.app.state.reads
    return service


ReadsDep = Annotated[ReadsService, Depends(get_reads)]


async def get_status(request: Request) -> StatusService:
    service: StatusService = request.app.state.status
    return service


StatusDep = Annotated[StatusService, Depends(get_status)]
