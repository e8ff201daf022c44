"""Turning service answers into HTTP responses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ledger_api.services.intake import Accepted


def accepted_response(
    status_code: int, body: dict[str, Any], accepted: Accepted | None = None
) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if accepted is not None and accepted.replayed else {}
    if accepted is not None and accepted.operation_uid and status_code in (200, 202):
        headers["Location"] = f"/v1/operations/{accepted.operation_uid}"
    return JSONResponse(body, status_code=status_code, headers=headers)


def local_response(status_code: int, body: dict[str, Any], replayed: bool) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(body, status_code=status_code, headers=headers)
