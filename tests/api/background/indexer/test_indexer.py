"""The index against the chain: lots and expiry, moved lots, and recovery when the chain changes."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import event
from support.chain import Anvil, start_anvil
from support.flows import earn, signed_gift
from support.gateway import Gateway, Member, deployed_sqlite_env
from support.rebuild import stepped_rebuild

DAY = 86_400


def ledger_view(anvil: Anvil, manifest: Path, name: str, *args: Any) -> Any:
    """A view of the ledger, or of its lens (AllianceLedgerLens) for the views served there."""
    contracts = json.loads(manifest.read_text())["contracts"]
    document = next(
        c
        for c in (contracts["AllianceLedger"], contracts["AllianceLedgerLens"])
        if any(e.get("name") == name for e in c["abi"])
    )
    contract = anvil.web3().eth.contract(address=document["address"], abi=document["abi"])
    return getattr(contract.functions, name)(*args).call()


def warp(anvil: Anvil, seconds: int) -> None:
    anvil.rpc("evm_increaseTime", seconds)
    anvil.rpc("evm_mine")


def wait_for_index(gateway: Gateway) -> None:
    height = anvil_height = gateway.runtime.new_chain().block("latest").number
    deadline_height = anvil_height
    import time

    for _ in range(200):
        if gateway.runtime.notifier.index_height >= deadline_height:
            return
        time.sleep(0.05)
    raise AssertionError(f"index stuck below {height}")


def test_points_expire_13_months_after_the_month_they_were_earned(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        alice, bob = Member(), Member()
        earn(brand, alice, 5_000)  # 500 points
        lot = brand.api.get(f"/v1/members/{alice.address}").json()["balances"][0]["lots"][0]

        warp(anvil, 200 * DAY)  # a later month: the gift keeps the earn month, expiry never extends
        gift = brand.api.post(
            "/v1/gifts", signed_gift(brand, alice, bob.address, 200), params={"wait": "true"}
        )
        assert gift.json()["status"] == "confirmed", gift.text
        bob_lot = brand.api.get(f"/v1/members/{bob.address}").json()["balances"][0]["lots"][0]
        assert (bob_lot["earned_month"], bob_lot["expires_at"]) == (
            lot["earned_month"],
            lot["expires_at"],
        )
        earn(brand, alice, 1_000)  # 100 points in the later month

        warp(anvil, 230 * DAY)  # past the first lot's expiry, not the second's
        wait_for_index(gateway)
        view = brand.api.get(f"/v1/members/{alice.address}").json()
        assert [b["balance"] for b in view["balances"]] == [100]
        assert ledger_view(anvil, manifest, "balanceOf", alice.address, brand.brand_id) == 100
        history = brand.api.get(f"/v1/members/{alice.address}/history").json()
        expired = [e for e in history["entries"] if e["kind"] == "expired"]
        assert [(e["amount"], e["at"]) for e in expired] == [(300, lot["expires_at"])]
        assert history["totals"] == {
            "earned": 600,
            "pending": 0,
            "released": 0,
            "reversed": 0,
            "gifted": 200,
            "received": 0,
            "bid": 0,
            "bid_returned": 0,
            "donated": 0,
            "redeemed": 0,
            "expired": 300,
        }

        liability = brand.api.get(f"/v1/brands/{brand.brand_id}/liability").json()
        issued, redeemed, chain_expired, outstanding, reversed_ = ledger_view(
            anvil, manifest, "brandAccount", brand.brand_id
        )
        assert liability["reversed"] == reversed_ == 0
        assert (
            (
                liability["issued"],
                liability["redeemed"],
                liability["expired"],
                liability["outstanding"],
            )
            == (
                issued,
                redeemed,
                chain_expired,
                outstanding,
            )
            == (600, 0, 500, 100)
        )


def test_index_rebuilds_and_lost_transactions_are_resent_when_the_chain_goes_back(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    alice = Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        earn(brand, alice, 1_000)
        snapshot = anvil.rpc("evm_snapshot")
        second = earn(brand, alice, 2_000)
    # The node restarts from an older state (a dev chain without its latest blocks).
    anvil.rpc("evm_revert", snapshot)
    for _ in range(3):
        anvil.rpc("evm_mine")
    assert ledger_view(anvil, manifest, "balanceOf", alice.address, brand.brand_id) == 100
    with Gateway(own_env) as gateway:
        api = gateway.api(brand.api_key)
        final = api.wait(second["operation_id"])
        import time

        deadline = time.monotonic() + 30
        while ledger_view(anvil, manifest, "balanceOf", alice.address, brand.brand_id) != 300:
            assert time.monotonic() < deadline, "the lost transaction was not sent again"
            time.sleep(0.1)
        wait_for_index(gateway)
        view = api.get(f"/v1/members/{alice.address}").json()
    assert final["status"] == "confirmed"
    assert view["balances"][0]["balance"] == 300
    assert ledger_view(anvil, manifest, "isOperationUsed", brand.brand_id, second["op_id"]) is True


def test_the_indexer_reads_what_a_chunk_touches_before_it_takes_the_writer_lock(
    tmp_path: Path,
) -> None:
    """Issue 15: the index rows a chunk's events touch (lots, members, brands, pending
    positions, and the brands a tier event's member holds, whom its webhook event goes to)
    are read in a read transaction; the indexer's turn at SQLite's one writer lock only writes
    them back (a quarter of that turn was the reads). A CI run: a chunk with a tier event read
    the member's brands in the writer's turn (`ChainEvents._member_brands`). On a chain of its
    own, so that the earn below is the upgrade."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "indexer":
            statements.append(statement.lstrip())

    node = start_anvil()
    try:
        with Gateway(deployed_sqlite_env(node, tmp_path)) as gateway:
            brand, other, alice = gateway.create_brand(), gateway.create_brand(), Member()
            silver = {"spend_cents": 5_000, "orders": 2, "engagements": 0, "gift_points": 50}
            changed = gateway.admin.put("/v1/admin/tiers/1", silver, params={"wait": "true"})
            assert changed.json()["status"] == "confirmed", changed.text
            earn(other, alice, 2_500)  # alice holds the other brand's points before the upgrade
            event.listen(gateway.runtime.db.engine, "after_cursor_execute", record)
            try:
                upgrade = earn(brand, alice, 2_500)  # confirmed and indexed: Silver
            finally:
                event.remove(gateway.runtime.db.engine, "after_cursor_execute", record)
            assert upgrade["result"]["tier_upgraded_to"] == 1, upgrade
            # the indexer's turn was seen: it wrote the chunk's lot and moved its cursor
            assert any(s.startswith("INSERT INTO idx_lots") for s in statements), statements
            assert any(s.startswith("UPDATE idx_cursor") for s in statements), statements
            touched = re.compile(r"\bFROM (idx_lots|idx_members|idx_brands|idx_pending)\b")
            selects = [s for s in statements if s.startswith("SELECT")]
            assert not [s for s in selects if touched.search(s)], selects
            # ... and the upgrade's event goes to the other brand too, whose points alice holds
            feed = other.api.get("/v1/events", params={"types": "tier.upgraded"}).json()
            upgraded = [e for e in feed["events"] if e["data"]["member"] == alice.address]
            assert [e["data"]["brand_id"] for e in upgraded] == [brand.brand_id], feed
    finally:
        node.stop()


def test_a_rebuilt_index_counts_each_pending_point_once(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A rebuild (the chain forgot blocks) empties every index table and reads the chain
    again. A new user's trial: the pending points per earn month (`idx_pending_months`) were
    not emptied, so after the rebuild each pending point counted twice, a gift of live points
    found none spendable, and the index's lots and balances parted from the chain's."""
    anvil, manifest = own_chain
    alice, bob = Member(), Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=14)
        earn(brand, alice, 10_000)  # 1,000 points pending
        review = brand.api.post(
            "/v1/earn/engagement",
            {"member": alice.address, "kind": "review"},
            params={"wait": "true"},
        )
        assert review.json()["status"] == "confirmed", review.text  # 5 points live
    with stepped_rebuild(own_env) as (_, indexer, chain):
        while indexer.step(chain):
            pass
    with Gateway(own_env) as gateway:
        api = gateway.api(brand.api_key)
        brand = replace(brand, api=api)
        gift = api.post("/v1/gifts", signed_gift(brand, alice, bob.address, 5))
        assert api.wait(gift.json()["operation_id"])["status"] == "confirmed", gift.text
        wait_for_index(gateway)
        for member, live, pending in ((alice, 0, 1_000), (bob, 5, 0)):
            (balance,) = api.get(f"/v1/members/{member.address}").json()["balances"]
            on_chain = ledger_view(anvil, manifest, "balanceOf", member.address, brand.brand_id)
            assert (
                (balance["balance"], balance["pending"])
                == (on_chain, pending)
                == (
                    live,
                    pending,
                )
            ), balance
            lots = ledger_view(anvil, manifest, "lotsOf", member.address, brand.brand_id)
            assert sum(lot["amount"] for lot in balance["lots"]) == sum(a for a, _, _ in lots)
