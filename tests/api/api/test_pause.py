"""The alliance's one pause (`AllianceLedger.pause`), as the gateway follows it.

Before, the gateway did not know the ledger was paused: it accepted every write (202), and
the sender then failed each one for good with `ledger_paused` (a trial of session 33), so a
brand had to send its whole pause's worth of operations again. Now the indexer follows
`Paused` / `Unpaused`; while paused the intake refuses what the chain would (409
`ledger_paused`) and runs what it would not stop (a brand's suspension), and what was accepted
before the gateway heard of the pause waits in the queue, then goes once the ledger is
unpaused: credited once."""

from __future__ import annotations

import json
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from support.chain import ADMIN_KEY, Anvil, _send, applied_op_ids
from support.flows import earn, signed_gift
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for
from support.rpc_proxy import RefusingProxy

PURCHASE = "/v1/earn/purchase"


def purchase(member: Member, cents: int = 1_000) -> dict[str, Any]:
    return {"member": member.address, "amount_cents": cents, "order_ref": f"o-{uuid.uuid4()}"}


def _pause_call(anvil: Anvil, manifest: Path, function: str) -> dict[str, Any]:
    """The admin key's `pause()` / `unpause()`, built for the ledger (not yet sent)."""
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]
    w3 = anvil.web3()
    contract = w3.eth.contract(address=ledger["address"], abi=ledger["abi"])
    tx = contract.functions[function]().build_transaction(
        {"from": Account.from_key(ADMIN_KEY).address, "gas": 200_000}
    )
    tx.pop("gasPrice", None)
    return dict(tx)


def set_paused(anvil: Anvil, manifest: Path, paused: bool) -> None:
    """Pauses or unpauses the ledger straight with the admin key, and waits for the block."""
    _send(anvil.web3(), Account.from_key(ADMIN_KEY), _pause_call(anvil, manifest, _name(paused)))


def _name(paused: bool) -> str:
    return "pause" if paused else "unpause"


def second_pauser(anvil: Anvil, manifest: Path) -> LocalAccount:
    """Another holder of the ledger's admin role, funded: its pauses take none of the nonces of
    the gateway's admin signer, which has operations in flight."""
    w3, pauser = anvil.web3(), Account.create()
    anvil.rpc("anvil_setBalance", pauser.address, hex(10**20))
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]
    contract = w3.eth.contract(address=ledger["address"], abi=ledger["abi"])
    grant = contract.functions.grantRole(b"\x00" * 32, pauser.address).build_transaction(
        {"from": Account.from_key(ADMIN_KEY).address, "gas": 200_000}
    )
    grant.pop("gasPrice", None)
    _send(w3, Account.from_key(ADMIN_KEY), dict(grant))
    return pauser


def send_pause(
    anvil: Anvil, manifest: Path, pauser: LocalAccount, paused: bool, *, tip_wei: int
) -> str:
    """`pause()` or `unpause()` from `pauser` with that tip, into the node's pool (automine may
    be off: no wait); its hash."""
    w3 = anvil.web3()
    base = int(w3.eth.get_block("latest")["baseFeePerGas"])
    tx = _pause_call(anvil, manifest, _name(paused)) | {
        "from": pauser.address,
        "maxFeePerGas": 4 * base + tip_wei + 10**9,
        "maxPriorityFeePerGas": tip_wei,
        "nonce": w3.eth.get_transaction_count(pauser.address, "pending"),
        "chainId": w3.eth.chain_id,
    }
    return (
        "0x" + bytes(w3.eth.send_raw_transaction(pauser.sign_transaction(tx).raw_transaction)).hex()
    )


def held_by_pause(gateway: Gateway) -> int:
    return sum(int(signer["held_by_pause"]) for signer in gateway.get_health()["sender"])


def followed_pause(gateway: Gateway, paused: bool) -> None:
    """Waits until the gateway's health says the ledger is (un)paused as the index follows it."""
    wait_for(
        lambda: gateway.get_health().get("ledger_paused") is paused,
        what=f"the gateway following ledger_paused={paused}",
    )


def pause_events(brand: Brand, count: int) -> list[dict[str, Any]] | None:
    """The brand's `ledger.paused` / `ledger.unpaused` events, once there are `count`."""
    answer = brand.api.get("/v1/events", params={"types": "ledger.paused,ledger.unpaused"})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events if len(events) >= count else None


def confirmed_suspension(gateway: Gateway, brand_id: int, suspended: bool) -> None:
    """The admin suspends the brand (or lifts it) and the answer says confirmed: the pause does
    not stop `setBrandSuspended`."""
    answer = gateway.admin.post(
        f"/v1/admin/brands/{brand_id}/suspension",
        {"suspended": suspended},
        headers={"Prefer": "wait=60"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "confirmed", answer.text


def test_a_paused_ledger_refuses_at_intake_what_the_chain_would(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        member = Member()
        before_body = purchase(member)
        before = brand.api.post(PURCHASE, before_body, key="before-the-pause")
        assert before.status_code == 202, before.text
        assert brand.api.wait(before.json()["operation_id"])["status"] == "confirmed"
        assert gateway.get_health()["ledger_paused"] is False

        set_paused(anvil, manifest, True)
        followed_pause(gateway, True)

        refused = brand.api.post(PURCHASE, purchase(member))
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "ledger_paused"
        # a bulk request answers per item, as for a suspended brand
        items = [{"type": "purchase", "key": "k1", **purchase(member)}]
        bulk = brand.api.post("/v1/earn/batch", {"items": items})
        assert bulk.status_code == 202, bulk.text
        (item,) = bulk.json()["items"]
        assert item["result"] == "refused" and item["error"]["code"] == "ledger_paused"
        # a brand's own call the chain stops too (simulated or not before the 202)
        badge = brand.api.post("/v1/badges/types", {"kind": "achievement", "uri": "ipfs://b/1"})
        assert badge.status_code == 409, badge.text
        assert badge.json()["error"]["code"] == "ledger_paused"
        # a request of several steps is refused before any runs: a deposit's mint and
        # approval of the token (a trial: both ran and confirmed, then the deposit was refused),
        # a brand whose daily cap would keep it onboarding; and the withdrawal's transaction
        # for the treasury to sign, which the vault would revert (a trial: 200)
        steps = brand.api.post("/v1/settlement/deposits", {"amount_units": 3_000_000})
        capped = gateway.admin.post("/v1/admin/brands", {"name": "Capped", "daily_cap_points": 10})
        withdrawal = brand.api.post(
            "/v1/settlement/withdrawals/transaction", {"amount_units": 1, "to": member.address}
        )
        for answer in (steps, capped, withdrawal):
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "ledger_paused", answer.text
        token = json.loads(manifest.read_text())["contracts"]["TestUSD"]
        usd = anvil.web3().eth.contract(address=token["address"], abi=token["abi"])
        assert usd.functions.balanceOf(brand.signer).call() == 0
        assert "Capped" not in [b["name"] for b in gateway.admin.get("/v1/admin/brands").json()]
        # the replay of a request stored before the pause still gets its first answer
        replay = brand.api.post(PURCHASE, before_body, key="before-the-pause")
        assert replay.status_code == 202 and replay.json() == before.json()

        # what the chain does not stop still runs: onboarding (with the signer's funding and
        # the return window), and an operator's suspension of a brand and its lifting
        late = gateway.create_brand()
        assert late.brand_id == brand.brand_id + 1
        for suspended in (True, False):
            confirmed_suspension(gateway, brand.brand_id, suspended)

        set_paused(anvil, manifest, False)
        followed_pause(gateway, False)
        # each brand hears of the pause and its lifting (webhooks, feed): the one onboarded
        # meanwhile of the lifting only
        admin = Account.from_key(ADMIN_KEY).address
        for each, heard in (
            (brand, ["ledger.paused", "ledger.unpaused"]),
            (late, ["ledger.unpaused"]),
        ):
            feed = wait_for(partial(pause_events, each, len(heard)), what="the pause's events")
            assert [e["type"] for e in feed] == heard, feed
            assert {e["data"]["account"] for e in feed} == {admin}
        after = brand.api.post(PURCHASE, purchase(member), params={"wait": "true"})
        assert after.status_code == 200 and after.json()["status"] == "confirmed", after.text
        balances = brand.api.get(f"/v1/members/{member.address}").json()["balances"]
        assert [b["balance"] for b in balances] == [200]


def test_what_was_accepted_before_the_pause_waits_for_the_unpause(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """An earn batch and a single call, both sent before the pause and mined after it (they
    revert), then held by the sender while the ledger is paused: each goes once it is
    unpaused, and the earn is credited once. The unpause is sent straight to the chain (an
    operator's multisig, say): the held signers go once the index follows it, not at their
    safety poll, ten minutes here (it was their only wake-up: a session-34 note)."""
    anvil, manifest = own_chain
    w3 = anvil.web3()
    with Gateway(own_env | {"LEDGER_WAKE_SAFETY_POLL_S": "600"}) as gateway:
        brand = gateway.create_brand()
        member = Member()
        anvil.rpc("evm_setAutomine", False)
        try:
            admin = Account.from_key(ADMIN_KEY)
            # a tip far above the gateway's: the pause is mined first in the block
            pause = _pause_call(anvil, manifest, "pause") | {
                "maxFeePerGas": 5_000 * 10**9,
                "maxPriorityFeePerGas": 2_000 * 10**9,
                "nonce": w3.eth.get_transaction_count(admin.address, "pending"),
                "chainId": w3.eth.chain_id,
            }
            pause_hash = w3.eth.send_raw_transaction(admin.sign_transaction(pause).raw_transaction)
            earn = brand.api.post(PURCHASE, purchase(member))
            badge = brand.api.post("/v1/badges/types", {"kind": "achievement", "uri": "ipfs://b/2"})
            assert earn.status_code == 202 and badge.status_code == 202, (earn.text, badge.text)
            uids = [earn.json()["operation_id"], badge.json()["operation_id"]]

            def sent() -> list[str] | None:
                hashes = [brand.api.get(f"/v1/operations/{u}").json()["tx_hash"] for u in uids]
                return hashes if all(hashes) else None

            hashes = wait_for(sent, what="both operations sent before the pause is mined")
            anvil.rpc("evm_mine")
        finally:
            anvil.rpc("evm_setAutomine", True)
        assert w3.eth.get_transaction_receipt(pause_hash)["status"] == 1
        for tx_hash in hashes:  # the scenario: each was mined after the pause, and reverted
            assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 0

        def waiting() -> bool:
            views = [brand.api.get(f"/v1/operations/{u}").json() for u in uids]
            assert all(v["status"] != "failed" for v in views), views
            return all(
                v["status"] == "queued" and v.get("queued_reason") == "ledger_paused" for v in views
            )

        wait_for(waiting, what="both operations back in the queue, waiting for the unpause")
        wait_for(
            lambda: sum(s["held_by_pause"] for s in gateway.get_health()["sender"]) >= 2,
            what="the sender holding both while paused",
        )

        set_paused(anvil, manifest, False)
        finals = [brand.api.wait(u, timeout=180) for u in uids]
        assert [f["status"] for f in finals] == ["confirmed", "confirmed"], finals
        assert applied_op_ids(w3, manifest, brand.brand_id)[earn.json()["op_id"]] == 1
        balances = brand.api.get(f"/v1/members/{member.address}").json()["balances"]
        assert [b["balance"] for b in balances] == [100]
        assert badge.json()["operation_id"] == finals[1]["operation_id"]


def test_operations_held_by_the_pause_hold_back_nothing_the_chain_still_takes(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """A trial of a7b6093: 20 admin operations accepted after the pause was mined, before the
    gateway heard of it, filled the admin queue's 16 groups a turn plans; a suspension, a
    return window and an onboarding behind them waited for the unpause."""
    anvil, manifest = own_chain
    pauser = second_pauser(anvil, manifest)
    with (
        RefusingProxy(anvil.url, method="eth_getLogs") as proxy,
        Gateway({**own_env, "LEDGER_RPC_URL": proxy.url}) as gateway,
    ):
        brand, other = gateway.create_brand(), gateway.create_brand()
        proxy.refusing = "node busy"  # the indexer does not hear of the pause
        _send(
            anvil.web3(),
            pauser,
            _pause_call(anvil, manifest, "pause") | {"from": pauser.address},
        )
        uids = []
        for step in range(20):
            answer = gateway.admin.put(
                f"/v1/admin/brands/{brand.brand_id}/point-value",
                {"value_micro_usd": 10_000 + step},
            )
            assert answer.status_code == 202, answer.text
            uids.append(answer.json()["operation_id"])
        # all 20 held (it said 16: the groups one turn looked at)
        wait_for(lambda: held_by_pause(gateway) == 20, what="the 20 held by the pause")
        proxy.refusing = None
        followed_pause(gateway, True)

        confirmed_suspension(gateway, other.brand_id, True)
        late = gateway.create_brand()  # onboarding, funding and return window: confirmed
        assert [gateway.admin.get(f"/v1/operations/{u}").json()["status"] for u in uids] == [
            "queued"
        ] * 20

        send_pause(anvil, manifest, pauser, False, tip_wei=10**9)
        finals = [gateway.admin.wait(uid, timeout=120)["status"] for uid in uids]
        assert finals == ["confirmed"] * 20, finals
        assert held_by_pause(gateway) == 0
        listed = {b["brand_id"]: b for b in gateway.admin.get("/v1/admin/brands").json()}
        assert listed[brand.brand_id]["value_micro_usd"] == 10_019
        assert listed[late.brand_id]["status"] == "active"


def test_a_pause_lifted_in_the_block_that_reverted_an_operation_fails_nothing(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """A trial of a7b6093: a pause, an earn batch and a gift sent before it, and the unpause,
    mined in that order in one block. The settler replayed the reverted transactions at the
    head, unpaused by then, and spent their attempts: with one attempt allowed both failed
    `tx_reverted`. Now it asks whether the ledger was paused where each ran."""
    anvil, manifest = own_chain
    w3 = anvil.web3()
    pauser = second_pauser(anvil, manifest)
    env = {**own_env, "LEDGER_MAX_OP_ATTEMPTS": "1", "LEDGER_PRIORITY_FEE_WEI": str(100 * 10**9)}
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        alice, bob = Member(), Member()
        earn(brand, alice, 10_000)
        gift = signed_gift(brand, alice, bob.address, 10)
        anvil.rpc("evm_setAutomine", False)
        try:
            purchase_answer = brand.api.post(PURCHASE, purchase(bob))
            gift_answer = brand.api.post("/v1/gifts", gift)
            answers = [purchase_answer.json(), gift_answer.json()]
            uids = [answer["operation_id"] for answer in answers]

            def sent() -> list[str] | None:
                hashes = [brand.api.get(f"/v1/operations/{u}").json()["tx_hash"] for u in uids]
                return hashes if all(hashes) else None

            hashes = wait_for(sent, what="both transactions in the node's pool")
            # the pause's tip above the gateway's, the unpause's below: pause, ours, unpause
            pause = send_pause(anvil, manifest, pauser, True, tip_wei=2_000 * 10**9)
            unpause = send_pause(anvil, manifest, pauser, False, tip_wei=1)
            anvil.rpc("evm_mine")
        finally:
            anvil.rpc("evm_setAutomine", True)
        block = w3.eth.get_block("latest")
        order = ["0x" + bytes(h).hex() for h in block["transactions"]]
        assert [order.index(h) for h in (pause, *hashes, unpause)] == [0, 1, 2, 3], order
        for tx_hash in hashes:
            assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 0
        finals = [brand.api.wait(uid, timeout=120) for uid in uids]
        assert [f["status"] for f in finals] == ["confirmed", "confirmed"], finals
        assert applied_op_ids(w3, manifest, brand.brand_id)[answers[0]["op_id"]] == 1
        balances = brand.api.get(f"/v1/members/{bob.address}").json()["balances"]
        assert [b["balance"] for b in balances] == [110]


def test_the_admin_pauses_and_unpauses_through_the_gateway(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """`PUT /v1/admin/pause`: the operator's switch without a key of its own. The unpause runs
    on the admin's queue while the ledger is paused; asking for the state in force is 409."""
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        member = Member()
        admin = gateway.client(gateway.env["LEDGER_ADMIN_API_KEY"])
        paused = admin.set_paused(True, wait=30)
        assert (paused["kind"], paused["status"]) == ("set_pause", "confirmed"), paused
        assert paused["result"] == {"paused": True}
        ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]
        contract = anvil.web3().eth.contract(address=ledger["address"], abi=ledger["abi"])
        assert contract.functions.paused().call() is True
        followed_pause(gateway, True)
        refused = brand.api.post(PURCHASE, purchase(member))
        assert refused.status_code == 409, refused.text
        again = gateway.admin.put("/v1/admin/pause", {"paused": True})
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "ledger_paused"

        lift = {"paused": False}
        keyed = {"Idempotency-Key": "lift-1", "Prefer": "wait=30"}
        lifted = gateway.admin.put("/v1/admin/pause", lift, headers=keyed)
        assert lifted.status_code == 200 and lifted.json()["status"] == "confirmed", lifted.text
        assert lifted.json()["result"] == {"paused": False}
        assert contract.functions.paused().call() is False
        followed_pause(gateway, False)
        replay = gateway.admin.put("/v1/admin/pause", lift, headers=keyed)  # its first answer
        assert replay.json()["operation_id"] == lifted.json()["operation_id"], replay.text
        not_paused = gateway.admin.put("/v1/admin/pause", lift)
        assert not_paused.status_code == 409, not_paused.text
        assert not_paused.json()["error"]["code"] == "ledger_not_paused"
        after = brand.api.post(PURCHASE, purchase(member), params={"wait": "true"})
        assert after.status_code == 200 and after.json()["status"] == "confirmed", after.text
        forbidden = brand.api.put("/v1/admin/pause", {"paused": True})
        assert forbidden.status_code == 403, forbidden.text


def test_two_operators_pausing_at_once_both_confirm(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """A trial of dac4a12: two pauses asked at once (each checked against a running ledger)
    were both sent; the second reverted (`EnforcedPause()`) and failed `ledger_paused`. The
    state it asked for holds: it is confirmed, `already`. The same for two unpauses."""
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        for paused in (True, False):
            anvil.rpc("evm_setAutomine", False)
            try:
                answers = [
                    gateway.admin.put("/v1/admin/pause", {"paused": paused}) for _ in range(2)
                ]
                assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
                uids = [a.json()["operation_id"] for a in answers]

                def sent(uids: list[str] = uids) -> bool:
                    views = [gateway.admin.get(f"/v1/operations/{u}").json() for u in uids]
                    return all(v["tx_hash"] for v in views)

                wait_for(sent, what="both in the node's pool")
                anvil.rpc("evm_mine")
            finally:
                anvil.rpc("evm_setAutomine", True)
            finals = [gateway.admin.wait(uid) for uid in uids]
            assert [f["status"] for f in finals] == ["confirmed"] * 2, finals
            results = sorted((f["result"] for f in finals), key=len)
            assert results == [{"paused": paused}, {"paused": paused, "already": True}]
            followed_pause(gateway, paused)


def test_a_pause_is_queued_while_the_node_does_not_answer(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """A trial of dac4a12: the route read `paused()` from the node and answered 503 while the
    node was away, so an operator could not queue the pause during the node's incident. It
    now checks the state as the index last followed it, and the pause goes once it answers."""
    anvil, _ = own_chain
    with (
        RefusingProxy(anvil.url, method="eth_call") as proxy,
        Gateway({**own_env, "LEDGER_RPC_URL": proxy.url}) as gateway,
    ):
        proxy.refusing = "node unavailable"
        queued = gateway.admin.put("/v1/admin/pause", {"paused": True})
        assert queued.status_code == 202, queued.text
        assert proxy.refused >= 1  # the route did ask the node
        proxy.refusing = None
        final = gateway.admin.wait(queued.json()["operation_id"])
        assert final["status"] == "confirmed" and final["result"] == {"paused": True}, final


def test_a_request_flag_is_json_true_or_false_only(gateway: Gateway, brand: Brand) -> None:
    """A trial of dac4a12: `{"paused": "yes"}` (and "on", 1, "1", 1.0) paused the alliance: a
    lax bool. Every flag of a request body takes JSON's true and false only (422 otherwise)."""
    writes = [
        (gateway.admin.put, "/v1/admin/pause", "paused", {}),
        (gateway.admin.post, f"/v1/admin/brands/{brand.brand_id}/suspension", "suspended", {}),
        (brand.api.post, "/v1/keys/rotate", "keep_old", {}),
        (brand.api.post, "/v1/badges/types", "has_benefit", {"kind": "achievement", "uri": "u"}),
        (brand.api.post, "/v1/badges/types", "self_mint", {"kind": "achievement", "uri": "u"}),
    ]
    for send, path, flag, rest in writes:
        for loose in ("yes", "true", "on", 1, "1", 1.0, 0):
            answer = send(path, {**rest, flag: loose})
            assert answer.status_code == 422, (path, flag, loose, answer.text)
            assert answer.json()["error"]["code"] == "invalid_request", answer.text
    assert gateway.get_health()["ledger_paused"] is False
