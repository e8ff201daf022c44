"""What each operation sends, and what a receipt means for each operation in it.

Pure functions over the contracts' codecs: the sender decides when and with
which nonce; this module decides what the calldata is and how to read the
outcome. Earn operations travel together in one `earnBatch`; every other kind
travels alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from ledger_api.background.sender.admin_calls import admin_call
from ledger_api.background.sender.auction_calls import (
    AUCTION_RESULTS,
    AuctionPayload,
    auction_call,
    nothing_reclaimed,
)
from ledger_api.background.sender.review_results import review_result
from ledger_api.chain.abi import Event, Log
from ledger_api.chain.contracts import Call, Contracts, EarnOpArgs
from ledger_api.chain.earned import BATCH_EVENT, EARNED_EVENT, expand_earned
from ledger_api.chain.errors import error_code
from ledger_api.chain.manifest import ALLIANCE_BADGES, LEDGER
from ledger_api.chain.port import Receipt
from ledger_api.db.models import Operation
from ledger_api.domain import OpKind, iso_utc
from ledger_api.model.payloads import (
    BadgeDefinePayload,
    BadgeIssuePayload,
    BadgeRedeemPayload,
    EarnPayload,
    EnterpriseBindPayload,
    EnterpriseLeavePayload,
    EnterpriseUnbindPayload,
    GiftPayload,
    OperationPayload,
    PollOpenPayload,
    PollVotePayload,
    RedemptionPayload,
    ReversalPayload,
    SettlementDepositPayload,
    SettlePayload,
    TierReviewPayload,
    TokenApprovePayload,
    TokenMintPayload,
    payload_of,
)

EARN_BATCH = "earn_batch"
CANCEL = "cancel"


class OpRecord(Protocol):
    """What the sender reads of an operation: an `Operation`, or a plain row of `OP_COLUMNS`."""

    @property
    def id(self) -> int: ...
    @property
    def uid(self) -> str: ...
    @property
    def brand_id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def op_id(self) -> int | None: ...
    @property
    def member(self) -> str | None: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def keys_released_at(self) -> datetime | None: ...


# Rows of these columns, not ORM objects: the sender reads hundreds of operations per batch.
OP_COLUMNS = (
    Operation.id,
    Operation.uid,
    Operation.brand_id,
    Operation.kind,
    Operation.op_id,
    Operation.member,
    Operation.payload,
    Operation.attempts,
    Operation.created_at,
    Operation.keys_released_at,
)


def slot_kind(ops: Sequence[OpRecord]) -> str:
    return EARN_BATCH if ops[0].kind == OpKind.EARN else ops[0].kind


def _bytes32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _signature(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def call_for(contracts: Contracts, ops: Sequence[OpRecord]) -> Call:
    """The call carrying `ops` (many earns, or exactly one operation of another kind)."""
    first = ops[0]
    kind = OpKind(first.kind)
    if kind is OpKind.EARN:
        return contracts.earn_batch([earn_args(op) for op in ops])
    if len(ops) != 1:
        raise ValueError(f"{kind} operations travel alone")
    if kind is OpKind.REVERSAL:
        assert first.op_id is not None
        p = ReversalPayload.model_validate(first.payload)
        return contracts.reverse(
            first.op_id,
            p.member,
            p.release_day,
            p.earn_month,
            p.points,
            p.spend_cents,
            p.quarter,
            p.closes_order,
            _bytes32(p.order_ref),
        )
    return single_call(contracts, payload_of(kind, first.payload))


def single_call(contracts: Contracts, p: OperationPayload) -> Call:
    """The call of one operation that travels alone, by its payload's kind."""
    if isinstance(p, EarnPayload | ReversalPayload):
        raise ValueError("earns travel in an earnBatch; a reversal carries its op id")
    if isinstance(p, GiftPayload | RedemptionPayload | BadgeRedeemPayload):
        return _member_signed_call(contracts, p)
    if isinstance(p, TierReviewPayload | BadgeDefinePayload | BadgeIssuePayload):
        return _brand_call(contracts, p)
    if isinstance(p, PollOpenPayload):  # the brand's own poll
        return contracts.open_poll(
            _bytes32(p.content_hash),
            p.option_count,
            p.starts_at,
            p.ends_at,
            p.eligibility,
            p.eligibility_ref,
        )
    if isinstance(p, PollVotePayload):  # the member signed it; the brand's key relays
        return contracts.vote_with_sig(
            p.poll_id, p.voter, p.option, p.deadline, _signature(p.signature)
        )
    if isinstance(p, AuctionPayload):
        return auction_call(contracts, p)
    if isinstance(p, EnterpriseBindPayload | EnterpriseUnbindPayload | EnterpriseLeavePayload):
        return _enterprise_call(contracts, p)
    if isinstance(
        p, TokenMintPayload | TokenApprovePayload | SettlementDepositPayload | SettlePayload
    ):
        return _settlement_call(contracts, p)
    return admin_call(contracts, p)


def _settlement_call(
    contracts: Contracts,
    p: TokenMintPayload | TokenApprovePayload | SettlementDepositPayload | SettlePayload,
) -> Call:
    """The settlement token and the SettlementVault (the brand's signer, or the admin's key)."""
    match p:
        case TokenMintPayload():
            return contracts.token_call(p.token, "mint", p.to, int(p.amount))
        case TokenApprovePayload():
            return contracts.token_call(p.token, "approve", p.spender, int(p.amount))
        case SettlementDepositPayload():
            return contracts.vault_call("deposit", p.brand, int(p.amount))
        case SettlePayload():
            return contracts.vault_call("settle", p.debtor, p.creditor)


def _enterprise_call(
    contracts: Contracts,
    p: EnterpriseBindPayload | EnterpriseUnbindPayload | EnterpriseLeavePayload,
) -> Call:
    """A binding, unbinding or leaving the accounts signed, relayed by the brand's key."""
    match p:
        case EnterpriseBindPayload():
            return contracts.enterprise_call(
                "bindWithSig",
                p.enterprise,
                p.employee,
                p.deadline,
                p.enterprise_nonce,
                _signature(p.enterprise_signature),
                p.employee_nonce,
                _signature(p.employee_signature),
            )
        case EnterpriseUnbindPayload():
            return contracts.enterprise_call(
                "unbindWithSig",
                p.enterprise,
                p.employee,
                p.nonce,
                p.deadline,
                _signature(p.signature),
            )
        case EnterpriseLeavePayload():
            return contracts.enterprise_call(
                "leaveWithSig", p.employee, p.nonce, p.deadline, _signature(p.signature)
            )


def _member_signed_call(
    contracts: Contracts, p: GiftPayload | RedemptionPayload | BadgeRedeemPayload
) -> Call:
    """A move the member signed, relayed by the brand's key."""
    match p:
        case GiftPayload():  # a gift or a donation
            return contracts.gift_with_sig(
                p.member, p.to, p.brand, p.amount, p.nonce, p.deadline, _signature(p.signature)
            )
        case RedemptionPayload():
            return contracts.redeem_with_sig(
                p.member,
                p.brand,
                p.at_brand,
                p.amount,
                _bytes32(p.order_ref),
                p.nonce,
                p.deadline,
                _signature(p.signature),
            )
        case BadgeRedeemPayload():
            return contracts.redeem_benefit_with_sig(
                p.holder,
                p.type_id,
                _bytes32(p.claim_ref),
                p.nonce,
                p.deadline,
                _signature(p.signature),
            )


def _brand_call(
    contracts: Contracts, p: TierReviewPayload | BadgeDefinePayload | BadgeIssuePayload
) -> Call:
    """A brand's own act (tier review, its badges)."""
    match p:
        case TierReviewPayload():
            return contracts.review_tier(p.member)
        case BadgeDefinePayload():
            return contracts.define_badge(
                p.kind, p.max_supply, p.min_tier, p.has_benefit, p.self_mint, p.uri
            )
        case BadgeIssuePayload():
            return contracts.issue_badge(p.type_id, p.member, p.amount)


def earn_args(op: OpRecord) -> EarnOpArgs:
    p = EarnPayload.model_validate(op.payload)
    assert op.op_id is not None
    return EarnOpArgs(
        op_id=op.op_id,
        member=p.member,
        kind=p.earn_kind,
        multiplier_pct=p.multiplier_pct,
        amount_cents=p.amount_cents,
        order_ref=_bytes32(p.order_ref),
    )


# ------------------------------------------------------------------------------ outcomes


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    FAILED = "failed"
    REQUEUE = "requeue"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a transaction's receipt (or none) means for one operation. `applied_by`: the
    transaction hash and block of the chain's credit that applied an `applied_earlier` op,
    when it is not the receipt's (a restored database's resend credits nothing)."""

    verdict: Verdict
    result: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message: str | None = None
    applied_by: tuple[str, int] | None = None


def _events(
    contracts: Contracts, receipt: Receipt, names: Sequence[str] | None = None
) -> list[Event]:
    """The receipt's decoded events (only the ledger's `names`, when given). A batch's
    `PointsEarnedBatch` comes as one `PointsEarned` per record (`chain.earned`)."""
    logs: Iterable[Log] = receipt.logs
    if names is not None:
        wanted = set(names)
        if EARNED_EVENT in wanted:  # the records pair with their mint Transfers
            wanted |= {BATCH_EVENT, "Transfer"}
        topics = {contracts.events.topic(LEDGER, name) for name in wanted}
        logs = (lg for lg in logs if lg.topics and lg.topics[0] in topics)
    decoded = (contracts.events.decode(lg) for lg in sorted(logs, key=lambda lg: lg.log_index))
    events = expand_earned([e for e in decoded if e is not None])
    if names is None:
        return events
    return [e for e in events if e.contract != LEDGER or e.name in names]


@dataclass(slots=True)
class _BatchEvents:
    """What a mined `earnBatch` says, by op id: its result (a tier upgrade, a cancelled gift
    paid again included) or its skip reason."""

    earned: dict[int, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, contracts: Contracts, receipt: Receipt) -> _BatchEvents:
        """In log order, an operation's tier events come before its `PointsEarned` (the ledger
        counts it toward the tier, then mints), so each pairs with the member's next one:
        before, an upgrade went to the member's first operation of the batch, whichever
        completed it (a review of 2026-12-07)."""
        found = cls()
        tier: dict[str, dict[str, Any]] = {}  # by member, until its operation's PointsEarned
        names = ("PointsEarned", "OperationSkipped", "TierUpgraded", "TierGiftRestored")
        for event in _events(contracts, receipt, names):
            if event.contract != LEDGER:
                continue
            a = event.args
            if event.name == "PointsEarned":
                found.earned[a["opId"]] = _earned_result(a) | tier.pop(a["member"], {})
            elif event.name == "OperationSkipped":
                found.skipped[a["opId"]] = a["reason"]
            elif event.name == "TierUpgraded":
                tier.setdefault(a["member"], {}).update(
                    tier_upgraded_to=a["newTier"], tier_gift_points=a["giftPoints"]
                )
            else:  # TierGiftRestored: a cancelled gift paid again (README, "Returns")
                tier.setdefault(a["member"], {})["tier_gift_restored_points"] = a["giftPoints"]
        return found


def _earned_result(args: dict[str, Any]) -> dict[str, Any]:
    """An earn's result: its points and, for a purchase pending in its return window, the
    first second it may no longer be returned (`release_at`, ISO 8601 UTC: its own window's
    end, also when its points are held until a later day, README "Returns")."""
    release_at = int(args.get("releaseAt", 0))
    if release_at == 0:
        return {"points": args["points"]}
    return {"points": args["points"], "release_at": iso_utc(release_at)}


def earn_outcomes(
    contracts: Contracts, ops: Sequence[OpRecord], receipt: Receipt
) -> dict[int, Outcome]:
    """Per operation of a mined `earnBatch`: applied, or skipped with its own reason."""
    batch = _BatchEvents.of(contracts, receipt)
    outcomes: dict[int, Outcome] = {}
    for op in ops:
        assert op.op_id is not None
        if op.op_id in batch.earned:
            outcomes[op.id] = Outcome(Verdict.CONFIRMED, dict(batch.earned[op.op_id]))
        elif op.op_id in batch.skipped:
            outcomes[op.id] = _skipped(contracts, op, batch.skipped[op.op_id])
        else:
            outcomes[op.id] = Outcome(
                Verdict.FAILED,
                code="not_applied",
                message="the batch did not mention the operation",
            )
    return outcomes


def _skipped(contracts: Contracts, op: OpRecord, reason: bytes) -> Outcome:
    """An earn the batch skipped, with the ledger's reason."""
    name = contracts.errors.name_of(reason) or "0x" + reason.hex()
    code = error_code(name)
    if code == "operation_used":
        # sent before in a transaction we could not follow, or by this database before it was
        # restored from a backup that still had it queued (a new user's trial: it failed for
        # good, and every retry of the order took its op id and failed again): confirmed only
        # when the chain's credit under the op id is its own (`Earlier.judge`)
        return Outcome(Verdict.CONFIRMED, {"applied_earlier": True})
    # an earn of a retried order sharing its op id: `settle._own` names the one that applied
    return Outcome(Verdict.FAILED, code=code, message=f"skipped: {name}")


def single_result(contracts: Contracts, op: OpRecord, receipt: Receipt) -> dict[str, Any]:
    """What a successful single operation produced (brand id, badge type id, value...)."""
    events = _events(contracts, receipt)
    kind = OpKind(op.kind)
    for event in events:
        extract = _RESULTS.get((kind, event.name))
        if extract is not None and (
            kind is not OpKind.BADGE_DEFINE or event.contract == ALLIANCE_BADGES
        ):
            return extract(event.args)
        if event.name in ("EmployeeBound", "EmployeeUnbound", "EmployeeLeft"):
            return {"enterprise": event.args["enterprise"], "employee": event.args["employee"]}
    if kind is OpKind.AUCTION_RECLAIM:
        return nothing_reclaimed(op.payload)
    return review_result(kind, events)


#: (operation kind, event name) -> what the operation produced, from that event's arguments
_RESULTS: dict[tuple[OpKind, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    (OpKind.ONBOARD_BRAND, "BrandOnboarded"): lambda a: {"brand_id": a["brand"]},
    # one kind suspends and lifts a suspension (`setBrandSuspended`): the result says which
    (OpKind.SUSPEND_BRAND, "BrandSuspensionChanged"): lambda a: {"suspended": a["suspended"]},
    (OpKind.SET_PAUSE, "Paused"): lambda a: {"paused": True},
    (OpKind.SET_PAUSE, "Unpaused"): lambda a: {"paused": False},
    (OpKind.REDEMPTION, "PointsRedeemed"): lambda a: {"value_micro_usd": a["valueMicroUsd"]},
    (OpKind.REVERSAL, "PointsReversed"): lambda a: {
        "points": a["points"],
        "release_at": iso_utc(a["releaseAt"]),  # the purchase's, which a reversal precedes
        "closed_order": bool(a.get("closedOrders", a.get("closedOrder", False))),
        "closed_orders": int(a.get("closedOrders", a.get("closedOrder", False))),
    },
    (OpKind.BADGE_DEFINE, "BadgeDefined"): lambda a: {"type_id": a["typeId"]},
    (OpKind.BADGE_REDEEM, "BenefitRedeemed"): lambda a: {
        "redeemed_token_id": str(int(a["typeId"]) | 1 << 255)
    },
    (OpKind.POLL_OPEN, "PollOpened"): lambda a: {"poll_id": a["pollId"]},
    (OpKind.POLL_VOTE, "VoteCast"): lambda a: {"poll_id": a["pollId"], "option": a["option"]},
    (OpKind.SETTLEMENT_DEPOSIT, "SettlementDeposited"): lambda a: {
        "credited_units": str(a["amount"])
    },
    (OpKind.SETTLE, "SettlementPaid"): lambda a: {
        "debtor": a["debtor"],
        "creditor": a["creditor"],
        "value_micro_usd": a["valueMicroUsd"],
        "token_amount": str(a["tokenAmount"]),
    },
    **AUCTION_RESULTS,
}


def event_result(kind: OpKind, event_name: str, args: dict[str, Any]) -> dict[str, Any]:
    """What an operation of `kind` produced, from the arguments of its `event_name` event (as
    the sender reads them from the receipt; the multisig watcher gives the index's copy)."""
    return _RESULTS[(kind, event_name)](args)
