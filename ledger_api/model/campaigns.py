"""Request and response models of earning campaigns (issue 16, item 1).

A rule's body is `{"kind": ..., "name": ..., <the kind's fields>}` (`domain.campaigns` says
what each kind does). Invalid bodies answer 422 with a stable code: `invalid_campaign_rule`
(a window that ends before it starts, a time without its UTC offset, ...),
`invalid_multiplier` (outside 1..1000 percent; the admin's cap outside 100..1000),
`invalid_amount` (a welcome pack's points outside 1..1,000,000 or not a whole number), or
`invalid_request` (a field missing, of the wrong type, or unknown).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ledger_api.domain.campaigns import CHAIN_MAX_MULTIPLIER_PCT
from ledger_api.model.admin_schemas import EarnRuleModel
from ledger_api.model.fields import PRINTABLE, amount_between, multiplier_between
from ledger_api.model.schemas import Address, Amount, Model, Multiplier

RuleName = Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE)]
EarnKindName = Literal["purchase", "review", "share", "event", "referral"]
MAX_WINDOW = timedelta(days=366)
MAX_WELCOME_POINTS = 1_000_000


class _Rule(Model):
    name: RuleName

    def params(self) -> dict[str, Any]:
        """The rule's parameters as stored (`campaign_rules.params`; times as unix seconds)."""
        return self.model_dump(mode="json", exclude={"kind", "name"})


class FirstOrderRule(_Rule):
    kind: Literal["first_order"]
    multiplier_pct: Multiplier


class WelcomePackRule(_Rule):
    kind: Literal["welcome_pack"]
    points: Annotated[int, *amount_between(1, MAX_WELCOME_POINTS, "a welcome pack's points")]


class GreenRule(_Rule):
    kind: Literal["green"]
    multiplier_pct: Multiplier


class BirthdayWeekRule(_Rule):
    kind: Literal["birthday_week"]
    multiplier_pct: Multiplier


class ReferralRule(_Rule):
    kind: Literal["referral"]
    multiplier_pct: Multiplier = Field(
        default=100, description="of the chain's points per referral, for each of both members"
    )


class TimeBoxedRule(_Rule):
    kind: Literal["time_boxed"]
    multiplier_pct: Multiplier
    starts_at: datetime = Field(description="UTC, with its offset (Z or +00:00)")
    ends_at: datetime = Field(description="UTC, after starts_at, at most 366 days later")
    earn_kinds: list[EarnKindName] | None = Field(
        default=None, min_length=1, max_length=5, description="every kind when absent"
    )

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        problem = _not_in_range(value)
        if problem is not None:
            raise PydanticCustomError("invalid_campaign_rule", problem)
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _window(self) -> TimeBoxedRule:
        if self.ends_at <= self.starts_at:
            raise PydanticCustomError("invalid_campaign_rule", "ends_at must follow starts_at")
        if self.ends_at - self.starts_at > MAX_WINDOW:
            raise PydanticCustomError("invalid_campaign_rule", "a window spans at most 366 days")
        if self.earn_kinds is not None and len(set(self.earn_kinds)) != len(self.earn_kinds):
            raise PydanticCustomError("invalid_campaign_rule", "earn_kinds repeats a kind")
        return self

    def params(self) -> dict[str, Any]:
        return {
            "multiplier_pct": self.multiplier_pct,
            "starts_at": int(self.starts_at.timestamp()),
            "ends_at": int(self.ends_at.timestamp()),
            "earn_kinds": self.earn_kinds,
        }


CampaignRuleRequest = Annotated[
    FirstOrderRule | WelcomePackRule | GreenRule | BirthdayWeekRule | ReferralRule | TimeBoxedRule,
    Field(discriminator="kind"),
]


class CampaignRuleView(Model):
    rule_id: int
    kind: str
    name: str
    version: int
    active: bool
    params: dict[str, Any] = Field(description="the kind's fields; times as unix seconds (UTC)")
    created_at: datetime
    updated_at: datetime


class CampaignRulesView(Model):
    brand_id: int | None
    base_rule: EarnRuleModel = Field(description="the chain's EarnRule (admin-set, read-only)")
    combine: Literal["product"] = "product"
    cap_pct: int = Field(description="the admin's cap on a combined multiplier")
    rules: list[CampaignRuleView]


class CampaignAuditEntry(Model):
    version: int
    action: Literal["created", "updated", "deleted", "cap"]
    actor: str = Field(description="the API key's scope that made the change")
    at: datetime
    old: dict[str, Any] | None
    new: dict[str, Any] | None


class CampaignAuditView(Model):
    rule_id: int | None
    entries: list[CampaignAuditEntry]


class CampaignCapRequest(Model):
    max_multiplier_pct: Annotated[
        int, *multiplier_between(100, CHAIN_MAX_MULTIPLIER_PCT, "the cap (percent)")
    ]


class CampaignCapPending(Model):
    """A `setMaxMultiplier` the admin asked for that has not landed yet."""

    operation_id: str
    status: str = Field(description="queued or submitted")
    max_multiplier_pct: int


class CampaignCapView(Model):
    max_multiplier_pct: int = Field(
        description="the chain's cap in force, as indexed (`MaxMultiplierChanged`; 1000 while "
        "the admin has set none): earns above it are refused on chain, whoever sends them; "
        "a change the gateway confirmed applies at once"
    )
    chain_max_multiplier_pct: int = Field(
        default=CHAIN_MAX_MULTIPLIER_PCT,
        description="the highest cap the contract takes (`MAX_MULTIPLIER_PCT`, fixed at "
        "deployment): `PUT .../cap` answers 422 `invalid_multiplier` above it",
    )
    version: int = Field(description="how many changes the admin has asked for (the audit)")
    pending: CampaignCapPending | None = Field(
        default=None, description="the latest change asked for and not yet landed, if any"
    )


class _Preview(Model):
    member: Address
    multiplier_pct: Multiplier = 100
    birthday_week: bool = Field(default=False, strict=True)
    at: datetime | None = Field(
        default=None, description="when, with its UTC offset, 2000 to 2200; now when absent"
    )

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """A time with no offset (read in the host's zone), or in the year 1, answered 500 (a
        review: `ValueError: year 0 is out of range`)."""
        if value is None:
            return None
        problem = _not_in_range(value)
        if problem is not None:
            raise ValueError(problem)
        return value.astimezone(UTC)


class PreviewPurchase(_Preview):
    type: Literal["purchase"]
    amount_cents: Amount
    green: bool = Field(default=False, strict=True)
    referrer: Address | None = None


class PreviewEngagement(_Preview):
    type: Literal["engagement"]
    kind: Literal["review", "share", "event", "referral"]


EarnPreviewRequest = Annotated[PreviewPurchase | PreviewEngagement, Field(discriminator="type")]


class EarnPreviewAnswer(Model):
    points: int = Field(description="what the earn would credit now (nothing is recorded)")
    multiplier_pct: int = Field(description="the multiplier that would go on chain")
    base_points: int
    cap_pct: int
    capped: bool
    combine: Literal["product"] = "product"
    rules: list[dict[str, Any]] = Field(description="the rules that would apply, and why")
    first_earn: bool
    first_purchase: bool


class ReferralView(Model):
    referred: str
    referrer: str
    status: Literal["waiting", "credited", "void"]
    rule_id: int
    rule_version: int
    multiplier_pct: int
    referrer_operation_id: str | None
    referred_operation_id: str | None
    created_at: datetime
    updated_at: datetime


class ReferralsView(Model):
    referrals: list[ReferralView]


def _not_in_range(value: datetime) -> str | None:
    """What is wrong with a time a request gives (a rule's window, a preview's `at`): no UTC
    offset, or a year outside 2000 to 2200; None when it is fine."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "a time needs its UTC offset (Z or +00:00)"
    if not datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2200, 1, 1, tzinfo=UTC):
        return "a time from 2000 to 2200"
    return None
