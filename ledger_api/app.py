"""The FastAPI application: lifespan, routers and the one error-to-HTTP mapping."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger_api import __version__, restore_recursion_limit, tune_garbage_collector
from ledger_api.access.ratelimit import RateLimiter
from ledger_api.api import install_routes, openapi
from ledger_api.api.head import HeadAsGet
from ledger_api.api.json import FastJSONResponse
from ledger_api.api.limits import AddressLimit, BodyLimits
from ledger_api.api.metrics import HttpMetrics
from ledger_api.api.replays import stored_answer
from ledger_api.db.disk import database_away, first_line, is_storage_full
from ledger_api.db.durability import WalSyncFailed
from ledger_api.error_bodies import (
    error_body,
    error_headers,
    ledger_error_body,
    validation_problems,
)
from ledger_api.errors import (
    OPERATOR_ACTS_S,
    DatabaseUnavailable,
    LedgerError,
    MalformedBody,
    StorageFull,
    Unavailable,
)
from ledger_api.process.runtime import Runtime
from ledger_api.settings import Settings, get_settings
from ledger_api.usecases.auctions import AuctionsService
from ledger_api.usecases.brands import BrandsService
from ledger_api.usecases.campaigns import CampaignsService
from ledger_api.usecases.enterprises import EnterprisesService
from ledger_api.usecases.operations import OperationsService
from ledger_api.usecases.program import PollsService
from ledger_api.usecases.reads import ReadsService
from ledger_api.usecases.settlement import SettlementService
from ledger_api.usecases.status import StatusService
from ledger_api.usecases.webhooks import WebhooksService

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "malformed_body",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


async def _ledger_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LedgerError)
    replayed = await stored_answer(request, exc)  # a retry of an accepted request
    return replayed if replayed is not None else _error_response(exc)


def _error_response(exc: LedgerError) -> JSONResponse:
    if exc.status >= 500:
        log.warning("%s: %s", exc.error_code, exc.message)
    return FastJSONResponse(
        ledger_error_body(exc), status_code=exc.status, headers=error_headers(exc)
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    code, message, problems = validation_problems(exc.errors())
    if any(p["type"] == "json_invalid" for p in problems):
        return FastJSONResponse(ledger_error_body(MalformedBody(errors=problems)), status_code=400)
    return FastJSONResponse(error_body(code, message, {"errors": problems}), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = openapi.allowed_methods(request.app, request.url.path)
        if allow:
            headers["Allow"] = ", ".join(allow)
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return FastJSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_storage_full(exc):
        return _error_response(StorageFull())
    if isinstance(exc, WalSyncFailed):  # `Database.sync`: every write fails from now on
        return _error_response(
            Unavailable(
                "the gateway could not sync its database to disk; it takes no writes",
                retry_after_s=OPERATOR_ACTS_S,
            )
        )
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body(
            "internal",
            "internal error; the request may be retried (with the same Idempotency-Key, if it "
            "carried one)",
        ),
        status_code=500,
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A database error: 503 `database_unavailable` while its server is away (a trial: with
    PostgreSQL stopped, every authenticated call was a 500); else as `_unexpected`. Handled
    here, not by the catch-all, which re-raises to the server: uvicorn then closes the
    connection, and a request whose body was not read yet was reset instead of answered."""
    if database_away(exc):
        log.warning("the database does not answer: %s", first_line(exc))
        return _error_response(DatabaseUnavailable())
    return await _unexpected(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway. Settings default to the environment (`LEDGER_*`)."""
    resolved = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(resolved)
        status = StatusService(runtime)
        app.state.runtime = runtime
        app.state.operations = OperationsService(runtime)
        app.state.campaigns = CampaignsService(runtime, app.state.operations.campaigns)
        app.state.status = status
        app.state.brands = BrandsService(runtime, status)
        app.state.reads = ReadsService()
        app.state.polls = PollsService(runtime)
        app.state.settlement = SettlementService(runtime, status)
        app.state.enterprises = EnterprisesService(runtime)
        app.state.auctions = AuctionsService(runtime)
        app.state.webhooks = WebhooksService(resolved, runtime.db)
        await runtime.start()
        tune_garbage_collector()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Alliance points ledger gateway",
        version=__version__,
        summary="Partner brands' API over the alliance's shared points ledger",
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
        # The gateway reports through Prometheus (`/metrics`) and JSON logs and ships no
        # OpenTelemetry SDK; FastAPI's native OpenTelemetry would still look up the global
        # providers on every request (issue 15: the HTTP process's per-request work).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    install_routes(app)
    openapi.install(app)
    app.add_middleware(HeadAsGet)  # innermost: routing sees the GET
    app.add_middleware(
        BodyLimits,
        max_body_bytes=resolved.max_body_bytes,
        max_json_depth=resolved.max_json_depth,
    )
    app.state.address_limiter = RateLimiter(
        resolved.address_rate_limit_per_s,
        resolved.address_rate_limit_burst,
        refusal="too many requests from this client address",
    )
    # before the body is read: a refused client costs the least
    app.add_middleware(AddressLimit, limiter=app.state.address_limiter)
    app.add_middleware(HttpMetrics)  # outermost: counts what the limits refuse too
    restore_recursion_limit()  # every library is imported by now
    return app
