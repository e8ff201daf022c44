"""Signing transactions and keeping signing keys encrypted at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr


@dataclass(frozen=True, slots=True)
class SignedTx:
    raw: bytes
    tx_hash: str


def sign_transaction(
    account: LocalAccount,
    *,
    chain_id: int,
    nonce: int,
    to: str,
    data: bytes,
    value: int,
    gas: int,
    max_fee_wei: int,
    priority_fee_wei: int,
) -> SignedTx:
    """An EIP-1559 transaction, signed."""
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "to": HexStr(to),
            "data": data,
            "value": value,
            "gas": gas,
            "maxFeePerGas": max_fee_wei,
            "maxPriorityFeePerGas": min(priority_fee_wei, max_fee_wei),
        }
    )
    return SignedTx(bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex())


def new_keystore(passphrase: str, iterations: int) -> tuple[str, str]:
    """A fresh signing key: its address and its keystore JSON (PBKDF2 + AES-128-CTR)."""
    account = Account.create()
    keystore = Account.encrypt(account.key, passphrase, kdf="pbkdf2", iterations=iterations)
    return str(account.address), json.dumps(keystore)


def unlock_keystore(keystore: str, passphrase: str) -> LocalAccount:
    key = Account.decrypt(json.loads(keystore), passphrase)
    account: LocalAccount = Account.from_key(key)
    return account


def account_from_key(private_key: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(private_key)
    return account
