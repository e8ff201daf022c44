"""Whose an op id the ledger marks used is, when no receipt of ours says it applied it.

An earn (or a reversal) whose transaction never landed, or that its batch skipped on a later
attempt, reads its op id used in the ledger's bitmap (`isOperationUsed`, `OperationUsed`). The
bitmap says that the id is used, not by which operation: an earlier transaction of ours that
the gateway could not follow, or another sender holding the brand's key (the brand calling
the ledger itself, or a second database of one deployment handing out the same ids; a trial
of two databases reported 600 points confirmed that the chain had given to the other's
orders). The operation is confirmed `applied_earlier` only when the chain's credit under its
op id is its own: the same member, earn kind (or reversal) and order reference. Otherwise it
fails `operation_used`, naming the credit that holds the id; a retry of the order takes a new
id once the index has recorded that credit (`lookups`, `ChainCredit`: one with an order
reference). Not told apart: two engagements of one kind for one member with no reference
(both zero) under one op id.

The credit is looked for in the index's history of the operation's member
(`ix_idx_history_member`), then in the node's logs of the blocks the index has not read yet.
Until one of them holds it, nothing is settled: a credit not found is never taken for
another's (a node may serve the state of a block before its logs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import NamedTuple

from sqlalchemy import select

from ledger_api.background.indexer.cursor import stored_height
from ledger_api.chain.abi import checksum
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.earned import BATCH_EVENT, EARNED_EVENT, decode_records
from ledger_api.chain.manifest import LEDGER
from ledger_api.chain.port import Chain
from ledger_api.db import Database
from ledger_api.db.credit_models import ChainCredit
from ledger_api.db.models import IdxHistory
from ledger_api.domain import EarnKind, OpKind, iso_utc
from ledger_api.errors import CreditNotIndexed

from .txplan import OpRecord, Outcome, Verdict

#: operation kinds that carry a brand op id the ledger marks used (earn bitmap, issue 11)
OP_ID_KINDS = (OpKind.EARN.value, OpKind.REVERSAL.value)
#: blocks of the node's logs asked for at once, past the index's height
LOG_SPAN = 2_000
#: the most blocks past the index's height looked through for a credit (beyond: the index is
#: rebuilding or far behind, and the settling waits for it)
LOG_SCAN_BLOCKS = 10_000
_REVERSED = "PointsReversed"
#: an earn kind as the index's history names it (`source`)
_EARN_KINDS = {kind.name.lower(): int(kind) for kind in EarnKind}


class Credit(NamedTuple):
    """What the chain applied under an op id: an earn's or a reversal's member, points, earn
    kind (None for a reversal) and order reference (0x-hex bytes32), and where; `release_at`:
    a pending purchase's end of its return window (unix seconds; 0: live at once)."""

    member: str
    points: int
    earn_kind: int | None
    order_ref: str
    tx_hash: str
    block_number: int
    release_at: int = 0

    def described(self) -> str:
        what = "a reversal" if self.earn_kind is None else "an earn"
        return (
            f"{what} of {self.points} points for member {self.member} (order reference"
            f" {self.order_ref}) in transaction {self.tx_hash}, block {self.block_number}"
        )


class Earlier:
    """The ledger's word that an op id is used, judged for one signer's brand (`brand`: its
    ledger id and row id, None for the admin's queue or before the onboarding landed)."""

    def __init__(
        self, db: Database, contracts: Contracts, brand: Callable[[], tuple[int, int] | None]
    ) -> None:
        self.db = db
        self.contracts = contracts
        self.brand = brand

    def requeue_outcomes(self, chain: Chain, ops: Sequence[OpRecord]) -> dict[int, Outcome]:
        """Operations whose transaction never applied them go back to the queue. An earn (or
        reversal) whose op id the ledger already marks used is confirmed when the chain's
        credit under it is its own (an earlier transaction of ours applied it: never sent
        again under a new id), and fails `operation_used` when it is another's (`judged`).
        Raises `ChainUnavailable` (`CreditNotIndexed` for a credit not read yet)."""
        outcomes: dict[int, Outcome] = {}
        brand = self.brand()
        for op in ops:
            if op.kind in OP_ID_KINDS and op.op_id is not None and brand is not None:
                call = self.contracts.is_operation_used_call(brand[0], op.op_id)
                (used,) = self.contracts.ledger["isOperationUsed"].decode(
                    chain.call(call.to, call.data)
                )
                if used:
                    head = chain.block_number()  # at or after the block the read saw
                    # applied by a block up to `head`, which one unknown (no receipt of ours):
                    # the index holds it once it reaches `head` (`status`'s `indexed`; it
                    # had read false for good)
                    applied = {"applied_earlier": True, "applied_by_block": head}
                    outcomes[op.id] = self.judge(
                        chain, op, head, Outcome(Verdict.CONFIRMED, applied)
                    )
                    continue
            outcomes[op.id] = Outcome(Verdict.REQUEUE)
        return outcomes

    def judge(self, chain: Chain, op: OpRecord, up_to: int, outcome: Outcome) -> Outcome:
        """`outcome`, unless it confirms the op `applied_earlier` (its op id found used, by
        block `up_to`) while the chain's credit under that id is another's (`judged`)."""
        if not outcome.result.get("applied_earlier"):
            return outcome
        brand = self.brand()
        if brand is None or op.op_id is None:
            return outcome
        return judged(chain, self.db, self.contracts, op, brand, up_to, outcome)


def judged(
    chain: Chain,
    db: Database,
    contracts: Contracts,
    op: OpRecord,
    brand: tuple[int, int],
    up_to: int,
    confirmed: Outcome,
) -> Outcome:
    """`confirmed` (the op's `applied_earlier` outcome) when the chain's credit under the op's
    id, applied by block `up_to`, is the op's own; otherwise the op fails `operation_used`.
    `brand`: the brand's ledger id and row id. Raises `ChainUnavailable` when the node cannot
    be read."""
    assert op.op_id is not None
    reversal = op.kind == OpKind.REVERSAL.value
    member = checksum(str(op.payload["member"]))
    credit = credit_under(chain, db, contracts, brand[0], op.op_id, member, up_to, reversal)
    if credit is not None and _is_own(op, credit, member, reversal):
        # the transaction that applied it, not the one that found the id used (a trial's
        # restored database reported its resend, which credited nothing)
        # and what it produced, as its own receipt would have said (a trial's read no points)
        produced: dict[str, object] = {"points": credit.points}
        if credit.release_at:
            produced["release_at"] = iso_utc(credit.release_at)
        result = {**confirmed.result, **produced, "applied_by_block": credit.block_number}
        return replace(confirmed, result=result, applied_by=(credit.tx_hash, credit.block_number))
    held = credit.described() if credit is not None else _foreign(db, brand[1], op.op_id)
    return Outcome(
        Verdict.FAILED,
        code="operation_used",
        message=(
            f"op id {op.op_id} is used on the chain by {held}, not by this {op.kind}, which was"
            " not applied: another sender uses this brand's key and op ids (the brand itself,"
            " or a second database of this deployment)"
        ),
    )


def _foreign(db: Database, brand_row: int, op_id: int) -> str:
    """The credit under `op_id` that the index recorded as no operation's here
    (`ChainCredit`: an order reference, no member), as words."""
    with db.read() as session:
        row = session.execute(
            select(ChainCredit.order_ref, ChainCredit.tx_hash, ChainCredit.block_number)
            .where(ChainCredit.brand_id == brand_row, ChainCredit.op_id == op_id)
            .limit(1)
        ).first()
    if row is None:
        return "another operation (another member's earn, or a reversal)"
    return (
        f"an earn of order reference {row.order_ref} in transaction {row.tx_hash},"
        f" block {row.block_number}"
    )


def _is_own(op: OpRecord, credit: Credit, member: str, reversal: bool) -> bool:
    ref = str(op.payload["order_ref"]).lower()
    kind = None if reversal else int(op.payload["earn_kind"])
    return (credit.member, credit.earn_kind, credit.order_ref) == (member, kind, ref)


def credit_under(
    chain: Chain,
    db: Database,
    contracts: Contracts,
    brand: int,
    op_id: int,
    member: str,
    up_to: int,
    reversal: bool,
) -> Credit | None:
    """The chain's credit under the brand's `op_id`, applied by block `up_to`: `member`'s, as
    the index holds it, else anyone's in the node's logs of the blocks past the index's height
    (at most `LOG_SCAN_BLOCKS`); None when the index, which holds every block up to `up_to`,
    holds no credit of `member` under it (the id went to another member, or to another kind).
    Raises `CreditNotIndexed` when neither holds it yet (the index farther behind, a node whose
    logs lag its state): the caller settles nothing and asks again later."""
    kinds = ("reversed",) if reversal else ("earned", "pending")
    with db.read() as session:
        height = stored_height(session)
        row = session.execute(
            select(
                IdxHistory.member,
                IdxHistory.amount,
                IdxHistory.source,
                IdxHistory.order_ref,
                IdxHistory.tx_hash,
                IdxHistory.block_number,
                IdxHistory.release_at,
            )
            .where(
                IdxHistory.member == member,
                IdxHistory.brand == brand,
                IdxHistory.op_id == op_id,
                IdxHistory.kind.in_(kinds),
            )
            .limit(1)
        ).first()
    if row is not None:
        kind = None if reversal else _EARN_KINDS.get(str(row.source))
        ref = str(row.order_ref).lower()
        return Credit(
            row.member,
            int(row.amount),
            kind,
            ref,
            row.tx_hash,
            row.block_number,
            int(row.release_at or 0),
        )
    if height >= up_to:
        return None  # the index holds every credit up to `up_to`: none is `member`'s
    if up_to - height > LOG_SCAN_BLOCKS:
        raise CreditNotIndexed(
            f"op id {op_id} reads used on the chain; the index is {up_to - height} blocks"
            f" behind block {up_to}, where it was applied: settled once it is there"
        )
    for logged_id, credit in logged_credits(chain, contracts, brand, height + 1, up_to, reversal):
        if logged_id == op_id:
            return credit
    # a node that serves the state before the logs of its newest blocks (one behind a load
    # balancer): never taken for another's credit, looked for again
    raise CreditNotIndexed(
        f"op id {op_id} reads used on the chain, but neither the index (block {height}) nor"
        f" the node's logs up to block {up_to} hold its credit yet: settled once they do"
    )


def logged_credits(
    chain: Chain, contracts: Contracts, brand: int, low: int, high: int, reversal: bool
) -> Iterator[tuple[int, Credit]]:
    """The brand's earns (or reversals) in the ledger's logs of blocks `low`..`high`, by op
    id: a lone earn's `PointsEarned`, each record of a batch's `PointsEarnedBatch`."""
    names = (_REVERSED,) if reversal else (EARNED_EVENT, BATCH_EVENT)
    for start in range(low, high + 1, LOG_SPAN):
        logs = chain.logs([contracts.ledger_address], start, min(start + LOG_SPAN - 1, high))
        for log in logs:
            event = contracts.events.decode(log)
            if event is None or event.contract != LEDGER or event.name not in names:
                continue
            if int(event.args["brand"]) != brand:
                continue
            records = (
                decode_records(brand, bytes(event.args["records"]))
                if event.name == BATCH_EVENT
                else [event.args]
            )
            for args in records:
                credit = Credit(
                    checksum(str(args["member"])),
                    int(args["points"]),
                    None if reversal else int(args["kind"]),
                    "0x" + bytes(args["orderRef"]).hex(),
                    log.tx_hash,
                    log.block_number,
                    int(args.get("releaseAt", 0)),
                )
                yield int(args["opId"]), credit
