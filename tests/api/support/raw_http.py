"""Raw bytes to a gateway's port, for what its HTTP server answers before any route."""

from __future__ import annotations

import json
import socket

from ledger_api.process.http_protocol import MAX_HEAD_BYTES

#: bytes no HTTP/1.1 parser takes, each a different fault: a request line that is no HTTP,
#: a header line with no colon, a header name with a space, a chunk size that is no number
MALFORMED_REQUESTS = (
    b"HELLO\r\n\r\n",
    b"GET /v1/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
    b"POST /v1/earn/purchase HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    # URLs the parser takes and uvicorn's URL split refuses (a port past 65,535, a CONNECT's
    # authority form): they were left unanswered, the connection closed with no byte
    b"GET http://x:99999/ HTTP/1.1\r\nHost: x\r\n\r\n",
    b"CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n",
)

#: heads past `MAX_HEAD_BYTES`, each sent whole (every byte sent is read before the refusal:
#: bytes left unread would reset the connection): a header line that never ends; a complete
#: head of many small headers; a complete URL; the trailers of a chunked body, never ending
OVERSIZED_HEADS = (
    b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * MAX_HEAD_BYTES,
    b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 90) for i in range(1_000))
    + b"\r\n",
    b"GET /v1/health?q=" + b"q" * MAX_HEAD_BYTES + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/earn/purchase HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"2\r\n{}\r\n0\r\nX-Trailer: "
    + b"t" * MAX_HEAD_BYTES,
)

#: a WebSocket handshake (RFC 6455 section 4.1) for the health route, which serves no WebSocket
WEBSOCKET_HANDSHAKE = (
    b"GET /v1/health HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends `request`'s bytes as they are and reads one answer: (status, headers with
    lower-case names, body), the body as long as its `content-length`. Waits up to 60 s (a busy
    machine) and fails if the answer does not come in that time."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := conn.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        while len(body) < int(headers.get("content-length", 0)) and (chunk := conn.recv(65536)):
            body += chunk
    return int(status_line.split()[1]), headers, body


def assert_refusal(port: int, request: bytes, status: int, code: str) -> None:
    """`request`'s bytes are answered `status` with `code` in the gateway's one JSON error
    shape, and the server closes the connection."""
    got, headers, body = raw_exchange(port, request)
    assert (got, headers["content-type"]) == (status, "application/json"), (request[:80], body)
    assert json.loads(body)["error"]["code"] == code, (request[:80], body)
    assert headers["connection"] == "close", headers


def assert_bad_http_answered_in_json(port: int) -> None:
    """What the server answers before any route, in the gateway's one error shape: each of
    `MALFORMED_REQUESTS` 400 `malformed_http` (uvicorn's answer was plain text); a head past
    `MAX_HEAD_BYTES` 431 `headers_too_large`, whole or never ending, trailers too (uvicorn
    kept every byte of a line until it ended); a WebSocket handshake as the plain request it
    also is (the router's refusal was an empty plain-text 403)."""
    for request in MALFORMED_REQUESTS:
        assert_refusal(port, request, 400, "malformed_http")
    for request in OVERSIZED_HEADS:
        assert_refusal(port, request, 431, "headers_too_large")
    status, headers, body = raw_exchange(port, WEBSOCKET_HANDSHAKE)
    assert (status, headers["content-type"]) == (200, "application/json"), body
