"""Typed FastAPI dependencies, all in one place (tests swap them with `dependency_overrides`:
`current_principal` on the routes that take `PrincipalDep`).

Dependencies that do no blocking work are `async def`: FastAPI runs a plain `def`
dependency in its thread pool, a hop that costs more than the dependency itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import Headers

from ledger_api.access.apikeys import Principal
from ledger_api.access.ratelimit import RateLimiter
from ledger_api.api.limits import client_address
from ledger_api.api.responses import operation_response
from ledger_api.background.intake import Accepted
from ledger_api.errors import (
    IdempotencyKeyRequired,
    InvalidAddress,
    InvalidIdempotencyKey,
    MalformedBody,
    Unauthorized,
)
from ledger_api.model.schemas import ADDRESS_SCHEMA, checksum_address
from ledger_api.process.deployment import refuse_another_deployments_database
from ledger_api.process.runtime import Runtime
from ledger_api.settings import Settings
from ledger_api.usecases.brands import BrandsService
from ledger_api.usecases.context import RequestContext
from ledger_api.usecases.operations import OperationsService
from ledger_api.usecases.reads import ReadsService
from ledger_api.usecases.status import StatusService

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_PREFER_WAIT = re.compile(r"(?:^|[;,\s])wait=(\d+(?:\.\d+)?)")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])


# Dependencies here take only the `Request` and read its headers and query themselves:
# FastAPI validates every declared `Header`/`Query` parameter and resolves every dependency
# node per request (about 20 µs each on the reference machine: issue 15's profile of the
# single-operation path put them at half of a request's handling). What they read is
# documented by `openapi.document` from each dependency's `openapi_parameters`.


def _documents(*parameters: dict[str, object]) -> Callable[[F], F]:
    """Marks a dependency with the OpenAPI parameters it reads from the request."""

    def mark(dependency: F) -> F:
        dependency.openapi_parameters = parameters  # type: ignore[attr-defined]
        return dependency

    return mark


def _optional_header(name: str, title: str) -> dict[str, object]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title},
    }


_WAIT_DESCRIPTION = "wait for confirmation (up to 10 s)"
_WAIT_QUERY = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": _WAIT_DESCRIPTION,
    "schema": {
        "type": "boolean",
        "default": False,
        "title": "Wait",
        "description": _WAIT_DESCRIPTION,
    },
}
_FLAG = TypeAdapter(bool)  # a query flag as FastAPI reads it: true/false, 1/0, yes/no, on/off


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


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


async def get_reader(request: Request) -> Reader:
    return Reader(request.app.state.runtime)


ReaderDep = Annotated[Reader, Depends(get_reader)]


def api_key_of(headers: Headers) -> str | None:
    """The request's API key: `Authorization: Bearer <key>`, or `X-API-Key`; None without
    one. `Unauthorized` (401) when it carries two different keys (in both headers, or a
    header sent twice): the first header's key was taken, without a word (a trial)."""
    keys: set[str] = set()
    for name, value in headers.raw:  # one pass (names are lower-case bytes in ASGI)
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                keys.add(token.strip())
        elif name == b"x-api-key" and value:
            keys.add(value.decode("latin-1"))
    if len(keys) > 1:
        raise Unauthorized("the request carries more than one API key; send one")
    return next(iter(keys), None)


_PRINCIPAL = "ledger.principal"  # the request scope's copy: one authentication per request


@_documents(
    _optional_header("authorization", "Authorization"),
    _optional_header("x-api-key", "X-Api-Key"),
)
async def current_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>` (or `X-API-Key`), rate limited per key
    (the limit per client address came before, on every request: `limits.AddressLimit`). Once
    per request, however many dependencies ask (`Unauthorized` 401, `RateLimited` 429;
    `DeploymentMismatch` 503 while the database is another deployment's)."""
    found: Principal | None = request.scope.get(_PRINCIPAL)
    if found is not None:
        return found
    runtime: Runtime = request.app.state.runtime
    token = api_key_of(request.headers)
    principal = runtime.api_keys.in_memory(token)
    if principal is None:
        principal = await runtime.read(lambda: runtime.api_keys.authenticate(token))
    refuse_another_deployments_database(runtime)
    if runtime.db.is_sqlite:
        runtime.limiter.check(principal.key_prefix)
    else:  # shared by every process on the database: a write, off the event loop
        await runtime.read(lambda: runtime.limiter.check(principal.key_prefix))
    request.scope[_PRINCIPAL] = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def probe_caller(request: Request, token: str) -> Principal:
    """The caller of an operators' probe (`/v1/health`, `/metrics`) by its key, without the
    per-key limit (monitoring must not eat the admin's budget) and past the per-address limit
    (`limits.AddressLimit`): a key this process does not know (neither the settings' admin key
    nor one it has found before: `ApiKeys.known`) takes a token from the client address's
    bucket before it is looked up, so made-up keys cost no database read there either
    (`Unauthorized` 401, `RateLimited` 429). A stored admin key (`ledger admin-key create`)
    took a token on every read, so a flood from the scraper's address refused its scrapes."""
    runtime: Runtime = request.app.state.runtime
    principal = runtime.api_keys.known(token)
    if principal is None:
        limiter: RateLimiter = request.app.state.address_limiter
        limiter.check(client_address(request.scope))
        principal = await runtime.read(lambda: runtime.api_keys.authenticate(token))
    return principal


@_documents(*current_principal.openapi_parameters)  # type: ignore[attr-defined]
async def current_brand(request: Request) -> Principal:
    """A brand key's caller (`Forbidden` 403 for the admin key)."""
    principal = await current_principal(request)
    principal.require_brand()
    return principal


BrandDep = Annotated[Principal, Depends(current_brand)]


@_documents(*current_principal.openapi_parameters)  # type: ignore[attr-defined]
async def signing_brand(request: Request) -> Principal:
    """A brand key's caller whose sealed keys open (`BrandRefs.admit`): the EIP-712 data a
    typed-data route prepares is for an operation the brand can then send. 503
    `key_passphrase_mismatch` otherwise, as its mutations answer (those routes had answered
    200, so a member signed what the brand's relay was then refused)."""
    principal = await current_brand(request)
    runtime: Runtime = request.app.state.runtime
    await runtime.refs.admit(principal.require_brand())
    return principal


SigningBrandDep = Annotated[Principal, Depends(signing_brand)]


@_documents(*current_principal.openapi_parameters)  # type: ignore[attr-defined]
async def current_admin(request: Request) -> Principal:
    """The admin key's caller (`Forbidden` 403 for a brand key)."""
    principal = await current_principal(request)
    principal.require_admin()
    return principal


AdminDep = Annotated[Principal, Depends(current_admin)]


def idempotency_key(values: list[str]) -> str:
    """The `Idempotency-Key` header's value: `IdempotencyKeyRequired` (400) without one,
    `InvalidIdempotencyKey` (400) unless one header of 1-255 visible ASCII characters (a
    second one was ignored: the request was stored under the first, a trial)."""
    if not values:
        raise IdempotencyKeyRequired()
    if len(values) > 1:
        raise InvalidIdempotencyKey("the Idempotency-Key header is sent more than once")
    value = values[0]
    if not _IDEMPOTENCY_KEY.match(value):
        raise InvalidIdempotencyKey(length=len(value))
    return value


@_documents(*current_principal.openapi_parameters)  # type: ignore[attr-defined]
async def request_context(request: Request) -> RequestContext:
    """Caller, Idempotency-Key and a fingerprint of method, path and (canonical) JSON body.
    `openapi.keyed` documents the Idempotency-Key of every route that depends on this."""
    principal = await current_principal(request)
    key = idempotency_key(request.headers.getlist("idempotency-key"))
    raw = await request.body()
    try:  # `Request.json` keeps its parse: FastAPI's, for a JSON body, is not done again
        body = await request.json() if raw else None
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


@_documents(_WAIT_QUERY, _optional_header("prefer", "Prefer"))
async def wait_seconds(request: Request) -> float | None:
    """`?wait=true` waits 10 s; `Prefer: wait=N` waits N seconds (both capped by settings).
    A `wait` that is not a boolean answers 422 `invalid_request`, as a declared query would."""
    settings: Settings = request.app.state.runtime.settings
    flag = request.query_params.get("wait")
    try:
        wait = flag is not None and _FLAG.validate_python(flag)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", "wait")} for error in exc.errors()]
        ) from None
    seconds = min(10.0, settings.wait_max_s) if wait else None
    prefer = request.headers.get("prefer")
    if prefer:
        match = _PREFER_WAIT.search(prefer)
        if match:
            seconds = min(float(match.group(1)), settings.wait_max_s)
    request.state.ledger_wait = seconds
    return seconds


@dataclass(frozen=True, slots=True)
class Write:
    """What a keyed write route needs, resolved as one dependency (`brand_write`, `admin_write`,
    `any_write`) where it took four (`request_context`, the key's kind, the status service,
    `wait_seconds`): FastAPI resolves each dependency node on every request (cache key,
    callable checks, its own parameters), about 10 µs each on the reference machine (issue 15).

    `ctx`: caller, Idempotency-Key and fingerprint; `wait`: seconds to wait for the final
    status (`wait_seconds`; None answers at acceptance)."""

    ctx: RequestContext
    wait: float | None
    status: StatusService

    async def answer(self, accepted: Accepted) -> JSONResponse:
        """202 with the stored operation, or 200 with its final status when waiting."""
        return await operation_response(self.status, self.ctx.principal, accepted, self.wait)


async def _write(request: Request, ctx: RequestContext) -> Write:
    status: StatusService = request.app.state.status
    return Write(ctx, await wait_seconds(request), status)


_WRITE_PARAMETERS = (
    *request_context.openapi_parameters,  # type: ignore[attr-defined]
    *wait_seconds.openapi_parameters,  # type: ignore[attr-defined]
)


@_documents(*_WRITE_PARAMETERS)
async def brand_write(request: Request) -> Write:
    """A brand key's keyed write. In order, after FastAPI has parsed a JSON body (400
    `malformed_body` first): `request_context` (401, 429, 400 for the Idempotency-Key),
    `Forbidden` 403 for the admin key, `wait_seconds` (422 for a bad `wait`)."""
    ctx = await request_context(request)
    ctx.principal.require_brand()
    return await _write(request, ctx)


@_documents(*_WRITE_PARAMETERS)
async def admin_write(request: Request) -> Write:
    """The admin key's keyed write: as `brand_write`, `Forbidden` 403 for a brand key."""
    ctx = await request_context(request)
    ctx.principal.require_admin()
    return await _write(request, ctx)


@_documents(*_WRITE_PARAMETERS)
async def any_write(request: Request) -> Write:
    """A keyed write open to any key (the route checks the caller): as `brand_write`, no 403."""
    return await _write(request, await request_context(request))


@dataclass(frozen=True, slots=True)
class StatusRead:
    """`GET /v1/operations/{id}`'s caller (any key), wait and status service, resolved as one
    dependency (`status_read`) where it took three (see `Write`)."""

    who: Principal
    wait: float | None
    status: StatusService


@_documents(
    *current_principal.openapi_parameters,  # type: ignore[attr-defined]
    *wait_seconds.openapi_parameters,  # type: ignore[attr-defined]
)
async def status_read(request: Request) -> StatusRead:
    """In order: `current_principal` (401, 429), `wait_seconds` (422 for a bad `wait`)."""
    who = await current_principal(request)
    status: StatusService = request.app.state.status
    return StatusRead(who, await wait_seconds(request), status)


StatusReadDep = Annotated[StatusRead, Depends(status_read)]
BrandWriteDep = Annotated[Write, Depends(brand_write)]
AdminWriteDep = Annotated[Write, Depends(admin_write)]
AnyWriteDep = Annotated[Write, Depends(any_write)]

#: the dependencies that answer 400 `idempotency_key_required` without the header
#: (`openapi.keyed` documents it as required on every route that has one of them)
KEYED = frozenset({request_context, brand_write, admin_write, any_write})


async def member_address(
    address: Annotated[
        str,
        Path(description="the member's 0x address", json_schema_extra=ADDRESS_SCHEMA),
    ],
    request: Request,
) -> str:
    """The path's member address, checksummed (422 `invalid_address`), once the caller is
    known: an anonymous call is 401 before anything of its path is judged, as on every other
    route (it answered 422 for a bad address, a review of 2026-12-06). The caller is looked up
    here, not as a dependency of its own (a node more per request; it is cached for the
    request's other dependencies)."""
    await current_principal(request)
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
