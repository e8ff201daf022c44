"""`HEAD` on every `GET` route (RFC 9110 section 9.3.2): the `GET`'s status and headers, no
body. FastAPI's routes answer only the methods they declare, so a `HEAD` probe of
`/v1/health` (a load balancer's health check) was answered 405."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: serves a `HEAD` request as its `GET` and drops the body it answers
    (its `Content-Length` stays: the size a `GET` would send). The route found for the `GET`
    (and its endpoint) is copied back onto the request's own scope, for the metrics' label."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        as_get = {**scope, "method": "GET"}

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                # what routing found, for the metrics' label (`metrics._template`): a plain
                # route's or a mount's endpoint too (a trial's HEAD of /openapi.json counted
                # "unmatched")
                for key in ("route", "endpoint", "app"):
                    if key in as_get:
                        scope[key] = as_get[key]
            elif message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the GET's body, never sent: the last message ends the response
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(as_get, receive, headers_only)
