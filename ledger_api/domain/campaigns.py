"""Earning campaigns: which of a brand's rules apply to one earn, and what it then earns.

Pure rules, no state (issue 16, item 1). The base rule is the chain's `EarnRule` (points per
USD and per engagement kind); the campaign rules a brand defines add to it:

- `first_order` (`multiplier_pct`): the member's first purchase at this brand;
- `welcome_pack` (`points`): fixed points on the member's first earn at this brand;
- `green` (`multiplier_pct`): a purchase sent with `green: true`;
- `birthday_week` (`multiplier_pct`): an earn sent with `birthday_week: true` (the birthday
  itself stays with the brand);
- `referral` (`multiplier_pct` of the chain's points per referral): the first purchase of a
  member sent with `referrer`; both members are credited once that purchase is confirmed and
  released (`usecases.campaigns`), not by this earn;
- `time_boxed` (`multiplier_pct`, `starts_at` <= now < `ends_at` in UTC, optional `earn_kinds`).

How they combine: the multipliers that apply (and an explicit `multiplier_pct` of the request,
100 when absent) multiply, the product is rounded down to a whole percent and capped at the
admin's cap (at most the chain's `MAX_MULTIPLIER_PCT`, 1000). The welcome pack is then added
to the same operation by raising its multiplier, never above the cap: the chain computes the
points (`EarnRule.points`), so the welcome credited is what the largest whole-percent
multiplier within the cap adds without exceeding the pack, recorded beside the requested pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger_api.domain import MAX_MULTIPLIER_PCT, EarnKind, EarnRule

#: the rule kinds; every kind but `time_boxed` has at most one active rule per brand
RULE_KINDS = ("first_order", "welcome_pack", "green", "birthday_week", "referral", "time_boxed")
SINGLE_KINDS = frozenset(RULE_KINDS) - {"time_boxed"}
CHAIN_MAX_MULTIPLIER_PCT = MAX_MULTIPLIER_PCT


@dataclass(frozen=True, slots=True)
class RuleSnapshot:
    """A rule at the version in force (`params` as validated by `model.campaigns`)."""

    rule_id: int
    version: int
    kind: str
    name: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EarnFacts:
    """What the rules look at: the earn as requested, and the member's past at this brand."""

    kind: EarnKind
    member: str
    amount_cents: int
    multiplier_pct: int  # the request's explicit multiplier (100: none)
    at: int  # unix seconds (UTC): the gateway's clock at acceptance
    green: bool = False
    birthday_week: bool = False
    referrer: str | None = None
    first_earn: bool = False  # no earlier earn of the member at this brand
    first_purchase: bool = False  # no earlier purchase of the member at this brand


@dataclass(slots=True)
class Evaluation:
    """The multiplier that goes on chain, the points it gives and why (`applied`)."""

    multiplier_pct: int
    points: int
    base_points: int  # the chain's rule at 100%
    cap_pct: int
    capped: bool
    applied: list[dict[str, Any]] = field(default_factory=list)
    referral: RuleSnapshot | None = None

    def record(self) -> dict[str, Any]:
        """What the operation keeps (its read and the member's history show it)."""
        return {
            "multiplier_pct": self.multiplier_pct,
            "points": self.points,
            "base_points": self.base_points,
            "cap_pct": self.cap_pct,
            "capped": self.capped,
            "combine": "product",
            "rules": self.applied,
        }


def _why(rule: RuleSnapshot, facts: EarnFacts) -> str | None:
    """Why `rule` applies to `facts`, or None when it does not."""
    purchase = facts.kind is EarnKind.PURCHASE
    kind = rule.kind
    if kind == "first_order":
        first = purchase and facts.first_purchase
        return "the member's first purchase at this brand" if first else None
    if kind == "welcome_pack":
        return "the member's first earn at this brand" if facts.first_earn else None
    if kind == "green":
        return "a green purchase (green: true)" if purchase and facts.green else None
    if kind == "birthday_week":
        return "the member's birthday week (birthday_week: true)" if facts.birthday_week else None
    if kind == "referral":
        return _why_referral(facts)
    if kind == "time_boxed":
        return _why_window(rule, facts)
    return None


def _why_referral(facts: EarnFacts) -> str | None:
    if facts.kind is not EarnKind.PURCHASE or not facts.first_purchase or not facts.referrer:
        return None
    if facts.referrer.lower() == facts.member.lower():
        return None  # nobody refers themselves
    return (
        f"first purchase of a member referred by {facts.referrer}: both are credited once "
        "it is confirmed and its return window closed"
    )


def _why_window(rule: RuleSnapshot, facts: EarnFacts) -> str | None:
    kinds = rule.params.get("earn_kinds")
    if kinds is not None and facts.kind.name.lower() not in kinds:
        return None
    if not rule.params["starts_at"] <= facts.at < rule.params["ends_at"]:
        return None
    return "within the campaign's window (UTC)"


def evaluate(
    base: EarnRule, rules: Sequence[RuleSnapshot], facts: EarnFacts, cap_pct: int
) -> Evaluation:
    """The earn's multiplier and points under `rules` (see the module's docstring)."""
    applied: list[dict[str, Any]] = []
    numerator, denominator = facts.multiplier_pct, 1
    if facts.multiplier_pct != 100:
        applied.append(
            {
                "rule": "explicit",
                "multiplier_pct": facts.multiplier_pct,
                "why": "multiplier_pct sent with the request",
            }
        )
    welcome: RuleSnapshot | None = None
    referral: RuleSnapshot | None = None
    for rule in sorted(rules, key=lambda r: r.rule_id):
        why = _why(rule, facts)
        if why is None:
            continue
        entry: dict[str, Any] = {
            "rule": rule.kind,
            "rule_id": rule.rule_id,
            "version": rule.version,
            "name": rule.name,
            "why": why,
        }
        if rule.kind == "welcome_pack":
            welcome = rule
            entry["points"] = rule.params["points"]
        elif rule.kind == "referral":
            referral = rule
            entry["multiplier_pct"] = rule.params["multiplier_pct"]
            entry["referrer"] = facts.referrer
        else:
            numerator *= rule.params["multiplier_pct"]
            denominator *= 100
            entry["multiplier_pct"] = rule.params["multiplier_pct"]
        applied.append(entry)
    combined = numerator // denominator
    capped = combined > cap_pct
    pct = max(1, min(combined, cap_pct))
    points = base.points(facts.kind, pct, facts.amount_cents)
    if welcome is not None:
        pct, points = _with_welcome(base, facts, pct, points, welcome, cap_pct, applied)
    return Evaluation(
        multiplier_pct=pct,
        points=points,
        base_points=base.points(facts.kind, 100, facts.amount_cents),
        cap_pct=cap_pct,
        capped=capped or any(e.get("capped") for e in applied),
        applied=applied,
        referral=referral,
    )


def _with_welcome(
    base: EarnRule,
    facts: EarnFacts,
    pct: int,
    points: int,
    welcome: RuleSnapshot,
    cap_pct: int,
    applied: list[dict[str, Any]],
) -> tuple[int, int]:
    """The welcome pack added to the operation by raising its multiplier within the cap."""
    target = points + int(welcome.params["points"])
    if facts.kind is EarnKind.PURCHASE:
        unit = facts.amount_cents * base.points_per_usd  # points = unit * pct // 10_000
        raised = target * 10_000 // unit if unit else pct
    else:
        rate = base.points(facts.kind, 100, 0)  # points = rate * pct // 100
        raised = target * 100 // rate if rate else pct
    raised = max(pct, min(raised, cap_pct))
    credited = base.points(facts.kind, raised, facts.amount_cents)
    entry = next(e for e in applied if e.get("rule") == "welcome_pack")
    entry["credited"] = credited - points
    entry["capped"] = credited < target and raised == cap_pct
    return raised, credited
