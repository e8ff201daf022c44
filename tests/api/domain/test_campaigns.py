"""`domain.campaigns.evaluate`: which rules apply, how they combine, the cap, the welcome pack."""

from __future__ import annotations

from typing import Any

from ledger_api.domain import EarnKind, EarnRule
from ledger_api.domain.campaigns import EarnFacts, RuleSnapshot, evaluate

BASE = EarnRule()  # 10 points per USD, review 5, share 3, event 10, referral 20
MEMBER = "0x" + "11" * 20


def rule(rule_id: int, kind: str, **params: Any) -> RuleSnapshot:
    return RuleSnapshot(rule_id, 1, kind, f"{kind} {rule_id}", params)


def facts(**fields: Any) -> EarnFacts:
    values: dict[str, Any] = {
        "kind": EarnKind.PURCHASE,
        "member": MEMBER,
        "amount_cents": 10_000,
        "multiplier_pct": 100,
        "at": 1_800_000_000,
    }
    return EarnFacts(**(values | fields))


def test_without_rules_the_earn_is_the_chain_rule_times_the_explicit_multiplier() -> None:
    result = evaluate(BASE, [], facts(multiplier_pct=150), 1000)
    assert (result.multiplier_pct, result.points, result.base_points) == (150, 1_500, 1_000)
    assert [r["rule"] for r in result.applied] == ["explicit"]


def test_multipliers_multiply_and_the_product_is_capped() -> None:
    rules = [rule(1, "first_order", multiplier_pct=200), rule(2, "green", multiplier_pct=300)]
    both = facts(first_purchase=True, green=True)
    result = evaluate(BASE, rules, both, 1000)
    assert (result.multiplier_pct, result.points, result.capped) == (600, 6_000, False)
    capped = evaluate(BASE, rules, both, 500)
    assert (capped.multiplier_pct, capped.points, capped.capped) == (500, 5_000, True)
    # the explicit multiplier is one more factor
    assert evaluate(BASE, rules, facts(green=True, multiplier_pct=150), 1000).multiplier_pct == 450


def test_a_rule_applies_only_with_its_condition() -> None:
    rules = [
        rule(1, "first_order", multiplier_pct=200),
        rule(2, "green", multiplier_pct=200),
        rule(3, "birthday_week", multiplier_pct=200),
    ]
    assert evaluate(BASE, rules, facts(), 1000).multiplier_pct == 100
    engagement = facts(kind=EarnKind.REVIEW, amount_cents=0, green=True, first_purchase=True)
    assert evaluate(BASE, rules, engagement, 1000).points == 5  # purchase-only rules skip it
    birthday = evaluate(BASE, rules, facts(kind=EarnKind.REVIEW, birthday_week=True), 1000)
    assert (birthday.points, birthday.applied[0]["rule"]) == (10, "birthday_week")


def test_a_time_boxed_rule_applies_inside_its_window_and_to_its_kinds_only() -> None:
    window = rule(1, "time_boxed", multiplier_pct=300, starts_at=100, ends_at=200, earn_kinds=None)
    assert evaluate(BASE, [window], facts(at=100), 1000).multiplier_pct == 300
    assert evaluate(BASE, [window], facts(at=200), 1000).multiplier_pct == 100  # end excluded
    assert evaluate(BASE, [window], facts(at=99), 1000).multiplier_pct == 100
    shares = rule(
        2, "time_boxed", multiplier_pct=300, starts_at=0, ends_at=10**10, earn_kinds=["share"]
    )
    assert evaluate(BASE, [shares], facts(), 1000).multiplier_pct == 100
    share = facts(kind=EarnKind.SHARE, amount_cents=0)
    assert evaluate(BASE, [shares], share, 1000).points == 9


def test_the_welcome_pack_rides_on_the_first_earn_within_the_cap() -> None:
    welcome = rule(1, "welcome_pack", points=250)
    first = evaluate(BASE, [welcome], facts(first_earn=True), 1000)
    assert (first.multiplier_pct, first.points) == (125, 1_250)  # 1,000 + 250 exactly
    (entry,) = first.applied
    assert (entry["points"], entry["credited"], entry["capped"]) == (250, 250, False)
    later = evaluate(BASE, [welcome], facts(), 1000)
    assert later.points == 1_000 and later.applied == []
    # a small purchase: the cap bounds what the pack can add, and the record says so
    small = evaluate(BASE, [welcome], facts(first_earn=True, amount_cents=200), 1000)
    assert (small.multiplier_pct, small.points, small.capped) == (1000, 200, True)
    assert small.applied[0]["credited"] == 180  # 20 points at 100%, 200 at the cap
    # rounding never credits more than the pack: 3.33 USD -> 33 points at 100%
    odd = evaluate(BASE, [welcome], facts(first_earn=True, amount_cents=333), 1000)
    assert odd.points <= 33 + 250 and odd.multiplier_pct <= 1000


def test_a_referral_applies_to_a_first_purchase_with_another_member_as_referrer() -> None:
    referral = rule(1, "referral", multiplier_pct=100)
    other = "0x" + "22" * 20
    found = evaluate(BASE, [referral], facts(first_purchase=True, referrer=other), 1000)
    assert found.referral == referral and found.points == 1_000  # credited later, not here
    assert evaluate(BASE, [referral], facts(referrer=other), 1000).referral is None
    self_referred = facts(first_purchase=True, referrer=MEMBER.upper().replace("0X", "0x"))
    assert evaluate(BASE, [referral], self_referred, 1000).referral is None
