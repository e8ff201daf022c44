"""Events a brand writes with its own key reach the index whatever their values (issue 10: the
adversary holds a signing key; issue 9: never a crash). An operation id is a uint64 the brand
chooses when it calls the ledger itself: one at or above 2**63 stopped the indexer on SQLite's
signed 64-bit INTEGER (`OverflowError`), and with it every read of the alliance."""

from __future__ import annotations

from pathlib import Path

from support.chain import Anvil
from support.direct import contract, direct_earn, signer_account
from support.flows import earn
from support.gateway import Gateway, Member
from support.progress import wait_for

LARGEST_OP_ID = 2**64 - 1  # IAllianceLedger.EarnOp.opId is a uint64


def test_a_direct_earn_with_the_largest_operation_id_is_indexed_and_the_index_goes_on(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    w3, ledger = contract(anvil, manifest, "AllianceLedger")
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        signer = signer_account(gateway, brand)
        alice, bob = Member(), Member()
        for op_id in (LARGEST_OP_ID, 2**63):  # 10 USD each, as the brand's own transactions
            direct_earn(w3, ledger, signer, (op_id, alice.address, 0, 100, 1_000, b"\x02" * 32))

        def indexed() -> list[int] | None:
            history = brand.api.get(f"/v1/members/{alice.address}/history")
            assert history.status_code == 200, history.text
            ids = sorted(e["op_id"] for e in history.json()["entries"] if e.get("op_id"))
            return ids if len(ids) == 2 else None  # two transactions: maybe two blocks

        assert wait_for(indexed, what="the direct earns in the history") == [
            2**63,
            LARGEST_OP_ID,
        ]
        member = brand.api.get(f"/v1/members/{alice.address}")
        assert member.status_code == 200, member.text
        assert member.json()["balances"][0]["balance"] == 200
        # the index goes on: a later earn through the gateway shows up too
        earn(brand, bob, 1_000)
        wait_for(
            lambda: brand.api.get(f"/v1/members/{bob.address}").json()["balances"] or None,
            what="the next earn indexed",
        )
        assert gateway.runtime.indexer is None or gateway.runtime.indexer.last_error is None
