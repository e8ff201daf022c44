"""The OpenAPI document matches the API (issue 9, item 10): schemathesis against a real gateway.

Seeded (`derandomize`), no shrinking, a bounded number of examples per operation: at least
1,000 generated calls with a brand key and 500 with an admin key; any 5xx, any status the
document does not list and any body that does not match its schema fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.flows import earn
from support.gateway import Gateway, Member

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _fuzz_operation(
    gateway: Gateway, operation: Any, auth: dict[str, str], examples: int, failures: list[str]
) -> int:
    """Up to `examples` generated calls of one operation; failures are appended."""
    calls = 0

    @settings(
        max_examples=examples,
        derandomize=True,  # seeded: the same cases every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(headers=auth))
    def run(case: Any) -> None:
        nonlocal calls
        response = case.call(base_url=gateway.base_url, headers={**auth, "prefer": "x"})
        calls += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:  # collected, reported together by the test
            failures.extend(f"{operation.label}: {f}"[:2000] for f in group.exceptions)

    run()
    return calls


def _fuzz(gateway: Gateway, key: str, examples: int) -> tuple[int, list[str]]:
    """Every operation of the served document, `examples` generated cases at most each."""
    schema = schemathesis.openapi.from_url(f"{gateway.base_url}/openapi.json")
    auth = {"authorization": f"Bearer {key}"}
    failures: list[str] = []
    calls = sum(
        _fuzz_operation(gateway, result.ok(), auth, examples, failures)
        for result in schema.get_all_operations()
    )
    return calls, failures


@pytest.fixture
def fuzzed(own_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway on a chain of its own: what the fuzzer defines stays off the shared chain."""
    with Gateway(own_env) as running:
        yield running


def test_generated_calls_with_a_brand_key_match_the_document(fuzzed: Gateway) -> None:
    gateway = fuzzed
    brand = gateway.create_brand()
    earn(brand, Member(), 1_000)
    calls, failures = _fuzz(gateway, brand.api_key, examples=80)
    print(f"schemathesis, brand key: {calls} calls")
    assert not failures, "\n\n".join(failures[:10])
    assert calls >= 1_000, calls


def test_generated_calls_with_an_admin_key_match_the_document(fuzzed: Gateway) -> None:
    gateway = fuzzed
    calls, failures = _fuzz(gateway, gateway.env["LEDGER_ADMIN_API_KEY"], examples=40)
    print(f"schemathesis, admin key: {calls} calls")
    assert not failures, "\n\n".join(failures[:10])
    assert calls >= 500, calls


def test_options_lists_every_method_of_the_path(gateway: Gateway) -> None:
    response = gateway.admin.http.options("/v1/admin/brands")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    wrong = gateway.admin.http.delete("/v1/admin/brands")
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_the_document_requires_the_idempotency_key_and_documents_errors(
    gateway: Gateway,
) -> None:
    document = gateway.admin.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {p["name"]: p for p in operation.get("parameters", [])}
            if method in ("post", "put", "delete") and "Idempotency-Key" in names:
                assert names["Idempotency-Key"]["required"] is True, (method, path)
            for status in ("400", "405", "413", "422"):
                error = operation["responses"][status]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
            if path != "/v1/health":
                assert {"401", "403", "404", "429", "503"} <= set(operation["responses"])
    gift = document["components"]["schemas"]["GiftRequest"]["properties"]
    assert gift["member"]["pattern"] == "^0x[0-9a-fA-F]{40}$"
    assert gift["amount"]["maximum"] == 10**12
    assert gift["nonce"]["maximum"] == 2**63 - 1
