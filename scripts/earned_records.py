"""Decodes the records of the ledger's `PointsEarnedBatch` event (one per operation an
`earnBatch` applied) into the fields of `PointsEarned`, for the brownie side (the contract
suite and the gas report); the gateway's own decoder is `ledger_api.chain.earned`."""

from __future__ import annotations

from typing import Any

from brownie.convert.datatypes import EthAddress, HexString

RECORD_BYTES = 80


def earned_records(brand: int, records: bytes) -> list[dict[str, Any]]:
    """Each record (opId 8 bytes | member 20 | kind 1 | points 8 | spendCents 6 | releaseAt 5 |
    orderRef 32, big-endian) as the dict of a decoded `PointsEarned`."""
    data = bytes(records)
    assert len(data) % RECORD_BYTES == 0, f"{len(data)} bytes of records"
    found = []
    for i in range(0, len(data), RECORD_BYTES):
        r = data[i : i + RECORD_BYTES]
        found.append(
            {
                "brand": brand,
                "member": EthAddress(r[8:28]),
                "opId": int.from_bytes(r[0:8], "big"),
                "kind": r[28],
                "points": int.from_bytes(r[29:37], "big"),
                "spendCents": int.from_bytes(r[37:43], "big"),
                "orderRef": HexString(r[48:80], "bytes32"),
                "releaseAt": int.from_bytes(r[43:48], "big"),
            }
        )
    return found
