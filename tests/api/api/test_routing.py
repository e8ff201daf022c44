"""The app serves every route from one flat list (`ledger_api.api.install_routes`).

FastAPI's `include_router` keeps a lazy node per included router since 0.137, and every
request walks them (a 404 walked the whole tree twice); the gateway lays its routes out flat.
These tests check the layout and that each route kept what it was declared with.
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
from support.gateway import Gateway, gateway_env, settings_from

from ledger_api.api import ROUTERS, install_routes
from ledger_api.api.json import FastJSONResponse
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
