"""The one error shape: stable codes, never a bare 500 or an HTML page."""

from __future__ import annotations

import inspect

from support.gateway import Gateway, assert_malformed_http_answered_in_json

from ledger_api import errors
from ledger_api.api.deps import current_principal


def test_every_error_has_a_unique_code_and_a_4xx_or_5xx_status() -> None:
    classes = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.LedgerError)
    ]
    codes = [c.code for c in classes if c is not errors.ChainRejected]
    assert len(codes) == len(set(codes))
    assert all(400 <= c.status < 600 for c in classes)


def test_error_tree_in_the_docstring_lists_every_error() -> None:
    classes = [
        n
        for n, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.LedgerError)
    ]
    assert errors.__doc__ is not None
    assert all(name in errors.__doc__ for name in classes)


def test_unknown_route_and_method_answer_json(gateway: Gateway) -> None:
    missing = gateway.admin.get("/v1/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = gateway.admin.http.delete("/v1/earn/purchase")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_invalid_member_address_in_the_path_has_its_code(gateway: Gateway) -> None:
    response = gateway.admin.get("/v1/members/0xnope")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_address",
        "message": "path.address: not a 0x address with 40 hex digits",
        "details": {
            "errors": [
                {
                    "loc": ["path", "address"],
                    "type": "invalid_address",
                    "message": "not a 0x address with 40 hex digits",
                }
            ]
        },
    }


def test_an_unexpected_failure_answers_a_json_500(gateway: Gateway) -> None:
    def explode() -> None:
        raise RuntimeError("boom")

    gateway.app.dependency_overrides[current_principal] = explode
    try:
        response = gateway.admin.get("/v1/settlement/positions")
    finally:
        gateway.app.dependency_overrides.clear()
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "boom" not in response.text


def test_bytes_no_http_parser_takes_are_answered_in_the_one_error_shape(gateway: Gateway) -> None:
    """A request line or header that is no HTTP/1.1, or a broken chunk, never reaches a route:
    the server's parser refuses it. uvicorn answered it in plain text ("Invalid HTTP request
    received."); it is 400 `malformed_http` in JSON now, as any other refusal."""
    assert_malformed_http_answered_in_json(gateway.port)
    assert gateway.get_health()["status"] == "ok"  # and the server goes on serving
