"""The admin's cap on an earn's multiplier is a chain rule (issue 16, item 1: "the admin sets a
cap the chain enforces"): `setMaxMultiplier(pct)` (admin only, not while paused, 100..1000)
and every earn above it refused, whoever sends it, a brand's own signer included.

Before: the cap lived only in the gateway's database; a brand holding its signing key earned at
the chain's constant 10x whatever the admin had set."""

import pytest

MAX_PCT = 1000  # AllianceLedger.MAX_MULTIPLIER_PCT: the cap while none is set, and its ceiling


def _skipped(events, tx):
    return [(e["opId"], e["reason"]) for e in events.all(tx, "OperationSkipped")]


def test_the_cap_is_the_ledger_ceiling_until_the_admin_sets_one(ledger, lens):
    assert ledger.MAX_MULTIPLIER_PCT() == MAX_PCT
    assert lens.maxMultiplierPct() == MAX_PCT


def test_the_admin_sets_the_cap_with_an_event(ledger, lens, admin, events):
    tx = ledger.setMaxMultiplier(300, {"from": admin})
    assert events.one(tx, "MaxMultiplierChanged", ledger) == {"previousPct": MAX_PCT, "pct": 300}
    assert lens.maxMultiplierPct() == 300

    tx = ledger.setMaxMultiplier(MAX_PCT, {"from": admin})
    assert events.one(tx, "MaxMultiplierChanged", ledger) == {"previousPct": 300, "pct": MAX_PCT}
    assert lens.maxMultiplierPct() == MAX_PCT


def test_only_the_admin_sets_the_cap(ledger, lens, signer_a, outsider, errors):
    for caller in (signer_a, outsider):
        with errors.expect(
            ledger, "AccessControlUnauthorizedAccount", caller, ledger.DEFAULT_ADMIN_ROLE()
        ):
            ledger.setMaxMultiplier(200, {"from": caller})
    assert lens.maxMultiplierPct() == MAX_PCT


@pytest.mark.parametrize("pct", [0, 1, 99, 1001, 2**15, 2**256 - 1])
def test_a_cap_outside_100_to_1000_percent_is_refused(ledger, lens, admin, errors, pct):
    with errors.expect(ledger, "LedgerInvalidMaxMultiplier", pct, 100, MAX_PCT):
        ledger.setMaxMultiplier(pct, {"from": admin})
    assert lens.maxMultiplierPct() == MAX_PCT


def test_the_cap_does_not_change_while_paused(ledger, lens, admin, errors):
    ledger.pause({"from": admin})
    with errors.expect(ledger, "EnforcedPause"):
        ledger.setMaxMultiplier(200, {"from": admin})
    ledger.unpause({"from": admin})
    ledger.setMaxMultiplier(200, {"from": admin})
    assert lens.maxMultiplierPct() == 200


def test_the_cap_leaves_the_tier_rules_and_the_pause_flag_alone(ledger, lens, admin, to_plain):
    """The cap shares the globals word with the tier rules and the pause flag."""
    rules = [to_plain(lens.tierRule(t)) for t in (1, 2, 3)]
    ledger.setMaxMultiplier(777, {"from": admin})
    assert [to_plain(lens.tierRule(t)) for t in (1, 2, 3)] == rules
    assert not ledger.paused()
    ledger.pause({"from": admin})
    assert lens.maxMultiplierPct() == 777
    ledger.unpause({"from": admin})
    ledger.setTierRule(3, (*rules[2][0][:2], rules[2][0][2] + 1), rules[2][1], {"from": admin})
    assert lens.maxMultiplierPct() == 777


def test_an_earn_above_the_cap_is_refused_and_one_at_the_cap_applies(
    ledger, lens, admin, earn, signer_a, alice, brand_a, errors
):
    ledger.setMaxMultiplier(300, {"from": admin})
    op_id = earn.next_op_id()
    with errors.expect(ledger, "LedgerInvalidMultiplier", 301):
        earn(signer_a, alice, cents=10_000, mult=301, op_id=op_id)
    assert not ledger.isOperationUsed(brand_a, op_id)
    assert ledger.balanceOf(alice, brand_a) == 0

    earn(signer_a, alice, cents=10_000, mult=300, op_id=op_id)  # 100 USD x 10/USD x 3
    assert ledger.balanceOf(alice, brand_a) == 3_000


def test_a_batch_skips_the_operations_above_the_cap(
    ledger, admin, earn, signer_a, alice, bob, brand_a, errors, events
):
    ledger.setMaxMultiplier(200, {"from": admin})
    over = earn.op(alice, cents=10_000, mult=1_000)
    at_cap = earn.op(bob, cents=10_000, mult=200)
    review = earn.op(alice, "review", mult=250)
    tx = earn.batch(signer_a, [over, at_cap, review])
    reason = "0x" + errors.selector(ledger, "LedgerInvalidMultiplier").hex()
    assert _skipped(events, tx) == [(over[0], reason), (review[0], reason)]
    assert ledger.balanceOf(bob, brand_a) == 2_000
    assert ledger.balanceOf(alice, brand_a) == 0


def test_a_brand_signer_calling_the_chain_directly_cannot_exceed_the_cap(
    ledger, admin, earn, signer_b, carol, brand_b, errors
):
    """The reproduction: the brand's own key, no gateway in between, at the chain's 10x."""
    earn(signer_b, carol, cents=100, mult=MAX_PCT)  # allowed before the admin acts
    before = ledger.balanceOf(carol, brand_b)
    ledger.setMaxMultiplier(150, {"from": admin})
    with errors.expect(ledger, "LedgerInvalidMultiplier", MAX_PCT):
        earn(signer_b, carol, cents=100, mult=MAX_PCT)
    with errors.expect(ledger, "LedgerInvalidMultiplier", 151):
        earn(signer_b, carol, cents=100, mult=151)
    assert ledger.balanceOf(carol, brand_b) == before
    earn(signer_b, carol, cents=100, mult=150)
    assert ledger.balanceOf(carol, brand_b) == before + 100 * 20 * 150 // 10_000
