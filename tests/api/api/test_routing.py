"""The app serves every route from one flat list (`ledger_api.api.install_routes`).

FastAPI's `include_router` keeps a lazy node per included router since 0.137, and every
request walks them (a 404 walked the whole tree twice); the gateway lays its routes out flat.
These tests check the layout and that each route kept what it was declared with.

A keyed write resolves its caller, key, status service and wait in one dependency
(`deps.Write`): FastAPI resolves every dependency node on every request (issue 15).
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route
from support.gateway import Brand, Gateway, Member, gateway_env, settings_from

from ledger_api.api import ROUTERS, deps, install_routes
from ledger_api.api.json import FastJSONResponse
from ledger_api.api.openapi import _api_routes, _dependencies
from ledger_api.app import create_app


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """The app as `ledger serve` builds it (not started: its routes are all these tests read)."""
    env = gateway_env(
        rpc_url="http://127.0.0.1:9",
        manifest=tmp_path / "deployment.json",
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    return create_app(settings_from(env))


def test_every_route_sits_on_the_apps_own_router_in_declared_order(app: FastAPI) -> None:
    kinds = {type(route) for route in app.router.routes}
    assert kinds <= {APIRoute, Route, Mount}, kinds  # no included-router node
    served = [
        (route.path, sorted(route.methods))
        for route in app.router.routes
        if isinstance(route, APIRoute)
        and route.endpoint.__module__ != "ledger_api.api.openapi"  # /docs and /redoc
    ]
    declared = [
        (route.path, sorted(route.methods))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    assert served == declared
    assert len(declared) >= 80


def test_each_route_keeps_what_it_was_declared_with(app: FastAPI) -> None:
    by_key = {
        (route.path, frozenset(route.methods)): route
        for route in app.router.routes
        if isinstance(route, APIRoute)
    }
    for router in ROUTERS:
        for declared in router.routes:
            assert isinstance(declared, APIRoute)
            served = by_key[(declared.path, frozenset(declared.methods))]
            assert served.endpoint is declared.endpoint
            assert served.name == declared.name
            assert served.status_code == declared.status_code
            assert served.tags == declared.tags
            assert served.summary == declared.summary
            assert served.responses == declared.responses
            assert served.include_in_schema == declared.include_in_schema
            assert served.response_class is FastJSONResponse  # the app's default: orjson


def test_a_route_gets_the_apps_dependency_overrides() -> None:
    def original() -> str:
        return "original"

    def replacement() -> str:
        return "replacement"

    router = APIRouter(prefix="/v1")

    @router.get("/probe")
    async def probe(value: str = Depends(original)) -> dict[str, str]:
        return {"value": value}

    app = FastAPI(default_response_class=FastJSONResponse)
    install_routes(app, (router,))
    app.dependency_overrides[original] = replacement
    transport = httpx.ASGITransport(app=app)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/v1/probe")

    response = asyncio.run(call())
    assert response.json() == {"value": "replacement"}


def test_misses_and_wrong_methods_still_answer_from_the_error_tree(gateway: Gateway) -> None:
    missing = httpx.get(f"{gateway.base_url}/v1/no-such-route", timeout=30)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = httpx.delete(f"{gateway.base_url}/v1/earn/purchase", timeout=30)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST, OPTIONS"
    slash = httpx.get(
        f"{gateway.base_url}/v1/health/", timeout=30, follow_redirects=False
    )  # Starlette's trailing-slash redirect still applies
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/v1/health")


def test_every_get_route_answers_head_without_a_body(gateway: Gateway, brand: Brand) -> None:
    """RFC 9110 section 9.3.2: HEAD is GET without the body. FastAPI's routes answer only the
    methods they declare, so a load balancer's `HEAD /v1/health` was answered 405."""
    base = gateway.base_url
    for path, api in [
        ("/v1/health", gateway.api(None)),
        (f"/v1/members/{Member().address}", brand.api),
        ("/openapi.json", gateway.api(None)),
    ]:
        got, head = api.get(path), api.http.head(path)
        assert head.status_code == got.status_code == 200, (path, head.text)
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == got.headers["content-length"]
    refused = httpx.head(f"{base}/v1/members/{Member().address}", timeout=30)
    assert refused.status_code == 401 and refused.content == b""  # its GET's refusal
    wrong = httpx.head(f"{base}/v1/earn/purchase", timeout=30)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST, OPTIONS"
    read_only = httpx.delete(f"{base}/v1/health", timeout=30)
    assert read_only.status_code == 405
    assert read_only.headers["Allow"] == "GET, HEAD, OPTIONS"
    scrape = gateway.admin.get("/metrics").text
    assert 'method="HEAD",route="/v1/members/{address}",status="200"' in scrape


def test_a_keyed_write_resolves_caller_key_status_and_wait_as_one_dependency(
    app: FastAPI,
) -> None:
    """No route resolves the caller and `wait_seconds` as nodes of their own (the earn took
    five nodes, each resolved per request, the status read three); a route with a `Write` or
    a `StatusRead` has none of the nodes it stands for."""
    callers = {deps.request_context, deps.current_principal, deps.current_brand}
    callers.add(deps.current_admin)
    combined = {deps.brand_write, deps.admin_write, deps.any_write, deps.status_read}
    writes = 0
    for route in _api_routes(app.routes):
        calls = {dependency.call for dependency in _dependencies(route.dependant)}
        assert not (callers & calls and deps.wait_seconds in calls), route.path
        if combined & calls:
            writes += 1
            assert not (callers | {deps.wait_seconds}) & calls, (route.path, calls)
            assert len(combined & calls) == 1, route.path
    assert writes >= 25
    (status,) = [r for r in _api_routes(app.routes) if r.path == "/v1/operations/{operation_id}"]
    assert [d.call for d in _dependencies(status.dependant)] == [deps.status_read]


def test_a_write_refuses_in_the_order_its_parts_did(gateway: Gateway, brand: Brand) -> None:
    """The caller (401), then the Idempotency-Key (400), then the key's kind (403), then
    `wait` (422): `brand_write` and `admin_write` keep the order of the dependencies they
    stand for."""
    body = {"member": Member().address, "amount_cents": 1_000, "order_ref": "order-1"}
    anonymous = httpx.post(f"{gateway.base_url}/v1/earn/purchase", json=body, timeout=30)
    assert (anonymous.status_code, _code(anonymous)) == (401, "unauthorized")
    unkeyed = gateway.admin.post("/v1/earn/purchase", body, key=None)
    assert (unkeyed.status_code, _code(unkeyed)) == (400, "idempotency_key_required")
    admin = gateway.admin.post("/v1/earn/purchase", body)
    assert (admin.status_code, _code(admin)) == (403, "forbidden")
    bad_wait = brand.api.post("/v1/earn/purchase", body, params={"wait": "maybe"})
    assert (bad_wait.status_code, _code(bad_wait)) == (422, "invalid_request")
    cap = f"/v1/admin/brands/{brand.brand_id}/daily-cap"
    brand_on_admin = brand.api.put(cap, {"daily_cap_points": 1_000})
    assert (brand_on_admin.status_code, _code(brand_on_admin)) == (403, "forbidden")
    unkeyed_admin = brand.api.http.put(cap, json={"daily_cap_points": 1_000})
    assert unkeyed_admin.status_code == 400
    assert _code(unkeyed_admin) == "idempotency_key_required"


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code
