"""The OpenAPI document is complete enough to generate a client (issue 13, item 4): security
schemes, `Idempotency-Key` on every mutation, the real error body with its codes on every 4xx
and 5xx, a valid example for every body and answer; and `/docs` and `/redoc` load only assets
that the gateway itself serves (offline, no CDN)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from html.parser import HTMLParser
from typing import Annotated, Any

import jsonschema_rs
import pytest
from pydantic import TypeAdapter, ValidationError
from support.gateway import Gateway

from ledger_api import errors
from ledger_api import model as request_models
from ledger_api.app import _HTTP_CODES
from ledger_api.error_bodies import FIELD_CODES

MUTATIONS = ("post", "put", "patch", "delete")


@pytest.fixture
def document(gateway: Gateway) -> dict[str, Any]:
    answer = gateway.api(None).get("/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _known_codes() -> set[str]:
    codes = set(FIELD_CODES) | set(_HTTP_CODES.values())
    todo: list[type[errors.LedgerError]] = [errors.LedgerError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        codes.update(getattr(cls, "codes", ()))  # a class reporting one of several codes
        todo += cls.__subclasses__()
    return codes


#: the mutations that take no Idempotency-Key: they write nothing (typed data to sign, the
#: earn preview, a withdrawal's transaction to sign) or manage keys and webhook endpoints
UNKEYED = {
    ("post", "/v1/gifts/typed-data"),
    ("post", "/v1/donations/typed-data"),
    ("post", "/v1/redemptions/typed-data"),
    ("post", "/v1/badges/benefit-redemptions/typed-data"),
    ("post", "/v1/settlement/withdrawals/transaction"),
    ("post", "/v1/polls/{poll_id}/votes/typed-data"),
    ("post", "/v1/enterprises/bindings/typed-data"),
    ("post", "/v1/enterprises/unbindings/typed-data"),
    ("post", "/v1/enterprises/leaves/typed-data"),
    ("post", "/v1/auctions/{auction_id}/bids/typed-data"),
    ("post", "/v1/earn/preview"),
    ("delete", "/v1/admin/api-keys/{prefix}"),
    ("delete", "/v1/admin/members/{address}/profile"),  # an erasure: idempotent, stores nothing
    ("delete", "/v1/keys/current"),
    ("post", "/v1/webhooks"),
    ("delete", "/v1/webhooks/{endpoint_id}"),
    ("post", "/v1/webhooks/{endpoint_id}/test"),
    ("post", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"),
}


def test_the_idempotency_key_is_required_where_the_gateway_requires_it(
    document: dict[str, Any],
) -> None:
    """Required on every mutation but `UNKEYED`, and absent there: a client generated from
    the document sends a key exactly where one is needed (the new-user trial found it marked
    required on the preview and the typed-data routes, which answer without one)."""
    mutations = [(m, p, o) for m, p, o in _operations(document) if m in MUTATIONS]
    assert len(mutations) >= 20
    assert {(m, p) for m, p, _ in mutations} >= UNKEYED
    for method, path, operation in mutations:
        headers = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        codes = {
            code for answer in operation["responses"].values()
            for code in answer.get("x-error-codes", [])
        }  # fmt: skip
        if (method, path) in UNKEYED:
            assert headers == [], (method, path)
            assert not {"idempotency_key_required", "idempotency_conflict"} & codes, path
            continue
        (header,) = headers
        assert header["in"] == "header" and header["required"] is True, (method, path)
        assert {"idempotency_key_required", "idempotency_conflict"} <= codes, (method, path)


def test_the_routes_documented_without_a_key_answer_without_one(gateway: Gateway) -> None:
    """Each `UNKEYED` route, called without the header, is never refused for the key."""
    for method, template in sorted(UNKEYED):
        path = re.sub(r"\{[a-z_]+\}", "1", template)
        answer = gateway.admin.http.request(method.upper(), path, json={})
        assert answer.status_code < 500, (method, path, answer.text)
        if answer.status_code == 400:
            code = answer.json()["error"]["code"]
            assert code != "idempotency_key_required", (method, path)


def test_every_error_answer_is_the_error_body_with_its_codes(document: dict[str, Any]) -> None:
    known = _known_codes()
    for method, path, operation in _operations(document):
        errors_seen = 0
        for status, answer in operation["responses"].items():
            if int(status) < 400 or path == "/v1/health" and status == "503":
                continue
            errors_seen += 1
            content = answer["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
            codes = answer["x-error-codes"]
            assert codes and set(codes) <= known, (method, path, status, set(codes) - known)
            assert all(code in answer["description"] for code in codes)
            assert content["example"]["error"]["code"] in codes
        assert errors_seen >= 5, (method, path)
    gift = document["paths"]["/v1/gifts"]["post"]["responses"]
    assert {"invalid_signature", "signature_expired"} <= set(gift["422"]["x-error-codes"])
    assert "signature_replayed" in gift["409"]["x-error-codes"]
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error"]


def test_the_api_key_is_a_security_scheme_of_every_private_route(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["apiKeyHeader"]["name"] == "X-API-Key"
    for method, path, operation in _operations(document):
        security = operation["security"]
        assert {"bearerAuth": []} in security, (method, path)
        # only the public health check may be called without a key
        assert ({} in security) == (path == "/v1/health"), (method, path)


def test_every_body_and_answer_has_an_example_its_schema_accepts(
    document: dict[str, Any],
) -> None:
    checked = 0
    for method, path, operation in _operations(document):
        contents = [("request", operation.get("requestBody", {}).get("content", {}))]
        contents += [(status, a.get("content", {})) for status, a in operation["responses"].items()]
        for where, content in contents:
            if "application/json" not in content:
                continue
            media = content["application/json"]
            assert media.get("schema"), (method, path, where, "no schema")
            schema = {**media["schema"], "components": document["components"]}
            problems = [
                str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(media["example"])
            ]
            assert not problems, (method, path, where, problems[:3])
            checked += 1
    assert checked >= 300, checked


def test_the_admin_amounts_keep_their_bounds_and_document_invalid_amount(
    document: dict[str, Any],
) -> None:
    """New-user trial: the admin's amounts answered `invalid_request`; they answer
    `invalid_amount` now (`test_admin`), with the bounds the document always gave them."""
    schemas = document["components"]["schemas"]
    bounds = {
        ("BrandCreateRequest", "value_micro_usd"): (1, 2**32 - 1),
        ("PointValueRequest", "value_micro_usd"): (1, 2**32 - 1),
        ("DailyCapRequest", "daily_cap_points"): (0, 2**63 - 1),
        ("TierRuleRequest", "spend_cents"): (0, 2**48 - 1),
        ("TierRuleRequest", "gift_points"): (0, 10**9),
    }
    for (model, field), (low, high) in bounds.items():
        schema = schemas[model]["properties"][field]
        assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", low, high)
    cap = schemas["BrandCreateRequest"]["properties"]["daily_cap_points"]
    assert cap["anyOf"] == [
        {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        {"type": "null"},
    ]
    assert schemas["BrandCreateRequest"]["properties"]["value_micro_usd"]["default"] == 10_000
    assert schemas["TierRuleRequest"]["properties"]["gift_points"]["default"] == 0
    routes = [
        ("post", "/v1/admin/brands"),
        ("put", "/v1/admin/brands/{brand_id}/point-value"),
        ("put", "/v1/admin/brands/{brand_id}/daily-cap"),
        ("put", "/v1/admin/tiers/{tier}"),
    ]
    for method, path in routes:
        codes = document["paths"][path][method]["responses"]["422"]["x-error-codes"]
        assert "invalid_amount" in codes, (method, path, codes)


#: an integer request property named like an amount of points, cents, micro-USD or token units
#: (a rate such as an earn rule's `points_per_usd` is not one), and one named like a multiplier
_AMOUNT = re.compile(r"amount|points|cents|micro_usd|reserve|increment")
_MULTIPLIER = re.compile(r"multiplier")
#: an integer request property named like a ledger id: a brand, a badge type, a poll's
#: eligibility reference (a badge type id, or a tier under `min_tier`)
_ID = re.compile(r"(^|_)(id|type|ref)$|^(brand|debtor|creditor)$")
_MODELS = [
    importlib.import_module(f"ledger_api.model.{m.name}")
    for m in pkgutil.iter_modules(request_models.__path__)
]


def _integers(document: dict[str, Any], schema: dict[str, Any], name: str, seen: set[str]) -> Any:
    """(component, property) of every integer property reachable from `schema`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            yield from _integers(document, document["components"]["schemas"][name], name, seen)
        return
    items = [schema["items"]] if "items" in schema else []
    for sub in [*schema.get("anyOf", []), *schema.get("oneOf", []), *items]:
        yield from _integers(document, sub, name, seen)
    for prop, sub in schema.get("properties", {}).items():
        if any(s.get("type") == "integer" for s in sub.get("anyOf", [sub])):
            yield name, prop
        yield from _integers(document, sub, name, seen)


def _field(name: str, prop: str) -> tuple[Any, dict[str, Any]]:
    """A request property's own validator (a `TypeAdapter` of its annotation and metadata) and
    the integer bounds its model's JSON schema states (nullable: the `anyOf`'s integer)."""
    shape = next(getattr(m, name) for m in _MODELS if hasattr(m, name))
    field = shape.model_fields[prop]
    declared = shape.model_json_schema()["properties"][prop]
    bounds = next(s for s in declared.get("anyOf", [declared]) if s.get("type") == "integer")
    return TypeAdapter(Annotated[field.annotation, field]), bounds


def _answered_code(adapter: Any, value: Any) -> str | None:
    """The code the gateway answers for `value` in that property (None: accepted)."""
    try:
        adapter.validate_python(value)
    except ValidationError as refused:
        types = [e["type"] for e in refused.errors()]
        return next((t for t in types if t in FIELD_CODES), "invalid_request")
    return None


def test_every_request_amount_multiplier_and_id_answers_and_documents_its_code(
    document: dict[str, Any],
) -> None:
    """New-user trial: an auction's reserve, a welcome pack's points, a badge issue's amount and
    the admin's cap were bare `Field(ge, le)`s answering `invalid_request`; so were an auction's
    `badge_type` and a poll's `eligibility_ref`. Every integer of a request body named like an
    amount answers `invalid_amount` (a multiplier: `invalid_multiplier`, an id: `invalid_id`)
    below its minimum, above its maximum or as a string, and its route documents that code: a
    new amount or id declared with a bare `Field` fails here."""
    checked: set[tuple[str, str]] = set()
    for method, path, operation in _operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        for name, prop in _integers(document, body["schema"], "", set()):
            if _MULTIPLIER.search(prop):
                code = "invalid_multiplier"
            elif _AMOUNT.search(prop) and "_per_" not in prop:
                code = "invalid_amount"
            elif _ID.search(prop):
                code = "invalid_id"
            else:
                continue
            codes = operation["responses"]["422"]["x-error-codes"]
            assert code in codes, (method, path, name, prop, codes)
            adapter, bounds = _field(name, prop)
            for bad in (bounds["minimum"] - 1, bounds["maximum"] + 1, str(bounds["minimum"])):
                with pytest.raises(ValidationError) as refused:
                    adapter.validate_python(bad)
                assert [e["type"] for e in refused.value.errors()] == [code], (name, prop, bad)
            checked.add((name, prop))
    assert len(checked) >= 45, sorted(checked)
    assert {
        ("AuctionCreateRequest", "reserve"),
        ("AuctionCreateRequest", "badge_type"),
        ("PollOpenRequest", "eligibility_ref"),
        ("SettleRequest", "debtor"),
        ("WelcomePackRule", "points"),  # in a discriminated union (oneOf)
        ("BrandCreateRequest", "daily_cap_points"),  # nullable (anyOf)
        ("CampaignCapRequest", "max_multiplier_pct"),
    } < checked


def test_every_request_bound_the_document_states_is_the_one_the_model_enforces(
    document: dict[str, Any],
) -> None:
    """The document said an auction's reserve and increment go up to 2^63-1 while the gateway
    takes them up to 2^96-1 (FastAPI's OpenAPI models hold bounds as floats, and the cap that
    turned a rounded 2^63 back into 2^63-1 caught every bound above it). Every bounded integer
    of a request body states its model's own bounds; the model accepts each and refuses one
    past it, with the same code at both ends, a code its route documents."""
    checked = 0
    for method, path, operation in _operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        schemas = document["components"]["schemas"]
        documented = operation["responses"]["422"]["x-error-codes"]
        for name, prop in _integers(document, body["schema"], "", set()):
            stated = schemas[name]["properties"][prop]
            stated = next(s for s in stated.get("anyOf", [stated]) if s.get("type") == "integer")
            adapter, bounds = _field(name, prop)
            where = (method, path, name, prop)
            assert (stated["minimum"], stated["maximum"]) == (
                bounds["minimum"],
                bounds["maximum"],
            ), where
            assert all(type(stated[k]) is int for k in ("minimum", "maximum")), where
            low, high = stated["minimum"], stated["maximum"]
            assert _answered_code(adapter, low) is None, where
            assert _answered_code(adapter, high) is None, where
            code = _answered_code(adapter, high + 1)
            assert code is not None and code == _answered_code(adapter, low - 1), where
            assert code in documented, (*where, code, documented)
            checked += 1
    assert checked >= 100, checked


#: the codes only a request body's fields answer, with the query parameter that may answer one
#: too (a route documents them only where it takes a body or that parameter)
_BODY_CODES = {
    "invalid_amount": None,
    "invalid_multiplier": None,
    "invalid_campaign_rule": None,
    "invalid_signature": None,
    "signature_expired": None,
    "invalid_nonce": None,
    "invalid_deadline": None,
    "insufficient_balance": None,
    "badge_no_benefit": None,
    "invalid_webhook_url": None,
    "invalid_event_type": "types",
}


def test_a_route_without_a_body_documents_no_body_validation_code(
    document: dict[str, Any],
) -> None:
    """The campaigns' and auctions' codes were documented for every method of their paths, so
    `GET /v1/campaigns/rules` listed `invalid_multiplier` and `GET /v1/auctions` `invalid_amount`,
    which a GET can never answer. A route that takes no body documents none of them."""
    checked = 0
    for method, path, operation in _operations(document):
        if "requestBody" in operation:
            continue
        queries = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        codes = operation["responses"]["422"]["x-error-codes"]
        wrong = [c for c in codes if c in _BODY_CODES and _BODY_CODES[c] not in queries]
        assert not wrong, (method, path, wrong)
        checked += 1
    assert checked >= 30, checked
    events = document["paths"]["/v1/events"]["get"]["responses"]["422"]["x-error-codes"]
    assert "invalid_event_type" in events


class _Assets(HTMLParser):
    """Every URL a page loads: scripts, styles, icons, the spec."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_loads_only_what_the_gateway_serves(gateway: Gateway, page: str) -> None:
    http = gateway.api(None).http
    answer = http.get(page)
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    assert "https://" not in answer.text and "http://" not in answer.text, answer.text
    parser = _Assets()
    parser.feed(answer.text)
    scripts = [u for u in parser.urls if u.endswith(".js")]
    assert scripts, parser.urls
    if page == "/docs":
        assert "url: '/openapi.json'" in answer.text
    for url in [*parser.urls, "/openapi.json"]:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = http.get(url)
        assert asset.status_code == 200, (url, asset.status_code)
        assert len(asset.content) > 100, url
    bundle = http.get(scripts[0]).text
    assert ("SwaggerUIBundle" if page == "/docs" else "Redoc") in bundle


def test_every_request_integer_is_a_json_integer_only(document: dict[str, Any]) -> None:
    """A trial of 2026-12-05: an auction's `units` sent as "2" or 2.0, its `extension_s` as
    `true` (1 s), a poll's `option_count` as "3" and a vote's `option` as `true` were coerced
    and accepted, where amounts, ids and flags were already refused. Every integer property of
    every request body takes a JSON integer only: a string, a float or a boolean of a value it
    accepts is refused (422), with a code its route documents."""
    checked: set[tuple[str, str]] = set()
    failures: set[tuple[str, str, str | None]] = set()
    for method, path, operation in _operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        documented = operation["responses"]["422"]["x-error-codes"]
        for name, prop in _integers(document, body["schema"], "", set()):
            adapter, bounds = _field(name, prop)
            value = max(bounds["minimum"], min(1, bounds["maximum"]))
            where = (method, path, name, prop)
            assert _answered_code(adapter, value) is None, where
            lookalikes: list[Any] = [str(value), float(value)]
            if value in (0, 1):
                lookalikes.append(bool(value))
            for bad in lookalikes:
                code = _answered_code(adapter, bad)
                if code is None or code not in documented:
                    failures.add((name, prop, code))
            checked.add((name, prop))
    assert not failures, "\n".join(map(str, sorted(failures, key=str)))
    assert {
        ("AuctionCreateRequest", "units"),
        ("AuctionCreateRequest", "extension_s"),
        ("PollOpenRequest", "option_count"),
    } < checked, sorted(checked)


def test_the_earn_routes_document_their_order_and_item_codes_and_real_answers(
    document: dict[str, Any],
) -> None:
    """A trial: `/v1/earn/purchase` answered 409 `duplicate_order` and `/v1/earn/batch` 422
    `duplicate_item_key`, neither documented; the 202's example showed `op_<hex>` ids,
    `kind: "earn_purchase"`, `status: "example"` and `links: {"1": "example"}`."""
    purchase = document["paths"]["/v1/earn/purchase"]["post"]["responses"]
    assert "duplicate_order" in purchase["409"]["x-error-codes"]
    batch = document["paths"]["/v1/earn/batch"]["post"]["responses"]
    assert "duplicate_item_key" in batch["422"]["x-error-codes"]
    accepted = purchase["202"]["content"]["application/json"]["example"]
    operation = accepted["operation_id"]
    assert str(uuid.UUID(operation)) == operation
    assert accepted["kind"] == "earn" and accepted["status"] == "queued", accepted
    assert accepted["links"] == {"self": f"/v1/operations/{operation}"}, accepted
