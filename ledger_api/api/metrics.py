"""`/metrics` (Prometheus text format) and the HTTP request metrics (`HttpMetrics`).

`/metrics` needs the admin key (`Authorization: Bearer`, as `/v1/health`'s full report): it
names the signers' addresses and balances and every brand's queue. Prometheus sends it with
`authorization: {credentials_file: ...}` in its scrape config. The scrape is not counted
against the key's rate limit. What it reports, and how it stays true across `ledger serve`,
`ledger work` and several HTTP workers, is in `process.metrics`.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger_api.api.deps import RuntimeDep, bearer
from ledger_api.api.stats import monitor_of
from ledger_api.errors import Forbidden, Unauthorized
from ledger_api.process import metrics

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def scrape(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Response:
    token = bearer(authorization, x_api_key)
    if not token:
        raise Unauthorized("/metrics needs the admin API key")
    principal = runtime.api_keys.in_memory(token)
    if principal is None:
        principal = await run_in_threadpool(runtime.api_keys.authenticate, token)
    if not principal.is_admin:
        raise Forbidden("/metrics needs the admin API key")
    figures = await run_in_threadpool(monitor_of(request).figures)
    body = await run_in_threadpool(metrics.render, figures)
    return Response(body, media_type=metrics.CONTENT_TYPE)


class HttpMetrics:
    """Counts every HTTP request and times it (until its response starts), labelled with the
    route's template (`/v1/members/{address}`, never the raw path: "unmatched" for a path no
    route serves), the method and the status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        counted = False

        async def sending(message: Message) -> None:
            nonlocal counted
            if message["type"] == "http.response.start" and not counted:
                counted = True
                _count(scope, int(message["status"]), time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not counted:  # no response at all (an exception, a dropped connection)
                _count(scope, 500, time.perf_counter() - started)


def _count(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    method = str(scope.get("method", ""))
    metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
    metrics.HTTP_LATENCY.labels(method, template, str(status)).observe(seconds)
