"""Turning service answers into HTTP responses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse

from ledger_api.api.json import FastJSONResponse
from ledger_api.background.intake import Accepted

if TYPE_CHECKING:
    from ledger_api.access.apikeys import Principal
    from ledger_api.usecases.status import StatusService


def accepted_response(
    status_code: int, body: dict[str, Any], accepted: Accepted | None = None
) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if accepted is not None and accepted.replayed else {}
    if accepted is not None and accepted.operation_uid and status_code in (200, 202):
        headers["Location"] = f"/v1/operations/{accepted.operation_uid}"
    if status_code == 202 and body.get("queued_reason"):
        headers["Ledger-Queued-Reason"] = str(body["queued_reason"])
    return FastJSONResponse(body, status_code=status_code, headers=headers)


def local_response(status_code: int, body: dict[str, Any], replayed: bool) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return FastJSONResponse(body, status_code=status_code, headers=headers)


async def operation_response(
    status: StatusService, principal: Principal, accepted: Accepted, wait: float | None
) -> JSONResponse:
    """An accepted operation's answer: 202, or 200 with its final status when waiting."""
    status_code, body = await status.answer(principal, accepted, wait)
    return accepted_response(status_code, body, accepted)
