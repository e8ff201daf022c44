"""Contract wallets (ERC-1271) as members: nothing may move a member's points without the
member's signature (DOMAIN.md), and for an address with code that signature is whatever the
wallet's `isValidSignature(digest, signature)` approves, as the contracts decide it
(OpenZeppelin's `SignatureChecker`). The gateway asks the wallet (`eth_call`) before the 202:
a signature the wallet does not approve is 422 `invalid_signature`, nothing stored, the
member's nonce left free; one it approves is accepted and confirmed on chain.

A review of 2026-12-06: the gateway took any signature for a member with code ("checked by the
contract itself"), so a brand relayed gifts and redemptions "from" a contract wallet it never
signed; each held the wallet's nonce and points in flight, then failed on chain.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from support.chain import Anvil
from support.flows import confirmed
from support.gateway import Brand, Gateway, Member
from support.rows import rows_mentioning
from support.wallets import DIRTY_MAGIC, REFUSES, REVERTS, SHORT_MAGIC, install, owned_wallet

from ledger_client import eip712


def _earn_live(brand: Brand, member: str, cents: int) -> None:
    """A purchase earn for `member`, confirmed and indexed (the balance check sees it)."""
    body = {"member": member, "amount_cents": cents, "order_ref": f"o-{uuid.uuid4()}"}
    done = confirmed(brand, "/v1/earn/purchase", body)
    brand.api.wait(done["operation_id"])


def _refused_as_unsigned(answer: Any) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_signature", answer.text


def _stored_nowhere(gateway: Gateway, signature: str) -> None:
    assert rows_mentioning(gateway.runtime.db, signature[2:]) == {}


def _with_a_strangers_signature(anvil: Anvil) -> str:
    wallet, _owner = owned_wallet(anvil)  # approves its owner's signatures only
    return wallet


@pytest.mark.parametrize(
    "wallet_of",
    [
        pytest.param(lambda anvil: install(anvil, REFUSES), id="answers-zero"),
        pytest.param(lambda anvil: install(anvil, REVERTS), id="reverts"),
        pytest.param(lambda anvil: install(anvil, SHORT_MAGIC), id="magic-in-4-bytes"),
        pytest.param(lambda anvil: install(anvil, DIRTY_MAGIC), id="magic-with-other-bytes"),
        pytest.param(_with_a_strangers_signature, id="owner-wallet-stranger-key"),
    ],
)
def test_a_redemption_the_wallet_does_not_approve_is_refused_before_the_202(
    anvil: Anvil, gateway: Gateway, wallet_of: Any
) -> None:
    """Any brand may relay a redemption of the issuer's points; only the member's signature
    lets it move them. A wallet that answers anything but the magic value in its first
    32-byte word (zeros, a revert, the magic value short or followed by other bytes) has not
    signed: 422 `invalid_signature`, and the forged signature is stored nowhere."""
    issuer, hostile = gateway.create_brand(), gateway.create_brand()
    wallet = wallet_of(anvil)
    _earn_live(issuer, wallet, 10_000)  # 1,000 of the issuer's points, live

    request = {"member": wallet, "brand": issuer.brand_id, "amount": 500, "order_ref": "r-1"}
    prepared = hostile.api.post("/v1/redemptions/typed-data", request)
    assert prepared.status_code == 200, prepared.text
    forged = {
        **request,
        "nonce": prepared.json()["nonce"],
        "deadline": prepared.json()["deadline"],
        "signature": Member().sign(prepared.json()["typed_data"]),
    }
    answer = hostile.api.post("/v1/redemptions", forged, params={"wait": "true"})
    _refused_as_unsigned(answer)
    _stored_nowhere(gateway, forged["signature"])


def _gift_typed_data(brand: Brand, wallet: str, to: str) -> dict[str, Any]:
    prepared = brand.api.post("/v1/gifts/typed-data", {"member": wallet, "to": to, "amount": 100})
    assert prepared.status_code == 200, prepared.text
    document: dict[str, Any] = prepared.json()
    return document


def test_a_forged_gift_leaves_the_wallets_nonce_to_the_gift_its_owner_signed(
    anvil: Anvil, gateway: Gateway
) -> None:
    """The forged gift is refused and takes nothing: the next typed data still carries
    nonce 0, and the gift the wallet approves (its owner's signature: `isValidSignature`
    returns the magic value) is accepted with that nonce and confirmed on chain, the points
    at the receiver."""
    brand = gateway.create_brand()
    wallet, owner = owned_wallet(anvil)
    receiver = Member().address
    _earn_live(brand, wallet, 10_000)

    doc = _gift_typed_data(brand, wallet, receiver)
    assert doc["nonce"] == 0
    gift = {"member": wallet, "to": receiver, "amount": 100, "deadline": doc["deadline"]}
    forged = {**gift, "nonce": 0, "signature": Member().sign(doc["typed_data"])}
    _refused_as_unsigned(brand.api.post("/v1/gifts", forged))
    _stored_nowhere(gateway, forged["signature"])

    doc = _gift_typed_data(brand, wallet, receiver)
    assert doc["nonce"] == 0
    signed = {**gift, "deadline": doc["deadline"], "nonce": 0}
    signed["signature"] = owner.sign(doc["typed_data"])
    done = confirmed(brand, "/v1/gifts", signed)
    brand.api.wait(done["operation_id"])
    view = brand.api.get(f"/v1/members/{receiver}").json()
    held = {s["brand_id"]: s["points"] for s in view["spendable"]}
    assert held.get(brand.brand_id) == 100, view


def test_an_enterprise_binding_needs_the_consent_a_wallet_employee_approves(
    anvil: Anvil, gateway: Gateway, brand: Brand
) -> None:
    """EnterpriseAccounts checks the employee's consent (`JoinEnterprise`) as the ledger checks
    a gift: a consent the employee's wallet does not approve is 422 `invalid_signature`; the
    one its owner signed binds the employee on chain."""
    enterprise, stranger = Member(), Member()
    employee, owner = owned_wallet(anvil)
    answer = brand.api.post(
        "/v1/enterprises/bindings/typed-data",
        {"enterprise": enterprise.address, "employee": employee},
    )
    assert answer.status_code == 200, answer.text
    prepared = answer.json()
    body = {
        "enterprise": enterprise.address,
        "employee": employee,
        "deadline": prepared["deadline"],
        "enterprise_nonce": prepared["enterprise_nonce"],
        "enterprise_signature": enterprise.sign(prepared["enterprise_typed_data"]),
        "employee_nonce": prepared["employee_nonce"],
    }
    forged = {**body, "employee_signature": stranger.sign(prepared["employee_typed_data"])}
    _refused_as_unsigned(brand.api.post("/v1/enterprises/bindings", forged))

    consent = owner.sign(prepared["employee_typed_data"])
    bound = confirmed(brand, "/v1/enterprises/bindings", {**body, "employee_signature": consent})
    assert bound["result"] == {"enterprise": enterprise.address, "employee": employee}


def test_a_vote_a_wallet_never_signed_is_refused_before_the_202(
    anvil: Anvil, gateway: Gateway, brand: Brand
) -> None:
    """AlliancePolls counts a vote signed by the voter only: a vote "from" a wallet that does
    not approve its signature is 422 `invalid_signature`, nothing queued."""
    head = anvil.web3().eth.get_block("latest")["timestamp"]
    starts_at = max(int(time.time()), head) + 120  # beyond the gateway's START_MARGIN_S
    opened = confirmed(
        brand,
        "/v1/polls",
        {
            "content_hash": "0x" + "ab" * 32,
            "option_count": 2,
            "starts_at": starts_at,
            "ends_at": starts_at + 3_600,
            "eligibility": "min_tier",
            "eligibility_ref": 1,
        },
    )
    brand.api.wait(opened["operation_id"])  # the poll is in the index
    poll_id = opened["result"]["poll_id"]
    manifest = json.loads(Path(gateway.env["LEDGER_MANIFEST"]).read_text())
    wallet, _owner = owned_wallet(anvil)
    deadline = starts_at + 600
    document = eip712.vote(
        chain_id=anvil.web3().eth.chain_id,
        polls=manifest["contracts"]["AlliancePolls"]["address"],
        voter=wallet,
        poll_id=poll_id,
        option=1,
        deadline=deadline,
    )
    vote = {
        "voter": wallet,
        "option": 1,
        "deadline": deadline,
        "signature": Member().sign(document),
    }
    _refused_as_unsigned(brand.api.post(f"/v1/polls/{poll_id}/votes", vote))
    _stored_nowhere(gateway, vote["signature"])
