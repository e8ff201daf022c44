"""Refusals of a request as bytes, before any route reads it: a body too large or not JSON,
a head too large or too slow. Part of the one tree in `ledger_api.errors`, which imports
them."""

from __future__ import annotations

from .base import LedgerError


class PayloadTooLarge(LedgerError):
    code = "payload_too_large"
    status = 413
    default_message = "the body is larger than allowed"


class UnsupportedMediaType(LedgerError):
    code = "unsupported_media_type"
    status = 415
    default_message = "send the body as JSON, with Content-Type: application/json"


class RequestTimeout(LedgerError):
    """A request not received `process.http_protocol.HEAD_TIMEOUT_S` after its first byte
    (its head, or once it takes more than one read, all of it; RFC 9110 section 15.5.9),
    refused; the connection is closed."""

    code = "request_timeout"
    status = 408
    default_message = "the request did not arrive in time"


class HeadersTooLarge(LedgerError):
    """A request's bytes besides its body (request line, headers, chunk framing, trailers)
    past `process.http_protocol.MAX_HEAD_BYTES`, refused before any route (RFC 6585 section
    5); the connection is closed."""

    code = "headers_too_large"
    status = 431
    default_message = "the request line and headers are larger than allowed"
