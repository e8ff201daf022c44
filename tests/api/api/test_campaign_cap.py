"""The campaigns' cap on a combined multiplier is a chain rule (issue 16, item 1: "the admin sets
a cap the chain enforces").

Before: `PUT /v1/admin/campaigns/cap` stored the cap in the gateway's own table only; the chain
kept its constant 10x, so a brand holding its signing key earned at 1000% whatever the admin had
set. Now the PUT sends `setMaxMultiplier` (an admin operation), the ledger refuses any earn above
it, and the gateway reads the cap back from its index (`MaxMultiplierChanged`).

Each test runs its own chain: the cap is global, so setting it on the shared chain would change
every other test's earns."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from support.chain import Anvil
from support.direct import contract, signer_account
from support.direct import direct_earn as send_earn
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for
from web3 import Web3
from web3.exceptions import ContractCustomError

CAP = "/v1/admin/campaigns/cap"
PREVIEW = "/v1/earn/preview"


def set_cap(gateway: Gateway, pct: int, key: str | None = None) -> dict[str, Any]:
    """The admin sets the cap and waits until the chain has it (the operation confirmed)."""
    headers = {"Idempotency-Key": key or str(uuid.uuid4()), "Prefer": "wait=30"}
    response = gateway.admin.http.put(CAP, json={"max_multiplier_pct": pct}, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "confirmed" and answer["kind"] == "set_max_multiplier", answer
    return answer


def wait_for_indexed_cap(gateway: Gateway, brand: Brand, pct: int) -> None:
    """Until the gateway's answer and its earn evaluation (the preview) both use `pct`."""

    def applied() -> bool:
        shown = gateway.admin.get(CAP).json()["max_multiplier_pct"]
        preview = brand.api.post(
            PREVIEW, {"type": "purchase", "member": Member().address, "amount_cents": 100}
        )
        return shown == pct and preview.json()["cap_pct"] == pct

    wait_for(lambda: applied() or None, what=f"the indexed cap {pct}")


def test_the_admin_sets_the_cap_on_chain_and_the_gateway_reads_it_back(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    _, lens = contract(anvil, manifest, "AllianceLedgerLens")
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        assert gateway.admin.get(CAP).json() == {
            "max_multiplier_pct": 1000,
            "chain_max_multiplier_pct": 1000,
            "version": 0,
            "pending": None,
        }
        for value in (99, 1001, 0, "500", None):
            refused = gateway.admin.put(CAP, {"max_multiplier_pct": value})
            assert refused.status_code == 422, refused.text
        assert brand.api.put(CAP, {"max_multiplier_pct": 500}).status_code == 403

        key = str(uuid.uuid4())
        answer = set_cap(gateway, 400, key)
        assert lens.functions.maxMultiplierPct().call() == 400
        wait_for_indexed_cap(gateway, brand, 400)
        assert brand.api.get("/v1/campaigns/rules").json()["cap_pct"] == 400
        # a replay answers the same operation and audits nothing more
        assert set_cap(gateway, 400, key)["operation_id"] == answer["operation_id"]
        (entry,) = gateway.admin.get(f"{CAP}/versions").json()["entries"]
        assert entry["old"] == {"max_multiplier_pct": 1000}
        assert entry["new"] == {"max_multiplier_pct": 400, "operation_id": answer["operation_id"]}
        assert entry["actor"].startswith("admin") and entry["version"] == 1
        assert gateway.admin.get(CAP).json()["version"] == 1

        client = gateway.client(gateway.env["LEDGER_ADMIN_API_KEY"])
        assert client.set_campaign_cap(600, wait=30)["status"] == "confirmed"
        wait_for_indexed_cap(gateway, brand, 600)
        cap = client.campaign_cap()
        assert (cap["max_multiplier_pct"], cap["version"], cap["pending"]) == (600, 2, None)


def test_a_cap_set_through_the_api_binds_the_brands_own_key_on_chain(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The reproduction: the brand's signer calls `earn` itself at the chain's 10x."""
    anvil, manifest = own_chain
    w3, ledger = contract(anvil, manifest, "AllianceLedger")
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        signer = signer_account(gateway, brand)
        member = Member().address

        def op(op_id: int, multiplier_pct: int) -> tuple[Any, ...]:
            return (op_id, member, 0, multiplier_pct, 1_000, b"\x01" * 32)  # 10 USD purchase

        def direct_earn(op_id: int, multiplier_pct: int) -> None:
            send_earn(w3, ledger, signer, op(op_id, multiplier_pct))

        direct_earn(2**62, 1_000)  # before the admin acts: the chain's 10x
        assert ledger.functions.balanceOf(member, brand.brand_id).call() == 1_000
        set_cap(gateway, 200)
        with pytest.raises(ContractCustomError) as refused:
            ledger.functions.earn(op(2**62 + 1, 1_000)).call({"from": signer.address})
        selector = Web3.keccak(text="LedgerInvalidMultiplier(uint256)")[:4]
        assert refused.value.data == "0x" + (selector + (1_000).to_bytes(32, "big")).hex()
        with pytest.raises(RuntimeError, match="transaction failed"):
            direct_earn(2**62 + 1, 1_000)
        with pytest.raises(RuntimeError, match="transaction failed"):
            direct_earn(2**62 + 2, 201)
        assert ledger.functions.balanceOf(member, brand.brand_id).call() == 1_000

        direct_earn(2**62 + 3, 200)  # at the cap: 10 USD x 10/USD x 2
        assert ledger.functions.balanceOf(member, brand.brand_id).call() == 1_200


def test_a_cap_the_gateway_sets_applies_at_its_confirmation(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A new user's trial: during a rebuild of the index, a cap set through the gateway was
    confirmed on chain while the gateway kept the old one (with nothing pending) until the
    index caught up, and earns above the new cap were accepted, then failed on chain. With the
    indexer stopped, the confirmation alone sets the cap the campaigns are held to."""
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        indexer = gateway.runtime.indexer
        indexer.stop()
        indexer.join(timeout=60)
        assert not indexer.is_alive()
        answer = gateway.admin.put(
            CAP, {"max_multiplier_pct": 300}, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert answer.status_code == 202, answer.text
        path = f"/v1/operations/{answer.json()['operation_id']}"
        wait_for(
            lambda: gateway.admin.get(path).json()["status"] == "confirmed" or None,
            what="the cap's operation confirmed",
        )
        cap = gateway.admin.get(CAP).json()
        assert (cap["max_multiplier_pct"], cap["pending"]) == (300, None), cap
        wait_for(  # each process caches a brand's rules for a second
            lambda: brand.api.get("/v1/campaigns/rules").json()["cap_pct"] == 300 or None,
            what="the brand's rules held to the new cap",
        )
