"""A badge issue the contract will refuse is refused before its 202: the gateway runs it on the
node first (`Checks.issuable`, an `eth_call` as the brand's signer). A review of 2026-12-06: an
issue to a member below the type's minimum tier, and units past the type's supply, were
accepted, then failed on chain, where the brand learnt of it only from the operation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from support.chain import Anvil
from support.flows import confirmed
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for

from ledger_api.db.models import Operation


def _refused(brand: Brand, body: dict[str, Any], code: str) -> None:
    answer = brand.api.post("/v1/badges/issue", body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code, answer.text


def test_an_issue_the_contract_refuses_is_a_422_and_queues_nothing(
    gateway: Gateway, brand: Brand
) -> None:
    silver_only = {"kind": "collectible", "min_tier": 1, "uri": "ipfs://silver-scarf"}
    tiered = confirmed(brand, "/v1/badges/types", silver_only)["result"]["type_id"]
    scarce = {"kind": "achievement", "max_supply": 2, "uri": "ipfs://first-two"}
    limited = confirmed(brand, "/v1/badges/types", scarce)["result"]["type_id"]
    newcomer, first, second = Member(), Member(), Member()

    _refused(brand, {"type_id": tiered, "member": newcomer.address}, "badge_tier_too_low")
    _refused(
        brand, {"type_id": limited, "member": first.address, "amount": 3}, "badge_supply_exceeded"
    )
    confirmed(brand, "/v1/badges/issue", {"type_id": limited, "member": first.address, "amount": 2})
    _refused(brand, {"type_id": limited, "member": second.address}, "badge_supply_exceeded")

    # the refusals queued nothing: the one issue stored is the one that went through
    members = (newcomer.address, first.address, second.address)
    with gateway.runtime.db.read() as session:
        stored = session.execute(
            select(Operation.beneficiary, Operation.status).where(
                Operation.kind == "badge_issue", Operation.beneficiary.in_(members)
            )
        ).all()
    assert [tuple(row) for row in stored] == [(first.address, "confirmed")], stored


def test_an_issue_waits_for_the_upgrade_it_needs_to_beconfirmed(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The member's earn that upgrades it is sent but not mined when the brand issues a
    Silver-only badge: the node sees no tier yet, so the issue is refused (422; before, it was
    accepted, then failed at the sender, which runs each transaction on the latest state before
    it sends it). Once the earn is confirmed the same issue goes through."""
    anvil, _ = own_chain  # the tier rule is the chain's, and mining stops for a while
    with Gateway(own_env) as gateway:
        silver = {"spend_cents": 5_000, "orders": 1, "engagements": 0}
        changed = gateway.admin.put("/v1/admin/tiers/1", silver, params={"wait": "true"})
        assert changed.json()["status"] == "confirmed", changed.text
        brand = gateway.create_brand()
        silver_only = {"kind": "collectible", "min_tier": 1, "uri": "ipfs://silver-scarf"}
        tiered = confirmed(brand, "/v1/badges/types", silver_only)["result"]["type_id"]
        member = Member()
        body = {"type_id": tiered, "member": member.address}
        anvil.rpc("evm_setAutomine", False)
        try:
            upgrade = brand.api.post(
                "/v1/earn/purchase",
                {"member": member.address, "amount_cents": 5_000, "order_ref": "o-scarf"},
            )
            assert upgrade.status_code == 202, upgrade.text
            path = f"/v1/operations/{upgrade.json()['operation_id']}"
            wait_for(lambda: brand.api.get(path).json()["tx_hash"], what="the earn sent")
            _refused(brand, body, "badge_tier_too_low")
        finally:
            anvil.rpc("evm_setAutomine", True)
            anvil.rpc("evm_mine")

        def final() -> dict[str, Any] | None:
            view: dict[str, Any] = brand.api.get(path).json()
            return view if view["status"] in ("confirmed", "failed") else None

        assert wait_for(final, what="the earn final")["status"] == "confirmed"
        assert confirmed(brand, "/v1/badges/issue", body)["kind"] == "badge_issue"
