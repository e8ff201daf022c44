"""Request and response models of the HTTP API (pydantic v2).

Field validators raise `PydanticCustomError`s whose type is a stable error code
(`invalid_address`, `invalid_amount`, ...); the validation handler reports the
first such code, or `invalid_request`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ledger_api.chain.abi import checksum
from ledger_api.domain import MAX_AMOUNT, MAX_MULTIPLIER_PCT
from ledger_api.model.base import Model as Model  # re-exported: every model's base
from ledger_api.model.fields import (
    PRINTABLE,
    BrandId,
    Deadline,
    Flag,
    Nonce,
    Signature,
    amount_between,
)
from ledger_api.model.tier_schemas import TierProgress as TierProgress  # re-exported
from ledger_api.model.tier_schemas import TierRuleView as TierRuleView  # re-exported

_HEX40 = re.compile(r"^0x[0-9a-fA-F]{40}$")
ZERO_ADDRESS = "0x" + "00" * 20


def checksum_address(value: Any) -> str:
    """A 0x address: all lower, all upper, or a valid EIP-55 checksum; returns the checksum form."""
    if not isinstance(value, str) or not _HEX40.match(value):
        raise PydanticCustomError("invalid_address", "not a 0x address with 40 hex digits")
    body = value[2:]
    normalized = checksum(value)
    if body != body.lower() and body != body.upper() and normalized != value:
        raise PydanticCustomError("invalid_address", "the address's EIP-55 checksum is wrong")
    if value.lower() == ZERO_ADDRESS:
        raise PydanticCustomError("invalid_address", "the zero address is not a member")
    return normalized


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("invalid_amount", "the amount must be a whole number")
    if not 0 < value <= MAX_AMOUNT:
        raise PydanticCustomError("invalid_amount", "the amount must be between 1 and 1e12")
    return value


def _multiplier(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MULTIPLIER_PCT:
        raise PydanticCustomError("invalid_multiplier", "the multiplier must be 1..1000 (percent)")
    return value


ADDRESS_SCHEMA = {
    "type": "string",
    "pattern": _HEX40.pattern,
    "description": "0x address: all lower, all upper or EIP-55 checksummed; not zero",
}
Address = Annotated[str, BeforeValidator(checksum_address), WithJsonSchema(ADDRESS_SCHEMA)]
Amount = Annotated[
    int,
    BeforeValidator(_amount),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT}),
]
Multiplier = Annotated[
    int,
    BeforeValidator(_multiplier),
    WithJsonSchema(
        {"type": "integer", "minimum": 1, "maximum": MAX_MULTIPLIER_PCT, "default": 100}
    ),
]
#: an order (claim, engagement) id as the brand knows it; it goes on chain only bound with the
#: brand's secret, HMAC-SHA256 (`access.sealing.bind_reference`), never as given
#: (printable: `fields.PRINTABLE`)
OrderRef = Annotated[str, Field(min_length=1, max_length=128, pattern=PRINTABLE)]


class ErrorDetail(Model):
    code: str = Field(description="stable, from the error tree (ledger_api/errors)")
    message: str
    details: dict[str, Any]


class ErrorBody(Model):
    """The one shape of every error answer."""

    error: ErrorDetail


# --------------------------------------------------------------------------- operations


class EarnPurchaseRequest(Model):
    member: Address
    amount_cents: Amount
    multiplier_pct: Multiplier = 100
    order_ref: OrderRef = Field(description="order id; on chain as HMAC-SHA256 with a brand secret")
    green: bool = Field(default=False, strict=True)  # campaigns (issue 16): `green` rule
    birthday_week: bool = Field(default=False, strict=True)  # a `birthday_week` rule applies
    referrer: Address | None = Field(
        default=None, description="who referred the member (another member)"
    )

    @model_validator(mode="after")
    def _referred_by_another(self) -> EarnPurchaseRequest:
        refuse_self_referral(self.member, self.referrer)
        return self


def refuse_self_referral(member: str, referrer: str | None) -> None:
    """`invalid_request` (422) for a purchase whose `referrer` is its member: nobody refers
    themselves (it was accepted, its referral rule silently not applied: a trial)."""
    if referrer is not None and referrer.lower() == member.lower():
        raise PydanticCustomError("invalid_request", "referrer: a member cannot refer themselves")


class EarnReversalRequest(Model):
    """A returned order: its pending points cancelled, in whole or in part (issue 11)."""

    member: Address | None = Field(default=None, description="checked against the order's")
    order_ref: OrderRef = Field(description="the order_ref of the purchase to reverse")
    amount_cents: Amount | None = Field(
        default=None, description="the returned amount; the order's remainder when absent"
    )


class EarnEngagementRequest(Model):
    member: Address
    kind: Literal["review", "share", "event", "referral"]
    multiplier_pct: Multiplier = 100
    ref: OrderRef | None = Field(default=None, description="reference of the review, share...")
    birthday_week: bool = Field(default=False, strict=True)  # a `birthday_week` rule (issue 16)


class _GiftFields(Model):
    member: Address
    to: Address
    amount: Amount
    brand: BrandId | None = Field(default=None, description="points brand; the caller's by default")


class GiftTypedDataRequest(_GiftFields):
    deadline: Deadline | None = Field(
        default=None, description="unix seconds; in an hour by default"
    )


class GiftRequest(_GiftFields):
    nonce: Nonce
    deadline: Deadline
    signature: Signature


class _DonationFields(Model):
    member: Address
    amount: Amount


class DonationTypedDataRequest(_DonationFields):
    deadline: Deadline | None = None


class DonationRequest(_DonationFields):
    nonce: Nonce
    deadline: Deadline
    signature: Signature


class _RedemptionFields(Model):
    member: Address
    brand: BrandId = Field(description="the brand whose points are spent (any brand)")
    amount: Amount
    order_ref: OrderRef


class RedemptionTypedDataRequest(_RedemptionFields):
    deadline: Deadline | None = None


class RedemptionRequest(_RedemptionFields):
    nonce: Nonce
    deadline: Deadline
    signature: Signature


class BadgeTypeRequest(Model):
    kind: Literal["achievement", "collectible"]
    max_supply: Annotated[int, Field(ge=0, le=2**32 - 1, strict=True)] = 0
    min_tier: Annotated[int, Field(ge=0, le=3, strict=True)] = 0
    has_benefit: Flag = False
    self_mint: Flag = False
    uri: Annotated[str, Field(min_length=1, max_length=512, pattern=PRINTABLE)]


class BadgeIssueRequest(Model):
    type_id: BrandId
    member: Address
    amount: Annotated[int, *amount_between(1, 10**6, "a badge amount (units)")] = 1


class _BenefitFields(Model):
    holder: Address
    type_id: BrandId
    claim_ref: OrderRef = Field(description="fulfilment reference; on chain bound like order_ref")


class BenefitRedemptionTypedDataRequest(_BenefitFields):
    deadline: Deadline | None = None


class BenefitRedemptionRequest(_BenefitFields):
    nonce: Nonce
    deadline: Deadline
    signature: Signature


#: why an operation waits in the queue (README "What it guarantees")
QueuedReason = Literal[
    "chain_unavailable",
    "sender_unavailable",
    "earlier_nonce_held",
    "ledger_paused",
    "signer_stalled",
    "awaiting_onboarding",
]
QUEUED_REASON_DOC = (
    "present while the operation waits behind something away: `chain_unavailable` (the chain does "
    "not answer), `sender_unavailable` (the sender process does not report), `earlier_nonce_held` "
    "(the member's earlier signed operation, which holds a lower nonce of the same sequence, waits "
    "at a brand whose signing key does not open: the chain takes a member's nonces in order), "
    "`ledger_paused` (the alliance's pause, which the chain enforces: accepted before the gateway "
    "followed it), `signer_stalled` (the signer of its queue cannot send, e.g. it has no gas money:"
    " the admin's health says why); it is sent once they are back. `awaiting_onboarding`: a brand's"
    " daily cap, queued once its onboarding lands (the creation's `daily_cap_operation_id`)"
)


def held_nonce_field() -> Any:
    """A typed-data answer's `queued_reason`: a move signed with this nonce would wait."""
    return Field(
        default=None,
        description="`earlier_nonce_held` when a move signed with this nonce would wait: the "
        "member's operation holding the nonce before it waits at a brand whose signing key "
        "does not open, until an operator restores that key",
    )


class TypedDataResponse(Model):
    typed_data: dict[str, Any]
    nonce: int
    deadline: int
    queued_reason: Literal["earlier_nonce_held"] | None = held_nonce_field()


_EXAMPLE_OPERATION = "3f2b8e44-6f3c-4f5e-9a61-0c8a1e2b7d55"


class OperationAccepted(Model):
    operation_id: str = Field(description="a UUID", examples=[_EXAMPLE_OPERATION])
    status: Literal["queued", "submitted", "confirmed", "failed"]
    kind: str = Field(
        description="the operation's kind (`earn`, `reversal`, `gift`, `redemption`, ...)",
        examples=["earn"],
    )
    op_id: int | None = Field(
        default=None,
        description="the brand's op id on chain (earns and returns), which the ledger applies "
        "once; a purchase of an order whose earlier purchase failed carries that one's op id",
    )
    points: int | None = None
    links: dict[str, str] = Field(
        description="`self`: the operation's status",
        examples=[{"self": f"/v1/operations/{_EXAMPLE_OPERATION}"}],
    )
    queued_reason: QueuedReason | None = Field(
        default=None, description=QUEUED_REASON_DOC + " (also the header `Ledger-Queued-Reason`)"
    )


class OperationError(Model):
    code: str
    message: str


class OperationStatus(Model):
    operation_id: str
    kind: str
    status: Literal["queued", "submitted", "confirmed", "failed"]
    brand_id: int | None = Field(
        description="the ledger brand the operation acts on: the brand's own operation, or an "
        "admin operation naming one brand (suspension, point value, return window, daily cap; "
        "an onboarding once confirmed); null for the alliance's own acts"
    )
    op_id: int | None
    tx_hash: str | None
    block_number: int | None
    indexed: bool = Field(description="the index (reads) includes this operation's block")
    queued_reason: QueuedReason | None = Field(default=None, description=QUEUED_REASON_DOC)
    result: dict[str, Any] | None
    campaign: dict[str, Any] | None = None  # an earn's rules applied and why (issue 16)
    admin_transaction: dict[str, Any] | None = Field(
        default=None, description="a multisig admin's queued operation: the call it executes"
    )
    error: OperationError | None
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------------- reads


class LotView(Model):
    amount: int
    earned_month: str
    expires_at: datetime


class PendingView(Model):
    """Pending points of a purchase position: live (spendable) from `release_at` (issue 11)."""

    amount: int
    release_at: datetime


class BalanceView(Model):
    brand_id: int
    balance: int = Field(description="live points (pending points excluded)")
    lots: list[LotView] = Field(description="the lots, pending points included")
    next_expiry: LotView | None
    pending: int = Field(default=0, description="points waiting for the return window")
    pending_releases: list[PendingView] = Field(default_factory=list)


class AsOf(Model):
    block: int
    timestamp: datetime


class SpendableView(Model):
    """Points of one brand the member may spend at the caller's brand: a total, no lots."""

    brand_id: int
    points: int
    value_micro_usd: int = Field(
        description="the points, each at the value of the month it was issued in (issue 10)"
    )


class MemberView(Model):
    address: str
    as_of: AsOf
    balances: list[BalanceView] = Field(
        description="lots and next expiry: the calling brand's own points (the admin: all)"
    )
    spendable: list[SpendableView] = Field(
        description="per brand (not suspended), the points the member may spend at the caller"
    )
    tier: TierProgress


#: a line of the points growth report (`usecases.history`)
HistoryKind = Literal[
    "earned",
    "pending",
    "released",
    "reversed",
    "gifted",
    "received",
    "bid",
    "bid_returned",
    "donated",
    "redeemed",
    "expired",
]


class HistoryEntry(Model):
    kind: HistoryKind
    brand_id: int
    amount: int
    at: datetime
    counterparty: str | None = None
    at_brand_id: int | None = None
    value_micro_usd: int | None = None
    op_id: int | None = None
    source: str | None = None
    order_ref: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    release_at: datetime | None = None
    campaign: dict[str, Any] | None = None  # the earn's rules applied and why (issue 16)


class HistoryView(Model):
    """The member's points growth report: a page of lines (newest first; the newest `limit`
    older than `before`), and per kind the points of the whole history (every line the key
    may see, not only those shown)."""

    address: str
    as_of: AsOf
    entries: list[HistoryEntry]
    totals: dict[str, int] = Field(
        description="points per kind over the member's whole history, whatever the page"
    )
    next_cursor: str | None = Field(
        default=None,
        description="pass as `before` for the next (older) page; null: this page is the last",
    )


class BadgeView(Model):
    token_id: str
    type_id: int
    brand_id: int | None
    kind: str | None
    amount: int
    redeemed: bool
    uri: str | None


class BadgesView(Model):
    address: str
    membership_tier: int | None
    membership_tier_name: str | None
    badges: list[BadgeView]


class LiabilityView(Model):
    brand_id: int
    as_of: AsOf
    issued: int
    redeemed: int
    expired: int
    reversed: int = Field(description="pending points the brand cancelled for returned orders")
    outstanding: int = Field(
        description="issued - redeemed - expired - reversed (pending included)"
    )
    pending: int = Field(description="of `outstanding`, the points still in a return window")
    value_micro_usd_per_point: int = Field(
        description="the brand's published value: points issued from `value_from` on are worth "
        "it (a change applies from the next UTC month; issued points keep their month's value)"
    )
    value_from: datetime | None = Field(
        description="when the published value applies from (UTC); null: since onboarding"
    )
    value_in_force_micro_usd_per_point: int = Field(
        description="what points issued now are worth: this UTC month's value (the one before "
        "`value_from` until then)"
    )
    outstanding_value_micro_usd: int


class PositionView(Model):
    debtor_brand_id: int
    creditor_brand_id: int
    amount_micro_usd: int


class PositionsView(Model):
    as_of: AsOf
    positions: list[PositionView]
