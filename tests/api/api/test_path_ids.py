"""Every id in a URL path: a malformed one is a 422 with the error tree's validation code, a
well-formed one that names nothing a 404.

A trial's finding: `GET /v1/operations/not-an-id` answered 404, as did every route whose path
id is text (operations, webhook endpoints and deliveries, API key prefixes), while the
routes with a numeric id answered 422 `invalid_id`. The routes and their path parameters
come from the OpenAPI document, so a new route is checked without being listed here."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.chain import Anvil
from support.gateway import Brand, Gateway, Member, gateway_env, settings_from

from ledger_api.app import create_app


def _document() -> dict[str, Any]:
    """The OpenAPI document, built without serving (no chain or database is reached)."""
    env = gateway_env(
        rpc_url="http://127.0.0.1:1",
        manifest=Path("unused.json"),
        database_url="sqlite:///unused.db",  # never opened: the document needs no database
        admin_api_key="admin-" + "x" * 32,
    )
    return create_app(settings_from(env)).openapi()


#: (method, path, the path parameters' schemas, whether the route requires a body)
ROUTES = [
    (
        method,
        path,
        {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "path"},
        bool(operation.get("requestBody", {}).get("required")),
    )
    for path, item in _document()["paths"].items()
    for method, operation in item.items()
    if "{" in path
]
#: (method, path, the parameter made malformed)
CASES = [(m, p, name) for m, p, params, _ in ROUTES for name in params]


def _expected_code(name: str) -> str:
    return {"address": "invalid_address", "tier": "invalid_tier"}.get(name, "invalid_id")


def _well_formed(schema: dict[str, Any]) -> str:
    """A value of the parameter's type that names nothing stored."""
    if schema["type"] == "integer":
        return str(min(schema["maximum"], 4_242_424_242))
    if schema.get("pattern") == "^0x[0-9a-fA-F]{40}$":
        return Member().address
    (example,) = schema["examples"][:1]  # every text id's schema shows its form
    return str(example)


def _near_misses(schema: dict[str, Any]) -> list[str]:
    """Malformed values: not an id at all, and one character off a well-formed one."""
    if schema["type"] == "integer":
        return ["not-an-id", "0", "1.5", str(2**63)]
    if "pattern" not in schema:  # test_every_text_path_id_states_its_form fails for it
        return ["not-an-id"]
    good = _well_formed(schema)
    return ["not-an-id", good[:-1] + "z", good + "0", good.upper().replace("0X", "0x") + "g"]


@pytest.fixture(scope="module")
def served(
    anvil: Anvil, manifest: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Brand]]:
    """One gateway for every case of this module (nothing here changes its state)."""
    folder = tmp_path_factory.mktemp("path-ids")
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{folder / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    with Gateway(env) as gateway:
        yield gateway, gateway.create_brand()


def _call(served: tuple[Gateway, Brand], method: str, path: str, admin: bool = False) -> Any:
    gateway, brand = served
    api = gateway.admin if admin or path.startswith("/v1/admin/") else brand.api
    if method == "get":
        return api.get(path)
    return api.http.request(method.upper(), path, headers={"Idempotency-Key": "path-ids"})


def _path(template: str, params: dict[str, Any], values: dict[str, str]) -> str:
    for name, schema in params.items():
        template = template.replace("{" + name + "}", values.get(name) or _well_formed(schema))
    return template


def test_the_document_lists_every_kind_of_path_id() -> None:
    names = {name for _, _, name in CASES}
    assert {"operation_id", "endpoint_id", "delivery_id", "prefix", "brand_id"} <= names, names
    assert {"poll_id", "auction_id", "rule_id", "address", "tier"} <= names, names


def test_every_text_path_id_states_its_form() -> None:
    """The document says what a text id looks like (a client can check before calling)."""
    unstated = [
        (m, p, name)
        for m, p, params, _ in ROUTES
        for name, schema in params.items()
        if schema["type"] == "string" and "pattern" not in schema
    ]
    assert unstated == []


@pytest.mark.parametrize(("method", "template", "name"), CASES)
def test_a_malformed_path_id_is_refused_with_the_validation_code(
    served: tuple[Gateway, Brand], method: str, template: str, name: str
) -> None:
    params = next(p for m, t, p, _ in ROUTES if (m, t) == (method, template))
    for bad in _near_misses(params[name]):
        response = _call(served, method, _path(template, params, {name: bad}))
        assert response.status_code == 422, (bad, response.text)
        error = response.json()["error"]
        assert error["code"] == _expected_code(name), (bad, error)
        # an address is checked in a dependency (`api.deps.member_address`), not by the
        # validation: its body must carry the same `errors` (a trial's finding)
        assert ["path", name] in [e["loc"] for e in error["details"]["errors"]], error


UNKNOWN = [
    (m, p, name)
    for m, p, params, body in ROUTES
    for name in params
    if not body and _expected_code(name) == "invalid_id"
]


@pytest.mark.parametrize(("method", "template", "name"), UNKNOWN)
def test_a_well_formed_unknown_path_id_is_not_found(
    served: tuple[Gateway, Brand], method: str, template: str, name: str
) -> None:
    params = next(p for m, t, p, _ in ROUTES if (m, t) == (method, template))
    response = _call(served, method, _path(template, params, {}))
    if response.status_code == 403:  # another brand's figures: the admin's key may read them
        response = _call(served, method, _path(template, params, {}), admin=True)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] != "not_found"  # the route's own code, e.g.
    # operation_not_found: the route ran (not a path that matched no route)
