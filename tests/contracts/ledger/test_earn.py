"""Earning: a brand records purchases and engagements; members earn by the brand's rule;
each operation id applies at most once per brand."""

import pytest
from brownie import ZERO_ADDRESS

KINDS = ("purchase", "review", "share", "event", "referral")  # IAllianceLedger.EarnKind
PURCHASE = KINDS.index("purchase")
MAX_AMOUNT = 10**12


def test_purchase_earns_ten_points_per_usd_under_the_reference_rule(
    ledger, lens, earn, signer_a, alice, brand_a, clock, events, to_plain
):
    ref = b"\x42" * 32
    tx = earn(signer_a, alice, cents=12_345, op_id=7, ref=ref)  # 123.45 USD

    assert tx.return_value == 1_234  # whole points, rounded down
    assert events.one(tx, "PointsEarned") == {
        "brand": brand_a,
        "member": alice,
        "opId": 7,
        "kind": PURCHASE,
        "points": 1_234,
        "spendCents": 12_345,
        "orderRef": "0x" + "42" * 32,
        "releaseAt": 0,  # brand A keeps no return window: live at once
    }
    assert events.one(tx, "Transfer") == {
        "caller": signer_a,
        "sender": ZERO_ADDRESS,
        "receiver": alice,
        "id": brand_a,
        "amount": 1_234,
    }
    month = clock.month_of(tx.timestamp)
    assert ledger.balanceOf(alice, brand_a) == 1_234
    assert to_plain(lens.lotsOf(alice, brand_a)) == ((1_234, month, clock.expiry_of(month)),)
    assert to_plain(lens.brandAccount(brand_a)) == (1_234, 0, 0, 1_234, 0)


def test_purchase_earns_by_the_issuing_brands_own_rule(ledger, earn, signer_b, alice, brand_b):
    assert earn(signer_b, alice, cents=12_345).return_value == 2_469  # brand B: 20 points per USD
    assert ledger.balanceOf(alice, brand_b) == 2_469


@pytest.mark.parametrize(
    "kind, points_a, points_b",
    [("review", 5, 8), ("share", 3, 4), ("event", 5, 6), ("referral", 20, 25)],
)
def test_engagement_earns_the_brands_fixed_points(
    ledger, earn, signer_a, signer_b, alice, brand_a, brand_b, kind, points_a, points_b, events
):
    tx = earn(signer_a, alice, kind, cents=99_999)  # an engagement's amount is ignored
    assert tx.return_value == points_a
    assert events.one(tx, "PointsEarned")["kind"] == KINDS.index(kind)
    assert earn(signer_b, alice, kind).return_value == points_b
    assert ledger.balanceOf(alice, brand_a) == points_a
    assert ledger.balanceOf(alice, brand_b) == points_b


def test_points_earned_carries_the_spend_counted_toward_tiers_so_it_rebuilds_from_events(
    lens, earn, signer_a, signer_b, alice, events
):
    purchases = [earn(signer_a, alice, cents=12_345), earn(signer_b, alice, cents=2_000)]
    review = earn(signer_a, alice, "review", cents=99_999)  # an engagement counts no spend

    assert [events.one(tx, "PointsEarned")["spendCents"] for tx in purchases] == [12_345, 2_000]
    assert events.one(review, "PointsEarned")["spendCents"] == 0
    earned = [events.one(tx, "PointsEarned") for tx in (*purchases, review)]
    status = lens.memberStatus(alice).dict()
    assert sum(e["spendCents"] for e in earned) == status["spendCents"] == 14_345
    assert sum(e["kind"] == PURCHASE for e in earned) == status["orders"] == 2


@pytest.mark.parametrize(
    "kind, cents, mult, points",
    [
        ("purchase", 10_000, 200, 2_000),  # first order / green purchase: double points
        ("purchase", 10_000, 150, 1_500),
        ("purchase", 999, 150, 149),  # 149.85 rounds down
        ("purchase", 10_000, 1_000, 10_000),  # the 10x ceiling
        ("purchase", 10_000, 1, 10),
        ("review", 0, 200, 10),
        ("referral", 0, 250, 50),
        ("share", 0, 150, 4),  # 4.5 rounds down
    ],
)
def test_multiplier_scales_the_rule(
    ledger, earn, signer_a, alice, brand_a, kind, cents, mult, points
):
    assert earn(signer_a, alice, kind, cents=cents, mult=mult).return_value == points
    assert ledger.balanceOf(alice, brand_a) == points


@pytest.mark.parametrize("mult", [0, 1_001, 65_535])
def test_multiplier_outside_one_to_thousand_percent_reverts(
    ledger, earn, signer_a, alice, mult, errors
):
    with errors.expect(ledger, "LedgerInvalidMultiplier", mult):
        earn(signer_a, alice, mult=mult)


@pytest.mark.parametrize("cents", [0, MAX_AMOUNT + 1, 2**64 - 1])
def test_purchase_amount_outside_bounds_reverts(ledger, earn, signer_a, alice, cents, errors):
    with errors.expect(ledger, "LedgerInvalidAmount", cents):
        earn(signer_a, alice, cents=cents)


def test_largest_purchase_amount_is_accepted(ledger, admin, earn, signer_a, alice, brand_a):
    ledger.setDailyMintCap(brand_a, MAX_AMOUNT, {"from": admin})  # above the default cap
    assert earn(signer_a, alice, cents=MAX_AMOUNT).return_value == MAX_AMOUNT // 10
    assert ledger.balanceOf(alice, brand_a) == MAX_AMOUNT // 10


def test_earn_worth_zero_points_reverts(ledger, admin, earn, signer_a, alice, brand_a, errors):
    with errors.expect(ledger, "LedgerZeroPoints", 31):
        earn(signer_a, alice, cents=9, op_id=31)  # 0.9 points
    ledger.setEarnRule(brand_a, (10, 5, 0, 5, 20), {"from": admin})
    with errors.expect(ledger, "LedgerZeroPoints", 32):
        earn(signer_a, alice, "share", op_id=32)
    assert not ledger.isOperationUsed(brand_a, 31)
    assert not ledger.isOperationUsed(brand_a, 32)


def test_earn_for_the_zero_address_reverts(ledger, earn, signer_a, errors):
    with errors.expect(ledger, "LedgerInvalidMember", ZERO_ADDRESS):
        earn(signer_a, ZERO_ADDRESS)


def test_operation_id_reuse_reverts(
    ledger, lens, earn, signer_a, alice, bob, brand_a, errors, to_plain
):
    earn(signer_a, alice, cents=10_000, op_id=77)
    assert ledger.isOperationUsed(brand_a, 77)

    with errors.expect(ledger, "LedgerOperationUsed", brand_a, 77):
        earn(signer_a, alice, cents=10_000, op_id=77)
    with errors.expect(ledger, "LedgerOperationUsed", brand_a, 77):  # whatever the rest of the op
        earn(signer_a, bob, "review", op_id=77)
    assert ledger.balanceOf(alice, brand_a) == 1_000
    assert ledger.balanceOf(bob, brand_a) == 0
    assert to_plain(lens.brandAccount(brand_a))[0] == 1_000


def test_operation_ids_are_scoped_per_brand(
    ledger, earn, signer_a, signer_b, alice, brand_a, brand_b
):
    earn(signer_a, alice, cents=10_000, op_id=77)
    assert not ledger.isOperationUsed(brand_b, 77)
    earn(signer_b, alice, cents=10_000, op_id=77)
    assert ledger.isOperationUsed(brand_b, 77)
    assert ledger.balanceOf(alice, brand_a) == 1_000
    assert ledger.balanceOf(alice, brand_b) == 2_000


@pytest.mark.parametrize("op_id", [0, 1, 255, 256, 2**63, 2**64 - 1])
def test_operation_ids_apply_once_across_the_whole_uint64_range(
    ledger, earn, signer_a, alice, brand_a, op_id, errors
):
    neighbours = [n for n in (op_id - 1, op_id + 1) if 0 <= n < 2**64]
    earn(signer_a, alice, "review", op_id=op_id)
    assert ledger.isOperationUsed(brand_a, op_id)
    assert not any(ledger.isOperationUsed(brand_a, n) for n in neighbours)
    with errors.expect(ledger, "LedgerOperationUsed", brand_a, op_id):
        earn(signer_a, alice, "review", op_id=op_id)


def test_failed_earn_leaves_its_operation_id_unused(ledger, earn, signer_a, alice, brand_a, errors):
    with errors.expect(ledger, "LedgerInvalidMultiplier", 0):
        earn(signer_a, alice, mult=0, op_id=88)
    assert not ledger.isOperationUsed(brand_a, 88)
    earn(signer_a, alice, cents=10_000, op_id=88)
    assert ledger.balanceOf(alice, brand_a) == 1_000


def test_suspended_brand_cannot_earn_until_the_suspension_is_lifted(
    ledger, admin, earn, signer_a, signer_b, alice, brand_a, brand_b, errors
):
    ledger.setBrandSuspended(brand_a, True, {"from": admin})

    with errors.expect(ledger, "LedgerBrandSuspended", brand_a):
        earn(signer_a, alice, op_id=5)
    assert not ledger.isOperationUsed(brand_a, 5)
    earn(signer_b, alice, cents=10_000)  # other brands are unaffected
    assert ledger.balanceOf(alice, brand_b) == 2_000

    ledger.setBrandSuspended(brand_a, False, {"from": admin})
    earn(signer_a, alice, cents=10_000, op_id=5)
    assert ledger.balanceOf(alice, brand_a) == 1_000


def test_earnings_of_one_month_share_one_lot(
    ledger, lens, earn, signer_a, alice, brand_a, clock, to_plain
):
    clock.travel_to_month(clock.month() + 1, day=3)
    earn(signer_a, alice, cents=10_000)
    earn(signer_a, alice, "review")
    tx = earn(signer_a, alice, cents=5_000)

    month = clock.month_of(tx.timestamp)
    assert to_plain(lens.lotsOf(alice, brand_a)) == ((1_505, month, clock.expiry_of(month)),)


def test_earnings_of_another_month_open_a_new_lot(
    ledger, lens, earn, signer_a, alice, brand_a, clock, to_plain
):
    start = clock.month() + 1
    clock.travel_to_month(start, day=27)
    earn(signer_a, alice, cents=10_000)
    clock.travel_to_month(start + 1, day=0)
    earn(signer_a, alice, cents=5_000)

    assert to_plain(lens.lotsOf(alice, brand_a)) == (
        (1_000, start, clock.expiry_of(start)),
        (500, start + 1, clock.expiry_of(start + 1)),
    )
    assert ledger.balanceOf(alice, brand_a) == 1_500
