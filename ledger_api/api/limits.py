"""What one request may cost, enforced before any JSON parsing and before authentication.

`AddressLimit` is a pure ASGI middleware around the whole application: the per-client-address
token bucket (`LEDGER_ADDRESS_RATE_LIMIT_PER_S`, `_BURST`) on every HTTP request (and WebSocket
handshake), before its body is read and before any key is looked up: a route's request, a path
no route serves, a wrong method, the documentation alike (429 `rate_limited` with `Retry-After`,
counted in the metrics under the route the request was for). A path no route serves had no limit
at all (the check ran in the routes' authentication), and a refused body was read in full first.
The operators' probes are the exception: `GET` (or `HEAD`) `/v1/health` and `/metrics` (an
orchestrator's liveness check must not fail, and restart the gateway, because a client flooded
from its address); a key they are shown that the process has not found before takes a token
before it is looked up (`deps.probe_caller`), so made-up keys cost no database read there
either. The bucket's key is the client's address as the ASGI server gives it (behind a trusted
proxy, the forwarded one: `FORWARDED_ALLOW_IPS`), cut to 45 characters, the longest textual IPv6
address, so a forwarded header cannot make one bucket large. An IPv6 client counts by its /64
network: a host is given a /64 (RFC 4291's interface identifiers), so one client could otherwise
take a fresh bucket with each of its 2^64 addresses. The buckets stay in each process's memory:
a check must not cost a database write.

`BodyLimits`, inside it, is another:

- a declared `Content-Length` above `max_body_bytes` answers 413 `payload_too_large` at
  once, without reading the body; a body sent in chunks is counted while it is read and
  refused as soon as it passes the limit;
- a body nested deeper than `max_json_depth` (brackets outside JSON strings) answers 400
  `body_too_deep`, so no JSON decoder ever recurses on it;
- a body declared as anything but JSON (`Content-Type` other than `application/json` or
  `application/*+json`), or sent with no `Content-Type`, answers 415
  `unsupported_media_type`: every body the API takes is JSON, and a form (what `curl -d`
  sends by default) otherwise reached the routes as a form and failed validation with a
  message that did not say why.

The body read is handed on to the application unchanged.
"""

from __future__ import annotations

import ipaddress
import re
from itertools import accumulate
from typing import Any, cast

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger_api.access.ratelimit import RateLimiter
from ledger_api.error_bodies import error_headers, ledger_error_body
from ledger_api.errors import (
    BodyTooDeep,
    LedgerError,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
)

#: a backslash and the character it escapes (JSON has them inside strings only)
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_BRACKETS = b"[]{}"
_OTHER = bytes(b for b in range(256) if b not in _BRACKETS)
#: +1 for an opening bracket, -1 for a closing one, by byte value
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


def json_depth(body: bytes) -> int:
    """The deepest bracket nesting of `body` outside JSON strings (0 for a scalar).

    Linear and never recursive: escapes are cut out, then every other piece between
    quotes is outside a string; the brackets left are summed in C (`accumulate` over a
    table look-up). Brackets after an unterminated string do not count (a decoder reads
    them as the string's)."""
    unescaped = _ESCAPE.sub(b"", body)
    outside = b"".join(unescaped.split(b'"')[::2])
    brackets = outside.translate(None, _OTHER)
    if not brackets:
        return 0
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets))))


def too_deep(body: bytes, max_depth: int) -> bool:
    """`body` nests deeper than `max_depth`; free for a body with few brackets."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    return json_depth(body) > max_depth


#: the operators' probes, never limited per address when read (see above)
_PROBES = frozenset({"/v1/health", "/metrics"})
_READS = frozenset({"GET", "HEAD"})  # HEAD: served as its GET (`head.HeadAsGet`)
#: the longest textual IPv6 address (an IPv4-mapped one); a longer key is cut to it
MAX_ADDRESS_CHARS = 45


def client_address(scope: Scope) -> str:
    """The client's address as the bucket's key (see above): an IPv6 address by its /64
    network, an IPv4-mapped one as its IPv4 address, anything else cut to 45 characters."""
    client = scope.get("client")
    host: str = client[0] if client else "unknown"
    if ":" not in host:
        return host[:MAX_ADDRESS_CHARS]
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host[:MAX_ADDRESS_CHARS]
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))


class AddressLimit:
    """ASGI middleware: the per-client-address rate limit on every HTTP request and WebSocket
    handshake (see above), with `limiter` (also `app.state.address_limiter`, for the probes)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        probe = kind == "http" and scope["method"] in _READS and scope["path"] in _PROBES
        if kind in ("http", "websocket") and not probe:
            try:
                self.limiter.check(client_address(scope))
            except RateLimited as refused:
                if kind == "websocket":  # closed before it is accepted: the server answers 403
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await _refuse(scope, receive, send, refused)
                return
        await self.app(scope, receive, send)


def _route_of(scope: Scope) -> BaseRoute | None:
    """The route that serves the request's path and method or, as routing labels a 405,
    the first that serves its path with another method; None for a path no route serves."""
    app = scope.get("app")
    if scope.get("method") == "HEAD":  # served as its GET (`head.HeadAsGet`)
        scope = {**scope, "method": "GET"}
    partial = None
    for route in getattr(getattr(app, "router", None), "routes", ()):
        match = route.matches(scope)[0]
        if match is Match.FULL:
            return cast(BaseRoute, route)
        if match is Match.PARTIAL and partial is None:
            partial = cast(BaseRoute, route)
    return partial


class BodyLimits:
    """ASGI middleware: body size and nesting limits on every HTTP request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(scope, receive, send, PayloadTooLarge(limit_bytes=self.max_body_bytes))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _refuse(
                    scope, receive, send, PayloadTooLarge(limit_bytes=self.max_body_bytes)
                )
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        media = _media_type(scope)
        # a body without a Content-Type too: FastAPI reads only a JSON one as JSON (its
        # strict_content_type), and answered 422 "Input should be a valid dictionary"
        if body and (media is None or not _is_json(media)):
            await _refuse(scope, receive, send, UnsupportedMediaType(content_type=media))
            return
        if too_deep(body, self.max_json_depth):
            await _refuse(scope, receive, send, BodyTooDeep(max_depth=self.max_json_depth))
            return
        await self.app(scope, _replay(body, receive), send)


def _media_type(scope: Scope) -> str | None:
    """The request's `Content-Type` without its parameters, lower case (None: absent)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: str = bytes(value).decode("latin-1").split(";", 1)[0]
            return media.strip().lower()[:100]
    return None


def _is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send, error: LedgerError) -> None:
    """Answers `error` and closes the connection (the request's body may be unread), counted
    in the request metrics under the route the request was for, as routing would set it."""
    scope["route"] = _route_of(scope)
    headers: dict[str, Any] = {"Connection": "close", **error_headers(error)}
    response = JSONResponse(ledger_error_body(error), status_code=error.status, headers=headers)
    await response(scope, receive, send)
