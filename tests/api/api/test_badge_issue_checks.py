"""A badge issue the contract will refuse is refused before its 202: the gateway runs it on the
node first (`Checks.issuable`, an `eth_call` as the brand's signer). A review of 2026-12-06: an
issue to a member below the type's minimum tier, and units past the type's supply, were
accepted, then failed on chain, where the brand learnt of it only from the operation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from support.gateway import Brand, Gateway, Member

from ledger_api.db.models import Operation


def _confirmed(brand: Brand, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = brand.api.post(path, body, params={"wait": "true"})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["status"] == "confirmed", result
    return result


def _refused(brand: Brand, body: dict[str, Any], code: str) -> None:
    answer = brand.api.post("/v1/badges/issue", body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code, answer.text


def test_an_issue_the_contract_refuses_is_a_422_and_queues_nothing(
    gateway: Gateway, brand: Brand
) -> None:
    silver_only = {"kind": "collectible", "min_tier": 1, "uri": "ipfs://silver-scarf"}
    tiered = _confirmed(brand, "/v1/badges/types", silver_only)["result"]["type_id"]
    scarce = {"kind": "achievement", "max_supply": 2, "uri": "ipfs://first-two"}
    limited = _confirmed(brand, "/v1/badges/types", scarce)["result"]["type_id"]
    newcomer, first, second = Member(), Member(), Member()

    _refused(brand, {"type_id": tiered, "member": newcomer.address}, "badge_tier_too_low")
    _refused(
        brand, {"type_id": limited, "member": first.address, "amount": 3}, "badge_supply_exceeded"
    )
    _confirmed(
        brand, "/v1/badges/issue", {"type_id": limited, "member": first.address, "amount": 2}
    )
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
