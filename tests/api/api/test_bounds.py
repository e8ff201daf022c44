"""Every id and amount has bounds: out of range is a 4xx with a stable code (issue 9, item 4)."""

from __future__ import annotations

import re
import sqlite3
import time
import typing
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from sqlalchemy import event, text
from support.gateway import Api, Brand, Gateway, Member

from ledger_api import errors
from ledger_api.db.disk import is_storage_full
from ledger_api.model import (
    admin_schemas,
    auctions,
    bulk,
    campaigns,
    program,
    schemas,
    settlement,
    webhooks,
)

# every module that holds a request body's shape: a route whose model is not found here is
# probed in its path only
MODEL_MODULES = (schemas, admin_schemas, webhooks, auctions, bulk, campaigns, program, settlement)

OUT_OF_RANGE = [2**63, 2**64, 2**256, -1]
RULES = "/v1/campaigns/rules"
CAP = "/v1/admin/campaigns/cap"
MEMBER = Member().address
OTHER = Member().address


def _sample(name: str, annotation: Any, brand_id: int) -> Any:
    """A valid value for a body field, by name (the out-of-range value goes in another field)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is Literal:
        return args[0]
    for arg in args:
        if typing.get_origin(arg) is Literal:
            return typing.get_args(arg)[0]
    values: dict[str, Any] = {
        "member": MEMBER,
        "holder": MEMBER,
        "to": OTHER,
        "brand": brand_id,
        "amount": 1,
        "amount_cents": 100,
        "multiplier_pct": 100,
        "nonce": 0,
        "deadline": int(time.time()) + 600,
        "signature": "0x" + "11" * 64 + "1b",
        "order_ref": "order-1",
        "claim_ref": "claim-1",
        "ref": "ref-1",
        "type_id": 1,
        "uri": "ipfs://badge",
        "name": "Bounds brand",
        "symbol": "BND",
        "suspended": False,
        "value_micro_usd": 10_000,
        "spend_cents": 0,
        "orders": 0,
        "engagements": 0,
    }
    return values.get(name)


def _int_fields(model: type[BaseModel]) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if annotation is int or int in typing.get_args(annotation):
            names.append(name)
    return names


def _base(model: type[BaseModel] | None, brand_id: int) -> dict[str, Any] | None:
    if model is None:
        return None
    base = {
        name: _sample(name, field.annotation, brand_id)
        for name, field in model.model_fields.items()
        if field.is_required() or _sample(name, field.annotation, brand_id) is not None
    }
    return {k: v for k, v in base.items() if v is not None}


def _routes(gateway: Gateway) -> list[tuple[str, str, type[BaseModel] | None]]:
    """(method, path, body model) of every operation the app serves, from its OpenAPI document
    (what a client sees, whatever the app's routing holds)."""
    routes = []
    for path, item in gateway.app.openapi()["paths"].items():
        for method, operation in item.items():
            ref = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref")
            )
            name = ref.rsplit("/", 1)[1] if ref else None
            model = next(
                (getattr(m, name) for m in MODEL_MODULES if name and hasattr(m, name)), None
            )
            routes.append((method.upper(), path, model))
    return routes


def _cases(path: str, model: type[BaseModel] | None, brand_id: int) -> list[tuple[str, Any]]:
    """(path, body): out-of-range values in each path parameter, then in each int body field."""
    base = _base(model, brand_id)
    valid_path, *bad_paths = _paths(path, brand_id)
    cases = [(path, base) for path in bad_paths]
    if model is not None:
        cases += [
            (valid_path, {**(base or {}), name: bad})
            for name in _int_fields(model)
            for bad in OUT_OF_RANGE
        ]
    return cases


def _paths(path: str, brand_id: int) -> list[str]:
    names = re.findall(r"\{(\w+)\}", path)
    valid = {
        "address": MEMBER,
        "brand_id": str(brand_id),
        "tier": "1",
        "poll_id": "1",
        "operation_id": "op-1",
        "prefix": "nope",
        "endpoint_id": "whe_nope",
        "delivery_id": "whd_nope",
        "rule_id": "1",
        "auction_id": "1",
    }
    paths = [path.format(**valid)] if names else [path]
    for name in names:
        paths += [path.format(**{**valid, name: str(bad)}) for bad in OUT_OF_RANGE]
    return paths


def _key() -> str:
    return f"bounds-{time.time_ns()}"


def _call(api: Api, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = api.http.request(
        method,
        path,
        json=body,
        headers={"Idempotency-Key": _key()},
    )
    return response.status_code, response.json() if response.content else {}


@pytest.mark.slow
def test_every_route_answers_out_of_range_ids_and_amounts_without_a_5xx(
    gateway: Gateway, brand: Brand
) -> None:
    calls = 0
    server_errors: list[str] = []
    routes = _routes(gateway)
    assert len(routes) >= 25
    for method, route_path, model in routes:
        for path, body in _cases(route_path, model, brand.brand_id):
            for api in (brand.api, gateway.admin):
                status, answer = _call(api, method, path, body)
                calls += 1
                if status >= 500:
                    server_errors.append(f"{method} {path} {body}: {status} {answer}")
    assert calls > 300
    assert not server_errors, "\n".join(server_errors[:20])


def test_ids_beyond_signed_64_bit_are_invalid_id(gateway: Gateway, brand: Brand) -> None:
    for bad in (2**63, 2**64):
        response = gateway.admin.get(f"/v1/brands/{bad}/liability")
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_id"
        body = {"member": MEMBER, "brand": bad, "amount": 1, "order_ref": "o"}
        response = brand.api.post("/v1/redemptions/typed-data", body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_id"


def test_every_amount_and_multiplier_out_of_range_or_not_whole_answers_its_code(
    gateway: Gateway, brand: Brand
) -> None:
    """New-user trial: an auction's reserve of 0 answered 422 `invalid_request` although the
    route documents `invalid_amount`. Every amount (points, badge units) out of range or not a
    whole number answers `invalid_amount`, the admin's cap `invalid_multiplier`, with the bounds
    they always had; counts and durations keep `invalid_request`."""
    auction = {"badge_type": 1, "reserve": 10, "increment": 1, "starts_at": 0, "ends_at": 1}
    welcome = {"kind": "welcome_pack", "name": "Welcome"}
    issue = {"type_id": 1, "member": MEMBER}
    amount, multiplier = "invalid_amount", "invalid_multiplier"
    cases: list[tuple[Api, str, str, dict[str, Any], str, str, tuple[Any, ...]]] = [
        # past a bid's own bound (10^12 points) no bid could reach it (a trial)
        (brand.api, "POST", "/v1/auctions", auction, "reserve", amount, (0, -1, 10**12 + 1, "1")),
        (brand.api, "POST", "/v1/auctions", auction, "increment", amount, (0, 10**12 + 1, True)),
        (brand.api, "POST", RULES, welcome, "points", amount, (0, -5, 10**6 + 1, 1.5, "5", True)),
        (brand.api, "PUT", f"{RULES}/1", welcome, "points", amount, (0, 10**7, "5")),
        (brand.api, "POST", "/v1/badges/issue", issue, "amount", amount, (0, 10**6 + 1, "1", 2.5)),
        (gateway.admin, "PUT", CAP, {}, "max_multiplier_pct", multiplier, (99, 1001, "200", True)),
    ]
    for api, method, route, base, field, code, values in cases:
        for bad in values:
            answer = api.http.request(
                method, route, json={**base, field: bad}, headers={"Idempotency-Key": _key()}
            )
            assert answer.status_code == 422, (route, field, bad, answer.text)
            error = answer.json()["error"]
            assert error["code"] == code, (route, field, bad, error)
            assert [e["loc"][-1] for e in error["details"]["errors"]] == [field], error
    for route, body in (
        ("/v1/auctions", {**auction, "units": 0}),
        ("/v1/auctions", {**auction, "extension_s": -1}),
        ("/v1/badges/types", {"kind": "achievement", "uri": "ipfs://b", "max_supply": -1}),
    ):
        count = brand.api.post(route, body)
        assert count.status_code == 422 and count.json()["error"]["code"] == "invalid_request"
    # the bounds are the same: their edges are accepted
    top = auctions.MAX_AUCTION_POINTS
    edge = auctions.AuctionCreateRequest(**{**auction, "reserve": top, "increment": top})
    assert (edge.reserve, edge.increment) == (top, top)
    assert campaigns.WelcomePackRule(**welcome, points=10**6).points == 10**6
    assert schemas.BadgeIssueRequest(**issue, amount=10**6).amount == 10**6
    for pct in (100, 1000):
        assert campaigns.CampaignCapRequest(max_multiplier_pct=pct).max_multiplier_pct == pct


def test_every_body_id_out_of_range_or_not_whole_answers_invalid_id(brand: Brand) -> None:
    """An auction's `badge_type` and a badge poll's `eligibility_ref` were bare `Field(ge, le)`s
    answering `invalid_request` where every other id answers `invalid_id`. Under `min_tier` the
    reference is a tier: 1 to 3 or `invalid_tier`, as AlliancePolls' `PollsInvalidTier` would
    refuse it on chain. The bounds of an id are the ones it always had."""
    auction = {"badge_type": 1, "reserve": 10, "increment": 1, "starts_at": 0, "ends_at": 1}
    poll = {"content_hash": "0x" + "ab" * 32, "option_count": 2, "starts_at": 0, "ends_at": 1}
    badge_poll = {**poll, "eligibility": "badge"}
    tier_poll = {**poll, "eligibility": "min_tier"}
    cases: list[tuple[str, dict[str, Any], str, str, tuple[Any, ...]]] = [
        ("/v1/auctions", auction, "badge_type", "invalid_id", (0, -1, 2**63, 1.5, "1", True)),
        ("/v1/polls", badge_poll, "eligibility_ref", "invalid_id", (0, 2**63, 2.5, "7", True)),
        ("/v1/polls", tier_poll, "eligibility_ref", "invalid_tier", (0, 4, 2**63, "1", True)),
    ]
    for route, base, field, code, values in cases:
        for bad in values:
            answer = brand.api.post(route, {**base, field: bad})
            assert answer.status_code == 422, (route, field, bad, answer.text)
            error = answer.json()["error"]
            assert error["code"] == code, (route, field, bad, error)
            assert [e["loc"][-1] for e in error["details"]["errors"]] == [field], error
            # a string of digits is named as one (a trial read "must be a whole number" for "1")
            said = f"a JSON number, not the string '{bad}'"
            if code == "invalid_id":
                assert (said in error["message"]) == isinstance(bad, str), (bad, error)
    top = 2**63 - 1
    assert auctions.AuctionCreateRequest(**{**auction, "badge_type": top}).badge_type == top
    assert program.PollOpenRequest(**badge_poll, eligibility_ref=top).eligibility_ref == top
    for tier in (1, 3):
        assert program.PollOpenRequest(**tier_poll, eligibility_ref=tier).eligibility_ref == tier


def test_a_full_disk_is_told_apart_from_a_busy_database() -> None:
    assert is_storage_full(sqlite3.OperationalError("database or disk is full"))
    assert is_storage_full(OSError(28, "No space left on device"))
    assert not is_storage_full(sqlite3.OperationalError("database is locked"))
    assert errors.StorageFull.status == 507
    assert errors.StorageFull.code == "storage_full"


def test_a_full_database_answers_storage_full_not_busy(gateway: Gateway, brand: Brand) -> None:
    engine = gateway.runtime.db.engine
    with engine.connect() as connection:
        pages = int(connection.execute(text("PRAGMA page_count")).scalar_one())

    @event.listens_for(engine, "connect")
    def cap(dbapi_connection: Any, _: Any) -> None:
        # SQLite's own SQLITE_FULL: the file may not grow past its current size
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    try:
        answers = []
        for n in range(200):  # until the pages fill up (each earn stores a row and its key)
            response = brand.api.post(
                "/v1/earn/purchase",
                {"member": Member().address, "amount_cents": 100, "order_ref": "x" * 100 + str(n)},
                headers={"Idempotency-Key": "full-" + "k" * 200 + str(n)},
            )
            answers.append(response)
            if response.status_code >= 500:
                break
        last = answers[-1]
        assert last.status_code == 507, [a.status_code for a in answers]
        assert last.json()["error"]["code"] == "storage_full"
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()


def test_a_badge_uri_with_control_characters_is_refused(brand: Brand) -> None:
    # found by the fuzzer: a NUL in a URI reached the chain, and PostgreSQL's index of it
    # refused the text and stopped indexing
    response = brand.api.post("/v1/badges/types", {"kind": "achievement", "uri": "ipfs://a\x00b"})
    assert response.status_code == 422, response.text


def _strings(schema: dict[str, Any], defs: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    """(where, string schema) of every string a request body's JSON schema holds, at any depth."""
    if "$ref" in schema:
        yield from _strings(defs[schema["$ref"].rsplit("/", 1)[1]], defs, where)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            yield from _strings(part, defs, where)
    for name, part in schema.get("properties", {}).items():
        yield from _strings(part, defs, f"{where}.{name}")
    if "items" in schema:
        yield from _strings(schema["items"], defs, f"{where}[]")
    if schema.get("type") == "string":
        yield where, schema


#: strings a route checks itself, with an error code of their own (the HTTP calls below)
CHECKED_BY_THE_ROUTE = {
    "POST /v1/webhooks body.url",  # `invalid_webhook_url`: a space or a control character
    "POST /v1/webhooks body.event_types[]",  # `invalid_event_type`: the known types only
}


def test_every_free_text_of_a_request_refuses_control_characters(
    gateway: Gateway, brand: Brand
) -> None:
    """A review: a key's label holding a NUL answered 500 on PostgreSQL (its text refuses the
    byte), and a purchase's `order_ref` with one was accepted (202). Every string a request
    body takes is an enum, or has a pattern that refuses a NUL, a line break, a DEL and a C1
    control (U+009B); and the
    routes answer 422 for them."""
    document = gateway.admin.get("/openapi.json").json()
    defs = document["components"]["schemas"]
    unbounded = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            for where, schema in _strings(body["schema"], defs, "body") if body else ():
                if {"enum", "const", "format"} & schema.keys():  # a name, or parsed (a time)
                    continue
                if f"{method.upper()} {path} {where}" in CHECKED_BY_THE_ROUTE:
                    continue
                pattern = schema.get("pattern")
                if pattern is None or any(re.search(pattern, f"a{c}b") for c in "\x00\n\x7f\x9b"):
                    unbounded.append(f"{method.upper()} {path} {where}")
    assert not unbounded, "\n".join(unbounded)
    for api, path, body in (
        (brand.api, "/v1/keys/rotate", {"keep_old": True, "label": "ops\x00key"}),
        (gateway.admin, f"/v1/admin/brands/{brand.brand_id}/api-keys", {"label": "a\nb"}),
        (gateway.admin, f"/v1/admin/brands/{brand.brand_id}/api-keys", {"label": "a\x9bb"}),
        (
            brand.api,
            "/v1/earn/purchase",
            {"member": MEMBER, "amount_cents": 100, "order_ref": "o\x00"},
        ),
        (brand.api, "/v1/earn/engagement", {"member": MEMBER, "kind": "review", "ref": "r\x7f"}),
    ):
        status, answer = _call(api, "POST", path, body)
        assert (status, answer["error"]["code"]) == (422, "invalid_request"), (path, answer)
    for body, code in (
        ({"url": "https://hooks.example/a\x00b"}, "invalid_webhook_url"),
        (
            {"url": "https://hooks.example/", "event_types": ["points.earned\x00"]},
            "invalid_event_type",
        ),
    ):
        status, answer = _call(brand.api, "POST", "/v1/webhooks", body)
        assert (status, answer["error"]["code"]) == (422, code), answer
