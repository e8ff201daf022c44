"""Erasure of a member's off-chain data (DOMAIN.md, "Trust, privacy and security": "a member's
off-chain profile must be erasable without breaking the ledger"): `DELETE
/v1/admin/members/{address}/profile` and `ledger member erase`, through real HTTP, a real chain
and a real database (SQLite; PostgreSQL at the end)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.chain import ROOT, Anvil
from support.flows import earn
from support.gateway import Brand, Gateway, Member
from support.rows import rows_mentioning

from ledger_api.db.campaign_models import CampaignReferral
from ledger_api.db.models import Operation
from ledger_client import LedgerClient

PURCHASE = "/v1/earn/purchase"
REFERRALS = "/v1/campaigns/referrals"
DAY = 86_400
ERASED = {"rule": "erased", "why": "erased at the member's request (off-chain profile)"}
NOTHING = {
    "birthday_weeks": 0,
    "referrals": 0,
    "referrals_cancelled": 0,
    "referral_records": 0,
    "stored_answers": 0,
    "events": 0,
}


def profile(address: str) -> str:
    return f"/v1/admin/members/{address}/profile"


def add_rules(brand: Brand) -> None:
    for rule in (
        {"kind": "birthday_week", "name": "bday", "multiplier_pct": 200},
        {"kind": "referral", "name": "invite", "multiplier_pct": 100},
    ):
        made = brand.api.post("/v1/campaigns/rules", rule)
        assert made.status_code == 201, made.text


def purchase(brand: Brand, member: Member, key: str, **flags: Any) -> tuple[dict[str, Any], Any]:
    """A purchase under Idempotency-Key `key`, waited for; (its body, its answer)."""
    body = {
        "member": member.address,
        "amount_cents": 1_000,
        "order_ref": f"order-{uuid.uuid4().hex[:12]}",
        **flags,
    }
    answer = brand.api.post(PURCHASE, body, key=key, params={"wait": "true"})
    assert answer.status_code == 200 and answer.json()["status"] == "confirmed", answer.text
    return body, answer.json()


def wait_referral(brand: Brand, referred: Member, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        listed = brand.api.get(REFERRALS, params={"member": referred.address}).json()
        found = next((r for r in listed["referrals"] if r["referred"] == referred.address), None)
        if found is not None and found["status"] == status:
            return found
        assert time.monotonic() < deadline, f"referral still {found}"
        time.sleep(0.2)


def without_campaigns(history: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "campaign"} for e in history["entries"]]


def ledger_view(brand: Brand, member: Member) -> dict[str, Any]:
    """The member as the brand reads it (balances, lots, spendable, tier), without `as_of`."""
    view: dict[str, Any] = brand.api.get(f"/v1/members/{member.address}").json()
    del view["as_of"]
    return view


def test_a_members_off_chain_profile_can_be_erased_and_the_ledger_still_works(
    gateway: Gateway, brand: Brand
) -> None:
    """The gateway keeps, off chain and tied to the member's wallet, what the chain never holds:
    that an earn fell in the member's birthday week (the `birthday_week` entry of the earn's
    campaign record, in the operation and its stored answer) and who invited whom
    (`campaign_referrals`, the referral entries of the purchase and of both members' credits,
    the `referral.credited` event). The erasure takes all of it in one call, and the member's
    points, lots, history and later earns are as before; a second call erases nothing more."""
    add_rules(brand)
    alice, friend = Member(), Member()
    earn(brand, friend, 500)
    key = f"bday-{uuid.uuid4()}"
    body, first = purchase(brand, alice, key, birthday_week=True, referrer=friend.address)
    assert [r["rule"] for r in first["campaign"]["rules"]] == ["birthday_week", "referral"]
    assert first["result"]["points"] == 200  # 10 USD at 10 points, doubled
    credited = wait_referral(brand, alice, "credited")  # the brand's window is 0 days
    for uid in (credited["referrer_operation_id"], credited["referred_operation_id"]):
        assert brand.api.wait(uid)["status"] == "confirmed"
    held = {
        "birthday": rows_mentioning(gateway.runtime.db, alice.address, "birthday"),
        "referral": rows_mentioning(gateway.runtime.db, alice.address, friend.address),
    }
    assert held["birthday"] and held["referral"], held
    member_before = ledger_view(brand, alice)
    history_before = brand.api.get(f"/v1/members/{alice.address}/history").json()

    erased = gateway.admin.http.delete(profile(alice.address.lower()))
    assert erased.status_code == 200, erased.text
    assert erased.json() == {
        "member": alice.address,
        "erased": {
            "birthday_weeks": 1,
            "referrals": 1,
            "referrals_cancelled": 0,  # it had paid: the points stay the members'
            "referral_records": 3,  # the purchase, both members' credits
            "stored_answers": 1,  # the purchase's Idempotency-Key
            "events": 1,  # referral.credited
        },
    }
    assert not rows_mentioning(gateway.runtime.db, alice.address, "birthday")
    assert not rows_mentioning(gateway.runtime.db, alice.address, friend.address)
    assert brand.api.get(REFERRALS).json()["referrals"] == []

    # the ledger: the member's points, lots and history as before, the earn's multiplier kept
    assert ledger_view(brand, alice) == member_before
    history = brand.api.get(f"/v1/members/{alice.address}/history").json()
    assert without_campaigns(history) == without_campaigns(history_before)
    assert history["totals"] == history_before["totals"]
    status = brand.api.get(f"/v1/operations/{first['operation_id']}").json()
    assert status["campaign"]["rules"] == [ERASED, ERASED]
    assert status["campaign"]["multiplier_pct"] == 200 and status["result"]["points"] == 200
    replay = brand.api.post(PURCHASE, body, key=key, params={"wait": "true"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["campaign"]["rules"] == [ERASED, ERASED]
    feed = gateway.admin.get("/v1/events", params={"types": "referral.credited"}).json()
    (news,) = feed["events"]
    assert news["data"]["erased"] is True and "referred" not in news["data"]

    again = gateway.admin.http.delete(profile(alice.address))
    assert again.status_code == 200 and again.json()["erased"] == NOTHING
    later = earn(brand, alice, 500)
    assert later["status"] == "confirmed"
    (before,), (after,) = member_before["balances"], ledger_view(brand, alice)["balances"]
    assert after["balance"] == before["balance"] + 50 == 200 + 20 + 50  # purchase, credit


def test_a_waiting_referral_erased_never_pays(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A referral whose purchase is still in its return window, erased (here with its
    referrer), is cancelled: once the window closes neither member is credited, and the
    purchase's own points are released as any."""
    anvil, _ = own_chain
    own_env["LEDGER_CAMPAIGN_REFERRAL_POLL_S"] = "0.2"
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=1)
        add_rules(brand)
        alice, friend = Member(), Member()
        _, first = purchase(brand, alice, str(uuid.uuid4()), referrer=friend.address)
        assert wait_referral(brand, alice, "waiting")["referrer"] == friend.address

        erased = gateway.admin.http.delete(profile(friend.address))
        assert erased.status_code == 200, erased.text
        counts = erased.json()["erased"]
        assert (counts["referrals"], counts["referrals_cancelled"]) == (1, 1)
        assert counts["referral_records"] == 1  # alice's purchase named friend

        anvil.rpc("evm_increaseTime", 2 * DAY)
        anvil.rpc("evm_mine")
        earn(brand, Member(), 100)  # the index past the release
        time.sleep(1.5)  # several turns of the crediter
        with gateway.runtime.db.read() as session:
            earns = session.scalars(
                select(Operation.uid).where(Operation.member.in_((alice.address, friend.address)))
            ).all()
            assert earns == [first["operation_id"]]  # no referral credit queued
            assert session.scalars(select(CampaignReferral)).all() == []
        (points,) = ledger_view(brand, alice)["balances"]
        assert (points["balance"], points["pending"]) == (100, 0), points


def test_only_the_admin_key_erases(gateway: Gateway, brand: Brand) -> None:
    """A brand key (even the one whose member it is) cannot erase: 403 `forbidden`, nothing
    erased; no key is 401; a path that is no address 422 `invalid_address`."""
    add_rules(brand)
    alice = Member()
    purchase(brand, alice, str(uuid.uuid4()), birthday_week=True)

    refused = brand.api.http.delete(profile(alice.address))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert rows_mentioning(gateway.runtime.db, alice.address, "birthday")
    anonymous = gateway.api(None).http.delete(profile(alice.address))
    assert anonymous.status_code == 401
    bad = gateway.admin.http.delete(profile("0x1234"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_address"
    stranger = Member().address
    with LedgerClient(gateway.base_url, gateway.env["LEDGER_ADMIN_API_KEY"]) as admin:
        assert admin.erase_member_profile(stranger) == {"member": stranger, "erased": NOTHING}
    assert rows_mentioning(gateway.runtime.db, alice.address, "birthday")


def test_the_operator_erases_with_the_ledger_command(gateway: Gateway, brand: Brand) -> None:
    """`ledger member erase ADDRESS` does what the route does, beside a running gateway, and
    says what it erased; an argument that is no address is one line, no traceback."""
    add_rules(brand)
    alice = Member()
    _, first = purchase(brand, alice, str(uuid.uuid4()), birthday_week=True)

    def ledger(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: PLW1510 - the test checks returncode
            [sys.executable, "-m", "ledger_api.cli", *args],
            env={**os.environ, **gateway.env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = ledger("member", "erase", alice.address, "--json")
    assert done.returncode == 0, done.stderr
    assert '"birthday_weeks": 1' in done.stdout, done.stdout
    status = brand.api.get(f"/v1/operations/{first['operation_id']}").json()
    assert status["campaign"]["rules"] == [ERASED]
    assert not rows_mentioning(gateway.runtime.db, alice.address, "birthday")
    refused = ledger("member", "erase", "not-an-address")
    assert refused.returncode == 1 and "invalid_address" in refused.stderr
    assert "Traceback" not in refused.stderr
    # each erasure is in the audit trail: who and which member, nothing of what it held
    assert gateway.admin.http.delete(profile(alice.address)).status_code == 200
    trail = gateway.admin.get("/v1/admin/audit", params={"action": "member.erased"}).json()
    acts = [(e["actor"]["key_prefix"], e["target"], e["details"]) for e in trail["entries"]]
    assert acts == [("settings", alice.address, {}), ("cli", alice.address, {})]


@pytest.mark.slow
def test_erasure_on_postgresql(pg_env: dict[str, str]) -> None:
    with Gateway(pg_env) as gateway:
        brand = gateway.create_brand()
        add_rules(brand)
        alice, friend = Member(), Member()
        _, first = purchase(
            brand, alice, str(uuid.uuid4()), birthday_week=True, referrer=friend.address
        )
        wait_referral(brand, alice, "credited")
        erased = gateway.admin.http.delete(profile(alice.address))
        assert erased.status_code == 200, erased.text
        counts = erased.json()["erased"]
        assert (counts["birthday_weeks"], counts["referrals"], counts["stored_answers"]) == (
            1,
            1,
            1,
        )
        assert not rows_mentioning(gateway.runtime.db, alice.address, "birthday")
        assert not rows_mentioning(gateway.runtime.db, alice.address, friend.address)
        status = brand.api.get(f"/v1/operations/{first['operation_id']}").json()
        assert status["campaign"]["rules"] == [ERASED, ERASED]
        assert gateway.admin.http.delete(profile(alice.address)).json()["erased"] == NOTHING
        assert earn(brand, alice, 500)["status"] == "confirmed"
