"""EIP-712 payloads members sign (`Gift`, `Redeem`), exactly as the ledger hashes them.

Integer fields (uint256) and the domain's `chainId` are decimal strings in the documents:
JavaScript numbers lose precision past 2^53, and EIP-712 libraries and wallets
(eth_account, ethers, viem, MetaMask's `eth_signTypedData_v4`) accept decimal strings and
hash them as the numbers they spell."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

DOMAIN_NAME = "AllianceLedger"
DOMAIN_VERSION = "1"

EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
GIFT = [
    {"name": "member", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "brand", "type": "uint256"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
REDEEM = [
    {"name": "member", "type": "address"},
    {"name": "brand", "type": "uint256"},
    {"name": "atBrand", "type": "uint256"},
    {"name": "amount", "type": "uint256"},
    {"name": "orderRef", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


BADGES_DOMAIN_NAME = "AllianceBadges"
REDEEM_BENEFIT = [
    {"name": "holder", "type": "address"},
    {"name": "typeId", "type": "uint256"},
    {"name": "claimRef", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def _document(
    primary: str,
    fields: list[dict[str, str]],
    message: dict[str, Any],
    chain_id: int,
    ledger: str,
    name: str = DOMAIN_NAME,
) -> dict[str, Any]:
    integers = {f["name"] for f in fields if f["type"].startswith(("uint", "int"))}
    message = {k: str(v) if k in integers else v for k, v in message.items()}
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary: fields},
        "primaryType": primary,
        "domain": {
            "name": name,
            "version": DOMAIN_VERSION,
            "chainId": str(chain_id),
            "verifyingContract": to_checksum_address(ledger),
        },
        "message": message,
    }


def gift_typed_data(
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
    message = {
        "member": member,
        "to": to,
        "brand": brand,
        "amount": amount,
        "nonce": nonce,
        "deadline": deadline,
    }
    return _document("Gift", GIFT, message, chain_id, ledger)


def redeem_typed_data(
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
    message = {
        "member": member,
        "brand": brand,
        "atBrand": at_brand,
        "amount": amount,
        "orderRef": order_ref,
        "nonce": nonce,
        "deadline": deadline,
    }
    return _document("Redeem", REDEEM, message, chain_id, ledger)


def redeem_benefit_typed_data(
    *,
    chain_id: int,
    badges: str,
    holder: str,
    type_id: int,
    claim_ref: str,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    message = {
        "holder": holder,
        "typeId": type_id,
        "claimRef": claim_ref,
        "nonce": nonce,
        "deadline": deadline,
    }
    return _document("RedeemBenefit", REDEEM_BENEFIT, message, chain_id, badges, BADGES_DOMAIN_NAME)


POLLS_DOMAIN_NAME = "AlliancePolls"
VOTE = [
    {"name": "voter", "type": "address"},
    {"name": "pollId", "type": "uint256"},
    {"name": "option", "type": "uint8"},
    {"name": "deadline", "type": "uint256"},
]


def vote_typed_data(
    *, chain_id: int, polls: str, voter: str, poll_id: int, option: int, deadline: int
) -> dict[str, Any]:
    """`Vote` of AlliancePolls: no nonce, the contract counts one vote per member and poll."""
    message = {"voter": voter, "pollId": poll_id, "option": option, "deadline": deadline}
    return _document("Vote", VOTE, message, chain_id, polls, POLLS_DOMAIN_NAME)


ENTERPRISES_DOMAIN_NAME = "EnterpriseAccounts"
_PAIR = [
    {"name": "enterprise", "type": "address"},
    {"name": "employee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
ENTERPRISE_TYPES = {
    "JoinEnterprise": _PAIR,  # the employee's consent
    "BindEmployee": _PAIR,  # the enterprise's
    "UnbindEmployee": _PAIR,  # the enterprise's
    "LeaveEnterprise": [
        {"name": "employee", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


def enterprise_typed_data(
    primary: str, *, chain_id: int, enterprises: str, message: dict[str, Any]
) -> dict[str, Any]:
    """One of EnterpriseAccounts' four messages (`ENTERPRISE_TYPES`)."""
    return _document(
        primary, ENTERPRISE_TYPES[primary], message, chain_id, enterprises, ENTERPRISES_DOMAIN_NAME
    )


def typed_data_digest(document: dict[str, Any]) -> bytes:
    """The EIP-712 digest of `document`, `keccak256(0x1901 ‖ domainSeparator ‖ structHash)`:
    the hash the contracts' `_hashTypedDataV4` gives, which an ECDSA signature signs and an
    ERC-1271 wallet is asked about."""
    signable = encode_typed_data(full_message=document)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


#: ERC-1271's magic value, `isValidSignature.selector`: the wallet approves the signature
ERC1271_MAGIC = bytes.fromhex("1626ba7e")


def is_valid_signature_data(digest: bytes, signature: bytes) -> bytes:
    """The calldata of ERC-1271's `isValidSignature(bytes32 hash, bytes signature)`."""
    return ERC1271_MAGIC + abi_encode(["bytes32", "bytes"], [digest, signature])


def erc1271_approves(answer: bytes) -> bool:
    """Whether `isValidSignature`'s return data approves, as OpenZeppelin's
    `SignatureChecker.isValidERC1271SignatureNow` reads it: at least 32 bytes whose first word
    is the magic value left-aligned with zeros after it (a short answer, or one with other
    bytes in that word, is a refusal)."""
    return len(answer) >= 32 and answer[:32] == ERC1271_MAGIC + bytes(28)


def recover_signer(document: dict[str, Any], signature: bytes) -> str | None:
    """The address that signed `document`, or None when the signature is malformed."""
    try:
        return str(
            Account.recover_message(encode_typed_data(full_message=document), signature=signature)
        )
    except Exception:  # noqa: BLE001 - eth-keys raises several types for malformed signatures
        return None


def sign_typed_data(document: dict[str, Any], private_key: bytes | str) -> bytes:
    """Signs like a wallet would (used by tools and tests)."""
    signed = Account.sign_message(encode_typed_data(full_message=document), private_key)
    return bytes(signed.signature)
