"""Issue 15: a batch's `PointsEarnedBatch` reaches the gateway's readers as one `PointsEarned`
per record, right after its operation's mint `Transfer`, with that log's position."""

from __future__ import annotations

import json
import secrets

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak
from support.chain import BUILD

from ledger_api.chain.abi import Log
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.earned import EarnedRecordsMismatch, expand_earned
from ledger_api.chain.manifest import Manifest


def contracts() -> Contracts:
    ledger = json.loads((BUILD / "AllianceLedger.json").read_text())["abi"]
    return Contracts(
        Manifest.from_json(
            {
                "chain_id": 31337,
                "admin": "0x" + "11" * 20,
                "contracts": {"AllianceLedger": {"address": LEDGER_ADDRESS, "abi": ledger}},
            }
        )
    )


LEDGER_ADDRESS = "0x" + "22" * 20
ZERO = bytes(32)
TRANSFER = keccak(text="Transfer(address,address,address,uint256,uint256)")
EARNED = keccak(text="PointsEarned(uint256,address,uint64,uint8,uint256,uint256,bytes32,uint256)")
BATCH = keccak(text="PointsEarnedBatch(uint256,bytes)")


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address(member: str) -> bytes:
    return bytes(12) + bytes.fromhex(member[2:])


def _log(topics: tuple[bytes, ...], data: bytes, index: int, tx: str = "0xaa") -> Log:
    return Log(LEDGER_ADDRESS, topics, data, 5, "0xbb", tx, index)


def _mint(member: str, brand: int, amount: int, index: int, tx: str = "0xaa") -> Log:
    topics = (TRANSFER, ZERO, _address(member), _word(brand))
    return _log(topics, encode(["address", "uint256"], [member, amount]), index, tx)


def _record(op_id: int, member: str, kind: int, points: int, cents: int, release: int) -> bytes:
    ref = keccak(text=f"order:{op_id}")
    return (
        op_id.to_bytes(8, "big")
        + bytes.fromhex(member[2:])
        + bytes([kind])
        + points.to_bytes(8, "big")
        + cents.to_bytes(6, "big")
        + release.to_bytes(5, "big")
        + ref
    )


def _batch(brand: int, records: list[bytes], index: int, tx: str = "0xaa") -> Log:
    return _log((BATCH, _word(brand)), encode(["bytes"], [b"".join(records)]), index, tx)


def test_each_record_follows_its_mint_with_its_position() -> None:
    codec = contracts()
    alice, bob, other = (Account.create().address for _ in range(3))
    logs = [
        # a lone earn earlier in the transaction (a signer contract): already paired
        _mint(alice, 1, 50, 0),
        _log(
            (EARNED, _word(1), _address(alice), _word(3)),
            encode(["uint8", "uint256", "uint256", "bytes32", "uint256"], [0, 50, 500, ZERO, 0]),
            1,
        ),
        _mint(alice, 1, 1_500, 2),  # op 7, with its own gift share
        _mint(other, 2, 250, 3),  # another brand's gift share: not a record's mint
        _mint(bob, 1, 5, 4),  # op 8
        _batch(
            1,
            [_record(7, alice, 0, 1_000, 10_000, 1_800_000_000), _record(8, bob, 1, 5, 0, 0)],
            5,
        ),
    ]
    events = expand_earned([e for e in map(codec.events.decode, logs) if e is not None])

    names = [(e.name, e.log.log_index) for e in events]
    assert names == [
        ("Transfer", 0),
        ("PointsEarned", 1),
        ("Transfer", 2),
        ("PointsEarned", 2),
        ("Transfer", 3),
        ("Transfer", 4),
        ("PointsEarned", 4),
    ]
    assert events[3].args == {
        "brand": 1,
        "member": alice,
        "opId": 7,
        "kind": 0,
        "points": 1_000,
        "spendCents": 10_000,
        "orderRef": keccak(text="order:7"),
        "releaseAt": 1_800_000_000,
    }
    assert (events[6].args["member"], events[6].args["opId"], events[6].args["kind"]) == (bob, 8, 1)


def test_records_that_do_not_match_the_mints_are_refused() -> None:
    codec = contracts()
    alice, bob = Account.create().address, Account.create().address
    cases = [
        [_mint(alice, 1, 10, 0), _batch(1, [_record(1, bob, 0, 10, 100, 0)], 1)],
        [_mint(alice, 1, 10, 0), _batch(1, [_record(1, alice, 0, 10, 100, 0)] * 2, 1)],
        [_mint(alice, 1, 10, 0, tx="0xcc"), _batch(1, [_record(1, alice, 0, 10, 100, 0)], 1)],
        [_batch(1, [secrets.token_bytes(79)], 0)],
    ]
    for logs in cases:
        decoded = [e for e in map(codec.events.decode, logs) if e is not None]
        with pytest.raises(EarnedRecordsMismatch):
            expand_earned(decoded)
