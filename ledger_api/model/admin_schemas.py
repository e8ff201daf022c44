"""Shapes of the admin's routes (brands, their rules, caps and keys); the rest is in
`ledger_api.model.schemas`."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ledger_api.domain import MAX_TIER_GIFT
from ledger_api.model.fields import MAX_DB_INT, PRINTABLE, Flag, amount_between
from ledger_api.model.schemas import Model

#: a brand's point value in micro-USD (the chain's uint32; 0 would make its points worthless)
PointValue = Annotated[int, *amount_between(1, 2**32 - 1, "a point value (micro-USD)")]
#: points a brand may mint per UTC day, tier gift shares included
DailyCap = Annotated[int, *amount_between(0, MAX_DB_INT, "a daily cap (points)")]


class EarnRuleModel(Model):
    points_per_usd: Annotated[int, Field(ge=0, le=255, strict=True)] = 10
    points_per_review: Annotated[int, Field(ge=0, le=255, strict=True)] = 5
    points_per_share: Annotated[int, Field(ge=0, le=255, strict=True)] = 3
    points_per_event: Annotated[int, Field(ge=0, le=255, strict=True)] = 10
    points_per_referral: Annotated[int, Field(ge=0, le=255, strict=True)] = 20


_SPACES = re.compile(" {2,}")


def normalized_name(name: str) -> str:
    """A brand's name with its runs of spaces made one and its ends trimmed, as it is stored
    (`BrandCreateRequest`) and looked up (`ledger brand show`)."""
    return _SPACES.sub(" ", name).strip(" ")


def symbol_of(name: str) -> str:
    """A brand's default points symbol: its name's ASCII letters and digits, upper-cased, at
    most 8 (`PTS` when it has none), as `ledger brand add` and the admin route give it."""
    return "".join(c for c in name.upper() if c.isascii() and c.isalnum())[:8] or "PTS"


class BrandCreateRequest(Model):
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=r"^[\w .&'-]+$",
            description="unique but for letter case, runs of spaces and Unicode's compatibility "
            "forms (NFKC: fullwidth letters are the ASCII ones), else 409 `brand_exists`",
        ),
    ]
    symbol: Annotated[
        str,
        Field(
            min_length=1,
            max_length=16,
            pattern=r"^[A-Za-z0-9]+$",
            description="default (absent or null): the name's ASCII letters and digits, "
            "upper-cased, at most 8 (PTS when none)",
        ),
    ] = "PTS"
    value_micro_usd: PointValue = 10_000
    earn_rule: EarnRuleModel = EarnRuleModel()
    daily_cap_points: Annotated[
        DailyCap | None,
        Field(
            description="points per UTC day, set on chain (`setDailyMintCap`) right after the "
            "onboarding; the brand turns active once it holds. Null: the chain's default "
            "(100,000,000)",
        ),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _default_symbol(cls, data: Any) -> Any:
        """The name with its runs of spaces made one and its ends trimmed (`"Acme  Outdoor "`
        was another brand than "Acme Outdoor", a trial); the symbol, if none, from it."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return data
        data = {**data, "name": normalized_name(data["name"])}
        if data.get("symbol") is None:
            data["symbol"] = symbol_of(data["name"])
        return data


class BrandView(Model):
    brand_id: int | None
    name: str
    symbol: str
    status: str
    signer: str | None
    value_micro_usd: int
    earn_rule: EarnRuleModel
    daily_cap_points: int | None = Field(
        description="the chain's daily mint cap (`DailyMintCapChanged`) that the gateway counts "
        "earns against, as the brand's row holds it (the index's once caught up with the "
        "chain, the gateway's own change once confirmed); null until known"
    )
    return_window_days: int | None = Field(
        default=None,
        description="days a purchase's points stay pending, as indexed (`ReturnWindowChanged`); "
        "null until the index knows it",
    )
    api_keys: list[str] = Field(default_factory=list, description="prefixes of active keys")


class BrandCreated(Model):
    brand: BrandView
    operation_id: str
    daily_cap_operation_id: str | None = Field(
        default=None, description="the `setDailyMintCap` queued after the onboarding, if any"
    )
    api_key: str | None = Field(description="shown once; null on an idempotent replay")
    queued_reason: Literal["chain_unavailable", "sender_unavailable"] | None = Field(
        default=None,
        description="on a 202, present when the onboarding waits behind something away (as "
        "an operation's `queued_reason`; also the header `Ledger-Queued-Reason`)",
    )


class SuspendRequest(Model):
    suspended: Flag


class PointValueRequest(Model):
    """The brand's new point value, for the points it issues from the next calendar month
    (UTC) on; points already issued keep their month's value (issue 10, item 7)."""

    value_micro_usd: PointValue


class PauseRequest(Model):
    """The alliance's one pause (`AllianceLedger.pause`, which every contract obeys)."""

    paused: Flag = Field(description="true: `pause()`; false: `unpause()`")


class ReturnWindowRequest(Model):
    """Days a purchase's points stay pending (DOMAIN.md "Returns"; a new brand has 14)."""

    days: Annotated[int, Field(ge=0, le=90, strict=True)]


class DailyCapRequest(Model):
    """Points a brand may mint per UTC day, tier gift shares included (set on chain)."""

    daily_cap_points: DailyCap


class TierRuleRequest(Model):
    spend_cents: Annotated[int, *amount_between(0, 2**48 - 1, "spend_cents")]
    orders: Annotated[int, Field(ge=0, le=2**16 - 1, strict=True)]  # counts, not amounts
    engagements: Annotated[int, Field(ge=0, le=2**16 - 1, strict=True)]
    gift_points: Annotated[int, *amount_between(0, MAX_TIER_GIFT, "gift_points")] = 0


class OrderFloorRequest(Model):
    """The least counted spend, in whole USD, for a purchase to count as an order toward the
    tiers (`setOrderFloor`; 0: every purchase). Its spend counts either way."""

    order_floor_usd: Annotated[int, Field(ge=0, le=31, strict=True)]


class RotateKeyRequest(Model):
    keep_old: Flag = False
    label: Annotated[str, Field(max_length=100, pattern=PRINTABLE)] = ""


class ApiKeyCreated(Model):
    prefix: str
    api_key: str | None = Field(description="shown once; null on an idempotent replay")
    brand_id: int | None
