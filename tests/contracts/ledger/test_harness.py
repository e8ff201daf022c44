"""The test harness itself: the revert helper must be able to fail, and the fixtures must
deploy the system as scripts/deploy.py does."""

import pytest
from brownie import ZERO_ADDRESS

from scripts.deployment import DEFAULT_TIER_RULES


def _fails(block):
    """Whether running ``block`` makes the test fail (assertion or pytest.fail)."""
    try:
        block()
    except (AssertionError, pytest.fail.Exception):
        return True
    return False


def test_expect_revert_matches_the_exact_error_and_arguments(ledger, earn, signer_a, alice, errors):
    op = earn.op(alice, mult=0)
    with errors.expect(ledger, "LedgerInvalidMultiplier", 0):
        ledger.earn(op, {"from": signer_a})


def test_expect_revert_fails_on_a_wrong_argument_a_wrong_error_or_no_revert(
    ledger, earn, signer_a, alice, errors
):
    def wrong_argument():
        with errors.expect(ledger, "LedgerInvalidMultiplier", 1):
            ledger.earn(earn.op(alice, mult=0), {"from": signer_a})

    def wrong_error():
        with errors.expect(ledger, "LedgerInvalidAmount", 0):
            ledger.earn(earn.op(alice, mult=0), {"from": signer_a})

    def no_revert():
        with errors.expect(ledger, "LedgerInvalidMultiplier", 0):
            ledger.earn(earn.op(alice), {"from": signer_a})

    def wrong_address():
        with errors.expect(ledger, "LedgerNotBrandSigner", signer_a, 0):
            ledger.earn(earn.op(alice), {"from": alice})

    assert _fails(wrong_argument)
    assert _fails(wrong_error)
    assert _fails(no_revert)
    assert _fails(wrong_address)


def test_alliance_is_wired_as_the_deploy_script_does(
    alliance, admin, charity, signer_a, signer_b, signer_c
):
    ledger, lens, badge, vault = alliance.ledger, alliance.lens, alliance.badge, alliance.vault
    assert lens.ledger() == ledger
    assert badge.hasRole(badge.LEDGER_ROLE(), ledger)
    assert ledger.hasRole(ledger.SETTLER_ROLE(), vault)
    assert ledger.hasRole(ledger.DEFAULT_ADMIN_ROLE(), admin)
    assert ledger.charityPool() == charity
    assert alliance.badges.directory() == ledger
    assert vault.ledger() == ledger
    token, units = vault.token()
    assert token == alliance.usd and units == 1_000_000
    for tier, (spend, orders, engagements, gift) in DEFAULT_TIER_RULES.items():
        rule, gift_points = lens.tierRule(tier)
        assert tuple(rule) == (spend, orders, engagements) and gift_points == gift
    assert ledger.brandCount() == 3
    for brand, signer in zip((1, 2, 3), (signer_a, signer_b, signer_c), strict=True):
        assert ledger.brandOf(signer) == brand
        assert ledger.isBrandActive(brand)
    assert charity != ZERO_ADDRESS
