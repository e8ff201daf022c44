"""A refused mutation whose Idempotency-Key already holds an answer gets that answer.

A client that lost the answer to an accepted request retries it with the same key, maybe at
another gateway process and after the operation landed. By then the checks that run before
the intake can refuse it for a state the first request itself made (its member nonce is used,
the order is credited, the balance is spent): the stored answer must win over such a refusal,
or a retry of an accepted request looks like a failure (the Idempotency-Key contract: the same
key, the same request -> the same answer). Refusals of the request's own state (400, 404,
409, 422: a gift's balance that counts the gift itself in flight, a signature's deadline
passed since, an earn rule changed since) and of the gateway's (503, 507: the node away, the
brand's keys shut) are looked up; a
different request under the key meets `idempotency_conflict` on a 503 or 507, as it would
with the gateway well (it waited for an operator to learn it), and keeps its 4xx otherwise."""

from __future__ import annotations

import asyncio

from fastapi import Request
from fastapi.responses import JSONResponse

from ledger_api.api.json import FastJSONResponse
from ledger_api.api.responses import operation_response
from ledger_api.background.intake import Accepted, find_replay
from ledger_api.error_bodies import ledger_error_body
from ledger_api.errors import IdempotencyConflict, LedgerError
from ledger_api.usecases.context import RequestContext

#: refusals that may come from the state an earlier request under the same key made, or
#: that a retry meets after its first attempt was accepted (503, 507: the node away, the
#: brand's keys shut, the disk full; a lost 202 retried then answered 503 for an operation
#: stored and sent later)
_STATE_REFUSALS = (400, 404, 409, 422, 503, 507)


async def stored_answer(request: Request, exc: LedgerError) -> JSONResponse | None:
    """The stored answer of the request's Idempotency-Key, if the request was accepted
    before; None when the refusal stands."""
    context = getattr(request.state, "ledger_context", None)
    if not isinstance(context, RequestContext) or exc.status not in _STATE_REFUSALS:
        return None
    if isinstance(exc, IdempotencyConflict):
        return None
    runtime = request.app.state.runtime

    def lookup() -> Accepted | None:
        with runtime.db.read() as session:
            return find_replay(
                session, context.principal.scope, context.idempotency_key, context.request_hash
            )

    try:
        accepted = await runtime.read(lookup)
    except IdempotencyConflict as conflict:  # another request under this key
        if exc.status < 500:
            return None  # the refusal stands
        return FastJSONResponse(ledger_error_body(conflict), status_code=conflict.status)
    except LedgerError:
        return None
    except Exception:  # the database itself refused (what a 503 may say): so does this
        if exc.status < 500:
            raise
        return None
    if accepted is None or accepted.operation_uid is None:
        return None
    # the stored answer is on disk before it is given (`Database.sync`); in a thread: a read
    # may run on the event loop (`LEDGER_SQLITE_INLINE_READS`), a sync must not
    await asyncio.to_thread(runtime.db.sync)
    wait = getattr(request.state, "ledger_wait", None)
    return await operation_response(request.app.state.status, context.principal, accepted, wait)
