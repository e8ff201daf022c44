"""The one JSON shape of every error answer: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ledger_api.errors import (
    ChainUnavailable,
    DatabaseUnavailable,
    IndexNotReady,
    KeyPassphraseMismatch,
    LedgerError,
    RateLimited,
    StorageFull,
    Unavailable,
)

#: `Retry-After` (seconds) of each refusal that a later retry may pass, most specific first
#: (RFC 9110 section 10.2.3): the node or the index back in a few seconds, a sealed key or a
#: full disk only once an operator acts, anything else unavailable (the process starting)
RETRY_AFTER_S: tuple[tuple[type[LedgerError], int], ...] = (
    (RateLimited, 1),  # its bucket's wait (`retry_after_s`) when it says one
    (ChainUnavailable, 5),
    (DatabaseUnavailable, 5),
    (IndexNotReady, 5),
    (KeyPassphraseMismatch, 60),
    (StorageFull, 60),
    (Unavailable, 1),
)


#: pydantic error types that are stable codes of ours (see `model.fields`)
FIELD_CODES = frozenset(
    {
        "invalid_address",
        "invalid_amount",
        "invalid_multiplier",
        "invalid_signature",
        "invalid_id",
        "invalid_nonce",
        "invalid_deadline",
        "invalid_tier",
        "invalid_campaign_rule",
    }
)


def validation_problems(
    errors: Iterable[Mapping[str, Any]],
) -> tuple[str, str, list[dict[str, Any]]]:
    """A pydantic validation's errors as (stable code, one-line message, problems): the
    first field's code of ours (`FIELD_CODES`), else `invalid_request`; the same for a
    request's body (422) and for the command line's arguments (`ledger brand add`)."""
    problems: list[dict[str, Any]] = [
        {"loc": list(e.get("loc", ())), "type": e.get("type"), "message": e.get("msg")}
        for e in errors
    ]
    code = next((p["type"] for p in problems if p["type"] in FIELD_CODES), "invalid_request")
    message = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['message']}" for p in problems)
    return code, message, problems


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body of an error answer: its stable `code`, a message and `details` (an object)."""
    return {"error": {"code": code, "message": message, "details": dict(details or {})}}


def ledger_error_body(exc: LedgerError) -> dict[str, Any]:
    """`error_body` of a `LedgerError`: its code (`error_code`), message and details. A node's
    refusal (`ChainUnavailable`) answers its kind's message: the node's own words (its method,
    its error text, a provider's detail) are the operator's, in the log (`app._error_response`),
    not a brand's (a hostile review of 2026-12-07)."""
    message = type(exc).default_message if isinstance(exc, ChainUnavailable) else exc.message
    return error_body(exc.error_code, message, exc.details)


def error_headers(exc: LedgerError) -> dict[str, str]:
    """The headers of a `LedgerError`'s answer: `Retry-After` in whole seconds. The error's
    own `retry_after_s` rounded up (at least 1): `RateLimited`'s (429) bucket wait, so a
    client that waits that long is not refused again, or `OPERATOR_ACTS_S` for a refusal
    that lasts until an operator acts (no manifest yet, a disk that took no sync); else for
    a 503 or 507 (`Unavailable`) its kind's `RETRY_AFTER_S` (a client retrying in a tight
    loop only adds load to a gateway that is waiting)."""
    own = exc.details.get("retry_after_s")
    if isinstance(own, int | float):
        return {"Retry-After": str(max(1, math.ceil(own)))}
    for kind, seconds in RETRY_AFTER_S:
        if isinstance(exc, kind):
            return {"Retry-After": str(seconds)}
    return {}
