"""What one HTTP request may cost: body size and JSON nesting limits before auth (issue 9, 1)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.chain import Anvil
from support.gateway import Gateway, GatewayProcess, gateway_env

PURCHASE = "/v1/earn/purchase"


@pytest.fixture
def served(anvil: Anvil, manifest: Path, tmp_path: Path) -> Iterator[GatewayProcess]:
    """`ledger serve` in its own process: a crash shows as a dead process, not a dead test run."""
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
    yield gateway
    gateway.stop()


def test_a_deeply_nested_body_without_a_key_is_refused_and_the_server_lives_on(
    served: GatewayProcess,
) -> None:
    depth = 100_000
    body = b"[" * depth + b"]" * depth  # 200 KB
    response = httpx.post(
        f"{served.base_url}{PURCHASE}",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == "body_too_deep"
    assert served.process is not None and served.process.poll() is None
    assert httpx.get(f"{served.base_url}/v1/health", timeout=30).status_code == 200


def test_a_deep_body_with_brackets_inside_strings_is_not_refused_for_depth(
    gateway: Gateway,
) -> None:
    text = "[{" * 5_000
    response = gateway.api(None).post(PURCHASE, {"member": text, "order_ref": text})
    assert response.status_code == 401  # reached authentication: the depth check let it through


def test_a_body_over_the_size_limit_is_refused_before_authentication(gateway: Gateway) -> None:
    body = b" " * (10 * 1024 * 1024)
    response = gateway.api(None).http.post(
        PURCHASE, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_over_the_size_limit_is_refused(gateway: Gateway) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * (64 * 1024)

    response = gateway.api(None).http.post(
        PURCHASE, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_an_unparsable_body_has_a_code_of_the_error_tree(gateway: Gateway) -> None:
    response = gateway.admin.http.post(
        PURCHASE, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == "malformed_body"


def test_the_app_restores_the_default_recursion_limit(gateway: Gateway) -> None:
    # py_ecc raises it to 100,000 at import; deep input must raise RecursionError instead of
    # overflowing the C stack
    assert sys.getrecursionlimit() <= 1_000


def test_a_body_that_is_not_json_gets_415_saying_what_to_send(gateway: Gateway) -> None:
    """`curl -d` sends a form unless told: the answer says to send JSON (the new-user trial
    met `invalid_request` "Input should be a valid dictionary" on the README's examples)."""
    body = b'{"member": "0x0000000000000000000000000000000000000001", "amount_cents": 100}'
    forms = ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data", None)
    for media in forms:  # None: no Content-Type at all (was 422 "a valid dictionary")
        headers = {"Idempotency-Key": "k-415"} | ({"Content-Type": media} if media else {})
        response = gateway.admin.http.post(PURCHASE, content=body, headers=headers)
        assert response.status_code == 415, (media, response.text)
        error = response.json()["error"]
        assert error["code"] == "unsupported_media_type"
        assert "application/json" in error["message"] and error["details"]["content_type"] == media
    for media in ("application/json; charset=utf-8", "application/merge-patch+json"):
        headers = {"Idempotency-Key": "k-json", "Content-Type": media}
        response = gateway.admin.http.post(PURCHASE, content=body, headers=headers)
        assert response.status_code != 415, (media, response.text)
    bare = gateway.admin.http.post(PURCHASE, headers={"Idempotency-Key": "k-bare"})
    assert bare.status_code == 403, bare.text  # no body, no media type: it reached the route


def test_every_curl_example_with_a_body_sends_json() -> None:
    """The README's and the docs' curl examples run as written."""
    root = Path(__file__).resolve().parents[3]
    missing = []
    for doc in (root / "README.md", root / "docs" / "gateway.md"):
        lines = doc.read_text().splitlines()
        for number, line in enumerate(lines):
            if "curl " not in line:
                continue
            command, more = line, number
            while command.rstrip().endswith("\\") and more + 1 < len(lines):
                more += 1
                command += lines[more]
            if (" -d " in command or "--data" in command) and "Content-Type" not in command:
                missing.append(f"{doc.name}:{number + 1}")
    assert missing == []
