"""A multisig alliance admin (issue 14): production with brand keys only.

The gateway holds no admin key. An admin operation answers with the transaction the multisig
executes; here the deployment's admin account stands in for the multisig and sends it. The
gateway settles the operation once the effect shows in its index.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from support.chain import ADMIN_KEY, Anvil
from support.gateway import Gateway, Member, gateway_env
from support.progress import wait_for
from support.receiver import Receiver
from support.rpc_proxy import RefusingProxy
from web3 import Web3

from ledger_api.domain import events as ev


class MultisigGateway(Gateway):
    """Ready once it indexes: with no admin key and no brand yet, nothing sends."""

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.get_health(timeout=5).get("index_block", -1) >= 0:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the gateway did not start indexing")


def execute(w3: Web3, transaction: dict[str, Any]) -> None:
    """What the multisig does with an admin operation's transaction."""
    assert transaction["chain_id"] == w3.eth.chain_id
    admin = Account.from_key(ADMIN_KEY)
    tx = {
        "to": transaction["to"],
        "data": transaction["data"],
        "value": int(transaction["value"]),
        "nonce": w3.eth.get_transaction_count(admin.address),
        "chainId": transaction["chain_id"],
        "gas": 3_000_000,
        "maxFeePerGas": 20 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    signed = admin.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1


def test_admin_operations_answer_with_the_transaction_and_settle_when_it_lands(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    node, manifest = own_chain
    env = _multisig_env(node, manifest, tmp_path)
    w3 = node.web3()
    with MultisigGateway(env) as gateway:
        assert not gateway.settings.admin_signs
        body = {"name": "Multisig Brand", "symbol": "MS"}
        created = gateway.admin.post("/v1/admin/brands", body, key="ms-1")
        assert created.status_code == 202, created.text
        answer = created.json()
        assert answer["brand"]["status"] == "onboarding"
        transaction = answer["admin_transaction"]
        # the answer lost, the request sent again: the same transaction (a trial's replay
        # dropped it, and nothing else hands it out)
        again = gateway.admin.post("/v1/admin/brands", body, key="ms-1").json()
        assert again["operation_id"] == answer["operation_id"], again
        assert again.get("admin_transaction") == transaction, again
        assert transaction["to"] == gateway.runtime.contracts().ledger_address
        # nothing is sent without the multisig: the operation waits
        waited = gateway.admin.get(
            f"/v1/operations/{answer['operation_id']}", headers={"Prefer": "wait=1"}
        )
        assert waited.json()["status"] == "queued"

        execute(w3, transaction)
        final = gateway.admin.get(
            f"/v1/operations/{answer['operation_id']}", headers={"Prefer": "wait=30"}
        ).json()
        assert final["status"] == "confirmed", final
        # confirmed from the index: indexed, so a client's wait ends (a trial's stayed false
        # and `ledger_client`'s `wait` timed out on it)
        assert final["indexed"] is True, final
        brands = gateway.admin.get("/v1/admin/brands").json()
        brand = next(b for b in brands if b["name"] == "Multisig Brand")
        assert brand["status"] == "active" and brand["brand_id"] >= 1, brand

        # the brand's own key sends its operations (the operator funds its signer)
        fund = {"to": brand["signer"], "data": "0x", "value": str(10**18)}
        execute(w3, {**fund, "chain_id": w3.eth.chain_id})
        api = gateway.api(answer["api_key"])
        member = Member()
        earned = api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 1_000, "order_ref": "ms-1"},
            params={"wait": "true"},
        )
        assert earned.status_code == 200 and earned.json()["status"] == "confirmed", earned.text

        rule = {"spend_cents": 12_345, "orders": 3, "engagements": 2, "gift_points": 50}
        queued = gateway.admin.put("/v1/admin/tiers/1", rule)
        assert queued.status_code == 202, queued.text
        tier_tx = queued.json()["admin_transaction"]
        execute(w3, tier_tx)
        settled = gateway.admin.get(
            f"/v1/operations/{queued.json()['operation_id']}", headers={"Prefer": "wait=30"}
        ).json()
        assert settled["status"] == "confirmed", settled

        # the daily mint cap is the chain's: the multisig sets it, the gateway settles the
        # operation once its index shows the cap (issue 10)
        path = f"/v1/admin/brands/{brand['brand_id']}/daily-cap"
        capped = gateway.admin.put(path, {"daily_cap_points": 5_000})
        assert capped.status_code == 202, capped.text
        execute(w3, capped.json()["admin_transaction"])
        landed = gateway.admin.get(
            f"/v1/operations/{capped.json()['operation_id']}", headers={"Prefer": "wait=30"}
        ).json()
        assert landed["status"] == "confirmed", landed
        brands = gateway.admin.get("/v1/admin/brands").json()
        assert (
            next(b for b in brands if b["brand_id"] == brand["brand_id"])["daily_cap_points"]
            == 5_000
        )
        # the watcher's wake-up and a later read show the brand the admin operations name
        # (new-user trial: `brand_id` was null); the brand's own key never sees them
        assert landed["brand_id"] == brand["brand_id"], landed
        for shown in (landed, final):
            read = gateway.admin.get(f"/v1/operations/{shown['operation_id']}").json()
            assert read["brand_id"] == brand["brand_id"], read
            assert api.get(f"/v1/operations/{shown['operation_id']}").status_code == 404
        assert settled["brand_id"] is None  # a tier rule is the alliance's

        # a suspension and its lifting: one kind, the result says which (new-user trial)
        for suspended in (True, False):
            path = f"/v1/admin/brands/{brand['brand_id']}/suspension"
            queued = gateway.admin.post(path, {"suspended": suspended})
            assert queued.status_code == 202, queued.text
            execute(w3, queued.json()["admin_transaction"])
            done = gateway.admin.get(
                f"/v1/operations/{queued.json()['operation_id']}", headers={"Prefer": "wait=30"}
            ).json()
            assert (done["kind"], done["status"]) == ("suspend_brand", "confirmed"), done
            assert done["result"] == {"suspended": suspended}, done


def _multisig_env(node: Anvil, manifest: Path, tmp_path: Path) -> dict[str, str]:
    env = gateway_env(
        rpc_url=node.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_ENV="production",
        LEDGER_WEBHOOK_ALLOW_LOOPBACK="true",
    )
    del env["LEDGER_ADMIN_PRIVATE_KEY"]
    return env


def _executed(gateway: Gateway, w3: Web3, queued: httpx.Response) -> dict[str, Any]:
    """The multisig executes a queued admin operation's transaction; its final status."""
    assert queued.status_code == 202, queued.text
    execute(w3, queued.json()["admin_transaction"])
    final: dict[str, Any] = gateway.admin.get(
        f"/v1/operations/{queued.json()['operation_id']}", headers={"Prefer": "wait=30"}
    ).json()
    assert final["status"] == "confirmed", final
    return final


def _feed(api: Any, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/events", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _the_admins_event(gateway: Gateway, final: dict[str, Any], brand_api: Any = None) -> None:
    """A watcher-confirmed operation has one `operation.confirmed`, as the sender writes it:
    its id `event_id(type, uid)`, the admin's scope only, the operation's status as data."""
    uid = final["operation_id"]
    events = [e for e in _feed(gateway.admin) if e["data"].get("operation_id") == uid]
    assert [e["type"] for e in events] == ["operation.confirmed"], events
    (event,) = events
    assert event["id"] == ev.event_id(ev.OPERATION_CONFIRMED, uid)
    assert event["brands"] == []
    assert event["data"] == {
        "operation_id": uid,
        "kind": final["kind"],
        "brand_id": final["brand_id"],
        "status": "confirmed",
        "tx_hash": final["tx_hash"],
        "block_number": final["block_number"],
        "result": final["result"],
    }
    if brand_api is not None:
        assert uid not in {e["data"].get("operation_id") for e in _feed(brand_api)}


def test_a_multisig_admins_operations_reach_the_outbox_with_the_senders_result(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """The watcher confirms in the sender's terms: the same `result` per kind (null where the
    transaction says nothing more, as `settle._final_values` stores it) and one admin-only
    `operation.confirmed` written with the confirmation (a trial: none was written)."""
    node, manifest = own_chain
    w3 = node.web3()
    with MultisigGateway(_multisig_env(node, manifest, tmp_path)) as gateway:
        created = gateway.admin.post("/v1/admin/brands", {"name": "Evented", "symbol": "EV"})
        onboarded = _executed(gateway, w3, created)
        brand_id = onboarded["result"]["brand_id"]
        assert onboarded["result"] == {"brand_id": brand_id} and brand_id >= 1, onboarded
        brand_api = gateway.api(created.json()["api_key"])
        path = f"/v1/admin/brands/{brand_id}"
        finals = [
            onboarded,
            _executed(
                gateway, w3, gateway.admin.put(f"{path}/point-value", {"value_micro_usd": 11_000})
            ),
            _executed(
                gateway, w3, gateway.admin.put(f"{path}/daily-cap", {"daily_cap_points": 7_000})
            ),
            _executed(gateway, w3, gateway.admin.put(f"{path}/return-window", {"days": 0})),
            _executed(gateway, w3, gateway.admin.post(f"{path}/suspension", {"suspended": True})),
            _executed(
                gateway,
                w3,
                gateway.admin.put(
                    "/v1/admin/tiers/1",
                    {"spend_cents": 12_345, "orders": 3, "engagements": 2, "gift_points": 50},
                ),
            ),
            _executed(
                gateway,
                w3,
                gateway.admin.put("/v1/admin/campaigns/cap", {"max_multiplier_pct": 250}),
            ),
            _executed(
                gateway, w3, gateway.admin.put("/v1/admin/order-floor", {"order_floor_usd": 5})
            ),
        ]
        assert [(f["kind"], f["result"]) for f in finals[1:]] == [
            ("set_point_value", None),
            ("set_daily_cap", None),
            ("set_return_window", None),
            ("suspend_brand", {"suspended": True}),
            ("set_tier_rule", None),
            ("set_max_multiplier", None),
            ("set_order_floor", None),
        ]
        for final in finals:
            # a later read shows what the wake-up showed
            assert (
                gateway.admin.get(f"/v1/operations/{final['operation_id']}").json()["result"]
                == final["result"]
            )
            _the_admins_event(gateway, final, brand_api)


def test_a_multisig_admins_confirmed_operation_wakes_the_webhook_deliverer(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """The watcher wakes the deliverer as the sender's settlement does: the admin's endpoint
    gets the `operation.confirmed` at once, not after the deliverer's idle poll (30 s here)."""
    node, manifest = own_chain
    env = {
        **_multisig_env(node, manifest, tmp_path),
        "LEDGER_WEBHOOK_POLL_S": "0.05",
        "LEDGER_WEBHOOK_IDLE_POLL_S": "30",
    }
    with Receiver() as receiver, MultisigGateway(env) as gateway:
        subscribed = gateway.admin.post(
            "/v1/webhooks", {"url": receiver.url, "event_types": ["operation.confirmed"]}
        )
        assert subscribed.status_code == 201, subscribed.text
        time.sleep(1)  # the deliverer is asleep
        rule = {"spend_cents": 12_345, "orders": 3, "engagements": 2, "gift_points": 50}
        final = _executed(gateway, node.web3(), gateway.admin.put("/v1/admin/tiers/1", rule))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not receiver.accepted:
            time.sleep(0.05)
        delivered = [r.event["data"]["operation_id"] for r in receiver.accepted]
        assert delivered == [final["operation_id"]]


def _onboard(gateway: Gateway, w3: Web3, name: str, **fields: Any) -> tuple[int, Any]:
    """A brand onboarded by the multisig, its signer funded; (ledger id, its Api)."""
    body = {"name": name, "symbol": "MS", **fields}
    created = gateway.admin.post("/v1/admin/brands", body).json()
    execute(w3, created["admin_transaction"])
    final = gateway.admin.get(
        f"/v1/operations/{created['operation_id']}", headers={"Prefer": "wait=30"}
    ).json()
    assert final["status"] == "confirmed", final
    brand_id = int(final["result"]["brand_id"])
    signer = created["brand"]["signer"]
    execute(w3, {"to": signer, "data": "0x", "value": str(10**18), "chain_id": w3.eth.chain_id})
    # purchases' points live at once: the route answers the multisig's transaction, and the
    # operation confirms once the index shows the new window (issue 11 under a multisig)
    window = gateway.admin.put(f"/v1/admin/brands/{brand_id}/return-window", {"days": 0})
    assert window.status_code == 202, window.text
    execute(w3, window.json()["admin_transaction"])
    landed = gateway.admin.get(
        f"/v1/operations/{window.json()['operation_id']}", headers={"Prefer": "wait=30"}
    ).json()
    assert landed["status"] == "confirmed", landed
    shown = gateway.admin.get("/v1/admin/brands").json()
    assert next(b for b in shown if b["brand_id"] == brand_id)["return_window_days"] == 0
    return brand_id, gateway.api(created["api_key"])


def _a_owes_b(a: Any, a_id: int, b: Any, member: Member, points: int, order: str, ref: str) -> None:
    """The member buys 10 USD at A, then redeems `points` of A's points at B: A owes B."""
    earned = a.post(
        "/v1/earn/purchase",
        {"member": member.address, "amount_cents": 1_000, "order_ref": order},
        params={"wait": "true"},
    )
    assert earned.json()["status"] == "confirmed", earned.text
    redemption = {"member": member.address, "brand": a_id, "amount": points, "order_ref": ref}
    prepared = b.post("/v1/redemptions/typed-data", redemption).json()
    signed = {
        **redemption,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": member.sign(prepared["typed_data"]),
    }
    redeemed = b.post("/v1/redemptions", signed, params={"wait": "true"})
    assert redeemed.json()["status"] == "confirmed", redeemed.text


def test_a_multisig_admin_settles_a_pair_with_the_transaction_it_is_answered(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    node, manifest = own_chain
    env = _multisig_env(node, manifest, tmp_path)
    w3 = node.web3()
    with MultisigGateway(env) as gateway:
        a_id, a = _onboard(gateway, w3, "Debtor")
        b_id, b = _onboard(gateway, w3, "Creditor")
        member = Member()
        _a_owes_b(a, a_id, b, member, 50, "ms-2", "r-1")
        deposited = a.post(
            "/v1/settlement/deposits", {"amount_units": 500_000}, params={"wait": "true"}
        )
        assert deposited.json()["status"] == "confirmed", deposited.text

        queued = gateway.admin.post("/v1/settlement/settle", {"debtor": a_id, "creditor": b_id})
        assert queued.status_code == 202, queued.text
        transaction = queued.json()["admin_transaction"]
        assert transaction["to"] == gateway.runtime.contracts().vault_address
        waited = gateway.admin.get(
            f"/v1/operations/{queued.json()['operation_id']}", headers={"Prefer": "wait=1"}
        )
        assert waited.json()["status"] == "queued"  # nothing is sent without the multisig
        execute(w3, transaction)
        final = gateway.admin.get(
            f"/v1/operations/{queued.json()['operation_id']}", headers={"Prefer": "wait=30"}
        ).json()
        assert final["status"] == "confirmed", final
        listed = gateway.admin.get("/v1/settlement/settlements").json()["settlements"]
        assert [(s["debtor_brand_id"], s["token_amount"]) for s in listed] == [(a_id, "500000")]
        # the sender's result (`SettlementPaid`) and transaction, read from the index's row
        assert final["result"] == {
            "debtor": a_id,
            "creditor": b_id,
            "value_micro_usd": int(listed[0]["value_micro_usd"]),
            "token_amount": "500000",
        }, final
        assert (final["tx_hash"], final["block_number"]) == (
            listed[0]["tx_hash"],
            listed[0]["block_number"],
        )
        _the_admins_event(gateway, final, a)


@pytest.mark.parametrize("own_chain", [100], indirect=True)
def test_a_multisig_settlement_that_leaves_less_than_a_unit_owed_is_confirmed(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """A vault of 100 units a USD pays 1.5 units owed with one unit and leaves half a unit
    owed: the admin's operation is confirmed by the settlement, not by a cleared position
    (which never comes)."""
    node, manifest = own_chain
    env = _multisig_env(node, manifest, tmp_path)
    w3 = node.web3()
    with MultisigGateway(env) as gateway:
        a_id, a = _onboard(gateway, w3, "Debtor", value_micro_usd=5_000)
        b_id, b = _onboard(gateway, w3, "Creditor")
        member = Member()
        _a_owes_b(a, a_id, b, member, 3, "ms-3", "r-3")  # 15,000 micro-USD
        deposited = a.post("/v1/settlement/deposits", {"amount_units": 5}, params={"wait": "true"})
        assert deposited.json()["status"] == "confirmed", deposited.text

        queued = gateway.admin.post("/v1/settlement/settle", {"debtor": a_id, "creditor": b_id})
        final = _executed(gateway, w3, queued)
        assert (final["result"]["value_micro_usd"], final["result"]["token_amount"]) == (
            10_000,
            "1",
        ), final
        positions = gateway.admin.get("/v1/settlement/positions").json()["positions"]
        assert positions == [
            {"debtor_brand_id": a_id, "creditor_brand_id": b_id, "amount_micro_usd": 5_000}
        ]


def test_the_campaign_cap_answers_its_transaction_and_is_pending_until_it_lands(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """Issue 16: the campaigns' cap is the chain's (`setMaxMultiplier`); a multisig sets it."""
    node, manifest = own_chain
    env = _multisig_env(node, manifest, tmp_path)
    with MultisigGateway(env) as gateway:
        queued = gateway.admin.put("/v1/admin/campaigns/cap", {"max_multiplier_pct": 250})
        assert queued.status_code == 202, queued.text
        answer = queued.json()
        assert answer["kind"] == "set_max_multiplier"
        cap = gateway.admin.get("/v1/admin/campaigns/cap").json()
        assert cap["max_multiplier_pct"] == 1000
        assert cap["pending"] == {
            "operation_id": answer["operation_id"],
            "status": "queued",
            "max_multiplier_pct": 250,
        }

        execute(node.web3(), answer["admin_transaction"])
        final = gateway.admin.get(
            f"/v1/operations/{answer['operation_id']}", headers={"Prefer": "wait=30"}
        ).json()
        assert final["status"] == "confirmed", final
        cap = gateway.admin.get("/v1/admin/campaigns/cap").json()
        assert (cap["max_multiplier_pct"], cap["pending"], cap["version"]) == (250, None, 1)


def test_a_multisig_admin_pauses_with_the_transaction_it_is_answered(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """`PUT /v1/admin/pause` without the admin key: the answer carries `pause()`; the watcher
    confirms it once the index holds the ledger's `Paused`, then the same for `unpause()`."""
    node, manifest = own_chain
    env = _multisig_env(node, manifest, tmp_path)
    with MultisigGateway(env) as gateway:
        for paused in (True, False):
            queued = gateway.admin.put("/v1/admin/pause", {"paused": paused})
            assert queued.status_code == 202, queued.text
            assert queued.json()["kind"] == "set_pause"
            final = _executed(gateway, node.web3(), queued)
            assert final["status"] == "confirmed", final
            assert final["result"] == {"paused": paused}, final
            wait_for(
                lambda paused=paused: gateway.get_health()["ledger_paused"] is paused,
                what=f"the gateway following ledger_paused={paused}",
            )


def test_a_multisig_pause_lifted_before_the_watcher_looked_is_confirmed(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """A trial of dac4a12: a multisig's pause executed, then lifted, while the index lagged
    stayed `queued` (the watcher read only the state now), and a later unrelated pause then
    confirmed it. The watcher now finds the pause's own `ledger.paused` since it was queued."""
    node, manifest = own_chain
    w3 = node.web3()
    with RefusingProxy(node.url, method="eth_getLogs") as proxy:
        env = {**_multisig_env(node, manifest, tmp_path), "LEDGER_RPC_URL": proxy.url}
        with MultisigGateway(env) as gateway:
            pause = gateway.admin.put("/v1/admin/pause", {"paused": True})
            assert pause.status_code == 202, pause.text
            proxy.refusing = "node busy"  # the index does not follow meanwhile
            execute(w3, pause.json()["admin_transaction"])
            lift = gateway.admin.put("/v1/admin/pause", {"paused": False})
            assert lift.status_code == 202, lift.text  # the node says paused: it may be lifted
            execute(w3, lift.json()["admin_transaction"])
            proxy.refusing = None
            finals = [
                gateway.admin.get(
                    f"/v1/operations/{a.json()['operation_id']}", headers={"Prefer": "wait=30"}
                ).json()
                for a in (pause, lift)
            ]
            assert [f["status"] for f in finals] == ["confirmed", "confirmed"], finals
            assert [f["result"] for f in finals] == [{"paused": True}, {"paused": False}]
            assert finals[0]["tx_hash"] is not None and finals[0]["tx_hash"] != finals[1]["tx_hash"]


def test_an_onboardings_daily_cap_follow_up_offers_its_transaction_to_the_multisig(
    own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """A brand created with a daily mint cap stays `onboarding` until a `set_daily_cap`
    follows its onboarding (`daily_cap_operation_id`). The gateway queues that one itself, so
    no answer carried its transaction: a trial's multisig never saw it and the brand never
    turned active. An admin operation's status read carries `admin_transaction` while it
    waits for the multisig (the onboarding's too), and none once it is confirmed."""
    node, manifest = own_chain
    env = {**_multisig_env(node, manifest, tmp_path), "LEDGER_WAIT_MAX_S": "600"}
    w3 = node.web3()
    # asked to wait (up to 600 s, past the client's 60), the answer comes at once: only the
    # multisig lands the operation, from the transaction the answer carries (a trial's
    # `?wait=true` held it 10 s, then answered 202 all the same)
    wait = {"Prefer": "wait=600"}
    with MultisigGateway(env) as gateway:
        body = {"name": "Capped Brand", "symbol": "CB", "daily_cap_points": 9_000}
        created = gateway.admin.post("/v1/admin/brands", body, key="cb-1", headers=wait)
        assert created.status_code == 202, created.text
        answer = created.json()
        onboarding = gateway.admin.get(f"/v1/operations/{answer['operation_id']}").json()
        assert onboarding["admin_transaction"] == answer["admin_transaction"], onboarding
        follow_up = answer["daily_cap_operation_id"]
        # before the onboarding lands, the announced cap says what it waits for (it read 404
        # `operation_not_found`): no transaction yet, the brand's ledger id is not known
        early = gateway.admin.get(f"/v1/operations/{follow_up}")
        assert early.status_code == 200, early.text
        assert early.json()["status"] == "queued", early.text
        assert early.json()["queued_reason"] == "awaiting_onboarding", early.text
        assert early.json()["admin_transaction"] is None, early.text
        execute(w3, answer["admin_transaction"])
        queued = wait_for(
            lambda: (
                (r := gateway.admin.get(f"/v1/operations/{follow_up}").json()).get(
                    "admin_transaction"
                )
                and r
            ),
            what="the daily cap's operation queued",
        )
        assert queued["status"] == "queued" and queued["queued_reason"] is None, queued
        transaction = queued["admin_transaction"]
        assert transaction is not None and transaction["to"] == w3.to_checksum_address(
            gateway.runtime.contracts().ledger_address
        ), queued
        execute(w3, transaction)
        final = gateway.admin.get(
            f"/v1/operations/{follow_up}", headers={"Prefer": "wait=30"}
        ).json()
        assert final["status"] == "confirmed" and final["admin_transaction"] is None, final
        brands = gateway.admin.get("/v1/admin/brands").json()
        brand = next(b for b in brands if b["name"] == "Capped Brand")
        assert (brand["status"], brand["daily_cap_points"]) == ("active", 9_000), brand
        # the same for any admin operation asked to wait
        suspended = gateway.admin.post(
            f"/v1/admin/brands/{brand['brand_id']}/suspension", {"suspended": True}, headers=wait
        )
        assert suspended.status_code == 202, suspended.text
        assert suspended.json()["admin_transaction"] is not None, suspended.text
