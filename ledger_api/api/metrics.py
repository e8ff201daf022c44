"""`/metrics` (Prometheus text format) and the HTTP request metrics (`HttpMetrics`).

`/metrics` needs the admin key (`Authorization: Bearer`, as `/v1/health`'s full report): it
names the signers' addresses and balances and every brand's queue. Prometheus sends it with
`authorization: {credentials_file: ...}` in its scrape config. The scrape is not counted
against the key's rate limit. What it reports, and how it stays true across `ledger serve`,
`ledger work` and several HTTP workers, is in `process.metrics`.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger_api.api.deps import RuntimeDep, api_key_of, probe_caller
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
    token = api_key_of(request.headers)  # the headers above: documented
    if not token:
        raise Unauthorized("/metrics needs the admin API key")
    principal = await probe_caller(request, token)
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


#: (method, route template, status) -> its counter and histogram children: `labels()` checks
#: and looks the labels up under a lock on every call (issue 15: the HTTP process's per-request
#: work). Bounded: the methods below times the templates times the statuses are few, and past
#: the bound a child is looked up as before rather than kept.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_MAX_CHILDREN = 4_096
#: the methods the API serves; any other (uvicorn's parser accepts some 35) is counted as
#: "other", so a client cannot multiply the metrics' series (a trial's 37 methods on every
#: path took `/metrics` from 0.56 to 5.95 MB)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _template(scope: Scope) -> str:
    """The route's template: FastAPI's routes name themselves in the scope; a plain Starlette
    route (`/openapi.json`) or a mount (the docs' and the dashboard's assets, `{path}` below
    it) is found by the endpoint it set (a trial saw `/openapi.json` counted "unmatched")."""
    template = getattr(scope.get("route"), "path", None)
    if template is not None:
        return str(template)
    endpoint = scope.get("endpoint")
    app = scope.get("app")
    if endpoint is None or app is None:
        return "unmatched"
    found = _TEMPLATES.get(id(endpoint))
    if found is None:
        found = next(
            (
                str(r.path) + ("" if getattr(r, "endpoint", None) is endpoint else "/{path}")
                for r in getattr(getattr(app, "router", None), "routes", ())
                if endpoint in (getattr(r, "endpoint", None), getattr(r, "app", None))
            ),
            "unmatched",
        )
        _TEMPLATES[id(endpoint)] = found
    return found


#: a plain route's or a mount's template by its endpoint's id (a handful: never evicted)
_TEMPLATES: dict[int, str] = {}


def _count(scope: Scope, status: int, seconds: float) -> None:
    template = _template(scope)
    method = str(scope.get("method", ""))
    key = (method if method in _METHODS else "other", template, status)
    children = _CHILDREN.get(key)
    if children is None:
        labels = (key[0], template, str(status))
        children = (metrics.HTTP_REQUESTS.labels(*labels), metrics.HTTP_LATENCY.labels(*labels))
        if len(_CHILDREN) < _MAX_CHILDREN:
            _CHILDREN[key] = children
    requests, latency = children
    requests.inc()
    latency.observe(seconds)
