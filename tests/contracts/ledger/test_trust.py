"""Issue 10: brands that do not trust each other. Each test is one of the issue's reproductions,
played as a hostile brand would, with its own signing key and direct contract calls.

Brands (tests/contracts/conftest.py): A 10 points/USD at 0.01 USD a point; B 20 points/USD
(review 8) at 0.005 USD a point. Tiers: scripts/deployment.py's DEFAULT_TIER_RULES (Diamond:
8,000 USD, 25 orders, 15 engagements in a quarter; gifts 500 + 2,000 + 10,000).
"""

import pytest

from scripts.deployment import DEFAULT_TIER_RULES

DAY = 86_400
REF = b"\x10" * 32
_VALUES = {1: 10_000, 2: 5_000}  # A's and B's point values (micro-USD), brand ids 1 and 2


@pytest.fixture
def q0(clock):
    quarter = clock.quarter() + 1
    clock.travel_to_quarter(quarter, day=5)
    return quarter


def _issued(lens, brand):
    return lens.brandAccount(brand)[0]


def _split(gift, parts, values, caller):
    """{brand: points} of a tier gift as the ledger splits it (README, "Gifts are paid by the
    brands that qualified the member"): `gift` points of the reference value (10,000 micro-USD),
    each other brand its part of that value (`parts`: micro-USD issued in the quarter) in its own
    points at its value (`values`), rounded up; `caller` the value left, rounded up."""
    total, left, paid = sum(parts.values()), gift * 10_000, {}
    for b in sorted(parts):
        value = min(-(-gift * 10_000 * parts[b] // total), left)
        share = -(-value // values[b]) if b != caller else 0
        if share * values[b] > left:  # whole points worth no more than the value left
            share = left // values[b]
        if share:
            paid[b] = share
            left -= share * values[b]
    if left:
        paid[caller] = -(-left // values[caller])
    return paid


# ------------------------------------------------------------------- 1. manufactured tiers


def test_assertions_below_the_published_rate_count_no_tier_and_bill_no_other_brand(
    ledger, lens, earn, signer_a, signer_b, alice, brand_a, brand_b, q0, events
):
    """Reproduction 1: B asserts 25 purchases of 320 USD at multiplier 1% and 14 reviews at 20%;
    one share at A then made alice Diamond and billed A the gift. Spend counts only in
    proportion to what B issued for it, and under-paid engagements count nothing."""
    ops = [earn.op(alice, cents=32_000, mult=1) for _ in range(25)]
    ops += [earn.op(alice, "review", mult=20) for _ in range(14)]
    earn.batch(signer_b, ops)
    issued_a = _issued(lens, brand_a)

    tx = earn(signer_a, alice, "share")

    assert "TierUpgraded" not in tx.events
    assert ledger.tierOf(alice) == 0
    assert _issued(lens, brand_a) == issued_a + 3  # A paid for its own share, nothing more
    status = lens.memberStatus(alice).dict()
    assert (status["spendCents"], status["orders"], status["engagements"]) == (25 * 320, 25, 1)


def test_an_upgrade_gift_is_paid_by_the_brands_that_qualified_the_member_in_proportion(
    ledger, lens, earn, signer_a, signer_b, alice, brand_a, brand_b, q0, events
):
    """B pays honestly for a Diamond quarter but one engagement (25 purchases of 320 USD, 14
    reviews: Silver and Gold on the way, their gifts paid by B alone); A's share completes it.
    The 10,000-point Diamond gift is split by the value each brand issued to alice this quarter:
    A is billed at most its own share, B the rest, in B's own points."""
    ops = [earn.op(alice, cents=32_000) for _ in range(25)]
    ops += [earn.op(alice, "review") for _ in range(14)]
    batch = earn.batch(signer_b, ops)
    early = [(e["brand"], e["points"]) for e in events.all(batch, "TierGiftPaid")]
    # 5 and 20 USD of gifts (500 and 2,000 points of the reference value) in B's half-cent points
    assert early == [(brand_b, 1_000), (brand_b, 4_000)]
    issued_a, issued_b = _issued(lens, brand_a), _issued(lens, brand_b)
    value_a = 3 * 10_000  # micro-USD A issued to alice this quarter
    value_b = (25 * 6_400 + 14 * 8) * 5_000
    gift = DEFAULT_TIER_RULES[3][3]

    tx = earn(signer_a, alice, "share")

    upgrade = events.one(tx, "TierUpgraded")
    assert (upgrade["previousTier"], upgrade["newTier"], upgrade["giftPoints"]) == (2, 3, gift)
    paid = {e["brand"]: e["points"] for e in events.all(tx, "TierGiftPaid")}
    parts, values = {brand_a: value_a, brand_b: value_b}, {brand_a: 10_000, brand_b: 5_000}
    assert paid == _split(gift, parts, values, brand_a)
    # A: at most its own share of the value, B the rest in its own points
    assert paid.get(brand_a, 0) * 10_000 <= gift * 10_000 * value_a // (value_a + value_b)
    assert _issued(lens, brand_a) == issued_a + 3 + paid.get(brand_a, 0)
    assert _issued(lens, brand_b) == issued_b + paid[brand_b]
    assert ledger.balanceOf(alice, brand_b) == 25 * 6_400 + 14 * 8 + 5_000 + paid[brand_b]


def test_a_brand_completing_the_quarter_of_another_pays_only_in_proportion(
    ledger, lens, earn, signer_a, signer_b, alice, brand_a, brand_b, q0, events
):
    """Half the Silver quarter's value from each brand: each pays about half the gift's value
    (5 USD), A in its cent points, B in its half-cent points (it paid 249 points, 1.25 USD, where
    A paid 251, 2.51 USD: a hostile review of 2026-12-07)."""
    earn.batch(signer_a, [earn.op(alice, cents=25_000), earn.op(alice, "review")])
    earn.batch(signer_b, [earn.op(alice, cents=12_500), earn.op(alice, cents=12_500)])

    tx = earn(signer_b, alice, "review")  # 3 orders, 500 USD, 2 engagements: Silver

    paid = {e["brand"]: e["points"] for e in events.all(tx, "TierGiftPaid")}
    assert paid == {brand_a: 251, brand_b: 498}  # 2.51 and 2.49 USD
    value_a = (2_500 + 5) * 10_000
    value_b = (2_500 + 2_500 + 8) * 5_000
    assert paid == _split(500, {brand_a: value_a, brand_b: value_b}, _VALUES, brand_b)
    assert paid[brand_a] * 10_000 + paid[brand_b] * 5_000 == 500 * 10_000


def test_a_brand_of_high_value_points_pays_no_point_worth_more_than_the_gift_left(
    ledger, admin, earn, signer_a, signer_b, alice, brand_a, brand_b, clock, q0, events
):
    """A review of the split by value: B's point worth 2**32 - 1 micro-USD (4,295 USD, the
    largest value), alice's Silver quarter 1 point of B (a 5-cent purchase) and A's 500 USD and 2
    reviews. B's part of the 5 USD gift is 4.94 USD: rounded up to a whole point, B paid 4,295 USD
    and A, whose review completed it, nothing. No point worth more than the value left is paid:
    A pays the 5 USD."""
    high = 2**32 - 1
    ledger.setPointValue(brand_b, high, {"from": admin})
    clock.travel_to_month(3 * q0 + 1, day=5)  # the value applies to the points issued from now
    earn(signer_b, alice, cents=5)  # 1 point of B
    earn.batch(
        signer_a,
        [earn.op(alice, cents=25_000), earn.op(alice, cents=25_000), earn.op(alice, "review")],
    )

    tx = earn(signer_a, alice, "review")  # 3 orders, 500 USD, 2 engagements: Silver

    paid = {e["brand"]: e["points"] for e in events.all(tx, "TierGiftPaid")}
    assert paid == {brand_a: 500}  # 5 USD in A's cent points
    assert ledger.balanceOf(alice, brand_b) == 1


def test_a_brands_part_outlives_the_points_it_issued_within_the_quarter(
    ledger, earn, signer_a, signer_b, alice, bob, brand_a, brand_b, clock, q0, events
):
    """Issue 15: a brand's part of the member's quarter lives in the member's lots of that brand,
    one per month. It sums over the quarter's months and stays when the lot's points are
    redeemed or gifted (a lot emptied in the quarter keeps its part), so the split is the same
    as with a word per brand: the test above's Silver quarter, spread over two months, with
    alice spending every point B and A issued her before the upgrade."""
    earn.batch(signer_a, [earn.op(alice, cents=25_000), earn.op(alice, "review")])
    clock.travel_to_month(3 * q0 + 1, day=3)
    earn.batch(signer_b, [earn.op(alice, cents=12_500)])
    clock.travel_to_month(3 * q0 + 2, day=3)
    earn.batch(signer_b, [earn.op(alice, cents=12_500)])
    ledger.redeem(brand_b, brand_b, ledger.balanceOf(alice, brand_b), REF, {"from": alice})
    ledger.transfer(bob, brand_a, ledger.balanceOf(alice, brand_a), {"from": alice})
    assert ledger.balanceOf(alice, brand_a) == ledger.balanceOf(alice, brand_b) == 0

    tx = earn(signer_b, alice, "review")  # 3 orders, 500 USD, 2 engagements: Silver

    paid = {e["brand"]: e["points"] for e in events.all(tx, "TierGiftPaid")}
    assert paid == {brand_a: 251, brand_b: 498}  # as above: 2.51 and 2.49 USD
    assert ledger.balanceOf(alice, brand_a) == paid[brand_a]
    assert ledger.balanceOf(alice, brand_b) == 8 + paid[brand_b]


def test_a_brands_part_counts_the_lots_of_the_quarters_months_only(
    ledger, earn, signer_a, signer_b, alice, brand_a, brand_b, clock, q0, events
):
    """Issue 15: B's big purchases of the previous quarter's last month (still live lots, with
    their part) count toward no part of this quarter: B is billed for its one purchase of this
    quarter only."""
    clock.travel_to_month(3 * q0 + 2, day=20)
    earn.batch(signer_b, [earn.op(alice, cents=50_000) for _ in range(3)])
    clock.travel_to_quarter(q0 + 1, day=2)
    earn.batch(signer_b, [earn.op(alice, cents=1_000)])
    earn.batch(
        signer_a, [earn.op(alice, cents=20_000) for _ in range(3)] + [earn.op(alice, "review")]
    )

    tx = earn(signer_a, alice, "review")  # 610 USD, 4 orders, 2 engagements: Silver

    assert events.one(tx, "TierUpgraded")["newTier"] == 1
    paid = {e["brand"]: e["points"] for e in events.all(tx, "TierGiftPaid")}
    gift = DEFAULT_TIER_RULES[1][3]
    value_a = (3 * 2_000 + 5 + 5) * 10_000
    value_b = 200 * 5_000
    assert paid == _split(gift, {brand_a: value_a, brand_b: value_b}, _VALUES, brand_a)
    assert paid[brand_b] == 17  # ceil(5 USD x 1 / 61.1) in half-cent points (9 before)


# ------------------------------------------------------------------- 2. consent of the brand


def test_a_member_cannot_make_one_brand_owe_another_without_that_brands_consent(
    ledger, earn, signing, signer_a, relayer, alice, brand_a, brand_b, errors
):
    """Reproduction 2: alice called redeem(A, B) herself and A owed B, though B sold nothing."""
    earn(signer_a, alice, cents=10_000)

    with errors.expect(ledger, "LedgerNoBrandConsent", brand_b, alice):
        ledger.redeem(brand_a, brand_b, 100, REF, {"from": alice})
    for sender in (relayer, signer_a, alice):  # anyone but B's signer
        r, sig = signing.redeem(alice, brand_a, brand_b, 100, ref=REF)
        with errors.expect(ledger, "LedgerNoBrandConsent", brand_b, sender):
            ledger.redeemWithSig(r, sig, {"from": sender})
    assert ledger.position(brand_a, brand_b) == 0
    assert ledger.balanceOf(alice, brand_a) == 1_000


def test_a_redemption_at_the_issuing_brand_needs_no_other_consent(
    ledger, earn, signing, signer_a, relayer, alice, brand_a
):
    earn(signer_a, alice, cents=10_000)
    ledger.redeem(brand_a, brand_a, 100, REF, {"from": alice})
    r, sig = signing.redeem(alice, brand_a, brand_a, 100, ref=REF)
    ledger.redeemWithSig(r, sig, {"from": relayer})
    assert ledger.balanceOf(alice, brand_a) == 800


# ------------------------------------------------------------------- 3. daily mint cap


def test_the_daily_mint_cap_is_enforced_on_chain_per_utc_day(
    ledger, lens, admin, earn, signer_a, alice, bob, brand_a, clock, errors, events
):
    """Reproduction 3: the cap lived only in the gateway; a signer calling the chain minted
    past it."""
    assert lens.dailyMint(brand_a)[0] == ledger.DEFAULT_DAILY_MINT_CAP() == 100_000_000
    tx = ledger.setDailyMintCap(brand_a, 1_500, {"from": admin})
    assert events.one(tx, "DailyMintCapChanged") == {"brand": brand_a, "cap": 1_500}
    day_start = (clock.now() // DAY + 1) * DAY
    clock.travel_to(day_start + 10)
    today = day_start // DAY

    earn(signer_a, alice, cents=10_000)  # 1,000 points
    with errors.expect(ledger, "LedgerDailyMintCapExceeded", brand_a, today, 1_500, 2_000):
        earn(signer_a, alice, cents=10_000, op_id=4_242)
    batch = earn.batch(signer_a, [earn.op(bob, cents=5_000), earn.op(bob, cents=100)])
    assert [e["reason"] for e in events.all(batch, "OperationSkipped")] == [
        "0x" + errors.selector(ledger, "LedgerDailyMintCapExceeded").hex()
    ]
    assert tuple(lens.dailyMint(brand_a)) == (1_500, 1_500, today)
    assert not ledger.isOperationUsed(brand_a, 4_242)

    clock.travel_to(day_start + DAY)  # a new UTC day
    earn(signer_a, alice, cents=10_000, op_id=4_242)
    assert tuple(lens.dailyMint(brand_a)) == (1_500, 1_000, today + 1)


def test_tier_gifts_count_against_the_paying_brands_daily_cap(
    ledger, lens, admin, earn, signer_a, alice, brand_a, q0
):
    earn.batch(signer_a, [earn.op(alice, cents=20_000) for _ in range(3)])
    earn(signer_a, alice, "review")
    minted = lens.dailyMint(brand_a)[1]

    earn(signer_a, alice, "review")  # Silver: 5 points and the 500-point gift

    assert lens.dailyMint(brand_a)[1] == minted + 5 + 500


def test_only_the_admin_sets_a_daily_cap(ledger, signer_a, brand_a, errors):
    with errors.expect(
        ledger, "AccessControlUnauthorizedAccount", signer_a, ledger.DEFAULT_ADMIN_ROLE()
    ):
        ledger.setDailyMintCap(brand_a, 10**12, {"from": signer_a})


# ------------------------------------------------------------------- 9. system addresses


def test_points_never_go_to_an_address_that_can_never_move_them(
    ledger,
    lens,
    vault,
    membership_badge,
    alliance_badges,
    earn,
    signing,
    signer_a,
    relayer,
    alice,
    brand_a,
    errors,
    events,
):
    """Reproduction 9: earns and gifts to the ledger's own address were accepted and stuck."""
    earn(signer_a, alice, cents=10_000)
    system = [ledger, lens, vault, membership_badge, alliance_badges]
    for target in system:
        with errors.expect(ledger, "LedgerInvalidMember", target):
            earn(signer_a, target)
        with errors.expect(ledger, "LedgerInvalidMember", target):
            ledger.transfer(target, brand_a, 10, {"from": alice})
        gift, sig = signing.gift(alice, target, brand_a, 10)
        with errors.expect(ledger, "LedgerInvalidMember", target):
            ledger.giftWithSig(gift, sig, {"from": relayer})
    batch = earn.batch(signer_a, [earn.op(ledger), earn.op(alice)])
    assert len(events.all(batch, "OperationSkipped")) == 1
    assert ledger.balanceOf(ledger, brand_a) == 0


def test_ordinary_smart_contract_wallets_still_receive_points(
    ledger, usd, earn, signer_a, alice, brand_a
):
    earn(signer_a, usd, cents=1_000)  # any contract the admin did not register
    earn(signer_a, alice, cents=1_000)
    ledger.transfer(usd, brand_a, 10, {"from": alice})
    assert ledger.balanceOf(usd, brand_a) == 110


def test_the_admin_registers_and_unregisters_system_addresses(
    ledger, admin, earn, signer_a, outsider, errors, events
):
    tx = ledger.setSystemAddress(outsider, True, {"from": admin})
    assert events.one(tx, "SystemAddressChanged") == {"account": outsider, "isSystem": True}
    with errors.expect(ledger, "LedgerInvalidMember", outsider):
        earn(signer_a, outsider)
    ledger.setSystemAddress(outsider, False, {"from": admin})
    earn(signer_a, outsider)
    with errors.expect(
        ledger, "AccessControlUnauthorizedAccount", signer_a, ledger.DEFAULT_ADMIN_ROLE()
    ):
        ledger.setSystemAddress(outsider, True, {"from": signer_a})
