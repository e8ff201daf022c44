"""Reminders from the index with anvil time travel, across a restart; a SIGKILLed gateway
still delivers every event once (issue 12)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.chain import Anvil
from support.flows import earn
from support.gateway import Gateway, GatewayProcess, Member, gateway_env
from support.progress import wait_for
from support.receiver import Receiver

from ledger_api.background.webhooks.reminders import compute_reminders
from ledger_api.db.webhook_models import OutboxEvent, ReminderMark
from ledger_api.domain import lot_expiry, month_of
from ledger_api.domain.events import POINTS_RELEASED

DAY = 86_400
FAST = {
    "LEDGER_WEBHOOK_POLL_S": "0.05",
    "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": "[0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]",
    "LEDGER_WEBHOOK_RETRY_JITTER": "0",
    "LEDGER_REMINDER_POLL_S": "0.2",
    "LEDGER_REMINDER_OFFSETS_DAYS": "[30, 7]",
}


def chain_time(anvil: Anvil) -> int:
    return int(anvil.web3().eth.get_block("latest")["timestamp"])


def travel_to(anvil: Anvil, timestamp: int) -> None:
    anvil.rpc("evm_setNextBlockTimestamp", timestamp)
    anvil.rpc("evm_mine")


def reminders(receiver: Receiver, secret: str, type_: str) -> list[dict[str, Any]]:
    return receiver.of_type(secret, type_)


def test_expiry_reminders_once_per_lot_and_offset_across_restarts(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    env = {**own_env, **FAST}
    alice = Member()
    with Receiver() as receiver:
        with Gateway(env) as gateway:
            brand = gateway.create_brand()
            created = brand.api.post("/v1/webhooks", {"url": receiver.url}).json()
            secret = created["secret"]
            earn(brand, alice, 1_000)
            expires = lot_expiry(month_of(chain_time(anvil)))
            travel_to(anvil, expires - 30 * DAY + 60)
            first = wait_for(
                lambda: reminders(receiver, secret, "points.expiring"), what="the 30-day reminder"
            )
            assert [(e["data"]["days_before"], e["data"]["points"]) for e in first] == [(30, 100)]
            assert first[0]["data"]["member"] == alice.address
        # a restart: the same database, a new process state
        with Gateway(env) as gateway:
            travel_to(anvil, expires - 7 * DAY + 60)
            both = wait_for(
                lambda: (
                    (got := reminders(receiver, secret, "points.expiring"))
                    and len(got) >= 2
                    and got
                ),
                what="the 7-day reminder",
            )
            travel_to(anvil, expires + 60)
            expired = wait_for(
                lambda: reminders(receiver, secret, "points.expired"), what="points.expired"
            )
            assert expired[0]["data"]["points"] == 100
            # give the scheduler several more turns: nothing is sent again
            time.sleep(1.0)
            assert gateway.runtime.webhooks is not None
            assert gateway.runtime.webhooks.remind() == 0
    assert sorted(e["data"]["days_before"] for e in both) == [7, 30]
    sent = Counter(
        (e["type"], e["data"].get("days_before"))
        for e in receiver.events(secret)
        if e["type"].startswith("points.expir")
    )
    assert sent == {
        ("points.expiring", 30): 1,
        ("points.expiring", 7): 1,
        ("points.expired", None): 1,
    }


def test_reminders_pass_at_their_own_pace_while_the_deliverer_idles(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """With no event to deliver the deliverer's thread sleeps `LEDGER_WEBHOOK_IDLE_POLL_S`,
    and the reminders ran only when it woke: a `LEDGER_REMINDER_POLL_S` shorter than that was
    not kept. Here the idle poll is 10 minutes and the chain's clock moves an hour with no
    event at all: the next pass (the marks reach the new time) comes at the reminders' pace."""
    anvil, _ = own_chain
    env = {**own_env, **FAST, "LEDGER_WEBHOOK_IDLE_POLL_S": "600"}
    with Gateway(env) as gateway:

        def marked_until() -> int | None:
            """Up to which chain time the releases were looked at (None: no pass yet)."""
            with gateway.runtime.db.read() as session:
                mark = session.get(ReminderMark, (POINTS_RELEASED, 0))
                return None if mark is None else mark.until

        first = wait_for(marked_until, what="the reminders' first pass")
        later = chain_time(anvil) + 3_600
        travel_to(anvil, later)  # a block and no ledger event: nothing wakes the deliverer
        wait_for(
            lambda: marked_until() == later or None,
            what=f"a pass at the new time (the first at {first})",
            idle_s=300,
        )


def test_reminders_fed_a_now_are_written_once(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The scheduler fed a clock directly (no delivery): each pass from the marks."""
    env = {**own_env, "LEDGER_WEBHOOKS_ENABLED": "false"}
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        members = [Member() for _ in range(3)]
        for member in members:
            earn(brand, member, 500)
        db = gateway.runtime.db
        anvil, _ = own_chain
        expires = lot_expiry(month_of(chain_time(anvil)))
        with db.write() as session:
            assert compute_reminders(session, chain_time(anvil), [30, 7]) == 0
        with db.write() as session:  # 30 days before: one per lot
            assert compute_reminders(session, expires - 29 * DAY, [30, 7]) == 3
        with db.write() as session:  # again at the same time: nothing
            assert compute_reminders(session, expires - 29 * DAY, [30, 7]) == 0
        with db.write() as session:  # 6 days before: the 7-day ones
            assert compute_reminders(session, expires - 6 * DAY, [30, 7]) == 3
        with db.write() as session:  # past the expiry: the expiry, once
            assert compute_reminders(session, expires + 1, [30, 7]) == 3
        with db.write() as session:
            assert compute_reminders(session, expires + 2 * DAY, [30, 7]) == 0
        with db.read() as session:
            types = Counter(e.type for e in session.query(OutboxEvent).all())
        assert types["points.expiring"] == 6 and types["points.expired"] == 3


@pytest.mark.slow
def test_a_sigkilled_gateway_delivers_each_event_once(
    own_chain: tuple[Anvil, Path], tmp_path: Path, closing: Callable[[httpx.Client], httpx.Client]
) -> None:
    anvil, manifest = own_chain
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SQLITE_SYNCHRONOUS="FULL",
        LEDGER_SENDER_PROCESS="true",
        LEDGER_WEBHOOK_TIMEOUT_S="0.5",
        LEDGER_WEBHOOK_LEASE_S="5",
        **FAST,
    )
    log = tmp_path / "gateway.log"
    with Receiver() as receiver:
        gateway = GatewayProcess(env, log).start()
        try:
            admin = closing(
                httpx.Client(
                    base_url=gateway.base_url,
                    headers={"Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}"},
                    timeout=60,
                )
            )
            secret = admin.post("/v1/webhooks", json={"url": receiver.url}).json()["secret"]
            created = admin.post(
                "/v1/admin/brands",
                json={"name": "Hook Brand", "symbol": "HOOK"},
                params={"wait": "true"},
                headers={"Idempotency-Key": "hook-brand"},
            ).json()
            brand = closing(
                httpx.Client(
                    base_url=gateway.base_url,
                    headers={"Authorization": f"Bearer {created['api_key']}"},
                    timeout=60,
                )
            )
            receiver.down = True  # state changes land; their deliveries cannot
            for n in range(5):
                answer = brand.post(
                    "/v1/earn/purchase",
                    json={
                        "member": Member().address,
                        "amount_cents": 100 + n,
                        "order_ref": f"o{n}",
                    },
                    params={"wait": "true"},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                ).json()
                assert answer["status"] == "confirmed", answer
            wait_for(
                lambda: len(receiver.received) >= 5, what="attempts while the receiver is down"
            )
            admin.close()
            brand.close()
            gateway.kill()  # SIGKILL: with its leases taken and deliveries pending
            receiver.down = False
            gateway = GatewayProcess(env, log, port=gateway.port).start()
            admin = closing(
                httpx.Client(
                    base_url=gateway.base_url,
                    headers={"Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}"},
                    timeout=60,
                )
            )
            stored = admin.get("/v1/events", params={"limit": 500}).json()["events"]
            admin.close()
            expected = {e["id"] for e in stored}
            assert len([e for e in stored if e["type"] == "points.earned"]) == 5
            wait_for(
                lambda: {e["id"] for e in receiver.events(secret)} >= expected,
                what="every stored event delivered after the restart",
                progress=lambda: len(receiver.received),
            )
        finally:
            gateway.stop()
    ids = Counter(e["id"] for e in receiver.events(secret))
    assert set(ids.values()) == {1}, [i for i, n in ids.items() if n > 1]
