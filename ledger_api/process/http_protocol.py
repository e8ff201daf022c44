"""The HTTP/1.1 protocol `ledger serve` runs uvicorn with: httptools' parser, as uvicorn's
"auto" picks, whose refusal of a malformed request answers in the gateway's one error shape.

uvicorn answers bytes its parser refuses (a request line or header that is no HTTP/1.1, a
broken chunk) itself, before the app sees a request: a plain-text 400 "Invalid HTTP request
received.". A caller sending anything gets `{"error": {"code": "malformed_http", ...}}` here
instead (`errors.MalformedHttp`), and the connection is closed, as uvicorn closes it.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ledger_api.error_bodies import ledger_error_body
from ledger_api.errors import MalformedHttp

#: uvicorn's `http` setting (`uvicorn.Config(http=...)`): this module's protocol, by name so
#: that `uvicorn.run` hands it to each worker process
HTTP_PROTOCOL = f"{__name__}:JsonErrorHttpToolsProtocol"

_BODY = orjson.dumps(ledger_error_body(MalformedHttp()))


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a request its parser refuses is answered 400
    `malformed_http` in JSON (with the server's default headers: `server`, `date`)."""

    def send_400_response(self, msg: str) -> None:
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(_BODY),
                b"connection: close\r\n",
                b"\r\n",
                _BODY,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
