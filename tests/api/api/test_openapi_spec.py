"""The OpenAPI document is complete enough to generate a client (issue 13, item 4): security
schemes, `Idempotency-Key` on every mutation, the real error body with its codes on every 4xx
and 5xx, a valid example for every body and answer; and `/docs` and `/redoc` load only assets
that the gateway itself serves (offline, no CDN)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import jsonschema_rs
import pytest
from support.gateway import Gateway

from ledger_api import errors
from ledger_api.app import _FIELD_CODES, _HTTP_CODES

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
    codes = set(_FIELD_CODES) | set(_HTTP_CODES.values())
    todo: list[type[errors.LedgerError]] = [errors.LedgerError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        codes.update(getattr(cls, "codes", ()))  # a class reporting one of several codes
        todo += cls.__subclasses__()
    return codes


def test_every_mutation_requires_the_idempotency_key(document: dict[str, Any]) -> None:
    mutations = [(m, p, o) for m, p, o in _operations(document) if m in MUTATIONS]
    assert len(mutations) >= 20
    for method, path, operation in mutations:
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["required"] is True, (method, path)
        assert "400" in operation["responses"] and "409" in operation["responses"]
        codes = operation["responses"]["400"]["x-error-codes"]
        assert "idempotency_key_required" in codes, (method, path)
        assert "idempotency_conflict" in operation["responses"]["409"]["x-error-codes"]


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
