"""The OpenAPI document as the API behaves, and the `Allow` header of every path.

FastAPI documents a route's success answers and its own validation error. `document`
completes each operation with what the gateway really answers:

- every error status a route can answer, each with the one error body
  `{"error": {"code", "message", "details"}}` (`schemas.ErrorBody`, replacing FastAPI's
  `HTTPValidationError` for 422) and the list of codes it may carry (`error_codes`: the codes
  of the route's kind, public / authenticated / mutation, plus `_ROUTE_CODES`), in the
  description and in `x-error-codes`;
- the API key as security schemes (`Authorization: Bearer` and `X-API-Key`: Swagger UI's
  Authorize button), required everywhere but `PUBLIC_PATHS`;
- `Idempotency-Key` as a required header of every route that needs one (`keyed`: the
  dependency answers 400 `idempotency_key_required` itself, so FastAPI cannot see it as
  required), and on no other (typed data, the earn preview, webhook and key management);
- an example for every request body and JSON answer (`openapi_examples`).

Every route gets these, whoever adds it. `install` also serves the documentation offline:
Swagger UI at `/docs` and ReDoc at `/redoc`, their scripts and styles from the
`fastapi-offline` package under `/docs/assets` (no CDN).

`allowed_methods` gives the methods of every route that serves a path: a 405 or an OPTIONS
answer lists them all in `Allow` (Starlette lists only the first route's).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Mount

from ledger_api.api.deps import idempotency_key
from ledger_api.api.openapi_examples import example_of
from ledger_api.model import schemas
from ledger_api.model.fields import MAX_DB_INT

#: what any request may be answered before its route runs (body limits, unknown method)
_ANY: dict[int, list[str]] = {
    400: ["malformed_body", "body_too_deep"],
    405: ["method_not_allowed"],
    413: ["payload_too_large"],
    415: ["unsupported_media_type"],
    422: ["invalid_request"],
}
#: what an authenticated call may answer besides
_AUTHENTICATED: dict[int, list[str]] = {
    401: ["unauthorized"],
    403: ["forbidden", "brand_forbidden"],
    404: ["not_found"],
    429: ["rate_limited"],
    503: ["unavailable", "chain_unavailable", "index_not_ready"],
}
#: what a mutation may answer besides
_MUTATION: dict[int, list[str]] = {
    400: ["idempotency_key_required", "invalid_idempotency_key"],
    409: ["idempotency_conflict", "ledger_paused"],
    501: ["not_supported"],
    507: ["storage_full"],
}
#: the same for a POST, PUT or DELETE that takes no Idempotency-Key (typed data, a preview,
#: webhook and key management)
_UNKEYED: dict[int, list[str]] = {
    409: ["ledger_paused"],
    501: ["not_supported"],
    507: ["storage_full"],
}
_SIGNED = {
    409: ["signature_replayed", "brand_suspended"],
    422: [
        "invalid_address",
        "invalid_amount",
        "invalid_signature",
        "signature_expired",
        "invalid_nonce",
        "invalid_deadline",
        "insufficient_balance",
    ],
    404: ["unknown_brand"],
}
#: what a route answers besides its kind's codes: (methods or "*", path pattern, codes)
_ROUTE_CODES: list[tuple[str, re.Pattern[str], dict[int, list[str]]]] = [
    (
        "post",
        re.compile(r"^/v1/earn/"),
        {
            422: ["invalid_address", "invalid_amount", "invalid_multiplier", "zero_points"],
            409: ["brand_suspended", "brand_not_ready", "daily_cap_exceeded", "operation_used"],
        },
    ),
    (
        "post",
        re.compile(r"^/v1/earn/reversals$"),
        {
            404: ["order_not_found"],
            409: [
                "order_not_settled",
                "reversal_exceeds_order",
                "reversal_window_closed",
            ],
        },
    ),
    ("post", re.compile(r"^/v1/(gifts|donations|redemptions)$"), _SIGNED),
    (
        "post",
        re.compile(r"^/v1/(gifts|donations|redemptions)/typed-data$"),
        {422: ["invalid_address", "invalid_amount", "invalid_nonce", "invalid_deadline"]},
    ),
    (
        "post",
        re.compile(r"^/v1/tiers/"),
        {422: ["invalid_address"], 409: ["tier_already_reviewed"]},
    ),
    (
        "post",
        re.compile(r"^/v1/badges/"),
        {
            404: ["unknown_badge"],
            409: ["signature_replayed", "brand_suspended"],
            422: [
                "invalid_address",
                "invalid_id",
                "invalid_tier",
                "badge_no_benefit",
                "badge_not_held",
                "invalid_signature",
                "signature_expired",
                "invalid_nonce",
                "invalid_deadline",
            ],
        },
    ),
    ("post", re.compile(r"^/v1/badges/issue$"), {422: ["invalid_amount"]}),
    ("get", re.compile(r"^/v1/operations/"), {404: ["operation_not_found"], 422: ["invalid_id"]}),
    ("get", re.compile(r"^/v1/members/"), {422: ["invalid_address"]}),
    ("*", re.compile(r"^/v1/(admin/)?brands/"), {404: ["unknown_brand"], 422: ["invalid_id"]}),
    ("post", re.compile(r"^/v1/admin/brands$"), {409: ["brand_exists"], 422: ["invalid_amount"]}),
    (
        "*",
        re.compile(r"^/v1/admin/brands/\{brand_id\}/"),
        {409: ["brand_suspended", "brand_not_ready", "too_many_api_keys"]},
    ),
    # the admin's amounts: a point value, a daily cap, a tier's spend and gift (`admin_schemas`)
    (
        "put",
        re.compile(r"^/v1/admin/brands/\{brand_id\}/(point-value|daily-cap)$"),
        {422: ["invalid_amount"]},
    ),
    ("*", re.compile(r"^/v1/admin/tiers/"), {422: ["invalid_tier", "invalid_amount"]}),
    (
        "*",
        re.compile(r"^/v1/(admin/api-keys|keys)"),
        {404: ["unknown_api_key"], 422: ["invalid_id"]},
    ),
    ("post", re.compile(r"^/v1/keys/rotate$"), {409: ["too_many_api_keys"]}),
    (
        "*",
        re.compile(r"^/v1/webhooks"),
        {
            404: ["webhook_not_found", "delivery_not_found"],
            422: ["invalid_webhook_url", "invalid_event_type", "invalid_id"],
        },
    ),
    ("get", re.compile(r"^/v1/events$"), {422: ["invalid_cursor", "invalid_event_type"]}),
    (  # earning campaigns (issue 16 item 1)
        "*",
        re.compile(r"^/v1/(admin/)?campaigns/|^/v1/earn/preview$"),
        {
            404: ["campaign_rule_not_found"],
            409: ["campaign_rule_conflict", "brand_not_ready"],
            422: ["invalid_campaign_rule", "invalid_multiplier", "invalid_address", "invalid_id"],
        },
    ),
    # a rule's body: a welcome pack's points (`campaigns.WelcomePackRule`)
    ("post", re.compile(r"^/v1/campaigns/rules$"), {422: ["invalid_amount"]}),
    ("put", re.compile(r"^/v1/campaigns/rules/\{rule_id\}$"), {422: ["invalid_amount"]}),
    # auctions (issue 16 item 2): signed bids, settlements read from the chain
    (
        "*",
        re.compile(r"^/v1/auctions"),
        {
            404: ["auction_not_found", "unknown_badge", "unknown_brand"],
            409: [
                "auction_not_open",
                "auction_not_ended",
                "auction_not_winning",
                "signature_replayed",
                "brand_suspended",
            ],
            422: [
                "invalid_address",
                "invalid_amount",
                "invalid_id",
                "invalid_signature",
                "signature_expired",
                "invalid_nonce",
                "invalid_deadline",
                "insufficient_balance",
                "badge_no_benefit",
            ],
        },
    ),
    # settlement through the SettlementVault (issue 13 item 3)
    (
        "get",
        re.compile(r"^/v1/settlement/deposits/"),
        {404: ["unknown_brand"], 422: ["invalid_id"]},
    ),
    (
        "post",
        re.compile(r"^/v1/settlement/deposits$"),
        {
            409: ["brand_not_ready", "brand_suspended", "insufficient_tokens"],
            422: ["invalid_amount"],
            503: ["unavailable"],
        },
    ),
    (
        "post",
        re.compile(r"^/v1/settlement/settle$"),
        {
            409: [
                "brand_not_ready",
                "brand_suspended",
                "nothing_to_settle",
                "insufficient_deposit",
            ],
            422: ["invalid_id"],
        },
    ),
    (
        "post",
        re.compile(r"^/v1/settlement/withdrawals/transaction$"),
        {
            409: [
                "brand_not_ready",
                "treasury_not_set",
                "insufficient_deposit",
                "deposit_backs_debt",
            ],
            422: ["invalid_amount", "invalid_address", "invalid_id"],
        },
    ),
]
#: paths any caller may call without a key (a key given must still be valid)
PUBLIC_PATHS = frozenset({"/v1/health"})
_MUTATING = {"post", "put", "patch", "delete"}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": (
        "one key per operation (e.g. a UUID); a replay with the same key and body answers the "
        "first answer, the same key with another body 409 idempotency_conflict; keys never expire"
    ),
    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
    "example": "3f2b8e44-6f3c-4f5e-9a61-0c8a1e2b7d55",
}
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key (brand or admin): `Authorization: Bearer lk_...`",
    },
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "the same API key in `X-API-Key`",
    },
}
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
_ERROR_MESSAGES = {
    "idempotency_key_required": "the Idempotency-Key header is required",
    "unauthorized": "missing or unknown API key",
    "rate_limited": "too many requests; retry after the Retry-After seconds",
}


def error_codes(method: str, path: str, keyed: bool = True) -> dict[int, list[str]]:
    """The error codes `method path` may answer, by HTTP status (the document lists them);
    `keyed`: a mutation that needs an Idempotency-Key."""
    layers = [_ANY]
    if path in PUBLIC_PATHS:
        layers.append({401: _AUTHENTICATED[401]})
    else:
        layers.append(_AUTHENTICATED)
    if method in _MUTATING:
        layers.append(_MUTATION if keyed else _UNKEYED)
    layers += [
        codes
        for methods, pattern, codes in _ROUTE_CODES
        if methods in ("*", method) and pattern.search(path)
    ]
    merged: dict[int, list[str]] = {}
    for layer in layers:
        for status, codes in layer.items():
            merged.setdefault(status, [])
            merged[status] += [c for c in codes if c not in merged[status]]
    return dict(sorted(merged.items()))


def _error_response(codes: list[str]) -> dict[str, Any]:
    code = codes[0]
    example = {
        "error": {
            "code": code,
            "message": _ERROR_MESSAGES.get(code, code.replace("_", " ")),
            "details": {},
        }
    }
    return {
        "description": "codes: " + ", ".join(codes),
        "x-error-codes": codes,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "example": example,
            }
        },
    }


def _add_examples(operation: dict[str, Any], components: dict[str, Any]) -> None:
    """An example for the request body and every JSON response that has none."""
    contents = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
    contents += [
        answer.get("content", {}).get("application/json")
        for answer in operation.get("responses", {}).values()
    ]
    for content in contents:
        if content is not None and "example" not in content and "examples" not in content:
            content["example"] = example_of(content.get("schema", {}), components)


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every answered status and the required headers."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = FastAPI.openapi(app)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = schemas.ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name, definition in components["ErrorBody"].pop("$defs", {}).items():
        components[name] = definition
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    keyed_operations = keyed(app.routes)
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            needs_key = (method, path) in keyed_operations
            responses = operation.setdefault("responses", {})
            for status, codes in error_codes(method, path, needs_key).items():
                if path in PUBLIC_PATHS and status >= 500 and str(status) in responses:
                    continue  # the route's own answer (the health report's 503)
                responses[str(status)] = _error_response(codes)
            operation["security"] = [{}, *_SECURITY] if path in PUBLIC_PATHS else _SECURITY
            if needs_key:
                parameters = [
                    p for p in operation.get("parameters", []) if p["name"] != "Idempotency-Key"
                ]
                operation["parameters"] = [_IDEMPOTENCY_KEY, *parameters]
            _add_examples(operation, components)
    app.openapi_schema = _exact_bounds(doc)
    return app.openapi_schema


def keyed(routes: Sequence[BaseRoute]) -> set[tuple[str, str]]:
    """(method, path template) of every route that needs an Idempotency-Key: its dependencies,
    however deep, include `deps.idempotency_key` (which answers 400 without one)."""

    def needs(dependant: Dependant) -> bool:
        return any(d.call is idempotency_key or needs(d) for d in dependant.dependencies)

    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute) and needs(route.dependant):
            found.update((method.lower(), route.path) for method in route.methods or ())
        elif hasattr(route, "original_router"):  # FastAPI's included router
            found |= keyed(route.original_router.routes)
        elif isinstance(route, Mount):
            found |= keyed(route.routes)
    return found


def _exact_bounds(node: Any) -> Any:
    """FastAPI's OpenAPI models hold `minimum`/`maximum` as floats: 2^63-1 becomes 2^63, one
    past what the database holds. Bounds go back to exact integers."""
    if isinstance(node, dict):
        fixed = {k: _exact_bounds(v) for k, v in node.items()}
        for key in ("minimum", "maximum"):
            value = fixed.get(key)
            if isinstance(value, float) and value.is_integer():
                fixed[key] = MAX_DB_INT if value >= 2**63 else int(value)
        return fixed
    if isinstance(node, list):
        return [_exact_bounds(v) for v in node]
    return node


DOCS_ASSETS = "/docs/assets"
_DOCS_PATHS = {"/docs", "/docs/oauth2-redirect", "/redoc"}


def _install_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc pages whose every script, style and icon the gateway serves."""
    static = Path(fastapi_offline.__file__).parent / "static"
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in _DOCS_PATHS
    ]
    app.mount(DOCS_ASSETS, StaticFiles(directory=static), name="docs-assets")
    title, openapi_url = app.title, app.openapi_url or "/openapi.json"

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
    app.add_api_route("/redoc", redoc, include_in_schema=False)


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    _install_docs(app)


_PARAM = re.compile(r"\{[^/}]+\}")


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at `path` (from the OpenAPI document), with OPTIONS."""
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if table is None:
        table = []
        for template, item in document(app).get("paths", {}).items():
            literal = "[^/]+".join(re.escape(part) for part in _PARAM.split(template))
            pattern = re.compile(f"^{literal}$")
            table.append((pattern, [m.upper() for m in item]))
        app.state.allowed_methods = table
    methods = sorted({m for pattern, ms in table if pattern.match(path) for m in ms})
    return [*methods, "OPTIONS"] if methods else []
