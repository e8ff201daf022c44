"""The client's errors: what the gateway answered, or that it could not be reached.

LedgerClientError            any failure of a call
├── LedgerApiError           the gateway answered 4xx/5xx: `status`, `code`, `message`,
│                            `details` (the body `{"error": {"code", "message", "details"}}`)
└── OperationTimeout         `wait` gave up before the operation was final
"""

from __future__ import annotations

from typing import Any


class LedgerClientError(Exception):
    """Root of the client's errors (transport errors stay httpx's own after the retries)."""


class LedgerApiError(LedgerClientError):
    """An error answer of the gateway, with its stable code (`ledger_api.errors`)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class OperationTimeout(LedgerClientError):
    """The operation was still open when `wait` stopped waiting; `last` is its last status."""

    def __init__(self, operation_id: str, last: dict[str, Any]) -> None:
        super().__init__(f"operation {operation_id} still {last.get('status')}")
        self.operation_id = operation_id
        self.last = last
