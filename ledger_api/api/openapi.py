"""The OpenAPI document as the API behaves, and the `Allow` header of every path.

FastAPI documents a route's success answers and its own validation error. `document`
completes each operation with what the gateway really answers:

- every error status a route can answer (`ERRORS_*` below), each with the one error body
  `{"error": {"code", "message", "details"}}` (`schemas.ErrorBody`), replacing FastAPI's
  `HTTPValidationError` for 422;
- `Idempotency-Key` as a required header of every mutation (the dependency answers 400
  `idempotency_key_required` itself, so FastAPI cannot see it as required).

`allowed_methods` gives the methods of every route that serves a path: a 405 or an OPTIONS
answer lists them all in `Allow` (Starlette lists only the first route's).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from ledger_api.model import schemas
from ledger_api.model.fields import MAX_DB_INT

#: what any request may be answered before its route runs (body limits, unknown method)
_ANY = {
    400: "malformed_body or body_too_deep (JSON nested too deeply)",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_request or a field code (invalid_address, invalid_amount, invalid_id, ...)",
}
#: what an authenticated call may answer besides
_AUTHENTICATED = {
    401: "unauthorized: no API key or an unknown one",
    403: "forbidden or brand_forbidden: the key may not make this call",
    404: "not_found, unknown_brand, operation_not_found, unknown_badge, unknown_api_key",
    429: "rate_limited (Retry-After says when to try again)",
    503: "unavailable, chain_unavailable, index_not_ready",
}
#: what a mutation may answer besides
_MUTATION = {
    400: "idempotency_key_required, malformed_body or body_too_deep",
    409: "idempotency_conflict, brand_suspended, signature_replayed, daily_cap_exceeded, ...",
    501: "not_supported by the deployed contracts",
    507: "storage_full: the gateway's disk is full; retry with the same Idempotency-Key later",
}
_MUTATING = {"post", "put", "patch", "delete"}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "one key per operation; a replay answers the first answer (keys never expire)",
    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
}


def _errors_of(method: str, public: bool) -> dict[int, str]:
    errors = dict(_ANY)
    if not public:
        errors.update(_AUTHENTICATED)
    else:  # /v1/health: a key is optional, but a key given must be valid
        errors[401] = _AUTHENTICATED[401]
    if method in _MUTATING:
        errors.update(_MUTATION)
    return errors


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
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, item in doc.get("paths", {}).items():
        public = path == "/v1/health"
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status, description in _errors_of(method, public).items():
                responses[str(status)] = {"description": description, "content": error_content}
            if method in _MUTATING:
                parameters = [
                    p for p in operation.get("parameters", []) if p["name"] != "Idempotency-Key"
                ]
                operation["parameters"] = [_IDEMPOTENCY_KEY, *parameters]
    app.openapi_schema = _exact_bounds(doc)
    return app.openapi_schema


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


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


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
