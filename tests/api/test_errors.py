"""The one error shape: stable codes, never a bare 500 or an HTML page."""

from __future__ import annotations

import inspect
import json
import re
import socket
import time
import uuid
from pathlib import Path

from support.chain import Anvil
from support.gateway import Gateway, Member
from support.raw_http import OVERSIZED_HEADS, assert_bad_http_answered_in_json, raw_exchange
from support.rpc_proxy import RefusingProxy

from ledger_api import errors
from ledger_api.api.deps import current_principal
from ledger_api.process.http_protocol import HEAD_TIMEOUT_S, MAX_HEAD_BYTES


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
    received."); it is 400 `malformed_http` in JSON now, as any other refusal. A head that
    never ends is refused once past its bound (uvicorn kept every byte: a 300 MB header line
    grew it by 610 MB), and a WebSocket handshake is served as a plain request."""
    assert_bad_http_answered_in_json(gateway.port)
    assert gateway.get_health()["status"] == "ok"  # and the server goes on serving


def test_the_head_bound_counts_a_heads_bytes_only(gateway: Gateway) -> None:
    """A head under the bound whose body comes in the same reads is no refusal of its head,
    however long the body; two requests on one connection each have the whole bound; the
    second one's head past it is refused."""
    header = b"X-Pad: " + b"p" * (MAX_HEAD_BYTES - 1_024) + b"\r\n"
    body = b'{"member": "' + b"0" * 600_000 + b'"}'
    admin = f"Authorization: Bearer {gateway.env['LEDGER_ADMIN_API_KEY']}\r\n".encode()
    request = (  # a route that reads the body (an answer before it would reset the connection)
        b"POST /v1/admin/brands HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + admin
        + b"Idempotency-Key: head-bound\r\n"
        + header
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    status, _, answer = raw_exchange(gateway.port, request)
    assert status == 422 and json.loads(answer)["error"]["code"] == "invalid_request", answer
    health = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=60) as conn:
        conn.sendall(health)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
        # the second head just past the bound and not ended (every byte sent is read before
        # the refusal: bytes left unread would reset the connection)
        conn.sendall(health[:-2] + b"X-More: " + b"m" * 2_048)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 ") and b'"headers_too_large"' in answer, answer


#: a chunked GET's head, its body and trailers to follow
CHUNKED_HEALTH = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_a_refusal_waits_for_the_answers_before_it_on_the_connection(gateway: Gateway) -> None:
    """Requests pipelined in one write, the last one malformed: the server's refusal was
    written at once and the connection closed, so the answers before it were lost (a trial:
    a purchase stored, its 202 never sent). Now each comes in order, the refusal last."""
    health = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
    for bad, status in ((b"HELLO\r\n\r\n", b"400"), (OVERSIZED_HEADS[1], b"431")):
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=60) as conn:
            conn.sendall(health + health + bad)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"200", b"200", status], answer
    # refused in its trailer, behind an answered request (a trial: the 200 was lost, the
    # server wrote to the closed connection)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=60) as conn:
        conn.sendall(health + CHUNKED_HEALTH + b"0\r\nX-T: ")
        answer = conn.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        conn.sendall(b"t" * (MAX_HEAD_BYTES + 1_024))
        while chunk := conn.recv(65536):
            answer += chunk
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"200", b"431"], answer


def test_a_head_not_complete_in_time_is_refused(gateway: Gateway) -> None:
    """A head sent a byte now and then held the connection for good (slowloris), and so did a
    connection that sent nothing: a head must be complete within `HEAD_TIMEOUT_S`, else 408
    `request_timeout`."""
    address, wait = ("127.0.0.1", gateway.port), HEAD_TIMEOUT_S * 4
    with (
        socket.create_connection(address, timeout=wait) as slow,
        socket.create_connection(address, timeout=wait) as silent,  # sends nothing at all
        socket.create_connection(address, timeout=wait) as trailing,
    ):
        slow.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        # behind an answered request, in the same write, a trailer that stops (a trial: the
        # connection stayed open for good, with no refusal)
        health = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        trailing.sendall(health + CHUNKED_HEALTH + b"0\r\nX-T: " + b"t" * 40_000)
        started = time.monotonic()
        answers = []
        for conn in (slow, silent, trailing):
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
            answers.append(answer)
    assert time.monotonic() - started >= HEAD_TIMEOUT_S - 1
    for answer in answers:
        assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)[-1] == b"408", answer
        assert b'"request_timeout"' in answer, answer
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answers[2]) == [b"200", b"408"]


#: an offer to switch a cleartext connection to HTTP/2, as Java's `HttpClient`, Spring's
#: `RestClient`, Ktor and `curl --http2` send it with every request of a new connection
H2C_OFFER = (
    b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
)


def _brand_request(gateway: Gateway, offer: bytes, *, chunked: bool) -> bytes:
    """An admin's brand onboarding whose body names a field the route refuses: its 422 says
    which field, so it shows that the body was read."""
    body = b'{"name": "Offer", "signer": "0x0000000000000000000000000000000000000001"}'
    framing = (
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        if chunked
        else b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    admin = f"Authorization: Bearer {gateway.env['LEDGER_ADMIN_API_KEY']}\r\n".encode()
    return (
        b"POST /v1/admin/brands HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + admin
        + b"Idempotency-Key: offer-%d\r\n" % time.monotonic_ns()
        + offer
        + framing
    )


def _answers(conn: socket.socket, count: int) -> bytes:
    """Reads until `count` answers have begun and the last one's body is in, or the server
    closes the connection."""
    answer = b""
    while (len(re.findall(rb"HTTP/1\.1 \d{3} ", answer)) < count or not answer.endswith(b"}")) and (
        chunk := conn.recv(65536)
    ):
        answer += chunk
    return answer


def test_an_offer_to_switch_protocols_is_served_as_the_plain_request(gateway: Gateway) -> None:
    """A request offering to switch protocols (`Upgrade: h2c`) is the HTTP/1.1 request it also
    is (RFC 9110 section 7.8): the parser stopped at the end of its head, so the route read an
    empty body (a JSON body lost: 422 `body: Field required`) and the requests after it on the
    connection were never answered (uvicorn issue #2722). A CONNECT is answered, then the
    connection closed."""
    plain = raw_exchange(gateway.port, _brand_request(gateway, b"", chunked=False))
    assert plain[0] == 422 and b"body.signer" in plain[2], plain
    for offer in (H2C_OFFER, b"Connection: Upgrade\r\nUpgrade: websocket\r\n"):
        for chunked in (False, True):
            status, _, body = raw_exchange(
                gateway.port, _brand_request(gateway, offer, chunked=chunked)
            )
            assert (status, body) == (plain[0], plain[2]), (offer, chunked, body)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=60) as conn:
        # the head and the body in two writes, as Ktor sends them
        head, _, body = _brand_request(gateway, H2C_OFFER, chunked=False).partition(b"\r\n\r\n")
        conn.sendall(head + b"\r\n\r\n")
        time.sleep(0.2)  # mostly read alone then (the answer must be the same either way)
        conn.sendall(body)
        assert _answers(conn, 1).endswith(plain[2])
        # then offers pipelined in one write, and a plain request after them
        offered = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + H2C_OFFER + b"\r\n"
        conn.sendall(offered * 50 + b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _answers(conn, 51)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"200"] * 51, answer[-300:]
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=60) as conn:
        health = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        conn.sendall(b"CONNECT /v1/health HTTP/1.1\r\nHost: x\r\n\r\n" + health)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert (
        re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"405"] and b"connection: close" in answer
    ), answer


def test_a_nodes_own_error_text_stays_out_of_the_answer(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A return reads its purchase's block from the node; a node refusing that read answered
    503 `chain_unavailable` with the node's own words as the message (`eth_getLogs: {'code':
    -32000, 'message': ...}`: a provider's detail, a hostile review). The answer says its kind;
    the words are in the gateway's log."""
    anvil, _ = own_chain
    with (
        RefusingProxy(anvil.url, method="eth_getLogs") as proxy,
        Gateway({**own_env, "LEDGER_RPC_URL": proxy.url}) as gateway,
    ):
        brand = gateway.create_brand(return_window_days=14)
        order = f"refused-{uuid.uuid4()}"
        bought = brand.api.post(
            "/v1/earn/purchase",
            {"member": Member().address, "amount_cents": 1_000, "order_ref": order},
            params={"wait": "true"},
        )
        assert bought.json()["status"] == "confirmed", bought.text
        proxy.refusing = "upstream tenant 4471 quota exhausted"
        answer = brand.api.post("/v1/earn/reversals", {"order_ref": order})
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["code"] == "chain_unavailable", error
        assert "4471" not in answer.text and "eth_getLogs" not in answer.text, error
        assert proxy.refused > 0
