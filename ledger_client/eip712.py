"""Member-side EIP-712: build what a member signs, sign it with a local key, verify it.

A brand's back-end or a member's app uses these without reading the contracts. The documents
are the ledger's (`AllianceLedger` version `1`: `Gift` for gifts, donations and auction bids,
`Redeem`), the badge contract's (`AllianceBadges` version `1`: `RedeemBenefit`), the polls'
(`AlliancePolls` version `1`: `Vote`) and the enterprise accounts' (`EnterpriseAccounts`
version `1`: `JoinEnterprise`, `BindEmployee`, `UnbindEmployee`, `LeaveEnterprise`); integers
are decimal strings (wallets and `eth_signTypedData_v4` accept them; JavaScript numbers lose
precision past 2^53), exactly as the gateway's `/typed-data` routes answer them.

    data = eip712.gift(chain_id=31337, ledger="0x...", member=me, to=friend, brand=1,
                       amount=250, nonce=0, deadline=1796083200)
    signature = eip712.sign(data, private_key)
    assert eip712.verify(data, signature, me)

A member app that receives a document from a brand checks it says what the member means
before signing: `eip712.check(document, member=me, amount=250, verifying_contract=...)`.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address

LEDGER_DOMAIN = "AllianceLedger"
BADGES_DOMAIN = "AllianceBadges"
VERSION = "1"

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
TYPES: dict[str, list[dict[str, str]]] = {
    "Gift": [
        {"name": "member", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "brand", "type": "uint256"},
        {"name": "amount", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "Redeem": [
        {"name": "member", "type": "address"},
        {"name": "brand", "type": "uint256"},
        {"name": "atBrand", "type": "uint256"},
        {"name": "amount", "type": "uint256"},
        {"name": "orderRef", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "RedeemBenefit": [
        {"name": "holder", "type": "address"},
        {"name": "typeId", "type": "uint256"},
        {"name": "claimRef", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}
_PAIR = [
    {"name": "enterprise", "type": "address"},
    {"name": "employee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
TYPES |= {
    "Vote": [  # AlliancePolls: no nonce, one vote per member and poll
        {"name": "voter", "type": "address"},
        {"name": "pollId", "type": "uint256"},
        {"name": "option", "type": "uint8"},
        {"name": "deadline", "type": "uint256"},
    ],
    "JoinEnterprise": _PAIR,  # EnterpriseAccounts: the employee's consent
    "BindEmployee": _PAIR,  # the enterprise's
    "UnbindEmployee": _PAIR,  # the enterprise's
    "LeaveEnterprise": [
        {"name": "employee", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}
POLLS_DOMAIN = "AlliancePolls"
ENTERPRISES_DOMAIN = "EnterpriseAccounts"
_DOMAINS = {
    "Gift": LEDGER_DOMAIN,
    "Redeem": LEDGER_DOMAIN,
    "RedeemBenefit": BADGES_DOMAIN,
    "Vote": POLLS_DOMAIN,
    **{primary: ENTERPRISES_DOMAIN for primary in ("JoinEnterprise", "BindEmployee")},
    **{primary: ENTERPRISES_DOMAIN for primary in ("UnbindEmployee", "LeaveEnterprise")},
}


def typed_data(
    primary: str, message: dict[str, Any], *, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """The full EIP-712 document of `primary` (a key of `TYPES`: `Gift`, `Redeem`,
    `RedeemBenefit`, `Vote`, `JoinEnterprise`, `BindEmployee`, `UnbindEmployee`,
    `LeaveEnterprise`)."""
    fields = TYPES[primary]
    if set(message) != {f["name"] for f in fields}:
        raise ValueError(f"{primary} takes {[f['name'] for f in fields]}, got {sorted(message)}")
    integers = {f["name"] for f in fields if f["type"].startswith(("uint", "int"))}
    addresses = {f["name"] for f in fields if f["type"] == "address"}
    normalized = {
        key: str(int(value))
        if key in integers
        else to_checksum_address(value)
        if key in addresses
        else value
        for key, value in message.items()
    }
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, primary: fields},
        "primaryType": primary,
        "domain": {
            "name": _DOMAINS[primary],
            "version": VERSION,
            "chainId": str(chain_id),
            "verifyingContract": to_checksum_address(verifying_contract),
        },
        "message": normalized,
    }


def gift(
    *,
    chain_id: int,
    ledger: str,
    member: str,
    to: str,
    brand: int,
    amount: int,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """A gift of `amount` points of `brand` from `member` to `to` (a donation is a gift to
    the charity pool). `nonce`: the member's next ledger nonce; `deadline`: unix seconds."""
    message = {
        "member": member,
        "to": to,
        "brand": brand,
        "amount": amount,
        "nonce": nonce,
        "deadline": deadline,
    }
    return typed_data("Gift", message, chain_id=chain_id, verifying_contract=ledger)


def redeem(
    *,
    chain_id: int,
    ledger: str,
    member: str,
    brand: int,
    at_brand: int,
    amount: int,
    order_ref: str,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """Redeeming `amount` points of `brand` at `at_brand`. `order_ref` is the 32-byte
    reference as it goes on chain (0x-hex; the gateway binds the brand's order id with the
    brand's secret, so it comes from the brand's `/v1/redemptions/typed-data`)."""
    message = {
        "member": member,
        "brand": brand,
        "atBrand": at_brand,
        "amount": amount,
        "orderRef": order_ref,
        "nonce": nonce,
        "deadline": deadline,
    }
    return typed_data("Redeem", message, chain_id=chain_id, verifying_contract=ledger)


def redeem_benefit(
    *,
    chain_id: int,
    badges: str,
    holder: str,
    type_id: int,
    claim_ref: str,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """Redeeming the benefit of a collectible badge once (`AllianceBadges`' domain)."""
    message = {
        "holder": holder,
        "typeId": type_id,
        "claimRef": claim_ref,
        "nonce": nonce,
        "deadline": deadline,
    }
    return typed_data("RedeemBenefit", message, chain_id=chain_id, verifying_contract=badges)


def vote(
    *, chain_id: int, polls: str, voter: str, poll_id: int, option: int, deadline: int
) -> dict[str, Any]:
    """`voter`'s vote for `option` (from 0) in poll `poll_id` (`AlliancePolls`' domain; no
    nonce: the contract counts one vote per member and poll)."""
    message = {"voter": voter, "pollId": poll_id, "option": option, "deadline": deadline}
    return typed_data("Vote", message, chain_id=chain_id, verifying_contract=polls)


def sign(document: dict[str, Any], private_key: bytes | str) -> str:
    """The member's signature (65 bytes r||s||v, 0x-hex), as a wallet would sign it."""
    signed = Account.sign_message(encode_typed_data(full_message=document), private_key)
    return "0x" + bytes(signed.signature).hex()


def recover(document: dict[str, Any], signature: str) -> str:
    """The checksummed address that signed `document`; `ValueError` for a malformed one."""
    try:
        return str(
            Account.recover_message(encode_typed_data(full_message=document), signature=signature)
        )
    except Exception as error:  # noqa: BLE001 - eth-keys raises several types
        raise ValueError(f"not a valid signature: {error}") from error


def verify(document: dict[str, Any], signature: str, signer: str) -> bool:
    """True when `signer` signed `document`."""
    try:
        return recover(document, signature) == to_checksum_address(signer)
    except ValueError:
        return False


def check(
    document: dict[str, Any],
    *,
    chain_id: int | None = None,
    verifying_contract: str | None = None,
    **expected: Any,
) -> None:
    """`ValueError` unless `document` is one of the alliance's documents on that chain and
    contract with the expected message fields (`member=..., amount=...` in the message's
    names or snake_case: `at_brand`, `order_ref`), so a member app signs only what it means."""
    primary = document.get("primaryType", "")
    if primary not in TYPES:
        raise ValueError(f"not an alliance document: {primary!r}")
    rebuilt = typed_data(
        primary,
        document["message"],
        chain_id=int(document["domain"]["chainId"]),
        verifying_contract=document["domain"]["verifyingContract"],
    )
    if rebuilt["domain"] != document["domain"] or rebuilt["types"] != document["types"]:
        raise ValueError("the domain or the types are not the alliance's")
    if chain_id is not None and int(document["domain"]["chainId"]) != chain_id:
        raise ValueError(f"chain {document['domain']['chainId']}, expected {chain_id}")
    contract = document["domain"]["verifyingContract"]
    if verifying_contract and contract != to_checksum_address(verifying_contract):
        raise ValueError(f"contract {contract}, expected {verifying_contract}")
    for name, value in expected.items():
        key = _camel(name)
        if rebuilt["message"].get(key) != typed_data_value(primary, key, value):
            raise ValueError(f"{key} is {document['message'].get(key)!r}, expected {value!r}")


def typed_data_value(primary: str, key: str, value: Any) -> Any:
    """`value` as the document spells field `key` (decimal strings, checksummed addresses)."""
    kind = next((f["type"] for f in TYPES[primary] if f["name"] == key), None)
    if kind is None:
        raise ValueError(f"{primary} has no field {key!r}")
    if kind.startswith("uint"):
        return str(int(value))
    if kind == "address":
        return to_checksum_address(value)
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
