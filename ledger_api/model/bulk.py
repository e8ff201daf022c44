"""Models of `POST /v1/earn/batch`: many purchases and engagements in one request.

Each item carries its own `key`: an item is idempotent on its own across requests (the
same key with the same item answers `duplicate` with the first operation's id; with a
different item, `refused` with `idempotency_conflict`). The request's Idempotency-Key
replays the whole answer, its refusals too (a refused item's key was not stored: the item
goes again in a new request); a duplicate shows its operation as it is when answered.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ledger_api.model.schemas import (
    Address,
    Amount,
    Model,
    Multiplier,
    OperationError,
    OrderRef,
    refuse_self_referral,
)

MAX_BATCH_ITEMS = 1_000

ItemKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="the item's own idempotency key (1 to 255 visible ASCII characters, no spaces; "
        "unique in the request)",
    ),
]


class BulkPurchase(Model):
    type: Literal["purchase"]
    key: ItemKey
    member: Address
    amount_cents: Amount
    multiplier_pct: Multiplier = 100
    order_ref: OrderRef = Field(description="order id; on chain as HMAC-SHA256 with a brand secret")
    green: bool = Field(default=False, strict=True)  # campaign rules (issue 16)
    birthday_week: bool = Field(default=False, strict=True)
    referrer: Address | None = None

    @model_validator(mode="after")
    def _referred_by_another(self) -> BulkPurchase:
        refuse_self_referral(self.member, self.referrer)
        return self


class BulkEngagement(Model):
    type: Literal["engagement"]
    key: ItemKey
    member: Address
    kind: Literal["review", "share", "event", "referral"]
    multiplier_pct: Multiplier = 100
    ref: OrderRef | None = Field(default=None, description="reference of the review, share...")
    birthday_week: bool = Field(default=False, strict=True)  # campaign rules (issue 16)


BulkItem = Annotated[BulkPurchase | BulkEngagement, Field(discriminator="type")]


class EarnBatchRequest(Model):
    items: list[BulkItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class BulkItemError(OperationError):
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="a refusal's details, as the single route's error body gives them (e.g. "
        "duplicate_order: operation_id, the operation that holds the order); empty for an "
        "operation that failed on chain",
    )


class BulkItemAnswer(Model):
    key: str
    result: Literal["accepted", "duplicate", "refused"] = Field(
        description="accepted: stored now; duplicate: this item key was stored before "
        "(operation_id is the first one's); refused: not stored (see error)"
    )
    operation_id: str | None = None
    op_id: int | None = None
    points: int | None = None
    status: str | None = Field(
        default=None,
        description="the operation's status: queued for an item accepted now, the status "
        "its operation has when answered for a duplicate (also when the request is replayed), "
        "final ones with Prefer: wait; null for a refused item",
    )
    tx_hash: str | None = None
    block_number: int | None = None
    error: BulkItemError | None = Field(
        default=None, description="why the item was refused, or why its operation failed"
    )


class EarnBatchAnswer(Model):
    accepted: int
    duplicates: int
    refused: int
    items: list[BulkItemAnswer]
