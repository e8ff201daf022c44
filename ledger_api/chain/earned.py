"""The ledger's `PointsEarnedBatch` as the `PointsEarned` events it stands for (issue 15).

`earnBatch` emits one `PointsEarnedBatch` per call, with an 80-byte record per applied
operation (`IAllianceLedger.PointsEarnedBatch`), instead of a `PointsEarned` per operation
(about 2,100 gas less per batched earn); a lone `earn` still emits `PointsEarned`. The gateway's
readers (the indexer, the sender's receipt reading, the reversal lookup, the webhooks) keep
seeing one `PointsEarned` per operation: `expand_earned` replaces each batch event by its
records, each placed right after its operation's mint `Transfer` and carrying that log's
position (block, log index), which is where `earnBatch` emitted `PointsEarned` before. A mint
`Transfer` writes no history row and no webhook of the same type, so the index's keys (block,
log index, member, kind) and the webhook ids (type, transaction, log index) stay unique.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ledger_api.chain.abi import Event, checksum
from ledger_api.chain.manifest import LEDGER

RECORD_BYTES = 80
BATCH_EVENT = "PointsEarnedBatch"
EARNED_EVENT = "PointsEarned"
_ZERO = "0x0000000000000000000000000000000000000000"


class EarnedRecordsMismatch(ValueError):
    """A `PointsEarnedBatch` whose records do not match its transaction's mint `Transfer`s."""


def decode_records(brand: int, records: bytes) -> list[dict[str, Any]]:
    """Each record (big-endian: opId 8 bytes | member 20 | kind 1 | points 8 | spendCents 6 |
    releaseAt 5 | orderRef 32) as the args of a decoded `PointsEarned`."""
    if len(records) % RECORD_BYTES:
        raise EarnedRecordsMismatch(f"{len(records)} bytes of records")
    found = []
    for i in range(0, len(records), RECORD_BYTES):
        r = records[i : i + RECORD_BYTES]
        found.append(
            {
                "brand": brand,
                "member": checksum("0x" + r[8:28].hex()),
                "opId": int.from_bytes(r[0:8], "big"),
                "kind": r[28],
                "points": int.from_bytes(r[29:37], "big"),
                "spendCents": int.from_bytes(r[37:43], "big"),
                "orderRef": bytes(r[48:80]),
                "releaseAt": int.from_bytes(r[43:48], "big"),
            }
        )
    return found


def _is_mint(event: Event, brand: int, tx_hash: str) -> bool:
    return (
        event.contract == LEDGER
        and event.name == "Transfer"
        and event.log.tx_hash == tx_hash
        and event.args["sender"] == _ZERO
        and int(event.args["id"]) == brand
    )


def _earned_follows(events: Sequence[Event], i: int) -> bool:
    nxt = events[i + 1] if i + 1 < len(events) else None
    return (
        nxt is not None
        and nxt.contract == LEDGER
        and nxt.name == EARNED_EVENT
        and nxt.log.tx_hash == events[i].log.tx_hash
    )


def expand_earned(events: Sequence[Event]) -> list[Event]:
    """`events` (decoded, in log order, every ledger log of their transactions) with each
    `PointsEarnedBatch` replaced by a `PointsEarned` per record, right after its operation's mint
    `Transfer`: the last mints of the batch's brand in the same transaction before the batch
    event that no `PointsEarned` follows yet (an `earnBatch` emits one mint per applied operation,
    in order, and nothing else mints the brand's points in the call).

    Raises `EarnedRecordsMismatch` when the mints and the records do not pair (member by member).
    """
    out: list[Event] = []
    for event in events:
        if event.contract != LEDGER or event.name != BATCH_EVENT:
            out.append(event)
            continue
        brand = int(event.args["brand"])
        records = decode_records(brand, bytes(event.args["records"]))
        tx_hash = event.log.tx_hash
        mints = [
            i
            for i, e in enumerate(out)
            if _is_mint(e, brand, tx_hash) and not _earned_follows(out, i)
        ]
        if len(mints) < len(records):
            raise EarnedRecordsMismatch(
                f"{tx_hash}: {len(records)} records of brand {brand}, {len(mints)} mints"
            )
        paired = mints[len(mints) - len(records) :]
        for i, record in zip(paired, records, strict=True):
            if out[i].args["receiver"] != record["member"]:
                raise EarnedRecordsMismatch(f"{tx_hash}: op {record['opId']} mints elsewhere")
        for i, record in reversed(list(zip(paired, records, strict=True))):
            out.insert(i + 1, Event(LEDGER, EARNED_EVENT, record, out[i].log))
    return out


def records_in(data: bytes) -> bytes:
    """The `records` of a raw `PointsEarnedBatch` log's data (ABI: offset, length, bytes)."""
    offset = int.from_bytes(data[0:32], "big")
    length = int.from_bytes(data[offset : offset + 32], "big")
    return bytes(data[offset + 32 : offset + 32 + length])


def earned_op_ids(
    logs: Iterable[Mapping[str, Any]], earned_topic: bytes, batch_topic: bytes
) -> list[tuple[int, int]]:
    """(brand, opId) of every earn that raw logs (web3's dicts, the ledger's) record: one per
    `PointsEarned` (topics: brand, member, opId) and one per record of a `PointsEarnedBatch`."""
    found: list[tuple[int, int]] = []
    for log in logs:
        topics = [bytes(t) for t in log["topics"]]
        if not topics:
            continue
        brand = int.from_bytes(topics[1], "big") if len(topics) > 1 else 0
        if topics[0] == bytes(earned_topic):
            found.append((brand, int.from_bytes(topics[3], "big")))
        elif topics[0] == bytes(batch_topic):
            records = decode_records(brand, records_in(bytes(log["data"])))
            found.extend((brand, int(r["opId"])) for r in records)
    return found
