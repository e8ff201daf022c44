"""SQLAlchemy models: the gateway's own state, then the chain index (`idx_*`).

The gateway state is the source of truth for what was accepted and sent:
brands and their keys, operations with their idempotency records, and the
signers' nonce slots with every signed transaction stored before broadcast.
The `idx_*` tables are derived from chain events only and can be rebuilt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger_api.db.partial import (
    DEPOSIT_STEP_CONDITION,
    OPEN_CONDITION,
    RELEASED_CONDITION,
    held,
    partial,
)
from ledger_api.db.types import BigNum, PkInteger, Uint64, UtcDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Address = String(42)
TxHash = String(66)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        int: BigInteger(),
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


def table_of(model: type[Base]) -> Table:
    """A model's Core table: bulk statements on it skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


# ===================================================================== gateway state


class Brand(Base):
    """A partner brand. `ledger_id` is the on-chain brand id, known once onboarded."""

    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    ledger_id: Mapped[int | None] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    symbol: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    value_micro_usd: Mapped[int]
    points_per_usd: Mapped[int] = mapped_column(SmallInteger)
    points_per_review: Mapped[int] = mapped_column(SmallInteger)
    points_per_share: Mapped[int] = mapped_column(SmallInteger)
    points_per_event: Mapped[int] = mapped_column(SmallInteger)
    points_per_referral: Mapped[int] = mapped_column(SmallInteger)
    # the chain's daily mint cap (points) that the intake counts earns against (issue 10): the
    # index's, taken once it has caught up with the chain (`domain.brands.follow_indexed_brands`);
    # NULL: not known yet (no check here, the chain refuses above its cap all the same)
    daily_cap_points: Mapped[int | None] = mapped_column(BigNum)
    next_op_id: Mapped[int] = mapped_column(default=1)
    # the secret binding order references (sealed like a keystore; `access.sealing`)
    ref_secret: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signer(Base):
    """A key that sends transactions: a brand's (keystore, encrypted) or the admin's (settings)."""

    __tablename__ = "signers"

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), index=True)
    address: Mapped[str] = mapped_column(Address, unique=True)
    keystore: Mapped[str | None] = mapped_column(Text)
    # NULL: from before sealing was tracked (maybe the old built-in passphrase); "passphrase"
    keystore_sealing: Mapped[str | None] = mapped_column(String(16))
    next_nonce: Mapped[int | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_refused_at: Mapped[datetime | None]  # its keystore found shut (`debit_order`, 0025)


class ApiKey(Base):
    """An API key, stored as the SHA-256 of the whole key with a short visible prefix."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class RateBucket(Base):
    """A token bucket shared by every gateway process on PostgreSQL (`access.ratelimit`):
    `tokens` left at `updated_s` (the database's clock, seconds since the epoch)."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float]
    updated_s: Mapped[float]


class Operation(Base):
    """One accepted mutating call; stored before it is acknowledged."""

    __tablename__ = "operations"
    __table_args__ = (
        # not unique: a failed earn's retry (same order) reuses its op id (migration 0020)
        Index("ix_operations_brand_op_id", "brand_id", "op_id"),
        # no index keyed by member, order or nonce over all history depends on the status
        # (issue 15: db/test_operation_indexes.py); the queue pages by brand, status and id
        Index("ix_operations_queue", "brand_id", "status", "id"),
        partial("ix_operations_deposit_steps", DEPOSIT_STEP_CONDITION, "brand_id", "status", "id"),
        Index("ix_operations_member", "member"),
        partial("ix_operations_member_open", OPEN_CONDITION, "member", "status"),
        partial("ix_operations_beneficiary_open", OPEN_CONDITION, "beneficiary", "status"),
        Index("ix_operations_slot", "slot_id"),
        Index("ix_operations_reverses", "reverses_id"),
        held("uq_operations_member_nonce", "member", "nonce_domain", "member_nonce"),
        held("uq_operations_brand_order", "brand_id", "order_ref"),
        partial("ix_operations_released_orders", RELEASED_CONDITION, "brand_id", "order_ref"),
    )

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    op_id: Mapped[int | None] = mapped_column(Uint64)
    member: Mapped[str | None] = mapped_column(Address)
    beneficiary: Mapped[str | None] = mapped_column(Address)
    member_nonce: Mapped[int | None]
    nonce_domain: Mapped[str | None] = mapped_column(String(16))
    # a purchase's order reference as it goes on chain (bound): one live credit per order
    order_ref: Mapped[str | None] = mapped_column(TxHash)
    # when a failure gave the member's nonce and the order back (NULL: held); written only by
    # a failure, a forgotten block and the reopened earn that applies, never by other changes
    keys_released_at: Mapped[datetime | None]
    # a reversal's crediting operation (`operations.id` of the order's earn, issue 11)
    reverses_id: Mapped[int | None]
    points: Mapped[int] = mapped_column(default=0)
    payload: Mapped[dict[str, Any]]
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("tx_slots.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    tx_hash: Mapped[str | None] = mapped_column(TxHash)
    block_number: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IdempotencyRecord(Base):
    """(scope, Idempotency-Key) -> the request's hash and original answer. Never expires."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    operation_uid: Mapped[str | None] = mapped_column(String(36))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TxSlot(Base):
    """One nonce of one signer and the call it carries. Attempts are fee bumps or a cancel."""

    __tablename__ = "tx_slots"
    __table_args__ = (
        UniqueConstraint("signer_id", "nonce", name="uq_tx_slots_signer_nonce"),
        Index("ix_tx_slots_open", "signer_id", "status"),
    )

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("signers.id"))
    nonce: Mapped[int]
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    to_address: Mapped[str] = mapped_column(Address)
    calldata: Mapped[bytes] = mapped_column(LargeBinary)
    value_wei: Mapped[int] = mapped_column(BigNum, default=0)
    gas_limit: Mapped[int]
    cancelling: Mapped[bool] = mapped_column(Boolean, default=False)
    mined_tx_hash: Mapped[str | None] = mapped_column(TxHash)
    block_number: Mapped[int | None]
    block_hash: Mapped[str | None] = mapped_column(TxHash)
    receipt_status: Mapped[int | None] = mapped_column(SmallInteger)
    gas_used: Mapped[int | None]
    broadcast_error: Mapped[str | None] = mapped_column(Text)
    last_broadcast_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TxAttempt(Base):
    """A signed transaction for a slot, stored (raw bytes) before it is broadcast."""

    __tablename__ = "tx_attempts"

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("tx_slots.id"), index=True)
    tx_hash: Mapped[str] = mapped_column(TxHash, unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    max_fee_wei: Mapped[int] = mapped_column(BigNum)
    priority_fee_wei: Mapped[int] = mapped_column(BigNum)
    is_cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MintCounter(Base):
    """Points accepted for minting per brand and UTC day (the daily cap)."""

    __tablename__ = "mint_counters"

    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class TierReviewRound(Base):
    """A quarter whose tier reviews the gateway queued (`background.reviews`): the row and
    the round's `reviewTiers` operations are written in one transaction, once per quarter."""

    __tablename__ = "tier_review_rounds"

    quarter: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    members: Mapped[int] = mapped_column(Integer)
    operations: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ======================================================================== chain index


class IndexCursor(Base):
    """Where the indexer resumes: the next block and the hash of the last one applied."""

    __tablename__ = "idx_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_block: Mapped[int]
    last_block_hash: Mapped[str | None] = mapped_column(TxHash)
    last_block_timestamp: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IdxLot(Base):
    """A member's points of one brand earned in one month. Expired once `expires_at` passes."""

    __tablename__ = "idx_lots"
    __table_args__ = (Index("ix_idx_lots_brand_expiry", "brand", "expires_at"),)

    member: Mapped[str] = mapped_column(Address, primary_key=True)
    brand: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[int]
    expires_at: Mapped[int]


class IdxHistory(Base):
    """One line of a member's points growth report."""

    __tablename__ = "idx_history"
    __table_args__ = (
        Index("ix_idx_history_member", "member", "block_number", "log_index"),
        UniqueConstraint("block_number", "log_index", "member", "kind", name="uq_idx_history_log"),
    )

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    member: Mapped[str] = mapped_column(Address)
    brand: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]
    counterparty: Mapped[str | None] = mapped_column(Address)
    at_brand: Mapped[int | None]
    value_micro_usd: Mapped[int | None] = mapped_column(BigNum)
    op_id: Mapped[int | None] = mapped_column(Uint64)
    source: Mapped[str | None] = mapped_column(String(16))
    order_ref: Mapped[str | None] = mapped_column(TxHash)
    release_at: Mapped[int | None]  # a pending purchase's: when its points become live
    block_number: Mapped[int]
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(TxHash)
    timestamp: Mapped[int]


class IdxMember(Base):
    """A member's tier state, mirrored from the ledger's events."""

    __tablename__ = "idx_members"

    member: Mapped[str] = mapped_column(Address, primary_key=True)
    tier: Mapped[int] = mapped_column(SmallInteger, default=0)
    quarter: Mapped[int] = mapped_column(Integer, default=0)
    spend_cents: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)
    engagements: Mapped[int] = mapped_column(default=0)
    grace_until_month: Mapped[int] = mapped_column(Integer, default=0)
    badge_tier: Mapped[int | None] = mapped_column(SmallInteger)


class IdxTierRule(Base):
    __tablename__ = "idx_tier_rules"

    tier: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    spend_cents: Mapped[int]
    orders: Mapped[int]
    engagements: Mapped[int]
    gift_points: Mapped[int]


class IdxBrand(Base):
    """A brand as the chain knows it, with its issued and redeemed totals."""

    __tablename__ = "idx_brands"

    brand: Mapped[int] = mapped_column(primary_key=True)
    value_micro_usd: Mapped[int]
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    issued: Mapped[int] = mapped_column(default=0)
    redeemed: Mapped[int] = mapped_column(default=0)
    reversed: Mapped[int] = mapped_column(default=0, server_default="0")
    # the cap of the last `DailyMintCapChanged` (points per UTC day; below 2**112)
    daily_cap_points: Mapped[int | None] = mapped_column(BigNum)
    return_window_days: Mapped[int | None]  # the last `ReturnWindowChanged` (issue 11)
    # the chain's earn rule (`BrandOnboarded`, then the last `EarnRuleChanged`; migration 0021)
    points_per_usd: Mapped[int | None] = mapped_column(SmallInteger)
    points_per_review: Mapped[int | None] = mapped_column(SmallInteger)
    points_per_share: Mapped[int | None] = mapped_column(SmallInteger)
    points_per_event: Mapped[int | None] = mapped_column(SmallInteger)
    points_per_referral: Mapped[int | None] = mapped_column(SmallInteger)


class IdxPending(Base):
    """A member's pending points of a brand live from `release_at` (one row per position of
    the ledger's `PendingWord`; purchases add, reversals take; issue 11)."""

    __tablename__ = "idx_pending"
    __table_args__ = (Index("ix_idx_pending_brand_release", "brand", "release_at"),)

    member: Mapped[str] = mapped_column(Address, primary_key=True)
    brand: Mapped[int] = mapped_column(primary_key=True)
    release_at: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int]


class IdxPosition(Base):
    """What `brand_lo` owes `brand_hi` net (negative: the reverse), in micro-USD."""

    __tablename__ = "idx_positions"

    brand_lo: Mapped[int] = mapped_column(primary_key=True)
    brand_hi: Mapped[int] = mapped_column(primary_key=True)
    amount_micro_usd: Mapped[int] = mapped_column(BigNum)


class IdxBadgeType(Base):
    __tablename__ = "idx_badge_types"

    type_id: Mapped[int] = mapped_column(primary_key=True)
    brand: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    max_supply: Mapped[int]
    min_tier: Mapped[int] = mapped_column(SmallInteger)
    has_benefit: Mapped[bool] = mapped_column(Boolean)
    self_mint: Mapped[bool] = mapped_column(Boolean)
    uri: Mapped[str | None] = mapped_column(Text)


class IdxBadgeBalance(Base):
    """ERC-1155 badge units a holder owns; `token_id` is decimal (the redeemed flag is bit 255)."""

    __tablename__ = "idx_badge_balances"

    holder: Mapped[str] = mapped_column(Address, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    type_id: Mapped[int]
    redeemed: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int]


class IdxPoll(Base):
    """A poll of AlliancePolls as opened (brand 0: the admin's); times are unix seconds."""

    __tablename__ = "idx_polls"

    poll_id: Mapped[int] = mapped_column(primary_key=True)
    brand: Mapped[int]
    opener: Mapped[str] = mapped_column(Address)
    content_hash: Mapped[str] = mapped_column(String(66))
    option_count: Mapped[int] = mapped_column(SmallInteger)
    opened_at: Mapped[int]
    starts_at: Mapped[int]
    ends_at: Mapped[int]
    eligibility: Mapped[str] = mapped_column(String(16))  # "min_tier" or "badge"
    eligibility_ref: Mapped[str] = mapped_column(String(80))  # decimal: a tier or a badge type id
    votes: Mapped[int] = mapped_column(default=0)


class IdxPollTally(Base):
    """Votes for one option of a poll (rows appear with the option's first vote)."""

    __tablename__ = "idx_poll_tallies"

    poll_id: Mapped[int] = mapped_column(primary_key=True)
    option: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int]


class IdxEnterpriseEmployee(Base):
    """An employee account bound to an enterprise account (EnterpriseAccounts)."""

    __tablename__ = "idx_enterprise_employees"

    employee: Mapped[str] = mapped_column(Address, primary_key=True)
    enterprise: Mapped[str] = mapped_column(Address, index=True)
    bound_at: Mapped[int]


class IdxVaultBrand(Base):
    """A brand's SettlementVault account: its deposit (token units) and its treasury key."""

    __tablename__ = "idx_vault_brands"

    brand: Mapped[int] = mapped_column(primary_key=True)
    deposit: Mapped[int] = mapped_column(BigNum)
    deposited: Mapped[int] = mapped_column(BigNum)  # all SettlementDeposited, ever
    withdrawn: Mapped[int] = mapped_column(BigNum)  # all SettlementWithdrawn, ever
    treasury: Mapped[str | None] = mapped_column(Address)


class IdxSettlement(Base):
    """A settlement: the vault's `SettlementPaid`, or the ledger's off-chain `PositionSettled`
    (token amount 0)."""

    __tablename__ = "idx_settlements"
    __table_args__ = (UniqueConstraint("block_number", "log_index", name="uq_idx_settlements_log"),)

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    debtor: Mapped[int] = mapped_column(index=True)
    creditor: Mapped[int] = mapped_column(index=True)
    value_micro_usd: Mapped[int] = mapped_column(BigNum)
    token_amount: Mapped[int] = mapped_column(BigNum)
    block_number: Mapped[int]
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(TxHash)
    timestamp: Mapped[int]


class IdxMeta(Base):
    __tablename__ = "idx_meta"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
