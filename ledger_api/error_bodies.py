"""The one JSON shape of every error answer: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ledger_api.errors import LedgerError, RateLimited


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body of an error answer: its stable `code`, a message and `details` (an object)."""
    return {"error": {"code": code, "message": message, "details": dict(details or {})}}


def ledger_error_body(exc: LedgerError) -> dict[str, Any]:
    """`error_body` of a `LedgerError`: its code (`error_code`), message and details."""
    return error_body(exc.error_code, exc.message, exc.details)


def error_headers(exc: LedgerError) -> dict[str, str]:
    """The headers of a `LedgerError`'s answer: `Retry-After` for `RateLimited` (429), in whole
    seconds rounded up (at least 1): a client that waits that long is not refused again."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(max(1, math.ceil(exc.details.get("retry_after_s", 1))))}
    return {}
