"""The intake looks a group's keys and orders up before it takes the writer lock (issue 15:
the look-ups were a quarter of its hold of the lock). Another writer may store the same key
and order in between; the unique indexes must then turn the group's write into a replay of
what the other writer stored: one operation, one answer, never two credits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, func, select
from support.gateway import Brand, Gateway, Member

from ledger_api.background.intake import Draft, Intake
from ledger_api.db.models import IdempotencyRecord, Operation


def test_a_key_stored_by_another_writer_after_the_look_up_is_replayed_not_credited_twice(
    gateway: Gateway, brand: Brand
) -> None:
    runtime = gateway.runtime
    intake: Intake = runtime.intake
    drafts: list[Draft] = []
    submit = intake.submit

    async def capture(draft: Any) -> Any:
        drafts.append(draft)
        return await submit(draft)

    other_answers: list[Any] = []
    ran: list[bool] = []

    def other_writer(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # the group's look-up of its keys ran (a read transaction, no writer lock yet):
        # a second intake, as in another process, stores the same request now
        if "FROM idempotency_keys" in statement and drafts and not ran:
            ran.append(True)  # its own look-up passes here too
            other_answers.extend(Intake(runtime.db, max_batch=8).store([drafts[0]]))

    intake.submit = capture  # type: ignore[method-assign]
    event.listen(runtime.db.read_engine, "after_cursor_execute", other_writer)
    try:
        key, order = str(uuid.uuid4()), f"race-{uuid.uuid4()}"
        body = {"member": Member().address, "amount_cents": 1_000, "order_ref": order}
        answer = brand.api.post("/v1/earn/purchase", body, key=key)
    finally:
        event.remove(runtime.db.read_engine, "after_cursor_execute", other_writer)
        del intake.submit

    assert len(other_answers) == 1, "the other writer did not run between look-up and write"
    (stored,) = other_answers
    assert answer.status_code == 202, answer.text
    assert answer.json()["operation_id"] == stored.operation_uid  # the other writer's
    with runtime.db.read() as session:
        stored_ref = session.scalar(
            select(Operation.order_ref).where(Operation.uid == stored.operation_uid)
        )
        operations = session.scalar(
            select(func.count()).select_from(Operation).where(Operation.order_ref == stored_ref)
        )
        records = session.scalar(
            select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.key == key)
        )
    assert stored_ref is not None  # the order, keyed (never stored in the clear)
    assert operations == 1 and records == 1
    brand.api.wait(stored.operation_uid)  # and it is credited on chain once
