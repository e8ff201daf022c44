"""The OpenAPI document as the API behaves, and the `Allow` header of every path.

FastAPI documents a route's success answers and its own validation error. `document`
completes each operation with what the gateway really answers:

- every error status a route can answer, each with the one error body
  `{"error": {"code", "message", "details"}}` (`schemas.ErrorBody`, replacing FastAPI's
  `HTTPValidationError` for 422) and the list of codes it may carry (`error_codes`: the codes
  of the route's kind, public / authenticated / mutation, plus the route's own:
  `openapi_codes`), in the description and in `x-error-codes`;
- the API key as security schemes (`Authorization: Bearer` and `X-API-Key`: Swagger UI's
  Authorize button), required everywhere but `PUBLIC_PATHS`;
- `Idempotency-Key` as a required header of every route that needs one (`keyed`: the
  dependency answers 400 `idempotency_key_required` itself, so FastAPI cannot see it as
  required), and on no other (typed data, the earn preview, webhook and key management);
- the headers and query parameters that the gateway's dependencies read from the request
  themselves (`deps`: the API key headers, `wait` and `Prefer`), from their
  `openapi_parameters`, where FastAPI would have listed them;
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

from ledger_api.api.deps import KEYED
from ledger_api.api.openapi_codes import PUBLIC_PATHS, error_codes
from ledger_api.api.openapi_examples import example_of
from ledger_api.model import schemas
from ledger_api.model.fields import exact_bound

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
    read_parameters = dependency_parameters(app.routes)
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            needs_key = (method, path) in keyed_operations
            responses = operation.setdefault("responses", {})
            for status, codes in error_codes(method, path, needs_key).items():
                if path in PUBLIC_PATHS and status >= 500 and str(status) in responses:
                    continue  # the route's own answer (the health report's 503)
                responses[str(status)] = _error_response(codes)
            operation["security"] = [{}, *_SECURITY] if path in PUBLIC_PATHS else _SECURITY
            parameters = _with_read_parameters(
                operation.get("parameters", []), read_parameters.get((method, path), [])
            )
            if needs_key:
                parameters = [_IDEMPOTENCY_KEY, *parameters]
            if parameters:
                operation["parameters"] = parameters
            _add_examples(operation, components)
    app.openapi_schema = _exact_bounds(doc)
    return app.openapi_schema


def _api_routes(routes: Sequence[BaseRoute]) -> list[APIRoute]:
    """Every `APIRoute`, inside included routers and mounts too."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI's included router
            found += _api_routes(route.original_router.routes)
        elif isinstance(route, Mount):
            found += _api_routes(route.routes)
    return found


def _dependencies(dependant: Dependant) -> list[Dependant]:
    """A route's dependencies, however deep, in FastAPI's order (each sub-dependency first)."""
    found: list[Dependant] = []
    for dependency in dependant.dependencies:
        found += [*_dependencies(dependency), dependency]
    return found


def keyed(routes: Sequence[BaseRoute]) -> set[tuple[str, str]]:
    """(method, path template) of every route that needs an Idempotency-Key: its dependencies,
    however deep, include one of `deps.KEYED` (which answer 400 without one)."""
    return {
        (method.lower(), route.path)
        for route in _api_routes(routes)
        if any(d.call in KEYED for d in _dependencies(route.dependant))
        for method in route.methods or ()
    }


def dependency_parameters(routes: Sequence[BaseRoute]) -> dict[tuple[str, str], list[Any]]:
    """(method, path template) -> the parameters its dependencies read from the request
    themselves (their `openapi_parameters`, each (in, name) once, in dependency order)."""
    found: dict[tuple[str, str], list[Any]] = {}
    for route in _api_routes(routes):
        parameters: dict[tuple[str, str], Any] = {}
        for dependency in _dependencies(route.dependant):
            for parameter in getattr(dependency.call, "openapi_parameters", ()):
                parameters.setdefault((parameter["in"], parameter["name"]), parameter)
        for method in route.methods or ():
            found[(method.lower(), route.path)] = list(parameters.values())
    return found


_LOCATIONS = ("path", "query", "header", "cookie")  # FastAPI's order of a route's parameters


def _with_read_parameters(declared: list[Any], read: list[Any]) -> list[Any]:
    """The route's declared parameters with those its dependencies read, in FastAPI's order
    (by location, stable); the Idempotency-Key is placed first by the caller."""
    seen = {(p["in"], p["name"]) for p in declared}
    merged = [p for p in declared if p["name"] != "Idempotency-Key"]
    merged += [dict(p) for p in read if (p["in"], p["name"]) not in seen]
    return sorted(merged, key=lambda p: _LOCATIONS.index(p["in"]))


def _exact_bounds(node: Any) -> Any:
    """FastAPI's OpenAPI models hold `minimum`/`maximum` as floats: 2^63-1 becomes 2^63 and
    2^96-1 becomes 2^96, one past what is accepted. Bounds go back to the exact integers the
    field types stated (`fields.exact_bound`)."""
    if isinstance(node, dict):
        fixed = {k: _exact_bounds(v) for k, v in node.items()}
        for key in ("minimum", "maximum"):
            value = fixed.get(key)
            if isinstance(value, float) and value.is_integer():
                fixed[key] = exact_bound(value)
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
    """Every method some route serves at `path` (from the OpenAPI document), with HEAD where
    GET is served (`head.HeadAsGet`) and OPTIONS."""
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
    served = {m for pattern, ms in table if pattern.match(path) for m in ms}
    if "GET" in served:
        served.add("HEAD")
    methods = sorted(served)
    return [*methods, "OPTIONS"] if methods else []
