"""Request helpers shared by the API tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select

from ledger_api.db.models import Operation
from ledger_client import LedgerClient, eip712
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for


def sent_once_copy(gateway: Gateway, operation_id: str, op_id: int) -> str:
    """A queued copy of earn `operation_id` under `op_id`, as its order's retry that went once
    already in a transaction the gateway could not follow (attempts 1; the original holds the
    order): the copy's uid."""
    with gateway.runtime.db.write() as session:
        row = session.scalars(select(Operation).where(Operation.uid == operation_id)).one()
        copy = Operation(
            uid=str(uuid.uuid4()),
            brand_id=row.brand_id,
            kind=row.kind,
            status="queued",
            op_id=op_id,
            member=row.member,
            beneficiary=row.beneficiary,
            points=row.points,
            order_ref=row.order_ref,
            payload=row.payload,
            attempts=1,
            keys_released_at=row.created_at,
        )
        session.add(copy)
        session.flush()
        return copy.uid


def earn(brand: Brand, member: Member, cents: int) -> dict[str, Any]:
    """A purchase earn, waited for until confirmed and indexed (through `ledger_client`)."""
    with LedgerClient(str(brand.api.http.base_url), brand.api_key, timeout=60) as client:
        accepted = client.earn_purchase(member.address, cents, f"o-{time.time_ns()}", wait=True)
        assert accepted["status"] == "confirmed", accepted
        return client.wait(accepted["operation_id"])


class Signed(dict[str, Any]):
    """A relay body of a member-signed operation, with the document the member signed."""

    def __init__(self, body: dict[str, Any], typed_data: dict[str, Any]) -> None:
        super().__init__(body)
        self.typed_data = typed_data


def signed_gift(brand: Brand, member: Member, to: str, amount: int, **extra: Any) -> Signed:
    response = brand.api.post(
        "/v1/gifts/typed-data", {"member": member.address, "to": to, "amount": amount, **extra}
    )
    assert response.status_code == 200, response.text
    prepared = response.json()
    return Signed(
        {
            "member": member.address,
            "to": to,
            "amount": amount,
            "nonce": prepared["nonce"],
            "deadline": prepared["deadline"],
            "signature": member.sign(prepared["typed_data"]),
        },
        prepared["typed_data"],
    )


def signed_donation(brand: Brand, member: Member, amount: int) -> dict[str, Any]:
    """A donation of `amount` of the brand's points to the charity pool, signed by `member`
    on the document the brand's `/v1/donations/typed-data` prepared."""
    response = brand.api.post(
        "/v1/donations/typed-data", {"member": member.address, "amount": amount}
    )
    assert response.status_code == 200, response.text
    prepared = response.json()
    return {
        "member": member.address,
        "amount": amount,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": member.sign(prepared["typed_data"]),
    }


def signed_redemption(
    at: Brand, member: Member, points_brand: int, amount: int, order_ref: str
) -> Signed:
    request = {
        "member": member.address,
        "brand": points_brand,
        "amount": amount,
        "order_ref": order_ref,
    }
    response = at.api.post("/v1/redemptions/typed-data", request)
    assert response.status_code == 200, response.text
    prepared = response.json()
    return Signed(
        {
            **request,
            "nonce": prepared["nonce"],
            "deadline": prepared["deadline"],
            "signature": member.sign(prepared["typed_data"]),
        },
        prepared["typed_data"],
    )


def resigned(body: Signed, member: Member, amount: int) -> dict[str, Any]:
    """`body`'s gift or redemption for `amount` points instead, signed by the member's own
    app (`ledger_client.eip712`) on its document with that amount: what no typed-data route
    hands out for more than the member may spend (the relay's own refusal, tested)."""
    document = body.typed_data
    message = {**document["message"], "amount": amount}
    domain = document["domain"]
    again = eip712.typed_data(
        document["primaryType"],
        message,
        chain_id=int(domain["chainId"]),
        verifying_contract=domain["verifyingContract"],
    )
    return {**body, "amount": amount, "signature": member.sign(again)}


def balance(brand: Brand, member: Member, brand_id: int) -> int:
    """The member's points of `brand_id` as `brand` sees them (what it may spend there)."""
    view = brand.api.get(f"/v1/members/{member.address}").json()
    return next((s["points"] for s in view["spendable"] if s["brand_id"] == brand_id), 0)


def listed_cap(gateway: Gateway, brand: Brand) -> int | None:
    """The brand's daily mint cap as the admin's brand list shows it (the index's)."""
    body = gateway.admin.get("/v1/admin/brands").json()
    entry: dict[str, Any] = next(b for b in body if b["brand_id"] == brand.brand_id)
    cap: int | None = entry["daily_cap_points"]
    return cap


def wait_for_daily_cap(gateway: Gateway, brand: Brand, cap: int) -> None:
    """Until the index holds the brand's daily mint cap `cap` (the intake checks it then)."""
    wait_for(lambda: listed_cap(gateway, brand) == cap or None, what=f"the indexed cap {cap}")


def confirmed(brand: Brand, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """`POST path` with `?wait=true`, answered 200 and confirmed on chain: the operation."""
    answer = brand.api.post(path, body, params={"wait": "true"})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["status"] == "confirmed", result
    return result


def signed_vote(brand: Brand, poll_id: int, member: Member, option: int) -> dict[str, Any]:
    """A vote for `option` the member signed: the EIP-712 document the gateway prepared."""
    answer = brand.api.post(
        f"/v1/polls/{poll_id}/votes/typed-data", {"voter": member.address, "option": option}
    )
    assert answer.status_code == 200, answer.text
    prepared = answer.json()
    assert prepared["typed_data"]["domain"]["name"] == "AlliancePolls"
    return {
        "voter": member.address,
        "option": option,
        "deadline": prepared["deadline"],
        "signature": member.sign(prepared["typed_data"]),
    }


def buy(brand: Brand, member: Member, cents: int) -> tuple[str, dict[str, Any]]:
    """A purchase under a fresh order reference, through `POST /v1/earn/purchase`, waited for
    until confirmed and indexed: (the order reference, the final operation)."""
    order = f"order-{uuid.uuid4()}"
    body = {"member": member.address, "amount_cents": cents, "order_ref": order}
    accepted = brand.api.post("/v1/earn/purchase", body)
    assert accepted.status_code == 202, accepted.text
    final = brand.api.wait(accepted.json()["operation_id"])
    assert final["status"] == "confirmed", final
    return order, final
