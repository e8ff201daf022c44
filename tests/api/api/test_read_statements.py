"""The two hot reads' round trips (issue 15, a leaner single-operation path): a member's balances
and an operation's status each run a fixed, small number of SQL statements.

Counted on a real gateway: a `before_cursor_execute` listener on its engines keeps the
statements run by the thread that serves the request (SQLite reads run on the event loop,
`sqlite_inline_reads`), from the request until its answer. The queries are counted; the read
engine's `BEGIN` (`db.session`) opens the one read transaction they share.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from support.gateway import Api, Gateway, Member

MEMBER_READ_STATEMENTS = 3  # the cursor with the member's tier, the pending points, the lots
STATUS_READ_STATEMENTS = 1  # the operation with its brand's ledger id and the index height


class ServedStatements:
    """The SQL statements the gateway's event-loop thread runs, each request's apart."""

    def __init__(self, gateway: Gateway) -> None:
        assert gateway.settings.sqlite_inline_reads, "reads must run on the event loop"
        self._thread = gateway.thread.ident
        db = gateway.runtime.db
        self._engines: list[Engine] = list({id(e): e for e in (db.engine, db.read_engine)}.values())
        self._seen: list[str] = []
        for engine in self._engines:
            event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == self._thread:
            self._seen.append(statement)

    def of(self, api: Api, path: str, status_code: int = 200) -> list[str]:
        """The queries served for one GET of `path` (after a first GET that caches the
        caller's key), in one read transaction."""
        assert api.get(path).status_code == status_code
        self._seen.clear()
        response = api.get(path)
        assert response.status_code == status_code, response.text
        assert self._seen.count("BEGIN") == 1, self._seen
        return [statement for statement in self._seen if statement != "BEGIN"]

    def close(self) -> None:
        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._record)


@pytest.fixture
def served(gateway: Gateway) -> Iterator[ServedStatements]:
    statements = ServedStatements(gateway)
    yield statements
    statements.close()


def _accepted(response: httpx.Response) -> str:
    assert response.status_code in (200, 202), response.text
    uid: str = response.json()["operation_id"]
    return uid


def test_the_member_read_runs_at_most_three_statements(
    gateway: Gateway, served: ServedStatements
) -> None:
    held = gateway.create_brand(return_window_days=14)  # its points pending
    live = gateway.create_brand()
    member = Member()
    for brand in (held, live):
        body = {"member": member.address, "amount_cents": 1_000, "order_ref": "statements"}
        gateway.admin.wait(_accepted(brand.api.post("/v1/earn/purchase", body)))
    path = f"/v1/members/{member.address}"
    for api in (held.api, live.api, gateway.admin):
        statements = served.of(api, path)
        assert 0 < len(statements) <= MEMBER_READ_STATEMENTS, statements
    statements = served.of(gateway.admin, f"/v1/members/{Member().address}")  # nothing indexed
    assert 0 < len(statements) <= MEMBER_READ_STATEMENTS, statements


def test_the_status_read_runs_one_statement(gateway: Gateway, served: ServedStatements) -> None:
    brand = gateway.create_brand()
    body = {"member": Member().address, "amount_cents": 1_000, "order_ref": "statements"}
    earned = _accepted(brand.api.post("/v1/earn/purchase", body))
    gateway.admin.wait(earned)
    window = gateway.admin.put(f"/v1/admin/brands/{brand.brand_id}/return-window", {"days": 3})
    acted = _accepted(window)  # the admin's, about the brand (`concerned_brand`)
    gateway.admin.wait(acted)
    for api, uid in ((brand.api, earned), (gateway.admin, earned), (gateway.admin, acted)):
        statements = served.of(api, f"/v1/operations/{uid}")
        assert len(statements) == STATUS_READ_STATEMENTS, statements
    for api, uid in ((brand.api, acted), (brand.api, str(uuid.uuid4()))):  # unknown to the caller
        statements = served.of(api, f"/v1/operations/{uid}", 404)
        assert len(statements) == STATUS_READ_STATEMENTS, statements
