"""Typed data wallets sign right; signatures normalised or refused at intake (issue 9, item 5)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from support.flows import earn
from support.gateway import Brand, Member

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
THIRTY_DAYS = 30 * 86_400


def _prepare(brand: Brand, member: Member, to: str, amount: int, **extra: Any) -> dict[str, Any]:
    response = brand.api.post(
        "/v1/gifts/typed-data", {"member": member.address, "to": to, "amount": amount, **extra}
    )
    assert response.status_code == 200, response.text
    prepared: dict[str, Any] = response.json()
    return prepared


def _sign_parts(member: Member, typed_data: dict[str, Any]) -> tuple[int, int, int]:
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), member.account.key)
    return signed.r, signed.s, signed.v


def _encode(r: int, s: int, v: int) -> str:
    return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + f"{v:02x}"


def test_typed_data_carries_uint256_fields_and_the_chain_id_as_decimal_strings(
    brand: Brand,
) -> None:
    member = Member()
    earn(brand, member, 100)  # the document is for points the member holds
    prepared = _prepare(brand, member, Member().address, 5)
    document = prepared["typed_data"]
    assert isinstance(document["domain"]["chainId"], str)
    assert document["domain"]["chainId"].isdigit()
    for name in ("brand", "amount", "nonce", "deadline"):
        assert isinstance(document["message"][name], str), name
        assert document["message"][name].isdigit(), name
    assert int(document["message"]["deadline"]) == prepared["deadline"]


def test_a_gift_signed_over_the_string_typed_data_is_applied(brand: Brand) -> None:
    alice, bob = Member(), Member()
    earn(brand, alice, 1_000)
    prepared = _prepare(brand, alice, bob.address, 7)
    body = {
        "member": alice.address,
        "to": bob.address,
        "amount": 7,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": alice.sign(prepared["typed_data"]),  # eth_account over the strings
    }
    result = brand.api.post("/v1/gifts", body, params={"wait": "true"}).json()
    assert result["status"] == "confirmed", result


def test_a_deadline_beyond_the_cap_is_refused(brand: Brand) -> None:
    alice = Member()
    far = int(time.time()) + THIRTY_DAYS + 3_600
    for deadline in (far, 2**64 - 1):
        response = brand.api.post(
            "/v1/gifts/typed-data",
            {"member": alice.address, "to": Member().address, "amount": 1, "deadline": deadline},
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] in ("invalid_deadline",)
    body = {
        "member": alice.address,
        "to": Member().address,
        "amount": 1,
        "nonce": 0,
        "deadline": far,
        "signature": "0x" + "11" * 64 + "1b",  # well formed: the deadline is what fails
    }
    response = brand.api.post("/v1/gifts", body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_deadline"


def test_typed_data_for_a_deadline_already_passed_is_refused(brand: Brand) -> None:
    """A trial of 2026-12-05: `deadline` 0, 1 or ten seconds ago answered 200 with typed data
    whose signature its relay then refused (`signature_expired`). Every typed-data route
    goes through `Checks.deadline`: it answers the relay's code at once."""
    alice = Member()
    now = int(time.time())
    for deadline in (0, 1, now - 10):
        for path, body in (
            ("/v1/gifts/typed-data", {"to": Member().address, "amount": 1}),
            ("/v1/donations/typed-data", {"amount": 1}),
        ):
            response = brand.api.post(path, {"member": alice.address, "deadline": deadline, **body})
            assert response.status_code == 422, (path, deadline, response.text)
            error = response.json()["error"]
            assert (error["code"], error["details"]) == (
                "signature_expired",
                {"deadline": deadline},
            ), (path, error)
    earn(brand, alice, 100)  # a document is for points the member holds
    ahead = brand.api.post(
        "/v1/gifts/typed-data",
        {"member": alice.address, "to": Member().address, "amount": 1, "deadline": now + 600},
    )
    assert ahead.status_code == 200, ahead.text


def test_a_signature_with_v_0_or_1_is_normalised_and_applied_on_chain(brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    for _ in range(2):
        prepared = _prepare(brand, alice, Member().address, 3)
        r, s, v = _sign_parts(alice, prepared["typed_data"])
        body = {
            "member": alice.address,
            "to": prepared["typed_data"]["message"]["to"],
            "amount": 3,
            "nonce": prepared["nonce"],
            "deadline": prepared["deadline"],
            "signature": _encode(r, s, v - 27),  # as hardware wallets return it
        }
        response = brand.api.post("/v1/gifts", body, params={"wait": "true"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "confirmed", response.text


def test_a_high_s_signature_is_refused_at_intake(brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    prepared = _prepare(brand, alice, Member().address, 3)
    r, s, v = _sign_parts(alice, prepared["typed_data"])
    malleable = _encode(r, SECP256K1_N - s, 55 - v)  # the same signer, the other s
    _refused_signature(brand, alice, prepared, malleable)


def test_a_signature_with_another_v_is_refused(brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 100)
    prepared = _prepare(brand, alice, Member().address, 3)
    r, s, _ = _sign_parts(alice, prepared["typed_data"])
    _refused_signature(brand, alice, prepared, _encode(r, s, 29))


@pytest.mark.parametrize(
    ("r", "s", "says"),
    [
        (0, 0, "r must be 1 to n - 1"),  # a trial's all-zero signature: "s in the lower half"
        (1, 0, "s nonzero"),
        (0, 1, "r must be 1 to n - 1"),
        (SECP256K1_N, 1, "r must be 1 to n - 1"),
        (1, SECP256K1_N // 2 + 1, "lower half"),
    ],
)
def test_a_signature_no_key_makes_says_why(brand: Brand, r: int, s: int, says: str) -> None:
    alice = Member()
    earn(brand, alice, 100)
    prepared = _prepare(brand, alice, Member().address, 3)
    error = _refused_signature(brand, alice, prepared, _encode(r, s, 0))
    assert says in error["message"], error


def _refused_signature(
    brand: Brand, member: Member, prepared: dict[str, Any], signature: str
) -> dict[str, Any]:
    """The error of the prepared gift of 3 points relayed with `signature`: 422
    `invalid_signature`, before anything is stored."""
    body = {
        "member": member.address,
        "to": prepared["typed_data"]["message"]["to"],
        "amount": 3,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": signature,
    }
    response = brand.api.post("/v1/gifts", body)
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid_signature", error
    return error
