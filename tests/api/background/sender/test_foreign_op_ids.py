"""An op id the ledger marks used by another sender's earn: the gateway's earn is not confirmed.

The ledger's op-id bitmap says that an op id is used, not by which earn. A second sender with
the brand's key (the brand calling the ledger itself, or a second database of one deployment
handing out the same ids: a trial reported 600 points confirmed that the chain gave to the
other database's orders) may have used it for another member. An earn found `applied_earlier`
is confirmed only when the chain's credit under its op id is its own (member and order
reference); otherwise it fails `operation_used` and names the credit that holds the id.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from support.chain import Anvil
from support.direct import contract, direct_earn, signer_account
from support.flows import earn, sent_once_copy
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for
from support.rpc_proxy import LateReceiptProxy
from web3 import Web3

from ledger_api.background.sender import earlier
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.errors import CreditNotIndexed

ORDER_REF = b"\x07" * 32  # the stranger's own order reference


def _status(brand: Brand, operation_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = brand.api.get(f"/v1/operations/{operation_id}").json()
    return answer


def _chain_balance(anvil: Anvil, manifest: Path, member: str, brand_id: int) -> int:
    _, ledger = contract(anvil, manifest, "AllianceLedger")
    return int(ledger.functions.balanceOf(Web3.to_checksum_address(member), brand_id).call())


def _final(brand: Brand, operation_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: (s := _status(brand, operation_id))["status"] in ("confirmed", "failed") and s,
        what=f"operation {operation_id} settled",
    )


def test_an_earn_whose_nonce_and_op_id_a_strangers_earn_took_fails_not_confirmed(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The brand's key sends, at the nonce of the gateway's earn, an earn of its own for
    another member under the same op id. The gateway's transaction never lands; its earn's
    op id reads used. It was confirmed `applied_earlier`: points reported credited that the
    member never got."""
    anvil, manifest = own_chain
    alice, mallory = Member(), Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        account = signer_account(gateway, brand)
        anvil.rpc("evm_setAutomine", False)
        accepted = brand.api.post(
            "/v1/earn/purchase",
            {"member": alice.address, "amount_cents": 1_000, "order_ref": f"o-{uuid.uuid4()}"},
        )
        assert accepted.status_code == 202, accepted.text
        operation = accepted.json()["operation_id"]
        sent = wait_for(
            lambda: (s := _status(brand, operation))["tx_hash"] and s, what="the earn's sending"
        )
        ours = anvil.rpc("eth_getTransactionByHash", sent["tx_hash"])
        anvil.rpc("anvil_dropAllTransactions")
        w3, ledger = contract(anvil, manifest, "AllianceLedger")
        theirs = ledger.functions.earn(
            (sent["op_id"], mallory.address, 0, 100, 5_000, ORDER_REF)
        ).build_transaction(
            {
                "from": account.address,
                "nonce": int(ours["nonce"], 16),
                "gas": 1_000_000,
                "maxFeePerGas": 60 * 10**9,
                "maxPriorityFeePerGas": 3 * 10**9,
            }
        )
        w3.eth.send_raw_transaction(account.sign_transaction(theirs).raw_transaction)
        anvil.rpc("evm_mine")
        anvil.rpc("evm_setAutomine", True)
        final = _final(brand, operation)
        # the operator hears of the other sender: the signer is unhealthy for a while
        health = wait_for(
            lambda: (h := gateway.get_health())["status"] == "degraded" and h,
            what="the health's word on the other sender",
        )
    assert [s["last_error"].split(":")[0] for s in health["sender"] if s["last_error"]] == [
        "foreign_sender"
    ], health
    assert _chain_balance(anvil, manifest, mallory.address, brand.brand_id) == 500
    assert _chain_balance(anvil, manifest, alice.address, brand.brand_id) == 0
    error = final["error"] or {}
    assert (final["status"], error.get("code")) == ("failed", "operation_used"), final
    assert "0x" + ORDER_REF.hex() in error["message"], error  # the credit that holds the id


def test_an_earn_sent_again_whose_op_id_a_strangers_earn_took_fails_not_confirmed(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """An earn on its second attempt (the first in a transaction the gateway could not
    follow) that its batch skips as `OperationUsed`, the op id being another member's credit
    made by the brand's own call: it was confirmed `applied_earlier`."""
    anvil, manifest = own_chain
    alice, mallory = Member(), Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        taken = 500_000  # an id of the brand's own choosing, ahead of the gateway's
        w3, ledger = contract(anvil, manifest, "AllianceLedger")
        stranger = (taken, mallory.address, 0, 100, 5_000, ORDER_REF)
        direct_earn(w3, ledger, signer_account(gateway, brand), stranger)
        # the gateway's next nonce is the stranger's: its first earn is sent again past it,
        # so that the earn below is skipped in its own batch, not found used before sending
        first = earn(brand, alice, 1_000)
        # sent once before, in a transaction the gateway lost track of
        uid = sent_once_copy(gateway, first["operation_id"], taken)
        gateway.runtime.wake_sender({None})
        final = _final(brand, uid)
    assert _chain_balance(anvil, manifest, alice.address, brand.brand_id) == 100  # the first
    error = final["error"] or {}
    assert (final["status"], error.get("code")) == ("failed", "operation_used"), final
    assert "0x" + ORDER_REF.hex() in error["message"], error  # the credit that holds the id


def test_the_node_logs_name_each_credit_as_the_index_does(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """Past the index's height, the credit under an op id is read from the node's logs: a
    lone earn's `PointsEarned`, a batch's records, a reversal's `PointsReversed`. Each reads
    as the index's history holds it (member, points, kind, order reference, where)."""
    anvil, manifest = own_chain
    alice, mallory = Member(), Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=14)
        w3, ledger = contract(anvil, manifest, "AllianceLedger")
        direct_earn(
            w3,
            ledger,
            signer_account(gateway, brand),
            (500_000, mallory.address, 0, 100, 5_000, ORDER_REF),
        )
        bought = brand.api.post(
            "/v1/earn/purchase",
            {"member": alice.address, "amount_cents": 2_000, "order_ref": "o-returned"},
            params={"wait": "true"},
        )
        assert bought.status_code == 200 and bought.json()["status"] == "confirmed", bought.text
        returned = brand.api.post(
            "/v1/earn/reversals", {"order_ref": "o-returned"}, params={"wait": "true"}
        )
        assert returned.status_code == 200, returned.text
        reversal = brand.api.wait(returned.json()["operation_id"])
        assert reversal["status"] == "confirmed", reversal
        head = w3.eth.block_number
        wait_for(lambda: gateway.get_health()["index_block"] >= head, what="the index caught up")
        chain, contracts, db = (
            gateway.runtime.new_chain(),
            gateway.runtime.contracts(),
            gateway.runtime.db,
        )
        cases = (
            (500_000, mallory.address, False),  # a lone earn
            (bought.json()["op_id"], alice.address, False),  # a batch's record
            (reversal["op_id"], alice.address, True),
        )
        for op_id, member, reversal_kind in cases:
            logged = dict(
                earlier.logged_credits(chain, contracts, brand.brand_id, 0, head, reversal_kind)
            )
            indexed = earlier.credit_under(
                chain, db, contracts, brand.brand_id, op_id, member, head, reversal_kind
            )
            assert indexed is not None and logged[op_id] == indexed, (logged, indexed)
            assert indexed.member == member
            assert (indexed.earn_kind is None) == reversal_kind, indexed
        # the index at the head holds no credit of alice's under the lone earn's id: another's
        assert (
            earlier.credit_under(
                chain, db, contracts, brand.brand_id, 500_000, alice.address, head, False
            )
            is None
        )
    # a database whose index has read nothing: the credit is read from the node's logs, and
    # one they do not hold (yet) is not taken for another's: nothing is settled, asked again
    # (123,456: an id neither the brand used nor the gateway, whose counter jumps past 500,000
    # once its index sees the brand's own call: the purchase may have taken 500,001)
    unread = Database(f"sqlite:///{tmp_path / 'unread.db'}")
    upgrade(unread)
    try:
        found = earlier.credit_under(
            chain, unread, contracts, brand.brand_id, 500_000, alice.address, head, False
        )
        assert found is not None and found.member == mallory.address, found
        # said as what it is: the health read `ChainUnavailable` while the chain answered
        with pytest.raises(CreditNotIndexed, match="neither the index"):
            earlier.credit_under(
                chain, unread, contracts, brand.brand_id, 123_456, alice.address, head, False
            )
    finally:
        unread.dispose()


def test_our_own_earn_whose_receipt_comes_late_is_confirmed_and_no_foreign_sender(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A review: the gateway restarts with an earn sent; the node serves its receipt later
    than the signer waits for it (`RECEIPT_LAG_S`), so the nonce counts as a stranger's. The
    earn is found applied by its own credit and confirmed, and its signer is not called a
    foreign sender's (it read `foreign_sender`, the health `degraded`, for 10 minutes)."""
    anvil, _ = own_chain
    with LateReceiptProxy(anvil.url) as proxy:
        env = {**own_env, "LEDGER_RPC_URL": proxy.url}
        with Gateway(env) as gateway:
            brand = gateway.create_brand()
            anvil.rpc("evm_setAutomine", False)
            accepted = brand.api.post(
                "/v1/earn/purchase",
                {"member": Member().address, "amount_cents": 1_000, "order_ref": "o-late"},
            )
            assert accepted.status_code == 202, accepted.text
            operation = accepted.json()["operation_id"]
            sent = wait_for(
                lambda: (s := _status(brand, operation))["tx_hash"] and s, what="the sending"
            )
        proxy.withholding[sent["tx_hash"].lower()] = 10**9  # never served: a stranger's nonce
        anvil.rpc("evm_mine")
        anvil.rpc("evm_setAutomine", True)
        with Gateway(env) as gateway:
            brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
            final = brand.api.wait(operation, timeout=60)
            health = gateway.get_health()
    assert final["status"] == "confirmed" and final["result"]["applied_earlier"], final
    assert proxy.withheld > 0
    assert health["status"] == "ok", health


def test_a_chain_nonce_found_ahead_at_a_restart_is_said_in_the_health(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A review: the brand's key sent two transactions of its own while the gateway was
    stopped; the restarted signer moved its counter past them and said so only in its log:
    the health read `ok`. Now, as for a slot's nonce taken, the signer reads
    `foreign_sender` (its earns still go)."""
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        account = signer_account(gateway, brand)
        earn(brand, Member(), 1_000)  # the signer's nonce 0
    w3 = anvil.web3()
    for _ in range(2):
        tx = account.sign_transaction(
            {
                "type": 2,
                "chainId": w3.eth.chain_id,
                "nonce": w3.eth.get_transaction_count(account.address),
                "to": account.address,
                "value": 0,
                "gas": 21_000,
                "maxFeePerGas": 60 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(tx.raw_transaction))
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        final = earn(brand, Member(), 1_000)
        health = gateway.get_health()
    assert final["status"] == "confirmed", final
    said = [s["last_error"] for s in health["sender"] if s["last_error"]]
    assert health["status"] == "degraded" and len(said) == 1, health
    # both counted: the count said 1 where the log named two transactions
    assert said[0].startswith("foreign_sender: nonces 1 to 2 were used by transactions"), said
    assert "(2 such nonces since start)" in said[0], said
