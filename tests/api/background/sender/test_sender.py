"""The sender against a real anvil: batching, per-operation outcomes, and every way a nonce
goes wrong."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select, update
from support.chain import ADMIN_KEY, Anvil, applied_op_ids, deploy, start_anvil
from support.flows import earn, sent_once_copy
from support.gateway import Brand, Gateway, Member, gateway_env
from support.proxy import Proxy
from support.rpc_proxy import LateReceiptProxy, RefusingProxy
from web3 import Web3

from ledger_api.background.intake import Draft
from ledger_api.background.sender import BlockClock
from ledger_api.background.sender import schedule as schedule_module
from ledger_api.chain.signing import unlock_keystore
from ledger_api.db.keys import HELD
from ledger_api.db.models import Operation, Signer, TxSlot
from ledger_api.domain import OpKind
from ledger_api.domain.ids import BrandRowId
from ledger_api.model.payloads import EarnPayload, GiftPayload
from ledger_api.settings import Settings

ZERO_REF = "0x" + "00" * 32
REVERSALS = "/v1/earn/reversals"


def eventually(check: Callable[[], Any], timeout: float = 30, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"timed out waiting for {check}")
        time.sleep(0.05)


def signer_account(gateway: Gateway, brand: Brand) -> LocalAccount:
    with gateway.runtime.db.read() as session:
        keystore = session.scalar(select(Signer.keystore).where(Signer.address == brand.signer))
    assert keystore is not None
    return unlock_keystore(keystore, gateway.settings.passphrase())


def send_foreign(anvil: Anvil, account: LocalAccount, nonce: int) -> str:
    """A transaction of the brand's key that the gateway did not make."""
    w3 = anvil.web3()
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": w3.eth.chain_id,
            "nonce": nonce,
            "to": account.address,
            "value": 0,
            "gas": 21_000,
            "maxFeePerGas": 50 * 10**9,
            "maxPriorityFeePerGas": 2 * 10**9,
        }
    )
    return "0x" + bytes(w3.eth.send_raw_transaction(signed.raw_transaction)).hex()


def points_earned(anvil: Anvil, manifest: Path, brand_id: int, op_id: int) -> int:
    """How many times the chain credited `op_id` of the brand (a lone earn's `PointsEarned` or
    a record of a batch's `PointsEarnedBatch`)."""
    return applied_op_ids(anvil.web3(), manifest, brand_id)[op_id]


def status(brand: Brand, operation_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = brand.api.get(f"/v1/operations/{operation_id}").json()
    return answer


def post_earn(brand: Brand, member: Member, cents: int = 1_000) -> str:
    response = brand.api.post(
        "/v1/earn/purchase",
        {"member": member.address, "amount_cents": cents, "order_ref": f"o-{uuid.uuid4()}"},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["operation_id"])


def sent_unmined(anvil: Anvil, brand: Brand) -> tuple[str, dict[str, Any]]:
    """With the node's automine off, an earn accepted and sent (its transaction in the
    node's pool, not mined): its operation id and its status once it names the hash."""
    anvil.rpc("evm_setAutomine", False)
    operation = post_earn(brand, Member())
    submitted = eventually(lambda: status(brand, operation)["tx_hash"] and status(brand, operation))
    return operation, submitted


def earn_draft(gateway: Gateway, brand: Brand, member: str, cents: int, key: str) -> Draft:
    with gateway.runtime.db.read() as session:
        brand_row = session.scalar(select(Signer.brand_id).where(Signer.address == brand.signer))
    return Draft(
        scope=f"brand:{brand_row}",
        idempotency_key=key,
        request_hash=key,
        kind=OpKind.EARN,
        brand_row_id=BrandRowId(brand_row),
        payload=EarnPayload(
            member=member,
            earn_kind=0,
            multiplier_pct=100,
            amount_cents=cents,
            order_ref=ZERO_REF,
        ),
        member=member,
        beneficiary=member,
        points=0,
    )


# ------------------------------------------------------------------------------------ batching


def test_an_operation_failing_inside_a_batch_fails_alone(gateway: Gateway, brand: Brand) -> None:
    members = [Member().address for _ in range(5)]
    drafts = [earn_draft(gateway, brand, m, 1_000, f"good-{i}") for i, m in enumerate(members)]
    drafts.insert(
        2, earn_draft(gateway, brand, members[0], 10**12 + 1, "too-big")
    )  # the ledger skips it
    accepted = gateway.runtime.intake.store(drafts)
    gateway.runtime.wake_sender({drafts[0].brand_row_id})
    finals = [brand.api.wait(a.operation_uid) for a in accepted]
    bad = finals.pop(2)
    assert bad["status"] == "failed"
    assert bad["error"]["code"] == "invalid_amount"
    assert {f["status"] for f in finals} == {"confirmed"}
    assert {f["tx_hash"] for f in finals} == {bad["tx_hash"]}  # one earnBatch carried all six


def test_a_failed_purchase_gives_its_order_back_to_a_later_one(
    gateway: Gateway, brand: Brand
) -> None:
    """A failure gives the order back (`Operation.keys_released_at`): the unique index of
    orders has no status in its condition since issue 15's indexes."""
    member = Member().address
    ref = "0x" + "5e" * 32
    good = earn_draft(gateway, brand, member, 1_000, "order-good")
    too_big = replace(
        earn_draft(gateway, brand, member, 10**12 + 1, "order-too-big"),
        order_ref=ref,
        payload=good.payload.model_copy(update={"amount_cents": 10**12 + 1, "order_ref": ref}),
    )
    (failed,) = gateway.runtime.intake.store([too_big])
    gateway.runtime.wake_sender({too_big.brand_row_id})
    assert brand.api.wait(failed.operation_uid)["status"] == "failed"
    again = replace(good, order_ref=ref, payload=good.payload.model_copy(update={"order_ref": ref}))
    (accepted,) = gateway.runtime.intake.store([again])
    assert accepted.status_code == 202 and accepted.operation_uid != failed.operation_uid
    # with the failed earn's op id: the ledger applies at most one of the two (migration 0020)
    assert accepted.body["op_id"] == failed.body["op_id"]
    gateway.runtime.wake_sender({again.brand_row_id})
    assert brand.api.wait(accepted.operation_uid)["status"] == "confirmed"
    with gateway.runtime.db.read() as session:
        rows = session.execute(
            select(Operation.uid, Operation.status, Operation.order_ref, HELD).where(
                Operation.uid.in_([failed.operation_uid, accepted.operation_uid])
            )
        ).all()
    assert {tuple(r) for r in rows} == {
        (failed.operation_uid, "failed", ref, False),
        (accepted.operation_uid, "confirmed", ref, True),
    }


def test_a_member_signed_operation_the_ledger_would_refuse_fails_without_a_transaction(
    gateway: Gateway, brand: Brand
) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    with gateway.runtime.db.read() as session:
        brand_row = session.scalar(select(Signer.brand_id).where(Signer.address == brand.signer))
        slots_before = len(session.scalars(select(TxSlot.id)).all())
    payload = {
        "member": alice.address,
        "to": Member().address,
        "brand": brand.brand_id,
        "amount": 5,
        "nonce": 0,
        "deadline": 2**40,
        "signature": "0x" + "11" * 65,
    }
    draft = Draft(
        scope=f"brand:{brand_row}",
        idempotency_key="forged",
        request_hash="forged",
        kind=OpKind.GIFT,
        brand_row_id=BrandRowId(brand_row),
        payload=GiftPayload.model_validate(payload),
        member=alice.address,
        member_nonce=0,
    )
    (accepted,) = gateway.runtime.intake.store([draft])
    gateway.runtime.wake_sender({BrandRowId(brand_row)})
    final = brand.api.wait(accepted.operation_uid)
    assert final["status"] == "failed"
    assert final["error"]["code"] == "invalid_signature"
    assert final["tx_hash"] is None
    with gateway.runtime.db.read() as session:
        assert len(session.scalars(select(TxSlot.id)).all()) == slots_before
    # the failure gave its nonce back (`Operation.keys_released_at`): signed again, it is
    # accepted (and fails again, for its signature), never refused as a replay
    (again,) = gateway.runtime.intake.store(
        [replace(draft, idempotency_key="forged-again", request_hash="forged-again")]
    )
    assert again.status_code == 202, again.body
    gateway.runtime.wake_sender({BrandRowId(brand_row)})
    assert brand.api.wait(again.operation_uid)["error"]["code"] == "invalid_signature"
    with gateway.runtime.db.read() as session:
        held = session.execute(
            select(Operation.member_nonce, HELD).where(
                Operation.uid.in_([accepted.operation_uid, again.operation_uid])
            )
        ).all()
    assert [tuple(r) for r in held] == [(0, False), (0, False)]


# --------------------------------------------------------------------------------- the node


def test_signed_transactions_the_node_forgot_are_sent_again_after_a_restart(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        operation, submitted = sent_unmined(anvil, brand)
        anvil.rpc("anvil_dropAllTransactions")
        assert anvil.rpc("eth_getTransactionByHash", submitted["tx_hash"]) is None
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        eventually(
            lambda: anvil.rpc("eth_getTransactionByHash", submitted["tx_hash"]),
            message="not re-sent",
        )
        anvil.rpc("evm_setAutomine", True)
        anvil.rpc("evm_mine")
        final = brand.api.wait(operation)
    assert final["status"] == "confirmed"
    assert final["tx_hash"] == submitted["tx_hash"]  # the same signed bytes, the same nonce
    assert points_earned(anvil, manifest, brand.brand_id, final["op_id"]) == 1


def test_a_transaction_dropped_from_the_mempool_is_sent_again_without_a_restart(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        operation, submitted = sent_unmined(anvil, brand)
        anvil.rpc("anvil_dropAllTransactions")
        eventually(lambda: anvil.rpc("eth_getTransactionByHash", submitted["tx_hash"]), timeout=20)
        anvil.rpc("evm_setAutomine", True)
        anvil.rpc("evm_mine")
        final = brand.api.wait(operation)
    assert final["status"] == "confirmed" and final["tx_hash"] == submitted["tx_hash"]
    assert points_earned(anvil, manifest, brand.brand_id, final["op_id"]) == 1


def test_operations_queue_while_the_node_is_unreachable_and_land_when_it_is_back(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    proxy = Proxy(anvil.port)
    try:
        with Gateway({**own_env, "LEDGER_RPC_URL": proxy.url}) as gateway:
            brand = gateway.create_brand()
            proxy.down()
            operations = [post_earn(brand, Member()) for _ in range(5)]
            time.sleep(1.5)
            assert {status(brand, op)["status"] for op in operations} <= {"queued", "submitted"}
            assert gateway.get_health()["status"] == "degraded"
            proxy.up()
            finals = [brand.api.wait(op, timeout=60) for op in operations]
    finally:
        proxy.close()
    assert {f["status"] for f in finals} == {"confirmed"}
    for final in finals:
        assert points_earned(anvil, manifest, brand.brand_id, final["op_id"]) == 1


# -------------------------------------------------------------------------------- the nonces


def test_a_nonce_taken_by_a_foreign_transaction_requeues_its_operations(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        account = signer_account(gateway, brand)
        operation, submitted = sent_unmined(anvil, brand)
        nonce = anvil.web3().eth.get_transaction_count(account.address, "latest")
        anvil.rpc("anvil_dropAllTransactions")
        send_foreign(anvil, account, nonce)
        anvil.rpc("evm_mine")
        anvil.rpc("evm_setAutomine", True)
        final = brand.api.wait(operation, timeout=60)
        with gateway.runtime.db.read() as session:
            superseded = session.scalars(select(TxSlot).where(TxSlot.status == "superseded")).all()
            next_nonce = session.scalar(
                select(Signer.next_nonce).where(Signer.address == account.address)
            )
    assert final["status"] == "confirmed"
    assert final["tx_hash"] != submitted["tx_hash"]
    assert [s.nonce for s in superseded] == [nonce]
    assert points_earned(anvil, manifest, brand.brand_id, final["op_id"]) == 1
    assert next_nonce == anvil.web3().eth.get_transaction_count(account.address, "latest")


def test_our_mined_transaction_whose_receipt_comes_late_is_not_taken_for_a_strangers(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A node may count a nonce as used a moment before it serves the receipt of the block
    that used it (anvil did, under load: a test read the new nonce and no receipt). A
    restarted signer then took its own mined transaction for a stranger's and queued its
    operations again (an earn found applied; any other kind would have been sent twice).
    An absent receipt is now asked again before the nonce counts as a stranger's."""
    anvil, manifest = own_chain
    with LateReceiptProxy(anvil.url) as proxy:
        env = {**own_env, "LEDGER_RPC_URL": proxy.url}
        with Gateway(env) as gateway:
            brand = gateway.create_brand()
            operation, submitted = sent_unmined(anvil, brand)
        # stopped with the transaction sent; mined while no signer runs, its receipt late
        # withheld from the reconciliation's batch of receipts and its first ask again: the
        # lag's wait is what finds it
        proxy.withholding[submitted["tx_hash"].lower()] = 2
        anvil.rpc("evm_mine")
        anvil.rpc("evm_setAutomine", True)
        with Gateway(env) as gateway:
            brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
            final = brand.api.wait(operation, timeout=60)
            with gateway.runtime.db.read() as session:
                superseded = session.scalars(
                    select(TxSlot).where(TxSlot.status == "superseded")
                ).all()
    assert proxy.withheld == 2  # the late receipt was asked for, and again
    assert superseded == []
    assert final["status"] == "confirmed" and final["tx_hash"] == submitted["tx_hash"], final
    assert points_earned(anvil, manifest, brand.brand_id, final["op_id"]) == 1


def test_an_earn_a_strangers_transaction_applied_is_confirmed_and_indexed(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The brand's key (held elsewhere too) sends the gateway's own calldata in a transaction
    of its own at the slot's nonce: the nonce is a stranger's, the earn applied. It is
    confirmed `applied_earlier`, with no receipt of ours to name its block, and its status
    read `indexed: false` for good (a wait for it never ended). It now names the transaction
    that applied it and its block, and is indexed once the index reaches it."""
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        account = signer_account(gateway, brand)
        operation, submitted = sent_unmined(anvil, brand)
        ours = anvil.rpc("eth_getTransactionByHash", submitted["tx_hash"])
        anvil.rpc("anvil_dropAllTransactions")
        w3 = anvil.web3()
        theirs = account.sign_transaction(
            {
                "type": 2,
                "chainId": w3.eth.chain_id,
                "nonce": int(ours["nonce"], 16),
                "to": Web3.to_checksum_address(ours["to"]),
                "data": ours["input"],
                "value": 0,
                "gas": int(ours["gas"], 16),
                "maxFeePerGas": 60 * 10**9,  # another fee: another transaction
                "maxPriorityFeePerGas": 3 * 10**9,
            }
        )
        w3.eth.send_raw_transaction(theirs.raw_transaction)
        anvil.rpc("evm_mine")
        anvil.rpc("evm_setAutomine", True)
        final = brand.api.wait(operation, timeout=60)  # confirmed *and* indexed
    assert final["status"] == "confirmed" and final["indexed"], final
    assert final["result"]["applied_earlier"] is True, final
    # ours never landed: the transaction that applied it is the stranger's
    mined = w3.eth.get_transaction_receipt(theirs.hash)
    assert final["tx_hash"] == mined["transactionHash"].to_0x_hex(), final
    assert final["result"]["applied_by_block"] == final["block_number"] == mined["blockNumber"]
    assert points_earned(anvil, manifest, brand.brand_id, final["op_id"]) == 1


def test_a_chain_nonce_ahead_of_the_database_is_adopted_on_restart(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        account = signer_account(gateway, brand)
    w3 = anvil.web3()
    for _ in range(2):  # anvil may answer the send before it mines: wait for each receipt
        sent = send_foreign(anvil, account, w3.eth.get_transaction_count(account.address))
        w3.eth.wait_for_transaction_receipt(sent, timeout=30)
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        final = earn(brand, Member(), 1_000)
        with gateway.runtime.db.read() as session:
            next_nonce = session.scalar(
                select(Signer.next_nonce).where(Signer.address == account.address)
            )
            superseded = session.scalars(select(TxSlot).where(TxSlot.status == "superseded")).all()
    assert final["status"] == "confirmed"
    assert superseded == []
    assert next_nonce == w3.eth.get_transaction_count(account.address)


def test_a_nonce_the_database_skipped_is_filled_so_no_gap_remains(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        earn(brand, Member(), 1_000)
        with gateway.runtime.db.write() as session:
            session.execute(
                update(Signer)
                .where(Signer.address == brand.signer)
                .values(next_nonce=Signer.next_nonce + 2)
            )
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        final = earn(brand, Member(), 1_000)
        with gateway.runtime.db.read() as session:
            next_nonce = session.scalar(
                select(Signer.next_nonce).where(Signer.address == brand.signer)
            )
            fillers = session.scalars(select(TxSlot).where(TxSlot.kind == "cancel")).all()
    assert final["status"] == "confirmed"
    assert len(fillers) == 2 and {s.status for s in fillers} == {"confirmed"}
    w3 = anvil.web3()
    assert (
        next_nonce
        == w3.eth.get_transaction_count(w3.to_checksum_address(brand.signer), "latest")
        == w3.eth.get_transaction_count(w3.to_checksum_address(brand.signer), "pending")
    )


def test_an_earn_the_chain_already_applied_is_confirmed_not_sent_under_a_new_id(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    alice = Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        first = earn(brand, alice, 1_000)
        # The database forgets the confirmation (restored from an older backup, say).
        with gateway.runtime.db.write() as session:
            session.execute(
                update(Operation)
                .where(Operation.uid == first["operation_id"])
                .values(status="queued", slot_id=None)
            )
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        gateway.runtime.wake_sender({None})
        final = brand.api.wait(first["operation_id"])
        balance = brand.api.get(f"/v1/members/{alice.address}").json()["balances"][0]["balance"]
    assert final["status"] == "confirmed"
    assert final["op_id"] == first["op_id"]
    assert final["result"] == {  # with what it produced (a trial's read no points)
        "applied_earlier": True,
        "applied_by_block": first["block_number"],
        **first["result"],
    }
    # the transaction that applied it, not the resend that found its op id used
    assert (final["tx_hash"], final["block_number"]) == (first["tx_hash"], first["block_number"])
    assert points_earned(anvil, manifest, brand.brand_id, first["op_id"]) == 1
    assert balance == 100


def test_an_earn_whose_op_id_its_orders_confirmed_earn_applied_fails_not_confirmed_too(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """Two earns of one order share an op id (a retry of a failed one, `intake`). When the
    ledger marks it used on a later attempt of one while the other is confirmed, the other
    applied it: this one fails (`operation_used`) instead of reading `applied_earlier`, so the
    gateway never shows one order credited twice."""
    anvil, manifest = own_chain
    alice = Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        first = earn(brand, alice, 1_000)
        # the retry, sent once already in a transaction the gateway could not follow: as a
        # forgotten block leaves it once the first one applied after all
        retry = sent_once_copy(gateway, first["operation_id"], first["op_id"])
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        gateway.runtime.wake_sender({None})
        final = brand.api.wait(retry)
    error = final["error"] or {}
    assert (final["status"], error.get("code")) == ("failed", "operation_used"), final
    assert first["operation_id"] in error["message"], final
    assert points_earned(anvil, manifest, brand.brand_id, first["op_id"]) == 1


# ------------------------------------------------------------------------- confirmations


def test_operations_confirm_only_at_the_configured_depth(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    with Gateway({**own_env, "LEDGER_CONFIRMATIONS": "2"}) as gateway:
        for _ in range(3):
            anvil.rpc("evm_mine")
        brand_response = gateway.admin.post("/v1/admin/brands", {"name": "Deep", "symbol": "DEEP"})
        onboarding = brand_response.json()["operation_id"]
        for _ in range(12):  # funding and onboarding need blocks on top of them
            time.sleep(0.2)
            anvil.rpc("evm_mine")
        assert gateway.admin.wait(onboarding)["status"] == "confirmed"
        brand = Brand(
            0, brand_response.json()["api_key"], gateway.api(brand_response.json()["api_key"]), ""
        )
        operation = post_earn(brand, Member())
        mined = eventually(lambda: status(brand, operation)["tx_hash"] and status(brand, operation))
        time.sleep(0.5)
        assert status(brand, operation)["status"] == "submitted"  # in a block, not deep enough
        anvil.rpc("evm_mine")
        time.sleep(0.3)
        assert status(brand, operation)["status"] == "submitted"
        anvil.rpc("evm_mine")
        final = brand.api.wait(operation)
    assert final["status"] == "confirmed" and final["tx_hash"] == mined["tx_hash"]


def test_a_transaction_reorged_out_before_its_depth_is_sent_again_once(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
    with Gateway({**own_env, "LEDGER_CONFIRMATIONS": "3"}) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        snapshot = anvil.rpc("evm_snapshot")
        operation = post_earn(brand, Member())
        eventually(lambda: status(brand, operation)["tx_hash"])
        time.sleep(0.5)  # mined (automine), waiting for depth
        anvil.rpc("evm_revert", snapshot)  # the block is gone
        for _ in range(8):
            time.sleep(0.3)
            anvil.rpc("evm_mine")
        final = brand.api.wait(operation, timeout=60)
    assert final["status"] == "confirmed"
    assert points_earned(anvil, manifest, brand.brand_id, final["op_id"]) == 1


def _set_daily_cap(anvil: Anvil, manifest: Path, brand_id: int, cap: int) -> None:
    """The admin sets the brand's daily mint cap on chain from its own key, with a tip that
    puts it ahead of the gateway's transactions in the next block (not sent by the gateway:
    a chain that forgets its block forgets it)."""
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]
    w3 = anvil.web3()
    admin = Account.from_key(ADMIN_KEY)
    contract = w3.eth.contract(address=ledger["address"], abi=ledger["abi"])
    tx = contract.functions.setDailyMintCap(brand_id, cap).build_transaction(
        {
            "from": admin.address,
            "gas": 1_000_000,
            "nonce": w3.eth.get_transaction_count(admin.address, "pending"),
            "maxFeePerGas": 10**12,
            "maxPriorityFeePerGas": 10**11,
        }
    )
    w3.eth.send_raw_transaction(admin.sign_transaction(tx).raw_transaction)


def _pending(brand: Brand, member: Member) -> int:
    """The member's pending points of the brand, as the gateway's index has them."""
    (balance,) = brand.api.get(f"/v1/members/{member.address}").json()["balances"]
    return int(balance["pending"])


def test_a_retried_order_is_credited_once_when_the_chain_forgets_its_failure(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A purchase failed on chain (the admin lowered the brand's daily cap in its block), the
    brand sent the order again and it was credited; then the chain forgot both blocks. Both
    signed transactions went out again and, the low cap gone with its block, both applied:
    the order credited twice. A retry of an order now carries the failed earn's op id, so the
    ledger applies one of them; the one it applies holds the order (a return finds it).

    The order was returned before the chain forgot it, against the retry; that return goes out
    again and applies to the first earn's points. A trial found that a second return of the
    order was then accepted (the first counted against the retry's row only) and took the
    points of the member's other order: the order's returns count whichever earn they name."""
    anvil, manifest = own_chain
    member, order = Member(), f"o-{uuid.uuid4()}"
    purchase = {"member": member.address, "amount_cents": 2_500, "order_ref": order}
    with Gateway({**own_env, "LEDGER_CHAIN_CHECK_IDLE_S": "1"}) as gateway:
        brand = gateway.create_brand(return_window_days=14)
        other = {"member": member.address, "amount_cents": 4_000, "order_ref": f"o-{uuid.uuid4()}"}
        kept = brand.api.wait(brand.api.post("/v1/earn/purchase", other).json()["operation_id"])
        assert kept["status"] == "confirmed", kept
        kept_pending = _pending(brand, member)
        snapshot = anvil.rpc("evm_snapshot")
        anvil.rpc("evm_setAutomine", False)
        try:
            first = brand.api.post("/v1/earn/purchase", purchase).json()["operation_id"]
            eventually(lambda: status(brand, first)["status"] == "submitted", timeout=60)
            _set_daily_cap(anvil, manifest, brand.brand_id, 1)
            anvil.rpc("evm_mine")
        finally:
            anvil.rpc("evm_setAutomine", True)
        failed = brand.api.wait(first)
        assert (failed["status"], failed["error"]["code"]) == ("failed", "daily_cap_exceeded")
        _set_daily_cap(anvil, manifest, brand.brand_id, 100_000_000)

        def sent_again() -> str | None:  # refused while the gateway has not indexed the cap yet
            answer = brand.api.post("/v1/earn/purchase", purchase)
            assert answer.status_code in (202, 409), answer.text
            return str(answer.json()["operation_id"]) if answer.status_code == 202 else None

        retry = eventually(sent_again, timeout=60, message="the retry was never accepted")
        credited = brand.api.wait(retry)
        assert credited["status"] == "confirmed", credited
        answer = brand.api.post(REVERSALS, {"order_ref": order})
        assert answer.status_code == 202, answer.text
        returned = answer.json()["operation_id"]
        assert brand.api.wait(returned)["status"] == "confirmed"

        anvil.rpc("evm_revert", snapshot)  # forgets the cap changes, the failure, the credit
        # and the return
        anvil.rpc("evm_mine")
        anvil.rpc("evm_mine")
        w3 = anvil.web3()
        # the failed earn applies this time: the case where both could credit the order
        eventually(
            lambda: status(brand, first)["status"] == "confirmed",
            timeout=120,
            message="the failed earn was not sent again",
        )

        def retry_settled() -> dict[str, Any] | None:
            with contextlib.suppress(Exception):
                w3.eth.get_transaction_receipt(credited["tx_hash"])  # mined again
                state = status(brand, retry)
                return state if state["status"] in ("confirmed", "failed") else None
            return None

        again = eventually(retry_settled, timeout=120, message="the retry was not sent again")
        assert brand.api.wait(returned, timeout=120)["status"] == "confirmed"
        second_return = brand.api.post(REVERSALS, {"order_ref": order})
        pending = _pending(brand, member)
        with gateway.runtime.db.read() as session:
            held = dict(
                session.execute(
                    select(Operation.uid, HELD).where(Operation.uid.in_([first, retry]))
                ).all()
            )
    earned = applied_op_ids(w3, manifest, brand.brand_id)
    assert sum(earned[op_id] for op_id in {failed["op_id"], credited["op_id"]}) == 1, earned
    assert credited["op_id"] == failed["op_id"]
    assert (again["status"], again["error"]["code"]) == ("failed", "operation_used"), again
    assert first in again["error"]["message"] and "credited once" in again["error"]["message"]
    assert held == {first: True, retry: False}
    assert second_return.status_code == 409, second_return.text
    assert second_return.json()["error"]["code"] == "reversal_exceeds_order"
    assert pending == kept_pending > 0  # the other order's points; the returned one's gone


def test_an_idle_signer_whose_block_left_the_chain_sends_again_without_the_indexer(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """Idle signers sleep until woken; the supervisor checks every idle signer's newest
    block at once (issue 15). No indexer here, so nothing else notices the block is gone."""
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
    quick = {"LEDGER_CHAIN_CHECK_IDLE_S": "1", "LEDGER_WAKE_SAFETY_POLL_S": "0.5"}
    with Gateway({**own_env, **quick}) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        snapshot = anvil.rpc("evm_snapshot")
        operation = post_earn(brand, Member())
        first = brand.api.wait(operation, timeout=60)
        assert first["status"] == "confirmed"
        indexer = gateway.runtime.indexer
        assert indexer is not None
        indexer.stop()  # it would see its last block go and make every signer check
        indexer.join(timeout=30)
        sender = gateway.runtime.sender
        assert sender is not None and sender.wakeable
        eventually(lambda: all(w.idle for w in sender.workers.values()), message="never idle")
        anvil.rpc("evm_revert", snapshot)  # the block is gone, and the signer sleeps
        anvil.rpc("evm_mine")
        anvil.rpc("evm_mine")
        again = eventually(
            lambda: (
                (s := status(brand, operation))["status"] == "confirmed"
                and s["block_number"] != first["block_number"]
                and s
            ),
            timeout=60,
            message="the operation was not sent again",
        )
    assert anvil.web3().eth.get_transaction_receipt(again["tx_hash"])["status"] == 1
    assert points_earned(anvil, manifest, brand.brand_id, first["op_id"]) == 1


# ------------------------------------------------------------------------- block pace


def test_the_block_clock_predicts_a_steady_chain_and_refuses_an_irregular_one() -> None:
    clock = BlockClock()
    # blocks sealed every 0.1 s at t = n * 0.1, each sighted 0 to 9 ms late
    for number, late in zip(
        range(10, 18), (0.004, 0.009, 0.0, 0.006, 0.002, 0.008, 0.001, 0.005), strict=False
    ):
        clock.observe(number, number * 0.1 + late)
    due = clock.next_due(1.73)
    assert due is not None
    number, at, interval = due
    assert number == 18 and abs(interval - 0.1) < 0.003 and abs(at - 1.8) < 0.004

    on_demand = BlockClock()  # a chain mining per transaction: blocks come when they come
    for number, at in enumerate((0.0, 0.05, 0.4, 0.45, 1.3, 1.31, 2.0)):
        on_demand.observe(number, at)
    assert on_demand.next_due(2.1) is None
    assert BlockClock().next_due(0.0) is None  # nothing sighted yet


def test_a_burst_then_one_idle_gap_is_no_block_pace_and_a_silent_chain_has_no_block_due() -> None:
    """A trial (two databases sending at once, on anvil's automine): a signer's earns waited
    230 s with no block coming. Sightings of a burst (30 ms a block) then one block 31 s later
    read as a steady pace: the median gap was taken for steadiness, the window's average (2 s)
    for the pace, within the alignment's range; and blocks were counted on over the silence."""
    burst = BlockClock()
    at = 0.0
    for number in range(100, 115):
        burst.observe(number, at)
        at += 0.03
    burst.observe(116, at + 31.0)
    due = burst.next_due(at + 31.2)
    assert due is None or not (0.5 <= due[2] <= 2.0), due

    steady = BlockClock()  # 1 s blocks, then the chain falls silent
    for number in range(8):
        steady.observe(number, float(number))
    assert steady.next_due(7.5) is not None
    assert steady.next_due(9.5) is None  # two intervals without a block: none is due


class _HeadOnly:
    """A chain whose head the test moves (the scheduler reads nothing else of it)."""

    def __init__(self) -> None:
        self.head = 0

    def block_number(self) -> int:
        return self.head


class _OneQueued:
    """A queue holding `queued` operations (the scheduler's view of `SlotStore`)."""

    def __init__(self) -> None:
        self.queued = 0

    def queued_count(self, limit: int, kinds: Any = None) -> int:
        return self.queued

    def next_groups(self, room: int, batch_max_ops: int, kinds: Any = None) -> list[list[str]]:
        return [["op"]] if self.queued else []


def test_a_queued_operation_on_a_silent_on_demand_chain_goes_within_a_block_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same trial's stall, on the real `Scheduler` and `BlockClock` with a clock the test
    moves: the signer booked as batched a block number counted on over a silence, far ahead of
    the chain's head, and lingered (a wait no new operation cuts short) until the count caught
    up. Now a queued operation goes within `block_align_max_interval_s`, the head unmoved."""
    now = [1_000.0]
    monkeypatch.setattr(schedule_module.time, "monotonic", lambda: now[0])
    settings = Settings.model_construct()
    chain, queue = _HeadOnly(), _OneQueued()
    scheduler = schedule_module.Scheduler(settings, queue)  # type: ignore[arg-type]

    def wait_to_send(limit_s: float = 600.0) -> float:
        start = now[0]
        while now[0] - start < limit_s:
            groups, linger = scheduler.plan(chain, 16)  # type: ignore[arg-type]
            if groups:
                return now[0] - start
            now[0] += max(linger, settings.poll_interval_s)
        return float("inf")

    queue.queued = 1
    for _ in range(20):  # another sender's load: a block a second
        chain.head += 1
        now[0] += 1.0
        scheduler.plan(chain, 16)  # type: ignore[arg-type]
    for _ in range(45):  # nothing mines; this signer's transactions never do (superseded)
        wait_to_send()
        now[0] += 2.0
    for _ in range(40):  # its own burst: a block per transaction, 30 ms apart
        now[0] += 0.03
        scheduler.plan(chain, 16)  # type: ignore[arg-type]
        chain.head += 1
        now[0] += 0.001
        scheduler.observe_block(chain, now[0])  # type: ignore[arg-type]
    queue.queued = 0
    now[0] += 31.0  # idle; one block of another signer; then an earn is queued
    chain.head += 1
    now[0] += 0.2
    queue.queued = 1
    waited = wait_to_send()
    assert waited <= settings.block_align_max_interval_s, f"waited {waited:.1f} s"


def trickle(brand: Brand, count: int) -> list[dict[str, Any]]:
    """`count` earns, one every 20 ms, then their final statuses."""
    operations = []
    for _ in range(count):
        operations.append(post_earn(brand, Member()))
        time.sleep(0.02)
    return [brand.api.wait(op) for op in operations]


@contextlib.contextmanager
def paced_gateway(tmp_path: Path, block_time: str, **settings: str) -> Iterator[Gateway]:
    """A gateway on a fresh chain that seals a block every `block_time` seconds."""
    node = start_anvil(extra=["--block-time", block_time])
    try:
        manifest = tmp_path / "deployment.json"
        deploy(node, manifest)
        env = gateway_env(
            rpc_url=node.url,
            manifest=manifest,
            database_url=f"sqlite:///{tmp_path / 'paced.db'}",
            admin_api_key="admin-" + "p" * 32,
            **settings,
        )
        with Gateway(env) as gateway:
            yield gateway
    finally:
        node.stop()


def test_on_a_chain_with_a_steady_pace_one_batch_goes_per_block(tmp_path: Path) -> None:
    # the default leaves 0.2 s to the linger
    with paced_gateway(tmp_path, "0.2", LEDGER_BLOCK_ALIGN_MIN_INTERVAL_S="0.1") as gateway:
        brand = gateway.create_brand()
        # The sender learns the pace from the blocks it sees while busy: a first trickle.
        trickle(brand, 60)
        finals = trickle(brand, 60)  # then a trickle over about 1.2 s: 6 blocks
    assert {f["status"] for f in finals} == {"confirmed"}
    transactions = {f["tx_hash"] for f in finals}
    blocks = {f["block_number"] for f in finals}
    # Lingering 50 ms between transactions takes about 30 transactions over about 10 blocks;
    # one per block is the aim, and a batch sent late (a busy machine) lands in the next block
    # beside that block's own batch.
    assert len(transactions) <= len(blocks) * 3 // 2 + 2, (len(transactions), len(blocks))


def _sender_writes(gateway: Gateway) -> float:
    """Write transactions of the signers so far."""
    return gateway.writer_turns("sender")


def test_a_transaction_mined_in_its_block_costs_the_signer_two_write_transactions(
    tmp_path: Path,
) -> None:
    """Issue 15: every write of the signer waits its turn at SQLite's one writer lock. A
    transaction is stored before it is broadcast and settled once mined; one mined within a
    few blocks costs no write of its own in between (it was three: `pending` besides)."""
    with paced_gateway(tmp_path, "0.3") as gateway:
        brand = gateway.create_brand()
        brand.api.wait(post_earn(brand, Member()))  # its signer started (and reconciled)
        before = _sender_writes(gateway)
        finals = [brand.api.wait(post_earn(brand, Member())) for _ in range(4)]
        writes = _sender_writes(gateway) - before
        with gateway.runtime.db.read() as session:
            # a slot still out after 2 s (a stalled machine) is recorded as pending: a write
            recorded = session.scalar(
                select(func.count())
                .select_from(TxSlot)
                .where(
                    TxSlot.mined_tx_hash.in_([f["tx_hash"] for f in finals]),
                    TxSlot.last_broadcast_at.is_not(None),
                )
            )
    assert {f["status"] for f in finals} == {"confirmed"}
    transactions = len({f["tx_hash"] for f in finals})
    assert transactions == 4  # one at a time: each its own transaction, out for a block
    assert writes == 2 * transactions + recorded, (writes, transactions, recorded)
    assert recorded < transactions  # every slot was recorded pending before the change


def earns_sent_at_once(brand: Brand, count: int) -> tuple[list[str], list[str]]:
    """`count` purchases queued in one request (one intake write); their operation ids and,
    once the signer has signed them all, each one's transaction hash."""
    items = [
        {"type": "purchase", "key": f"k{i}", "member": Member().address}
        | {"amount_cents": 1_000, "order_ref": f"o-{uuid.uuid4()}"}
        for i in range(count)
    ]
    answer = brand.api.post("/v1/earn/batch", {"items": items})
    assert answer.status_code == 202, answer.text
    operations = [item["operation_id"] for item in answer.json()["items"]]
    sent = eventually(
        lambda: (
            hashes if all(hashes := [status(brand, op)["tx_hash"] for op in operations]) else None
        ),
        message="not every operation was sent",
    )
    return operations, sent


def test_transactions_sent_in_one_cycle_cost_one_write_and_settle_in_one_more(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """Issue 15: each write waits its turn at SQLite's one writer lock. The transactions one
    cycle of a signer sends are stored in one write transaction, and those a cycle finds
    mined settle together in one more, where each took two of its own."""
    anvil, _ = own_chain
    # no fee bump while the test holds the block back on a slow machine
    settings = {**own_env, "LEDGER_BATCH_MAX_OPS": "2", "LEDGER_STUCK_AFTER_S": "120"}
    with Gateway(settings) as gateway:
        brand = gateway.create_brand()
        brand.api.wait(post_earn(brand, Member()))  # its signer started (and reconciled)
        anvil.rpc("evm_setAutomine", False)
        before = _sender_writes(gateway)
        operations, sent = earns_sent_at_once(brand, 6)
        transactions = len(set(sent))
        eventually(
            lambda: int(anvil.rpc("txpool_status")["pending"], 16) == transactions,
            message="the transactions are not all in the node's pool",
        )
        anvil.rpc("evm_mine")  # all of them in one block
        anvil.rpc("evm_setAutomine", True)
        finals = [brand.api.wait(op) for op in operations]
        writes = _sender_writes(gateway) - before
        with gateway.runtime.db.read() as session:
            # a slot still out after 2 s (a stalled machine) is recorded as pending: a write
            recorded = session.scalar(
                select(func.count())
                .select_from(TxSlot)
                .where(TxSlot.mined_tx_hash.in_(sent), TxSlot.last_broadcast_at.is_not(None))
            )
    assert {f["status"] for f in finals} == {"confirmed"}
    assert len({f["block_number"] for f in finals}) == 1
    assert transactions == 3  # two operations a transaction, all queued at once
    # all stored (before their broadcasts) in one write, then one settlement for all
    assert writes == 2 + recorded, (writes, transactions, recorded)


def test_a_mined_transaction_settles_while_a_later_one_cannot_be_sent(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The node lost a signer's later transaction and refuses to take it again (no gas
    money: the worker stalls on it); the earlier one, mined, still settles, and the later
    one lands once the node takes it. (Each cycle settles what it found mined before it
    follows the rest; with the other order, the reconciliation after each stall still let
    every other cycle through, so this passes both ways.)"""
    anvil, _ = own_chain
    with RefusingProxy(anvil.url) as proxy:
        settings = {
            **own_env,
            "LEDGER_RPC_URL": proxy.url,
            "LEDGER_BATCH_MAX_OPS": "2",
            "LEDGER_STUCK_AFTER_S": "1",  # a transaction the node lost is sent again soon
        }
        with Gateway(settings) as gateway:
            brand = gateway.create_brand()
            brand.api.wait(post_earn(brand, Member()))  # its signer started (and reconciled)
            anvil.rpc("evm_setAutomine", False)
            operations, sent = earns_sent_at_once(brand, 4)
            pooled = eventually(  # stored, then broadcast: in the node's pool
                lambda: (
                    txs
                    if all(txs := [anvil.rpc("eth_getTransactionByHash", h) for h in set(sent)])
                    else None
                ),
                message="the transactions are not all in the node's pool",
            )
            first, later = (
                tx["hash"] for tx in sorted(pooled, key=lambda tx: int(tx["nonce"], 16))
            )
            anvil.rpc("anvil_dropTransaction", later)  # the node lost it ...
            proxy.refusing = "insufficient funds for gas * price + value"  # ... and refuses it
            eventually(lambda: proxy.refused > 0, message="the lost transaction was not resent")
            anvil.rpc("evm_mine")  # the first one
            mined = [op for op, tx in zip(operations, sent, strict=True) if tx == first]
            settled = [brand.api.wait(op) for op in mined]
            proxy.refusing = None  # funds again: the later one goes out and lands
            anvil.rpc("evm_setAutomine", True)
            rest = [brand.api.wait(op) for op in operations if op not in mined]
    assert {s["status"] for s in settled} == {"confirmed"}
    assert {s["tx_hash"] for s in settled} == {first}
    assert {r["status"] for r in rest} == {"confirmed"}
