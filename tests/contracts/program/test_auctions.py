"""AllianceAuctions: who may create, the reserve, tier eligibility at bid time, escrow per
bidder and its return in full on an outbid (lots keep their earn month), N units, the soft
close, settlement at the same brand and across brands (the auctioning brand's consent), the
grace-period cancel, signed bids, and the one pause."""

import pytest
from brownie import accounts
from eth_abi import encode
from eth_utils import keccak

from tests.contracts.program.conftest import ACHIEVEMENT, COLLECTIBLE, GOLD, SILVER

DAY = 86_400
A_VALUE, B_VALUE = (
    10_000,
    5_000,
)  # micro-USD per point of brands A and B (tests/contracts/conftest.py)
HELD, SETTLED, CANCELLED = 1, 2, 3  # IAllianceAuctions.BidStatus


@pytest.fixture
def right(alliance_badges, signer_a):
    """A collectible of brand A carrying a benefit: the limited-edition purchase right."""
    tx = alliance_badges.defineBadge(
        COLLECTIBLE, 0, 0, True, False, "ipfs://right", {"from": signer_a}
    )
    return tx.return_value


@pytest.fixture
def create(auctions, right, clock, signer_a):
    def _create(
        units=1,
        min_tier=SILVER,
        reserve=1_000,
        increment=100,
        length=DAY,
        extension=600,
        badge=None,
    ):
        start = clock.now() + 1
        tx = auctions.createAuction(
            badge or right,
            units,
            min_tier,
            reserve,
            increment,
            start,
            start + length,
            extension,
            {"from": signer_a},
        )
        clock.travel_to(start)
        return tx.return_value, start + length

    return _create


@pytest.fixture
def silver(tiers):
    def _silver(*members):
        for member in members:
            tiers.reach(member, SILVER)

    return _silver


def approve_and_bid(ledger, auctions, auction_id, member, brand, amount):
    ledger.approve(auctions, brand, amount, {"from": member})
    return auctions.bid(auction_id, brand, amount, {"from": member})


def lots(lens, holder, brand):
    return [(lot[0], lot[1]) for lot in lens.lotsOf(holder, brand)]


def test_a_brand_signer_creates_an_auction_of_its_collectible(
    auctions, right, clock, signer_a, brand_a, events
):
    start = clock.now() + 100
    tx = auctions.createAuction(
        right, 2, GOLD, 5_000, 250, start, start + DAY, 300, {"from": signer_a}
    )
    created = events.one(tx, "AuctionCreated")
    assert (created["auctionId"], created["brand"], created["creator"], created["badgeType"]) == (
        1,
        brand_a,
        signer_a,
        right,
    )
    assert (created["units"], created["minTier"], created["reserve"], created["increment"]) == (
        2,
        GOLD,
        5_000,
        250,
    )
    stored = auctions.auction(1)
    assert tuple(stored)[:7] == (brand_a, start, start + DAY, 300, GOLD, 2, 0)
    assert tuple(stored)[8:] == (5_000, 250, 5_000 * A_VALUE, 250 * A_VALUE)
    assert auctions.minNewBidValue(1) == 5_000 * A_VALUE


def test_creation_refuses_outsiders_foreign_or_plain_badges_and_bad_terms(
    auctions, alliance_badges, right, clock, signer_a, signer_b, outsider, brand_a, brand_b, errors
):
    start = clock.now() + 100
    terms = (1, SILVER, 1_000, 100, start, start + DAY, 60)
    with errors.expect(auctions, "AuctionsNotBrandSigner", outsider):
        auctions.createAuction(right, *terms, {"from": outsider})
    with errors.expect(auctions, "AuctionsInvalidBadge", right, brand_b):
        auctions.createAuction(right, *terms, {"from": signer_b})  # brand A's badge
    plain = alliance_badges.defineBadge(
        ACHIEVEMENT, 0, 0, False, False, "ipfs://a", {"from": signer_a}
    ).return_value
    with errors.expect(auctions, "AuctionsInvalidBadge", plain, brand_a):
        auctions.createAuction(plain, *terms, {"from": signer_a})
    with errors.expect(auctions, "AuctionsInvalidUnits", 0, 32):
        auctions.createAuction(right, 0, *terms[1:], {"from": signer_a})
    with errors.expect(auctions, "AuctionsInvalidTier", 0):
        auctions.createAuction(right, 1, 0, *terms[2:], {"from": signer_a})
    with errors.expect(auctions, "AuctionsInvalidPrice", 0, 100):
        auctions.createAuction(right, 1, SILVER, 0, *terms[3:], {"from": signer_a})
    clock.next_block_at(start - 50)
    with errors.expect(auctions, "AuctionsInvalidWindow", start, start, 60, start - 50, 90 * DAY):
        auctions.createAuction(right, 1, SILVER, 1_000, 100, start, start, 60, {"from": signer_a})


def test_a_bid_below_the_reserve_is_refused_and_an_auction_without_bids_ends_unsold(
    auctions, ledger, lens, create, silver, clock, alice, alliance_badges, right, brand_a, errors
):
    silver(alice)
    auction_id, ends = create(reserve=1_000)
    before = ledger.balanceOf(alice, brand_a)
    ledger.approve(auctions, brand_a, 999, {"from": alice})
    with errors.expect(auctions, "AuctionsBidTooLow", auction_id, 999 * A_VALUE, 1_000 * A_VALUE):
        auctions.bid(auction_id, brand_a, 999, {"from": alice})
    clock.travel_to(ends)
    assert auctions.heldBidders(auction_id) == []
    with errors.expect(auctions, "AuctionsNotWinning", auction_id, alice, 0):
        auctions.settle(auction_id, alice, {"from": alice})
    assert ledger.balanceOf(alice, brand_a) == before
    assert alliance_badges.balanceOf(alice, right) == 0


def test_tier_is_checked_at_bid_time(
    auctions, ledger, create, earn, tiers, signer_a, carol, brand_a, errors
):
    earn(signer_a, carol, cents=50_000)  # points, but no tier yet
    auction_id, _ = create(min_tier=SILVER)
    ledger.approve(auctions, brand_a, 2_000, {"from": carol})
    with errors.expect(auctions, "AuctionsTierTooLow", auction_id, carol, 0, SILVER):
        auctions.bid(auction_id, brand_a, 1_000, {"from": carol})
    tiers.reach(carol, SILVER)
    auctions.bid(auction_id, brand_a, 1_000, {"from": carol})
    assert tuple(auctions.bidOf(auction_id, carol))[:5] == (
        brand_a,
        HELD,
        1_000,
        1_000 * A_VALUE,
        1_000,
    )


def test_an_outbid_bid_returns_in_full_at_once_with_its_earn_months(
    auctions, ledger, lens, create, silver, earn, clock, signer_a, alice, bob, brand_a, events
):
    silver(alice, bob)
    clock.travel_months(1)
    earn(signer_a, alice, cents=20_000)  # a second earn month for alice
    earn(signer_a, bob, cents=40_000)  # bob can outbid all of it
    alice_lots = lots(lens, alice, brand_a)
    assert len(alice_lots) == 2
    auction_id, _ = create(reserve=1_000, increment=100)
    total = ledger.balanceOf(alice, brand_a)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, total)  # both months into escrow
    escrow = auctions.escrowOf(auction_id, alice)
    assert lots(lens, escrow, brand_a) == alice_lots and ledger.balanceOf(alice, brand_a) == 0

    tx = approve_and_bid(ledger, auctions, auction_id, bob, brand_a, total + 100)
    outbid = events.one(tx, "BidOutbid")
    assert (outbid["bidder"], outbid["by"], outbid["brand"], outbid["amount"]) == (
        alice,
        bob,
        brand_a,
        total,
    )
    assert lots(lens, alice, brand_a) == alice_lots
    assert ledger.balanceOf(escrow, brand_a) == 0
    assert tuple(auctions.bidOf(auction_id, alice)) == (0, 0, 0, 0, 0, 0)
    assert auctions.heldBidders(auction_id) == [bob]
    assert ledger.balanceOf(auctions.escrowOf(auction_id, bob), brand_a) == total + 100


def test_the_top_n_bids_hold_the_units_and_a_raise_needs_the_increment(
    auctions, ledger, create, silver, alice, bob, carol, brand_a, brand_b, errors
):
    silver(alice, bob, carol)
    auction_id, _ = create(units=2, reserve=1_000, increment=100)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 1_000)
    approve_and_bid(ledger, auctions, auction_id, bob, brand_a, 1_050)
    assert auctions.minNewBidValue(auction_id) == 1_100 * A_VALUE  # lowest (alice) + increment
    ledger.approve(auctions, brand_a, 5_000, {"from": carol})
    with errors.expect(auctions, "AuctionsBidTooLow", auction_id, 1_099 * A_VALUE, 1_100 * A_VALUE):
        auctions.bid(auction_id, brand_a, 1_099, {"from": carol})
    auctions.bid(auction_id, brand_a, 1_100, {"from": carol})
    assert set(auctions.heldBidders(auction_id)) == {bob.address, carol.address}
    ledger.approve(auctions, brand_a, 5_000, {"from": bob})
    with errors.expect(auctions, "AuctionsBidTooLow", auction_id, 1_149 * A_VALUE, 1_150 * A_VALUE):
        auctions.bid(auction_id, brand_a, 99, {"from": bob})
    with errors.expect(auctions, "AuctionsBrandMismatch", auction_id, bob, brand_a, brand_b):
        auctions.bid(auction_id, brand_b, 500, {"from": bob})
    auctions.bid(auction_id, brand_a, 100, {"from": bob})
    assert tuple(auctions.bidOf(auction_id, bob))[:5] == (
        brand_a,
        HELD,
        1_150,
        1_150 * A_VALUE,
        1_150,
    )


def test_a_bid_in_the_last_minutes_extends_the_end(
    auctions, ledger, create, silver, clock, alice, bob, brand_a, events, errors
):
    silver(alice, bob)
    auction_id, ends = create(length=DAY, extension=600)
    clock.next_block_at(ends - 601)  # before the last 600 seconds: no extension
    tx = approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 1_000)
    assert "AuctionExtended" not in tx.events and auctions.auction(auction_id)[2] == ends
    ledger.approve(auctions, brand_a, 1_100, {"from": bob})
    clock.next_block_at(ends - 10)
    tx = auctions.bid(auction_id, brand_a, 1_100, {"from": bob})
    assert events.one(tx, "AuctionExtended")["endsAt"] == ends - 10 + 600
    assert auctions.auction(auction_id)[2] == ends - 10 + 600
    ledger.approve(auctions, brand_a, 1_200, {"from": alice})
    clock.next_block_at(ends + 5)  # past the first end, still open
    auctions.bid(auction_id, brand_a, 1_200, {"from": alice})
    new_end = ends + 5 + 600
    ledger.approve(auctions, brand_a, 2_000, {"from": bob})
    clock.next_block_at(new_end)  # the bid's block, not the approval's (it was, so the bid came a
    # second later whenever the wall clock ticked between the two: a flaky test)
    with errors.expect(auctions, "AuctionsNotOpen", auction_id, ends - DAY, new_end, new_end):
        auctions.bid(auction_id, brand_a, 2_000, {"from": bob})


def test_the_winner_in_the_brands_points_is_settled_by_anyone_and_gets_the_right_once(
    auctions,
    ledger,
    lens,
    create,
    silver,
    clock,
    alice,
    bob,
    outsider,
    alliance_badges,
    right,
    brand_a,
    events,
    errors,
):
    silver(alice)
    auction_id, ends = create()
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 1_200)
    with errors.expect(auctions, "AuctionsNotEnded", auction_id, ends, ends - 1):
        clock.next_block_at(ends - 1)
        auctions.settle(auction_id, alice, {"from": outsider})
    clock.travel_to(ends)
    redeemed_before = lens.brandAccount(brand_a)[1]
    tx = auctions.settle(auction_id, alice, {"from": outsider})
    settled = events.one(tx, "BidSettled")
    ref = auctions.redemptionRef(auction_id, alice)
    assert (settled["bidder"], settled["amount"], settled["badgeType"], settled["orderRef"]) == (
        alice,
        1_200,
        right,
        ref,
    )
    redemption = events.one(tx, "PointsRedeemed")
    assert (redemption["brand"], redemption["atBrand"], redemption["amount"]) == (
        brand_a,
        brand_a,
        1_200,
    )
    assert lens.brandAccount(brand_a)[1] == redeemed_before + 1_200
    assert alliance_badges.balanceOf(alice, right) == 1
    assert tuple(auctions.bidOf(auction_id, alice))[1] == SETTLED
    with errors.expect(auctions, "AuctionsNotWinning", auction_id, alice, SETTLED):
        auctions.settle(auction_id, alice, {"from": outsider})
    alliance_badges.redeemBenefit(right, keccak(text="ship-to-ref"), {"from": alice})
    with errors.expect(alliance_badges, "ERC1155InsufficientBalance", alice, 0, 1, right):
        alliance_badges.redeemBenefit(right, keccak(text="again"), {"from": alice})


def _escrow_redeem(
    signing, auctions, auction_id, bidder, brand, at_brand, amount, deadline, nonce=0
):
    escrow = auctions.escrowOf(auction_id, bidder)
    message = (
        escrow,
        brand,
        at_brand,
        amount,
        auctions.redemptionRef(auction_id, bidder),
        nonce,
        deadline,
    )
    signature = encode(
        ["uint256", "address", "uint256", "uint256"], [auction_id, bidder.address, nonce, deadline]
    )
    return message, signature


def test_a_bid_in_another_brands_points_settles_after_the_auctioning_brand_redeems_it(
    auctions,
    ledger,
    create,
    silver,
    earn,
    clock,
    signing,
    signer_a,
    signer_b,
    alice,
    outsider,
    alliance_badges,
    right,
    brand_a,
    brand_b,
    errors,
):
    silver(alice)
    earn(signer_b, alice, cents=20_000)  # 4,000 B points, 200 points per USD
    auction_id, ends = create(reserve=1_000)  # 1,000 A points = 10 USD
    approve_and_bid(ledger, auctions, auction_id, alice, brand_b, 2_000)  # 10 USD
    assert tuple(auctions.bidOf(auction_id, alice))[:5] == (
        brand_b,
        HELD,
        2_000,
        2_000 * B_VALUE,
        2_000,
    )
    clock.travel_to(ends)
    with errors.expect(auctions, "AuctionsAwaitingBrandRedemption", auction_id, alice, brand_a):
        auctions.settle(auction_id, alice, {"from": outsider})
    deadline = ends + 3_600
    escrow = auctions.escrowOf(auction_id, alice)
    message, signature = _escrow_redeem(
        signing, auctions, auction_id, alice, brand_b, brand_a, 2_000, deadline
    )
    with errors.expect(ledger, "LedgerNoBrandConsent", brand_a, signer_b):
        ledger.redeemWithSig(message, signature, {"from": signer_b})
    wrong = (*message[:3], 1_999, *message[4:])
    with errors.expect(ledger, "LedgerInvalidSignature", escrow):
        ledger.redeemWithSig(wrong, signature, {"from": signer_a})
    position = ledger.position(brand_a, brand_b)
    ledger.redeemWithSig(message, signature, {"from": signer_a})
    assert ledger.position(brand_a, brand_b) == position - 2_000 * B_VALUE  # B owes A the value
    auctions.settle(auction_id, alice, {"from": outsider})
    assert alliance_badges.balanceOf(alice, right) == 1
    assert ledger.balanceOf(escrow, brand_b) == 0


def test_an_unsettled_win_is_cancelled_after_the_grace_period_and_returns(
    auctions,
    ledger,
    create,
    silver,
    earn,
    clock,
    signing,
    signer_a,
    signer_b,
    alice,
    outsider,
    brand_a,
    brand_b,
    events,
    errors,
):
    silver(alice)
    earn(signer_b, alice, cents=20_000)
    auction_id, ends = create()
    before = ledger.balanceOf(alice, brand_b)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_b, 2_500)
    grace = ends + auctions.SETTLE_GRACE()
    clock.next_block_at(grace - 1)
    with errors.expect(auctions, "AuctionsGraceNotOver", auction_id, grace, grace - 1):
        auctions.cancel(auction_id, alice, {"from": outsider})
    clock.travel_to(grace)
    # the escrow no longer approves a redemption: the cancel cannot lose a race with it
    message, signature = _escrow_redeem(
        signing, auctions, auction_id, alice, brand_b, brand_a, 2_500, grace + 600
    )
    with errors.expect(ledger, "LedgerInvalidSignature", auctions.escrowOf(auction_id, alice)):
        ledger.redeemWithSig(message, signature, {"from": signer_a})
    tx = auctions.cancel(auction_id, alice, {"from": outsider})
    assert events.one(tx, "BidCancelled")["amount"] == 2_500
    assert ledger.balanceOf(alice, brand_b) == before
    assert tuple(auctions.bidOf(auction_id, alice))[1] == CANCELLED


def test_a_signed_bid_is_a_gift_to_the_bidders_escrow(
    auctions, ledger, create, silver, signing, relayer, alice, brand_a, events, errors
):
    silver(alice)
    auction_id, _ = create()
    escrow = auctions.escrowOf(auction_id, alice)
    gift, sig = signing.gift(alice, auctions.escrowOf(auction_id, relayer), brand_a, 1_000)
    with errors.expect(
        auctions, "AuctionsWrongEscrow", auction_id, auctions.escrowOf(auction_id, relayer), escrow
    ):
        auctions.bidWithSig(auction_id, gift, sig, {"from": relayer})
    gift, sig = signing.gift(alice, escrow, brand_a, 1_000)
    tx = auctions.bidWithSig(auction_id, gift, sig, {"from": relayer})
    assert events.one(tx, "BidPlaced")["amount"] == 1_000
    assert ledger.balanceOf(escrow, brand_a) == 1_000
    # a signed gift relayed to the ledger without its bid is reclaimed, never lost
    stray, stray_sig = signing.gift(alice, escrow, brand_a, 300)
    ledger.giftWithSig(stray, stray_sig, {"from": relayer})
    before = ledger.balanceOf(alice, brand_a)
    tx = auctions.reclaim(auction_id, alice, brand_a, {"from": relayer})
    assert events.one(tx, "EscrowReclaimed")["amount"] == 300
    assert (
        ledger.balanceOf(alice, brand_a) == before + 300
        and ledger.balanceOf(escrow, brand_a) == 1_000
    )


def test_only_the_auctions_contract_moves_an_escrow(
    auctions, ledger, create, silver, alice, outsider, brand_a, errors
):
    silver(alice)
    auction_id, _ = create()
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 1_000)
    escrow = accounts.at(auctions.escrowOf(auction_id, alice), force=True)
    from brownie import AuctionEscrow

    contract = AuctionEscrow.at(escrow.address)
    with errors.expect(auctions, "AuctionsEscrowUnauthorized", outsider):
        contract.transfer(outsider, brand_a, 1_000, {"from": outsider})


def test_the_ledgers_pause_stops_bids_and_settlements(
    auctions, ledger, create, silver, clock, admin, alice, brand_a, errors
):
    silver(alice)
    auction_id, ends = create()
    ledger.approve(auctions, brand_a, 2_000, {"from": alice})
    ledger.pause({"from": admin})
    assert auctions.paused()
    with errors.expect(auctions, "EnforcedPause"):
        auctions.bid(auction_id, brand_a, 1_000, {"from": alice})
    ledger.unpause({"from": admin})
    auctions.bid(auction_id, brand_a, 1_000, {"from": alice})
    clock.travel_to(ends)
    ledger.pause({"from": admin})
    with errors.expect(auctions, "EnforcedPause"):
        auctions.settle(auction_id, alice, {"from": alice})
    ledger.unpause({"from": admin})
    auctions.settle(auction_id, alice, {"from": alice})


def test_points_that_expire_in_escrow_return_expired_and_the_rest_keeps_its_month(
    auctions, ledger, lens, right, tiers, earn, clock, signer_a, alice, bob, brand_a
):
    start_month = clock.month()
    earn(signer_a, alice, cents=30_000)  # 3,000 points earned this month: they expire in escrow
    clock.travel_to_month(start_month + 12, day=20)
    tiers.reach(alice, SILVER)
    tiers.reach(bob, SILVER)
    earn(signer_a, bob, cents=60_000)  # enough to outbid all of alice's bid
    live_lot = (ledger.balanceOf(alice, brand_a) - 3_000, start_month + 12)
    assert lots(lens, alice, brand_a) == [(3_000, start_month), live_lot]
    start = clock.now() + 1
    auction_id = auctions.createAuction(
        right, 1, SILVER, 1_000, 100, start, start + 30 * DAY, 600, {"from": signer_a}
    ).return_value
    clock.travel_to(start)
    total = ledger.balanceOf(alice, brand_a)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, total)

    clock.travel_to_month(start_month + 13, day=2)  # the first lot expired while held
    escrow = auctions.escrowOf(auction_id, alice)
    assert ledger.balanceOf(escrow, brand_a) == live_lot[0]
    # the bid counts only its points live at the close: outbidding it takes their value + 100
    assert auctions.minNewBidValue(auction_id) == (live_lot[0] + 100) * A_VALUE
    approve_and_bid(ledger, auctions, auction_id, bob, brand_a, live_lot[0] + 100)
    assert lots(lens, alice, brand_a) == [live_lot]  # only what was live, with its earn month
    assert ledger.balanceOf(alice, brand_a) == live_lot[0]
    assert ledger.balanceOf(escrow, brand_a) == 0


def test_an_issuer_issues_a_brands_collectible_without_the_tier_check(
    alliance_badges, signer_a, outsider, admin, carol, errors
):
    diamond_only = alliance_badges.defineBadge(
        COLLECTIBLE, 0, 3, True, False, "ipfs://d", {"from": signer_a}
    ).return_value
    with errors.expect(alliance_badges, "AllianceBadgesNotBrandSigner", outsider):
        alliance_badges.issue(diamond_only, carol, 1, {"from": outsider})
    alliance_badges.grantRole(alliance_badges.ISSUER_ROLE(), outsider, {"from": admin})
    alliance_badges.reserveSupply(diamond_only, 1, {"from": outsider})
    alliance_badges.issue(diamond_only, carol, 1, {"from": outsider})  # carol holds no tier
    assert alliance_badges.balanceOf(carol, diamond_only) == 1


# A trial of 2026-12-05 (a hostile auctioning brand): the redemption of a bid in another brand's
# points
# comes before its settlement, in a transaction of its own, and nothing kept the badge's supply for
# the
# winner: the brand redeemed the winner's escrow, issued the type's last unit to itself, and the
# winner
# was left with neither the right (settle reverted) nor its points (cancel refuses a redeemed
# escrow).


@pytest.fixture
def capped(alliance_badges, signer_a):
    """A collectible right of brand A with a cap of `supply` units."""

    def _capped(supply):
        tx = alliance_badges.defineBadge(
            COLLECTIBLE, supply, 0, True, False, "ipfs://capped", {"from": signer_a}
        )
        return tx.return_value

    return _capped


def test_a_cross_brand_winners_unit_is_reserved_before_its_brand_redeems_the_bid(
    auctions,
    ledger,
    alliance_badges,
    capped,
    create,
    silver,
    earn,
    clock,
    signing,
    signer_a,
    signer_b,
    alice,
    outsider,
    brand_a,
    brand_b,
    events,
    errors,
):
    badge = capped(1)
    silver(alice)
    earn(signer_b, alice, cents=20_000)
    auction_id, ends = create(badge=badge)
    tx = approve_and_bid(ledger, auctions, auction_id, alice, brand_b, 2_000)
    reserved = events.one(tx, "BadgeSupplyReserved")
    assert (reserved["typeId"], reserved["issuer"], reserved["amount"]) == (badge, auctions, 1)
    clock.travel_to(ends)
    message, signature = _escrow_redeem(
        signing, auctions, auction_id, alice, brand_b, brand_a, 2_000, ends + 600
    )
    ledger.redeemWithSig(message, signature, {"from": signer_a})
    with errors.expect(alliance_badges, "AllianceBadgesSupplyExceeded", badge, 1, 0, 1, 1):
        alliance_badges.issue(badge, signer_a, 1, {"from": signer_a})
    auctions.settle(auction_id, alice, {"from": outsider})
    assert alliance_badges.balanceOf(alice, badge) == 1
    assert tuple(alliance_badges.badgeType(badge))[1:4] == (1, 1, 0)  # minted, maxSupply, reserved


def test_an_auction_offers_no_more_units_than_its_badges_cap_leaves(
    auctions,
    alliance_badges,
    capped,
    create,
    silver,
    ledger,
    alice,
    bob,
    signer_a,
    brand_a,
    clock,
    errors,
):
    badge = capped(2)
    start = clock.now() + 10
    terms = (SILVER, 1_000, 100, start, start + DAY, 60)
    with errors.expect(auctions, "AuctionsInvalidUnits", 3, 2):
        auctions.createAuction(badge, 3, *terms, {"from": signer_a})
    alliance_badges.issue(badge, signer_a, 1, {"from": signer_a})
    with errors.expect(auctions, "AuctionsInvalidUnits", 2, 1):
        auctions.createAuction(badge, 2, *terms, {"from": signer_a})
    # two auctions of the last unit: the first bid reserves it, the other auction's bid finds none
    # left
    silver(alice, bob)
    first, _ = create(badge=badge)
    second, _ = create(badge=badge)
    approve_and_bid(ledger, auctions, first, alice, brand_a, 1_000)
    before = ledger.balanceOf(bob, brand_a)
    ledger.approve(auctions, brand_a, 1_000, {"from": bob})
    with errors.expect(alliance_badges, "AllianceBadgesSupplyExceeded", badge, 2, 1, 1, 1):
        auctions.bid(second, brand_a, 1_000, {"from": bob})
    assert ledger.balanceOf(bob, brand_a) == before  # a refused bid moves no points


def test_an_outbid_keeps_the_units_reservation_and_a_cancelled_win_releases_it(
    auctions,
    ledger,
    alliance_badges,
    capped,
    create,
    silver,
    earn,
    clock,
    signer_a,
    signer_b,
    alice,
    bob,
    outsider,
    brand_a,
    brand_b,
    events,
):
    badge = capped(1)
    silver(alice, bob)
    earn(signer_b, bob, cents=20_000)
    auction_id, ends = create(badge=badge)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 1_000)
    tx = approve_and_bid(ledger, auctions, auction_id, bob, brand_b, 2_400)  # outbids alice: 12 USD
    assert "BadgeSupplyReserved" not in tx.events
    assert tuple(alliance_badges.badgeType(badge))[3] == 1
    clock.travel_to(ends + auctions.SETTLE_GRACE())  # brand A never consented to bob's B points
    tx = auctions.cancel(auction_id, bob, {"from": outsider})
    released = events.one(tx, "BadgeSupplyReleased")
    assert (released["typeId"], released["issuer"], released["amount"]) == (badge, auctions, 1)
    alliance_badges.issue(badge, signer_a, 1, {"from": signer_a})  # the unit is the brand's again
    assert alliance_badges.totalMinted(badge) == 1


def test_only_an_issuer_reserves_and_it_issues_only_what_it_reserved(
    alliance_badges, capped, signer_a, outsider, admin, carol, errors
):
    badge = capped(3)
    issuer_role = alliance_badges.ISSUER_ROLE()
    with errors.expect(alliance_badges, "AccessControlUnauthorizedAccount", signer_a, issuer_role):
        alliance_badges.reserveSupply(badge, 1, {"from": signer_a})
    alliance_badges.grantRole(issuer_role, outsider, {"from": admin})
    with errors.expect(alliance_badges, "AllianceBadgesNotReserved", badge, 0, 1):
        alliance_badges.issue(badge, carol, 1, {"from": outsider})
    with errors.expect(alliance_badges, "AllianceBadgesSupplyExceeded", badge, 3, 0, 0, 4):
        alliance_badges.reserveSupply(badge, 4, {"from": outsider})
    alliance_badges.reserveSupply(badge, 2, {"from": outsider})
    with errors.expect(alliance_badges, "AllianceBadgesSupplyExceeded", badge, 3, 0, 2, 2):
        alliance_badges.issue(badge, carol, 2, {"from": signer_a})
    with errors.expect(alliance_badges, "AllianceBadgesNotReserved", badge, 2, 3):
        alliance_badges.releaseSupply(badge, 3, {"from": outsider})
    alliance_badges.issue(badge, carol, 1, {"from": outsider})
    alliance_badges.releaseSupply(badge, 1, {"from": outsider})
    alliance_badges.issue(badge, carol, 2, {"from": signer_a})
    assert tuple(alliance_badges.badgeType(badge))[1:4] == (3, 3, 0)


def test_the_escrow_approves_its_first_redemption_only(
    auctions,
    ledger,
    create,
    silver,
    earn,
    clock,
    signing,
    signer_a,
    signer_b,
    alice,
    relayer,
    outsider,
    brand_a,
    brand_b,
    errors,
):
    """A trial of 2026-12-05: a raise the member signed, relayed to the ledger without its bid,
    sat in the escrow beside the bid; the auctioning brand redeemed the escrow at nonce 0 and
    again at nonce 1 (the escrow approved any nonce), so B owed A twice the bid and the member
    lost the gift {reclaim} returns."""
    silver(alice)
    earn(signer_b, alice, cents=20_000)
    auction_id, ends = create()
    escrow = auctions.escrowOf(auction_id, alice)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_b, 2_000)
    gift, sig = signing.gift(alice, escrow, brand_b, 2_000)
    ledger.giftWithSig(gift, sig, {"from": relayer})
    clock.travel_to(ends)
    position = ledger.position(brand_a, brand_b)
    message, signature = _escrow_redeem(
        signing, auctions, auction_id, alice, brand_b, brand_a, 2_000, ends + 600
    )
    ledger.redeemWithSig(message, signature, {"from": signer_a})
    again, again_sig = _escrow_redeem(
        signing, auctions, auction_id, alice, brand_b, brand_a, 2_000, ends + 600, 1
    )
    with errors.expect(ledger, "LedgerInvalidSignature", escrow):
        ledger.redeemWithSig(again, again_sig, {"from": signer_a})
    assert ledger.position(brand_a, brand_b) == position - 2_000 * B_VALUE  # the bid's value, once
    auctions.settle(auction_id, alice, {"from": outsider})
    before = ledger.balanceOf(alice, brand_b)
    auctions.reclaim(auction_id, alice, brand_b, {"from": outsider})
    assert ledger.balanceOf(alice, brand_b) == before + 2_000
