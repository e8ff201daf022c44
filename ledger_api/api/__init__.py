"""HTTP routers; `install_routes` puts every route of them on the app's own router."""

from __future__ import annotations

import inspect

from fastapi import APIRouter, FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute

from ledger_api.api import (
    admin,
    auctions,
    audit,
    campaigns,
    dashboard,
    enterprises,
    erasure,
    health,
    metrics,
    operations,
    program,
    reads,
    settlement,
    stats,
    webhooks,
)

# In matching order: a request takes the first route that matches it.
ROUTERS: tuple[APIRouter, ...] = (
    operations.router,
    reads.router,
    settlement.router,
    program.router,
    enterprises.router,
    admin.router,
    health.router,
    webhooks.router,
    auctions.router,  # issue 16 item 2
    stats.router,  # issue 13: the dashboard, its data, /metrics
    dashboard.router,
    metrics.router,
    campaigns.router,  # issue 16: earning campaigns
    erasure.router,  # erasure of a member's off-chain data (GDPR/CCPA)
    audit.router,  # the audit trail (DOMAIN.md: "keep an audit trail")
)

# What `APIRouter.add_api_route` takes that a finished `APIRoute` keeps under the same name.
_ROUTE_FIELDS = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in ("self", "path", "endpoint", "route_class_override")
)


def install_routes(app: FastAPI, routers: tuple[APIRouter, ...] = ROUTERS) -> None:
    """Adds every route of `routers` to `app.router` itself, one flat list, in order.

    Since FastAPI 0.137, `include_router` keeps a lazy node per included router, and every
    request walks those nodes, building and restoring scope entries per candidate route
    (fastapi/fastapi#16159 is the open fix). With this app's 81 routes in two levels, a
    request for a route late in the list or for no route at all cost the HTTP process about
    0.3 ms of CPU more than with flat routes (`tools/earn_load.py --cost`; README,
    "Throughput"). Each route is added again by `add_api_route` with what the finished route
    holds, as `include_router` did before 0.137, so it gets the app's default response class
    (orjson's `FastJSONResponse`) and the app's `dependency_overrides`, as an included route
    did. A route holding a value left to its router's default (a `DefaultPlaceholder`) takes
    the app's instead.

    Raises TypeError for a route that is not an `APIRoute` (no router here declares one)."""
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"{route!r}: only APIRoute is installed")
            fields = {
                name: value
                for name in _ROUTE_FIELDS
                if not isinstance(value := getattr(route, name), DefaultPlaceholder)
            }
            app.router.add_api_route(
                route.path, route.endpoint, route_class_override=type(route), **fields
            )


__all__ = ["ROUTERS", "install_routes"]
