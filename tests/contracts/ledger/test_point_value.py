"""Points keep the value of the month they were issued in (issue 10, item 7; DOMAIN.md "Value of
issued points"): `setPointValue` applies to the points issued from the next UTC month on, and
redemptions, positions and the liability's value price each consumed lot at its own month's value.

Brand P is brand C (signer_c) with its value raised to 20,000 micro-USD a month before each test
starts, so P issues at 20,000 in the test's first month (`month0`)."""

import pytest

P_VALUE = 20_000
NEW_VALUE = 5_000


@pytest.fixture
def month0(ledger, admin, brand_c, clock):
    """P (brand C) issues at 20,000 micro-USD from this month, on its 10th day."""
    ledger.setPointValue(brand_c, P_VALUE, {"from": admin})
    month = clock.month() + 1
    clock.travel_to_month(month, day=9)
    return month


def _earn_points(earn, signer, member, points):
    """A purchase worth `points` at the reference rule (10 points per USD)."""
    return earn(signer, member, cents=points * 10)


def test_a_value_change_does_not_reprice_points_already_issued(
    ledger, lens, admin, earn, signing, signer_c, signer_b, alice, brand_c, brand_b, month0
):
    """The issue's reproduction: 100 points issued at 20,000, the value changed to 5,000, then
    redeemed at brand Q (B): B is owed 2,000,000 micro-USD, not 500,000."""
    _earn_points(earn, signer_c, alice, 100)
    assert lens.outstandingValue(brand_c) == 100 * P_VALUE

    ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})

    assert lens.outstandingValue(brand_c) == 100 * P_VALUE  # the liability's value stands
    tx = signing.redeem_at(alice, brand_c, brand_b, 100, signer_b)
    assert tx.return_value == 2_000_000
    assert tx.events["PointsRedeemed"]["valueMicroUsd"] == 2_000_000
    assert ledger.position(brand_c, brand_b) == 2_000_000
    assert lens.outstandingValue(brand_c) == 0


def test_a_value_change_applies_from_the_next_calendar_month(
    ledger, lens, admin, earn, signing, signer_c, alice, brand_c, clock, events, month0
):
    tx = ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})
    assert events.one(tx, "PointValueChanged") == {
        "brand": brand_c,
        "previousValueMicroUsd": P_VALUE,
        "newValueMicroUsd": NEW_VALUE,
        "effectiveMonth": month0 + 1,
    }
    _earn_points(earn, signer_c, alice, 100)  # later in the same month: still at 20,000
    assert lens.brandInfo(brand_c)[3] == P_VALUE
    assert tuple(int(v) for v in lens.pointValue(brand_c)) == (P_VALUE, NEW_VALUE, month0 + 1)

    clock.travel_to_month(month0 + 1, day=0)
    assert lens.brandInfo(brand_c)[3] == NEW_VALUE
    assert tuple(int(v) for v in lens.pointValue(brand_c)) == (NEW_VALUE, 0, 0)
    _earn_points(earn, signer_c, alice, 100)

    assert lens.monthValue(brand_c, month0) == P_VALUE
    assert lens.monthValue(brand_c, month0 + 1) == NEW_VALUE
    assert lens.outstandingValue(brand_c) == 100 * P_VALUE + 100 * NEW_VALUE
    # At the issuing brand itself the redemption returns the value of the oldest lot first.
    assert signing.redeem_at(alice, brand_c, brand_c, 100, signer_c).return_value == 100 * P_VALUE


def test_a_second_change_within_a_month_replaces_the_first_and_a_due_one_survives_idle_months(
    ledger, lens, admin, earn, signer_c, alice, brand_c, clock, month0
):
    ledger.setPointValue(brand_c, 7_000, {"from": admin})
    ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})
    assert tuple(int(v) for v in lens.pointValue(brand_c)) == (P_VALUE, NEW_VALUE, month0 + 1)

    # Nothing issued in month0 + 1; a change in month0 + 2 finds the first one in force.
    clock.travel_to_month(month0 + 2)
    tx = ledger.setPointValue(brand_c, 8_000, {"from": admin})
    assert tx.events["PointValueChanged"]["previousValueMicroUsd"] == NEW_VALUE
    _earn_points(earn, signer_c, alice, 100)
    assert lens.monthValue(brand_c, month0 + 2) == NEW_VALUE
    clock.travel_to_month(month0 + 3)
    _earn_points(earn, signer_c, alice, 100)
    assert lens.monthValue(brand_c, month0 + 3) == 8_000
    assert lens.outstandingValue(brand_c) == 100 * NEW_VALUE + 100 * 8_000


def test_a_redemption_spanning_two_months_prices_each_lot_at_its_month_value(
    ledger, lens, admin, earn, signing, signer_c, alice, brand_c, clock, month0
):
    _earn_points(earn, signer_c, alice, 100)
    ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})
    clock.travel_to_month(month0 + 1)
    _earn_points(earn, signer_c, alice, 100)
    assert lens.outstandingValue(brand_c) == 100 * P_VALUE + 100 * NEW_VALUE

    tx = signing.redeem_at(alice, brand_c, brand_c, 150, signer_c)

    assert tx.return_value == 100 * P_VALUE + 50 * NEW_VALUE
    assert tx.events["PointsRedeemed"]["valueMicroUsd"] == 2_250_000
    assert lens.outstandingValue(brand_c) == 50 * NEW_VALUE
    assert lens.brandAccount(brand_c)["outstanding"] == 50


def test_a_cross_brand_position_records_each_lot_at_its_month_value(
    ledger, lens, admin, earn, signing, signer_c, signer_b, alice, brand_c, brand_b, clock, month0
):
    _earn_points(earn, signer_c, alice, 100)
    ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})
    clock.travel_to_month(month0 + 1)
    _earn_points(earn, signer_c, alice, 100)

    signing.redeem_at(alice, brand_c, brand_b, 150, signer_b)
    assert ledger.position(brand_c, brand_b) == 2_250_000
    assert lens.netPosition(brand_b) == 2_250_000
    signing.redeem_at(alice, brand_c, brand_b, 50, signer_b)
    assert ledger.position(brand_c, brand_b) == 2_250_000 + 50 * NEW_VALUE


def test_a_gift_carries_the_value_of_its_lots(
    ledger,
    lens,
    admin,
    earn,
    signing,
    signer_c,
    signer_b,
    relayer,
    alice,
    bob,
    brand_c,
    brand_b,
    clock,
    month0,
):
    _earn_points(earn, signer_c, alice, 100)  # at 20,000
    ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})
    clock.travel_to_month(month0 + 1)
    _earn_points(earn, signer_c, bob, 100)  # at 5,000
    gift, sig = signing.gift(alice, bob, brand_c, 100)
    ledger.giftWithSig(gift, sig, {"from": relayer})
    # a gift moves no value
    assert lens.outstandingValue(brand_c) == 100 * P_VALUE + 100 * NEW_VALUE

    # Bob's oldest lot is Alice's gift, earned in month0: it keeps its 20,000.
    tx = signing.redeem_at(bob, brand_c, brand_b, 150, signer_b)
    assert tx.return_value == 100 * P_VALUE + 50 * NEW_VALUE
    assert ledger.position(brand_c, brand_b) == 2_250_000


def test_the_liability_value_follows_expiry_month_by_month(
    ledger, lens, admin, earn, signer_c, alice, brand_c, clock, month0
):
    _earn_points(earn, signer_c, alice, 100)
    ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})
    clock.travel_to_month(month0 + 1)
    _earn_points(earn, signer_c, alice, 300)
    assert lens.outstandingValue(brand_c) == 100 * P_VALUE + 300 * NEW_VALUE

    clock.travel_to(clock.expiry_of(month0))  # month0's lot expires, month0 + 1's still counts
    assert lens.brandAccount(brand_c)["outstanding"] == 300
    assert lens.outstandingValue(brand_c) == 300 * NEW_VALUE
    clock.travel_to(clock.expiry_of(month0 + 1))
    assert lens.outstandingValue(brand_c) == 0


def test_only_the_admin_changes_a_value_and_not_while_paused(
    ledger, admin, signer_c, brand_c, errors
):
    with errors.expect(ledger, "AccessControlUnauthorizedAccount", signer_c, "0x" + "00" * 32):
        ledger.setPointValue(brand_c, NEW_VALUE, {"from": signer_c})
    ledger.pause({"from": admin})
    with errors.expect(ledger, "EnforcedPause"):
        ledger.setPointValue(brand_c, NEW_VALUE, {"from": admin})
