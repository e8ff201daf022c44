"""The one JSON shape of every error answer: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger_api.errors import LedgerError


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body of an error answer: its stable `code`, a message and `details` (an object)."""
    return {"error": {"code": code, "message": message, "details": dict(details or {})}}


def ledger_error_body(exc: LedgerError) -> dict[str, Any]:
    """`error_body` of a `LedgerError`: its code (`error_code`), message and details."""
    return error_body(exc.error_code, exc.message, exc.details)
