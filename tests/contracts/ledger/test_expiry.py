"""Rolling expiry: a lot earned in calendar month M (UTC) counts until the first second of month
M + 13 and not at it; expired points stop counting at once, with no transaction, and the issuing
brand's outstanding liability drops by the same amount. Spending takes the oldest lots first;
gifts keep each lot's earn month."""

import pytest
from brownie import web3


@pytest.fixture
def month0(clock):
    """A fresh month a little ahead of the chain's clock, on its 10th day."""
    month = clock.month() + 1
    clock.travel_to_month(month, day=9)
    return month


def _lots(lens, member, brand, to_plain):
    return to_plain(lens.lotsOf(member, brand))


def test_points_count_at_the_last_second_before_the_boundary_and_not_at_it(
    ledger, lens, earn, signer_a, alice, brand_a, clock, month0, to_plain
):
    tx = earn(signer_a, alice, cents=10_000)
    assert clock.month_of(tx.timestamp) == month0
    boundary = clock.month_start(month0 + 13)

    clock.travel_to(boundary - 1)
    assert ledger.balanceOf(alice, brand_a) == 1_000
    assert _lots(lens, alice, brand_a, to_plain) == ((1_000, month0, boundary),)
    assert to_plain(lens.nextExpiry(alice, brand_a)) == (1_000, boundary)
    assert to_plain(lens.brandAccount(brand_a)) == (1_000, 0, 0, 1_000, 0)

    clock.travel_to(boundary)
    assert ledger.balanceOf(alice, brand_a) == 0
    assert _lots(lens, alice, brand_a, to_plain) == ()
    assert to_plain(lens.nextExpiry(alice, brand_a)) == (0, 0)
    assert to_plain(lens.brandAccount(brand_a)) == (1_000, 0, 1_000, 0, 0)


def test_a_lot_lives_at_least_twelve_full_months_whenever_in_the_month_it_was_earned(
    ledger, lens, earn, signer_a, alice, brand_a, clock, month0, to_plain
):
    first_second, last_second = clock.month_start(month0 + 1), clock.month_start(month0 + 2) - 1
    clock.next_block_at(first_second)
    earn(signer_a, alice, "review")
    clock.next_block_at(last_second)
    earn(signer_a, alice, "share")

    boundary = clock.month_start(month0 + 14)
    assert (
        boundary - last_second >= 365 * clock.DAY
    )  # at least 12 full months, even from the last second
    assert _lots(lens, alice, brand_a, to_plain) == ((8, month0 + 1, boundary),)
    clock.travel_to(boundary - 1)
    assert ledger.balanceOf(alice, brand_a) == 8
    clock.travel_to(boundary)
    assert ledger.balanceOf(alice, brand_a) == 0


def test_spending_works_until_the_boundary_second_and_fails_from_it(
    ledger, earn, signer_a, alice, brand_a, clock, month0, errors
):
    earn(signer_a, alice, cents=10_000)
    boundary = clock.month_start(month0 + 13)
    clock.travel_to(boundary - 5)

    clock.next_block_at(boundary - 1)
    tx = ledger.redeem(brand_a, brand_a, 600, b"\x00" * 32, {"from": alice})
    assert tx.timestamp == boundary - 1 and tx.return_value == 600 * 10_000

    clock.next_block_at(boundary)
    with errors.expect(ledger, "PointsInsufficientBalance", alice, brand_a, 0, 100):
        ledger.redeem(brand_a, brand_a, 100, b"\x00" * 32, {"from": alice})


def test_expiry_moves_liability_from_outstanding_to_expired_without_any_transaction(
    ledger, lens, earn, signer_a, alice, bob, brand_a, clock, month0, to_plain
):
    earn(signer_a, alice, cents=10_000)  # month0: 1,000
    clock.travel_to_month(month0 + 1)
    earn(signer_a, bob, cents=3_000)  # month0 + 1: 300
    clock.travel_to_month(month0 + 2)
    last = ledger.redeem(brand_a, brand_a, 200, b"\x00" * 32, {"from": alice})  # alice's month0 lot
    first, second = clock.month_start(month0 + 13), clock.month_start(month0 + 14)

    clock.travel_to(first - 1)
    assert to_plain(lens.brandAccount(brand_a)) == (1_300, 200, 0, 1_100, 0)
    clock.travel_to(first)
    assert to_plain(lens.brandAccount(brand_a)) == (1_300, 200, 800, 300, 0)
    clock.travel_to(second - 1)
    assert to_plain(lens.brandAccount(brand_a)) == (1_300, 200, 800, 300, 0)
    clock.travel_to(second)
    assert to_plain(lens.brandAccount(brand_a)) == (1_300, 200, 1_100, 0, 0)

    # only empty blocks were mined since the redemption: no keeper, no transaction
    blocks = range(last.block_number + 1, web3.eth.block_number + 1)
    assert len(blocks) == 4
    assert all(not web3.eth.get_block(n).transactions for n in blocks)


def test_lots_are_listed_oldest_first_with_their_expiry_and_next_expiry_is_the_oldest(
    ledger, lens, earn, signer_a, alice, brand_a, clock, month0, to_plain
):
    earn(signer_a, alice, cents=1_000)  # 100 in month0
    clock.travel_to_month(month0 + 1)
    earn(signer_a, alice, cents=2_000)  # 200 in month0 + 1
    clock.travel_to_month(month0 + 3)
    earn(signer_a, alice, cents=3_000)  # 300 in month0 + 3

    expiry = clock.expiry_of
    assert _lots(lens, alice, brand_a, to_plain) == (
        (100, month0, expiry(month0)),
        (200, month0 + 1, expiry(month0 + 1)),
        (300, month0 + 3, expiry(month0 + 3)),
    )
    assert to_plain(lens.nextExpiry(alice, brand_a)) == (100, expiry(month0))

    clock.travel_to(expiry(month0))
    assert _lots(lens, alice, brand_a, to_plain) == (
        (200, month0 + 1, expiry(month0 + 1)),
        (300, month0 + 3, expiry(month0 + 3)),
    )
    assert to_plain(lens.nextExpiry(alice, brand_a)) == (200, expiry(month0 + 1))
    assert ledger.balanceOf(alice, brand_a) == 500


def test_redeeming_consumes_the_oldest_lots_first(
    ledger, lens, earn, signer_a, alice, brand_a, clock, month0, to_plain
):
    for offset, cents in ((0, 1_000), (1, 2_000), (2, 3_000)):
        clock.travel_to_month(month0 + offset)
        earn(signer_a, alice, cents=cents)  # 100, 200, 300

    ledger.redeem(brand_a, brand_a, 250, b"\x00" * 32, {"from": alice})

    expiry = clock.expiry_of
    assert _lots(lens, alice, brand_a, to_plain) == (
        (50, month0 + 1, expiry(month0 + 1)),
        (300, month0 + 2, expiry(month0 + 2)),
    )
    assert to_plain(lens.nextExpiry(alice, brand_a)) == (50, expiry(month0 + 1))
    # the brand's liability lost the same months' points: nothing is left to expire in month0
    clock.travel_to(expiry(month0))
    assert to_plain(lens.brandAccount(brand_a)) == (600, 250, 0, 350, 0)
    clock.travel_to(expiry(month0 + 1))
    assert to_plain(lens.brandAccount(brand_a)) == (600, 250, 50, 300, 0)
    assert ledger.balanceOf(alice, brand_a) == 300


@pytest.mark.parametrize("how", ["signed gift", "erc6909 transfer", "donation"])
def test_moved_points_keep_their_earn_month_and_expire_when_the_givers_would_have(
    ledger,
    lens,
    earn,
    signing,
    signer_a,
    alice,
    bob,
    charity,
    relayer,
    brand_a,
    clock,
    month0,
    how,
    to_plain,
):
    earn(signer_a, alice, cents=10_000)  # 1,000 in month0
    clock.travel_to_month(month0 + 6)
    receiver = charity if how == "donation" else bob
    earn(signer_a, receiver, "review")  # the receiver's own, newer lot: 5 in month0 + 6

    if how == "signed gift":
        gift, sig = signing.gift(alice, bob, brand_a, 400)
        ledger.giftWithSig(gift, sig, {"from": relayer})
    elif how == "erc6909 transfer":
        ledger.transfer(bob, brand_a, 400, {"from": alice})
    else:
        ledger.donate(brand_a, 400, {"from": alice})

    expiry = clock.expiry_of
    assert _lots(lens, receiver, brand_a, to_plain) == (
        (400, month0, expiry(month0)),
        (5, month0 + 6, expiry(month0 + 6)),
    )
    assert _lots(lens, alice, brand_a, to_plain) == ((600, month0, expiry(month0)),)
    clock.travel_to(expiry(month0) - 1)
    assert ledger.balanceOf(receiver, brand_a) == 405
    clock.travel_to(expiry(month0))
    assert ledger.balanceOf(receiver, brand_a) == 5
    assert ledger.balanceOf(alice, brand_a) == 0
    assert to_plain(lens.brandAccount(brand_a)) == (1_005, 0, 1_000, 5, 0)


def test_a_gift_takes_the_givers_oldest_lots_first(
    ledger, lens, earn, signer_a, alice, bob, brand_a, clock, month0, to_plain
):
    earn(signer_a, alice, cents=1_000)  # 100 in month0
    clock.travel_to_month(month0 + 1)
    earn(signer_a, alice, cents=2_000)  # 200 in month0 + 1

    ledger.transfer(bob, brand_a, 150, {"from": alice})

    expiry = clock.expiry_of
    assert _lots(lens, bob, brand_a, to_plain) == (
        (100, month0, expiry(month0)),
        (50, month0 + 1, expiry(month0 + 1)),
    )
    assert _lots(lens, alice, brand_a, to_plain) == ((150, month0 + 1, expiry(month0 + 1)),)


def test_an_expired_lots_storage_is_reused_by_a_new_month(
    ledger, lens, earn, signer_a, alice, brand_a, clock, month0, to_plain
):
    earn(signer_a, alice, cents=1_000)  # 100 in month0
    clock.travel_to_month(month0 + 13)
    earn(signer_a, alice, cents=700)  # 70 in month0 + 13; month0 just expired
    assert ledger.balanceOf(alice, brand_a) == 70
    clock.travel_to_month(month0 + 14)
    earn(signer_a, alice, cents=500)  # 50 in month0 + 14: the position month0 held (14 positions)

    expiry = clock.expiry_of
    assert _lots(lens, alice, brand_a, to_plain) == (
        (70, month0 + 13, expiry(month0 + 13)),
        (50, month0 + 14, expiry(month0 + 14)),
    )
    assert ledger.balanceOf(alice, brand_a) == 120
    assert to_plain(lens.brandAccount(brand_a)) == (220, 0, 100, 120, 0)
    ledger.redeem(brand_a, brand_a, 120, b"\x00" * 32, {"from": alice})
    assert to_plain(lens.brandAccount(brand_a)) == (220, 120, 100, 0, 0)


def test_brand_liability_stays_exact_across_years_of_irregular_activity(  # noqa: C901 (a model)
    ledger, lens, earn, signer_a, alice, bob, brand_a, clock, month0, to_plain
):
    """Months with and without issuance, gaps longer than the 16-month liability ring, and
    redemptions from old and latest months: outstanding always equals the members' live lots."""
    lots = {}  # (member, month) -> points, a model of the ledger's lots
    issued = redeemed = 0

    def live(member, month):
        return {m: a for (who, m), a in lots.items() if who == member and m >= month - 12 and a}

    def consume(member, month, amount):
        for m in sorted(live(member, month)):
            take = min(amount, lots[(member, m)])
            lots[(member, m)] -= take
            amount -= take
        assert amount == 0

    def check(step, month):
        assert clock.month() == month
        outstanding = sum(sum(live(m, month).values()) for m in (alice, bob))
        assert to_plain(lens.brandAccount(brand_a)) == (
            issued,
            redeemed,
            issued - redeemed - outstanding,
            outstanding,
            0,  # reversed
        ), f"step {step}, month +{month - month0}"
        for member in (alice, bob):
            assert ledger.balanceOf(member, brand_a) == sum(live(member, month).values())

    plan = [0, 1, 2, 3, 5, 9, 14, 15, 16, 17, 18, 19, 21, 40, 41, 58, 59, 60]
    for step, offset in enumerate(plan):
        month = month0 + offset
        clock.travel_to_month(month, day=10 + step % 15)
        for member, cents in ((alice, 1_000 + 100 * step), (bob, 300 + 10 * step)):
            points = earn(signer_a, member, cents=cents).return_value
            lots[(member, month)] = lots.get((member, month), 0) + points
            issued += points
        if step % 3 == 2:  # redeem most of alice's balance, reaching into old months
            amount = sum(live(alice, month).values()) * 3 // 4
            ledger.redeem(brand_a, brand_a, amount, b"\x00" * 32, {"from": alice})
            consume(alice, month, amount)
            redeemed += amount
        if step % 4 == 3:
            amount = sum(live(bob, month).values()) // 2
            ledger.transfer(alice, brand_a, amount, {"from": bob})
            for m, a in sorted(live(bob, month).items()):
                take = min(amount, a)
                lots[(bob, m)] -= take
                lots[(alice, m)] = lots.get((alice, m), 0) + take
                amount -= take

        check(step, month)
        following = plan[step + 1] if step + 1 < len(plan) else offset + 14
        for later in (month + 1, month + 13):  # a month without issuance; the lot's expiry
            if later < month0 + following:
                clock.travel_to_month(later, day=0)
                check(step, later)
