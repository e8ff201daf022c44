"""The HTTP/1.1 protocol `ledger serve` runs uvicorn with: httptools' parser, as uvicorn's
"auto" picks, with bounds on what a request sends besides its body, and its refusals in the
gateway's one error shape.

What uvicorn leaves to a proxy in front, and the gateway does here (it may face callers with
no proxy between):

- Bytes its parser refuses (a request line or header that is no HTTP/1.1, a broken chunk)
  were answered with a plain-text 400 "Invalid HTTP request received."; here it is
  `{"error": {"code": "malformed_http", ...}}` (`errors.MalformedHttp`).
- No bound on a request's head: httptools keeps a header's bytes until its line ends, so one
  anonymous connection sending a 300 MB header line grew the server by 610 MB (and kept it
  busy 88 s) before any route, rate limit or body bound could act; chunked trailers, after
  the body, likewise. A request's bytes that are not its body (the request line, headers,
  chunk framing, trailers) past `MAX_HEAD_BYTES` answer 431 `headers_too_large`
  (`errors.HeadersTooLarge`, RFC 6585 section 5), as nginx and gunicorn bound theirs: a head
  that arrived whole in one read is measured from what the parser made of it, anything else
  once a read leaves it past the bound.
- No time bound on receiving a request: one byte a second kept a connection open for good
  (slowloris), and so did a connection that sent nothing, or a trailer that stopped. A
  connection's first head, and a request that takes more than one read (head, body and
  trailers), must arrive within `HEAD_TIMEOUT_S`, else 408 `request_timeout`, unless the
  server itself holds the bytes back (a pipelined request waits); between requests uvicorn's
  keep-alive timeout, 5 s, closes an idle connection.

The byte bound counts per read: a request received whole within one read (alone or pipelined
behind another) is measured from what the parser made of its head (blank lines before its
request line, whitespace the parser strips and its trailers are not counted), so it may pass
the bound by at most that one read (256 KiB); a request that spans reads is refused at the
read that takes it past, or by the time bound.

A refusal closes the connection, as uvicorn's does, but only once the answers to the requests
before it on the connection (pipelined in the same read) are out: it had jumped ahead of them.

An offer to switch protocols (`Connection: Upgrade` with `Upgrade: h2c`, which Java's
`HttpClient`, Spring's `RestClient`, Ktor and `curl --http2` send on cleartext requests) is
declined by serving the request as the HTTP/1.1 request it also is (RFC 9110 section 7.8): the
parser had stopped at the end of its head, so the route read an empty body (a purchase's JSON
lost: 422) and the requests after it on the connection were never answered (uvicorn issue
#2722). The head is parsed again without its `Upgrade` header, followed by the bytes after it.
"""

from __future__ import annotations

import asyncio
from itertools import chain
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ledger_api.error_bodies import ledger_error_body
from ledger_api.errors import HeadersTooLarge, LedgerError, MalformedHttp, RequestTimeout

#: the most bytes of a request, its body aside, the server keeps: 64 KiB, nginx's largest
#: default (4 buffers of 8 KiB for the headers, plus the request line) twice over; an API key,
#: an Idempotency-Key and a `traceparent` take well under 1 KiB
MAX_HEAD_BYTES = 65_536

#: seconds from a head's first byte to its end (nginx's `client_header_timeout` is 60 s; the
#: callers are the brands' back-ends)
HEAD_TIMEOUT_S = 30.0

#: uvicorn's protocol settings for every server of the gateway (`uvicorn.Config(**...)`): this
#: module's protocol, by name so that `uvicorn.run` hands it to each worker process, and no
#: WebSocket (the gateway serves none: a handshake is answered as the plain HTTP request it
#: also is, where the router's refusal was an empty plain-text 403)
SERVER_PROTOCOLS: dict[str, Any] = {
    "http": f"{__name__}:JsonErrorHttpToolsProtocol",
    "ws": "none",
}


class _HeadTooLarge(Exception):
    """Raised in a parser callback to stop the parser at a head past the bound."""


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds and JSON refusals of the module: 400
    `malformed_http`, 431 `headers_too_large`, 408 `request_timeout`, each with the server's
    default headers (`server`, `date`) and the connection closed after it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True  # bytes received now belong to a request's head
        self._in_message = False  # a request begun and not received whole
        self._unbodied = 0  # the current request's bytes received that are not its body
        self._refusal: LedgerError | None = None  # answered once the responses before it are
        self._refusal_due: LedgerError | None = None  # a callback's, answered by send_400
        self._declined_upgrade: bytes | None = None  # an upgrade offer's head, to parse again
        # the bound on receiving a request (`HEAD_TIMEOUT_S`), armed at once: a connection that
        # sends nothing is held no longer than a head that never ends
        self._receive_timer: asyncio.TimerHandle | None = self.loop.call_later(
            HEAD_TIMEOUT_S, self._receive_timed_out
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_receive_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # refused: nothing after it is read
        self._unbodied += len(data)
        self._unset_keepalive_if_required()
        self._feed(data)
        if self._refusal is not None:
            return
        # a head the parser completed in this read was measured (`on_headers_complete`)
        if self._unbodied > MAX_HEAD_BYTES:
            self.logger.warning("Request head over %d bytes refused.", MAX_HEAD_BYTES)
            self._refuse(HeadersTooLarge(max_bytes=MAX_HEAD_BYTES))
        elif self._receive_timer is None and (self._in_message or self._in_head and self._unbodied):
            # a request that takes more than one read (a request mostly comes whole in one:
            # no timer on that path)
            self._receive_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._receive_timed_out)

    def on_message_begin(self) -> None:
        self._in_message = True
        super().on_message_begin()

    def _feed(self, data: bytes | memoryview) -> None:
        """Parses `data`, serving each offer to switch protocols as a plain request
        (`_declined_upgrade`): a loop, as one read may hold many such requests, over views of
        the read (no copy of what follows each)."""
        head = b""
        while True:
            try:
                if head:
                    self.parser.feed_data(head)
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            except httptools.HttpParserUpgrade as upgrade:
                if self._declined_upgrade is None:
                    # a CONNECT (a tunnel asked of an API) is answered and the connection closed
                    # by its `keep_alive` (`on_headers_complete`): no byte after it is parsed
                    return
                # what the parser stopped before (the body, the requests after) follows the head
                # parsed again without the offer (its callbacks begin the request anew)
                head, self._declined_upgrade = self._declined_upgrade, None
                data = memoryview(data)[upgrade.args[0] :]
                self.parser = httptools.HttpRequestParser(self)
                self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
                continue
            return

    def on_headers_complete(self) -> None:
        if self._head_size() > MAX_HEAD_BYTES:
            self._refusal_due = HeadersTooLarge(max_bytes=MAX_HEAD_BYTES)
            raise _HeadTooLarge  # the parser stops: `data_received` answers (send_400_response)
        offer = self.parser.should_upgrade()  # `Connection: Upgrade` with `Upgrade`, or CONNECT
        if offer:
            method = self.parser.get_method()
            if method != b"CONNECT":
                # the parser skips the body and stops after this request: `_feed` parses it again
                version = self.parser.get_http_version().encode()
                head = [method, b" ", self.url, b" HTTP/", version, b"\r\n"]
                for name, value in self.headers:
                    if name != b"upgrade":
                        head.extend([name, b": ", value, b"\r\n"])
                head.append(b"\r\n")
                self._declined_upgrade = b"".join(head)
                return
        super().on_headers_complete()
        # after the request's cycle is made: a URL the parser took and uvicorn cannot split
        # (`http://x:99999/`) raises in it, and is refused as a head (it was left unanswered)
        self._in_head = False
        if offer:  # a CONNECT: nothing after it is parsed (`_feed`), so nothing after it served
            self.cycle.keep_alive = False

    def _head_size(self) -> int:
        """What the parser kept of the head, in bytes: the URL and headers, with each header's
        ": " and line end, and the request line's method, version and line end in round
        figures (summed in C: a request's cost barely moves)."""
        headers = self.headers
        return 16 + len(self.url) + 4 * len(headers) + sum(map(len, chain.from_iterable(headers)))

    def on_body(self, body: bytes) -> None:
        self._unbodied -= len(body)
        if self._unbodied < 0:  # a read that began with the previous request's end
            self._unbodied = 0
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._declined_upgrade is not None:
            return  # the request is parsed again (`_feed`)
        super().on_message_complete()
        if self._receive_timer is not None:
            self._stop_receive_timer()
        # the next request on the connection
        self._in_message, self._in_head, self._unbodied = False, True, 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refusal is not None and not self._answers_pending():
            self._answer(self._refusal)

    def send_400_response(self, msg: str) -> None:
        """The parser refused the bytes (or a callback stopped it: a head past the bound)."""
        self._refuse(self._refusal_due or MalformedHttp())

    def _receive_timed_out(self) -> None:
        self._receive_timer = None
        if self._refusal is not None or not (self._in_head or self._in_message):
            return
        if self.flow.read_paused:  # the server holds the bytes back (a pipelined request waits)
            self._receive_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._receive_timed_out)
            return
        self.logger.warning("Request not received in %.0f s refused.", HEAD_TIMEOUT_S)
        self._refuse(RequestTimeout(timeout_s=HEAD_TIMEOUT_S))

    def _stop_receive_timer(self) -> None:
        if self._receive_timer is not None:
            self._receive_timer.cancel()
            self._receive_timer = None

    def _answers_pending(self) -> bool:
        """Requests before the refused one still await their answers (pipelining)."""
        cycle = self.cycle
        serving = cycle is not None and not cycle.response_complete and not cycle.disconnected
        return bool(self.pipeline) or serving

    def _refuse(self, error: LedgerError) -> None:
        """Refuses the request being read: at once, or after the answers before it."""
        if self._refusal is not None or self.transport.is_closing():
            return
        self._refusal = error
        self._stop_receive_timer()
        self.flow.pause_reading()
        earlier = False  # a request before the refused one is still being answered
        if not self._in_head:  # refused in its body or trailers: it is served no further
            earlier = bool(self.pipeline)  # queued: a request before it runs
            cycle = self.pipeline.popleft()[0] if earlier else self.cycle
            cycle.disconnected = True  # its app reads a disconnect, its answer is dropped
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()  # its answer had begun: no refusal can follow it
                return
        if not earlier and not self._answers_pending():
            self._answer(error)

    def _answer(self, error: LedgerError) -> None:
        self._unset_keepalive_if_required()
        if self.transport.is_closing():
            return
        body = orjson.dumps(ledger_error_body(error))
        head = [STATUS_LINE[error.status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
