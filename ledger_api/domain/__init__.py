"""Plain domain vocabulary shared by the services, the chain port and the API."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum, StrEnum

MAX_AMOUNT = 10**12
MAX_TIER_GIFT = 10**9  # AllianceLedgerAdmin.MAX_TIER_GIFT: a tier's upgrade gift, in points
MAX_MULTIPLIER_PCT = 1000
MAX_TIER = 3
TIER_NAMES = {0: "Member", 1: "Silver", 2: "Gold", 3: "Diamond"}
LOT_LIFETIME_MONTHS = 13  # a lot earned in month M stops counting when month M + 13 begins


class EarnKind(IntEnum):
    """The contract's `EarnKind` enum."""

    PURCHASE = 0
    REVIEW = 1
    SHARE = 2
    EVENT = 3
    REFERRAL = 4


class OpKind(StrEnum):
    """What an accepted operation does on chain."""

    EARN = "earn"
    REVERSAL = "reversal"  # a brand's reversal of a returned order's pending points (issue 11)
    GIFT = "gift"
    DONATION = "donation"
    REDEMPTION = "redemption"
    TIER_REVIEW = "tier_review"
    BADGE_DEFINE = "badge_define"
    BADGE_ISSUE = "badge_issue"
    BADGE_REDEEM = "badge_redeem"
    POLL_OPEN = "poll_open"
    POLL_VOTE = "poll_vote"  # member-signed, no nonce: the contract counts a vote once per poll
    # AllianceAuctions: a brand's auction; a bid is a ledger gift the member signs to its escrow
    AUCTION_CREATE = "auction_create"
    AUCTION_BID = "auction_bid"
    AUCTION_SETTLE = "auction_settle"  # anyone may send it once the auction ended
    AUCTION_REDEEM = "auction_redeem"  # the auctioning brand's consent to a cross-brand winner
    AUCTION_CANCEL = "auction_cancel"  # anyone, a week after the end: an unsettled winner's refund
    AUCTION_RECLAIM = "auction_reclaim"  # anyone: an escrow's points beyond the bid it holds
    AUCTION_ISSUE_WON = "auction_issue_won"  # anyone: a won badge the winner's wallet refused
    # EnterpriseAccounts, signed by the accounts (their nonces are the contract's), relayed
    ENTERPRISE_BIND = "enterprise_bind"
    ENTERPRISE_UNBIND = "enterprise_unbind"
    ENTERPRISE_LEAVE = "enterprise_leave"
    # SettlementVault (issue 13): the brand's signer funds its deposit; a creditor settles
    TOKEN_MINT = "token_mint"  # development chains only: the test token's open mint
    TOKEN_APPROVE = "token_approve"
    SETTLEMENT_DEPOSIT = "settlement_deposit"
    SETTLE = "settle"  # the creditor brand's signer, or the admin (admin queue)
    # alliance admin (sent with the admin key)
    FUND_SIGNER = "fund_signer"
    ONBOARD_BRAND = "onboard_brand"
    SUSPEND_BRAND = "suspend_brand"
    SET_POINT_VALUE = "set_point_value"
    SET_TIER_RULE = "set_tier_rule"
    SET_RETURN_WINDOW = "set_return_window"
    SET_DAILY_CAP = "set_daily_cap"
    SET_MAX_MULTIPLIER = "set_max_multiplier"  # the campaigns' cap (issue 16)
    SET_ORDER_FLOOR = "set_order_floor"  # the least a purchase counts to count as an order
    SET_PAUSE = "set_pause"  # the alliance's one pause: `pause()` or `unpause()`
    TIER_REVIEW_BATCH = "tier_review_batch"  # the quarterly round (`background.reviews`)

    @property
    def member_signed(self) -> bool:
        return self in (
            OpKind.GIFT,
            OpKind.DONATION,
            OpKind.REDEMPTION,
            OpKind.BADGE_REDEEM,
            OpKind.AUCTION_BID,
        )

    @property
    def nonce_domain(self) -> str | None:
        """Whose nonce the member's signature uses: the ledger's or the badge contract's."""
        if self is OpKind.BADGE_REDEEM:
            return "badges"
        return "ledger" if self.member_signed else None

    @property
    def admin(self) -> bool:
        return self in ADMIN_KINDS

    @property
    def stopped_by_pause(self) -> bool:
        """Whether the alliance's one pause (`AllianceLedger.pause`, which every contract
        obeys) makes the chain refuse this kind (`EnforcedPause`): all but `RUN_WHILE_PAUSED`."""
        return self not in RUN_WHILE_PAUSED


ADMIN_KINDS = frozenset(
    {
        OpKind.FUND_SIGNER,
        OpKind.ONBOARD_BRAND,
        OpKind.SUSPEND_BRAND,
        OpKind.SET_POINT_VALUE,
        OpKind.SET_TIER_RULE,
        OpKind.SET_RETURN_WINDOW,
        OpKind.SET_DAILY_CAP,
        OpKind.SET_MAX_MULTIPLIER,
        OpKind.SET_ORDER_FLOOR,
        OpKind.SET_PAUSE,
        OpKind.TIER_REVIEW_BATCH,
    }
)

#: the kinds whose contract functions carry no `whenNotPaused`: a signer's funding (a plain
#: transfer), `onboardBrand`, `setBrandSuspended` and `setReturnWindow` (an operator answers an
#: incident with them while the ledger is paused), `unpause` (and `pause`, which the chain then
#: refuses: `ledger_paused`), the test token's `mint` and `approve`
RUN_WHILE_PAUSED = frozenset(
    {
        OpKind.SET_PAUSE,
        OpKind.FUND_SIGNER,
        OpKind.ONBOARD_BRAND,
        OpKind.SUSPEND_BRAND,
        OpKind.SET_RETURN_WINDOW,
        OpKind.TOKEN_MINT,
        OpKind.TOKEN_APPROVE,
    }
)


class OpStatus(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self.value in FINAL_OP_STATUSES


#: the one list of open (not yet final) and of final operation statuses
OPEN_OP_STATUSES = (OpStatus.QUEUED.value, OpStatus.SUBMITTED.value)
FINAL_OP_STATUSES = (OpStatus.CONFIRMED.value, OpStatus.FAILED.value)
#: the operations of one settlement deposit (the route queues mint, approve, deposit: issue 12)
DEPOSIT_STEP_KINDS = (
    OpKind.SETTLEMENT_DEPOSIT.value,
    OpKind.TOKEN_APPROVE.value,
    OpKind.TOKEN_MINT.value,
)


class SlotStatus(StrEnum):
    """A nonce slot of a signer: one nonce, one or more signed attempts."""

    SIGNED = "signed"  # stored, not yet accepted by the node
    PENDING = "pending"  # the node accepted an attempt
    MINED = "mined"  # an attempt is in a block, not deep enough yet
    CONFIRMED = "confirmed"  # deep enough; ops are final
    SUPERSEDED = "superseded"  # the nonce was consumed by a transaction that is not ours

    @property
    def final(self) -> bool:
        return self in (SlotStatus.CONFIRMED, SlotStatus.SUPERSEDED)


OPEN_SLOT_STATUSES = (SlotStatus.SIGNED.value, SlotStatus.PENDING.value, SlotStatus.MINED.value)


class BrandStatus(StrEnum):
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class EarnRule:
    points_per_usd: int = 10
    points_per_review: int = 5
    points_per_share: int = 3
    points_per_event: int = 10
    points_per_referral: int = 20

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (
            self.points_per_usd,
            self.points_per_review,
            self.points_per_share,
            self.points_per_event,
            self.points_per_referral,
        )

    def points(self, kind: EarnKind, multiplier_pct: int, amount_cents: int) -> int:
        """The points the contract credits for one earn (the tier gift excluded)."""
        if kind is EarnKind.PURCHASE:
            return amount_cents * self.points_per_usd * multiplier_pct // 10_000
        rate = {
            EarnKind.REVIEW: self.points_per_review,
            EarnKind.SHARE: self.points_per_share,
            EarnKind.EVENT: self.points_per_event,
            EarnKind.REFERRAL: self.points_per_referral,
        }[kind]
        return rate * multiplier_pct // 100


# ------------------------------------------------------------------ calendar (UTC months)


def month_of(timestamp: int) -> int:
    """Months since January 1970 of a unix timestamp (the contract's `Calendar.monthOf`)."""
    moment = utc_datetime(timestamp)
    return (moment.year - 1970) * 12 + moment.month - 1


def month_start(month: int) -> int:
    """The first second of month index `month`."""
    return int(datetime(1970 + month // 12, month % 12 + 1, 1, tzinfo=UTC).timestamp())


def lot_expiry(earned_month: int) -> int:
    return month_start(earned_month + LOT_LIFETIME_MONTHS)


def month_label(month: int) -> str:
    return f"{1970 + month // 12:04d}-{month % 12 + 1:02d}"


def quarter_label(quarter: int) -> str:
    return f"{1970 + quarter // 4:04d}-Q{quarter % 4 + 1}"


def utc_day(timestamp: float) -> str:
    """The UTC day of a unix timestamp (seconds), `YYYY-MM-DD`: the daily mint counters' key,
    asked several times per accepted earn (formatted once per day: `strftime` showed in the
    bulk intake's profile)."""
    return _day_label(int(timestamp // 86_400))


@functools.lru_cache(maxsize=16)
def _day_label(day: int) -> str:
    return (_EPOCH_DAY + timedelta(days=day)).isoformat()


def day_label(day: int) -> str:
    """A UTC day index (days since 1970-01-01, the contracts' `block.timestamp / 1 days`) as
    `YYYY-MM-DD`."""
    return _day_label(day)


_EPOCH_DAY = date(1970, 1, 1)


#: the last second an answer can write (RFC 3339 has four-digit years, and so has Python's
#: `datetime`): 9999-12-31T23:59:59Z
LAST_WRITABLE_S = 253_402_300_799


def utc_datetime(timestamp: int) -> datetime:
    """A unix timestamp (seconds) as a UTC datetime; one past `LAST_WRITABLE_S` as that last
    second. The contracts take uint40 times: a brand calling them directly can open an
    auction or a poll in the year 36812, which stopped the indexer for every brand (a
    review: `ValueError: year 10000 is out of range` on the auction's webhook) and answered
    500 on its reads."""
    return datetime.fromtimestamp(min(timestamp, LAST_WRITABLE_S), UTC)


def iso_utc(timestamp: int) -> str:
    """A unix timestamp (seconds) as the ISO 8601 UTC string every answer and event uses
    (`2026-12-02T01:00:00Z`; past the year 9999 as its last second, `utc_datetime`)."""
    return utc_datetime(timestamp).isoformat().replace("+00:00", "Z")
