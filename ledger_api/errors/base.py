"""The root of the gateway's one error tree (drawn in `ledger_api.errors`, which every caller
imports from)."""

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """Root of every error the gateway reports. Subclasses fix `code` and `status`."""

    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "internal error"
    #: a contract's revert (`chain.errors.domain_error`): its error's arguments in chain units
    #: (`details` gives them in the gateway's vocabulary), and the error as its message names it
    chain_args: dict[str, Any] = {}  # noqa: RUF012 - replaced, never mutated
    chain_call: str = ""

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = details
        super().__init__(self.message)

    @property
    def error_code(self) -> str:
        """The code reported for this instance (a class constant except for `ChainRejected`)."""
        return self.code


class InvalidRequest(LedgerError):
    code = "invalid_request"
    status = 422
    default_message = "the request failed validation"
