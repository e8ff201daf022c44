"""AllianceAuctions against its own parties (a hostile review of 2026-12-06): a winner cannot walk
away by refusing the badge, an auction cannot lower a badge type's tier, and a window is stored as
announced or refused.

1. A winner whose contract wallet reverts in `onERC1155Received` made `settle` revert for good, and
   after the grace anyone's `cancel` refunded it in full: a free option to walk away from a win.
   Now the issue is tried with bounded gas: a refused unit leaves the bid redeemed and `Unissued`
   (never cancelled), its unit reserved until `issueWon`.
2. A bid of 30,000 points that expired during the auction kept the value it was placed at: it
   outbid a backed bid, won, and the auction ended unsold (its escrow empty at settle). Now a bid
   counts only its points live at the end plus the grace (`Bid.live`), and the settlement redeems
   what the escrow holds.
3. `createAuction` took a `minTier` below the badge type's own, and the auctions contract issues as
   an issuer, without the type's check: a Diamond-only collectible reached a Silver member.
4. `createAuction` stored `startsAt`/`endsAt` as uint40 with no bound above: a window 2^40 s ahead
   was announced in `AuctionCreated` and ran from now.
5. A later bid's soft close moved the end, and a held bid kept the live count of the old end: its
   rank counted points that died before its settlement. Now the extension recounts it.
6. (a trial of 2026-12-07) A bid counting fewer points than its amount announced nothing: the
   gateway's index showed it at its nominal amount. Now it emits `BidRecounted` too.
"""

import pytest
from brownie import RefusingWallet
from brownie.exceptions import VirtualMachineError
from eth_abi import encode

DAY = 86_400
SILVER, DIAMOND = 1, 3  # tiers
COLLECTIBLE = 1  # IAllianceBadges.BadgeKind
HELD, SETTLED, CANCELLED, UNISSUED = 1, 2, 3, 4  # IAllianceAuctions.BidStatus
ACCEPT, REVERT, BURN = 0, 1, 2  # RefusingWallet.Mode
A_VALUE, B_VALUE = (
    10_000,
    5_000,
)  # micro-USD per point of brands A and B (tests/contracts/conftest.py)


@pytest.fixture
def right(alliance_badges, signer_a):
    """A collectible of brand A carrying a benefit: the limited-edition purchase right."""
    return alliance_badges.defineBadge(
        COLLECTIBLE, 0, 0, True, False, "ipfs://right", {"from": signer_a}
    ).return_value


def _create(auctions, badge, clock, signer, min_tier=SILVER, length=DAY):
    """A 1-unit auction (reserve 1,000, increment 100, extension 600 s) open from the next
    second."""
    start = clock.now() + 1
    tx = auctions.createAuction(
        badge, 1, min_tier, 1_000, 100, start, start + length, 600, {"from": signer}
    )
    clock.travel_to(start)
    return tx.return_value, start + length


def approve_and_bid(ledger, auctions, auction_id, member, brand, amount):
    ledger.approve(auctions, brand, amount, {"from": member})
    return auctions.bid(auction_id, brand, amount, {"from": member})


@pytest.fixture
def wallet_win(auctions, ledger, right, tiers, clock, signer_a, alice, relayer, brand_a):
    """A member's contract wallet (owned by `relayer`) outbids alice and wins with 3,000 A points;
    the auction has ended. Returns (wallet, auction id, end)."""
    wallet = RefusingWallet.deploy({"from": relayer})
    tiers.reach(wallet, SILVER)
    tiers.reach(alice, SILVER)
    auction_id, ends = _create(auctions, right, clock, signer_a)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 1_500)
    wallet.exec(ledger, ledger.approve.encode_input(auctions, brand_a, 3_000), {"from": relayer})
    wallet.exec(auctions, auctions.bid.encode_input(auction_id, brand_a, 3_000), {"from": relayer})
    assert auctions.heldBidders(auction_id) == [wallet]
    clock.travel_to(ends)
    return wallet, auction_id, ends


def test_a_winner_refusing_the_badge_is_settled_and_not_refunded(
    auctions,
    ledger,
    alliance_badges,
    right,
    wallet_win,
    clock,
    relayer,
    outsider,
    brand_a,
    events,
    errors,
):
    wallet, auction_id, ends = wallet_win
    wallet.setMode(REVERT, {"from": relayer})  # the winner changes its mind
    escrow = auctions.escrowOf(auction_id, wallet)
    tx = auctions.settle(auction_id, wallet, {"from": outsider})
    assert events.one(tx, "BidSettled")["amount"] == 3_000
    assert events.one(tx, "BadgeUnissued") == {
        "auctionId": auction_id,
        "bidder": wallet.address,
        "badgeType": right,
    }
    assert events.one(tx, "PointsRedeemed")["amount"] == 3_000  # the win is paid
    assert ledger.balanceOf(escrow, brand_a) == 0
    assert tuple(auctions.bidOf(auction_id, wallet))[1] == UNISSUED
    assert tuple(alliance_badges.badgeType(right))[1:4] == (
        0,
        0,
        1,
    )  # minted, maxSupply, reserved: kept
    clock.travel_to(ends + auctions.SETTLE_GRACE())
    with errors.expect(auctions, "AuctionsNotWinning", auction_id, wallet, UNISSUED):
        auctions.cancel(auction_id, wallet, {"from": outsider})  # no refund of a paid win
    with errors.expect(wallet, "RefusingWalletRefused"):
        auctions.issueWon(auction_id, wallet, {"from": outsider})
    wallet.setMode(ACCEPT, {"from": relayer})  # the wallet takes its unit after all
    tx = auctions.issueWon(auction_id, wallet, {"from": outsider})
    assert events.one(tx, "WonBadgeIssued") == {
        "auctionId": auction_id,
        "bidder": wallet.address,
        "badgeType": right,
    }
    assert alliance_badges.balanceOf(wallet, right) == 1
    assert tuple(alliance_badges.badgeType(right))[1:4] == (1, 0, 0)
    assert tuple(auctions.bidOf(auction_id, wallet))[1] == SETTLED
    with errors.expect(auctions, "AuctionsBadgeNotUnissued", auction_id, wallet, SETTLED):
        auctions.issueWon(auction_id, wallet, {"from": outsider})


def test_a_hook_burning_its_gas_neither_blocks_settle_nor_inflates_its_gas(
    auctions, wallet_win, relayer, outsider, events
):
    wallet, auction_id, _ = wallet_win
    wallet.setMode(BURN, {"from": relayer})
    tx = auctions.settle(auction_id, wallet, {"from": outsider})
    assert len(events.all(tx, "BadgeUnissued")) == 1
    assert tx.gas_used < 600_000  # the issue's 300,000 bounded, whatever the hook burns
    assert tuple(auctions.bidOf(auction_id, wallet))[1] == UNISSUED


def test_settle_reverts_when_the_issue_failed_for_want_of_the_gas_bound(
    auctions, wallet_win, relayer, outsider
):
    """An issue given less than its 300,000 gas (EIP-150 leaves a call 63/64 of what remains)
    may fail for want of gas, not because of the wallet: the settlement reverts rather than
    record it as the winner's refusal (so no caller, nor a gas estimate, makes a win `Unissued`
    with too little gas)."""
    wallet, auction_id, _ = wallet_win
    wallet.setMode(BURN, {"from": relayer})
    with pytest.raises(VirtualMachineError) as info:
        auctions.settle.call(auction_id, wallet, {"from": outsider, "gas_limit": 250_000})
    assert str(info.value.revert_msg).startswith("AuctionsInsufficientGas")
    assert tuple(auctions.bidOf(auction_id, wallet))[1] == HELD


def test_settle_refuses_an_inactive_auctioning_brand_before_redeeming(
    auctions, ledger, wallet_win, admin, outsider, brand_a, errors
):
    """The issue would fail on an inactive brand: that failure is the brand's, not the winner's."""
    wallet, auction_id, _ = wallet_win
    ledger.setBrandSuspended(brand_a, True, {"from": admin})
    with errors.expect(auctions, "AuctionsBrandInactive", brand_a):
        auctions.settle(auction_id, wallet, {"from": outsider})
    assert tuple(auctions.bidOf(auction_id, wallet))[1] == HELD


def test_an_auction_cannot_issue_a_diamond_only_collectible_below_diamond(
    auctions, alliance_badges, clock, signer_a, errors
):
    diamond_only = alliance_badges.defineBadge(
        COLLECTIBLE, 0, DIAMOND, True, False, "ipfs://d", {"from": signer_a}
    ).return_value
    start = clock.now() + 100
    with errors.expect(auctions, "AuctionsInvalidTier", SILVER):
        auctions.createAuction(
            diamond_only, 1, SILVER, 1_000, 100, start, start + DAY, 600, {"from": signer_a}
        )
    tx = auctions.createAuction(
        diamond_only, 1, DIAMOND, 1_000, 100, start, start + DAY, 600, {"from": signer_a}
    )
    assert tuple(auctions.auction(tx.return_value))[4] == DIAMOND


def test_an_auction_window_past_uint40_is_refused(auctions, right, clock, signer_a, events, errors):
    now = clock.now() + 5
    far = (1 << 40) + now  # stored as uint40, it ran from `now`
    clock.next_block_at(now)
    with errors.expect(auctions, "AuctionsInvalidWindow", far, far + DAY, 600, now, 90 * DAY):
        auctions.createAuction(
            right, 1, SILVER, 1_000, 100, far, far + DAY, 600, {"from": signer_a}
        )
    last = (1 << 40) - 1  # the last second a window may end at
    tx = auctions.createAuction(
        right, 1, SILVER, 1_000, 100, last - DAY, last, 600, {"from": signer_a}
    )
    created = events.one(tx, "AuctionCreated")
    assert (
        tuple(auctions.auction(tx.return_value))[1:3]
        == (created["startsAt"], created["endsAt"])
        == (last - DAY, last)
    )


@pytest.fixture
def dying(earn, tiers, clock, signer_a, alice, bob):
    """Returns `expiring(signer, cents)`: alice earns points at `signer`'s brand, then the clock
    moves to day 20 of the 12th month after, where alice and bob reach Silver (earning live A
    points) and a 30-day auction would end after those points expire."""

    def expiring(signer, cents):
        start_month = clock.month()
        earn(signer, alice, cents=cents)
        clock.travel_to_month(start_month + 12, day=20)
        tiers.reach(alice, SILVER)
        tiers.reach(bob, SILVER)
        return start_month

    return expiring


def test_a_bid_of_points_expiring_before_the_close_is_worth_nothing(
    auctions, ledger, lens, right, dying, clock, signer_a, alice, bob, brand_a, errors
):
    """The review's attack: 30,000 points expiring during the auction no longer outbid a backed
    bid (they were worth their nominal value; the win then left the unit unsold)."""
    start_month = dying(signer_a, 300_000)  # 30,000 A points, expiring at the 13th month's start
    assert tuple(lens.lotsOf(alice, brand_a)[0])[:2] == (30_000, start_month)
    auction_id, ends = _create(auctions, right, clock, signer_a, length=30 * DAY)
    assert lens.lotsOf(alice, brand_a)[0][2] < ends  # they expire before the close
    approve_and_bid(ledger, auctions, auction_id, bob, brand_a, 1_500)
    ledger.approve(auctions, brand_a, 30_000, {"from": alice})
    with errors.expect(auctions, "AuctionsBidTooLow", auction_id, 0, 1_600 * A_VALUE):
        auctions.bid(
            auction_id, brand_a, 30_000, {"from": alice}
        )  # the oldest lot moves: all dying
    assert auctions.heldBidders(auction_id) == [bob]  # the backed bid keeps the unit
    assert tuple(auctions.bidOf(auction_id, bob))[:5] == (
        brand_a,
        HELD,
        1_500,
        1_500 * A_VALUE,
        1_500,
    )


def test_a_bid_with_some_expiring_points_counts_and_pays_its_live_part(
    auctions,
    ledger,
    lens,
    alliance_badges,
    right,
    dying,
    clock,
    signer_a,
    alice,
    outsider,
    brand_a,
    events,
):
    """A member whose oldest lot expires before the close, holding live points too, still bids:
    its bid is worth its live part, wins, and its settlement redeems what the escrow holds."""
    dying(signer_a, 30_000)  # 3,000 A points expiring before the close
    total = ledger.balanceOf(alice, brand_a)
    live = total - 3_000  # earned reaching Silver: live at the close
    assert live >= 1_100
    auction_id, ends = _create(auctions, right, clock, signer_a, length=30 * DAY)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, total)
    assert auctions.minNewBidValue(auction_id) == (live + 100) * A_VALUE  # its live part + 100
    assert tuple(auctions.bidOf(auction_id, alice))[:5] == (
        brand_a,
        HELD,
        total,
        total * A_VALUE,
        live,
    )
    clock.travel_to(ends)
    escrow = auctions.escrowOf(auction_id, alice)
    assert ledger.balanceOf(escrow, brand_a) == live  # the oldest lot expired in escrow
    tx = auctions.settle(auction_id, alice, {"from": outsider})
    assert events.one(tx, "BidSettled")["amount"] == live
    assert events.one(tx, "PointsRedeemed")["amount"] == live
    assert ledger.balanceOf(escrow, brand_a) == 0
    assert alliance_badges.balanceOf(alice, right) == 1
    assert tuple(auctions.bidOf(auction_id, alice))[1] == SETTLED


def test_a_cross_brand_win_with_expired_points_redeems_what_its_escrow_holds(
    auctions,
    ledger,
    alliance_badges,
    right,
    dying,
    earn,
    clock,
    signer_a,
    signer_b,
    alice,
    outsider,
    brand_a,
    brand_b,
    errors,
):
    """The auctioning brand's redemption of `min(balance, amount)` is what the escrow approves."""
    dying(signer_b, 10_000)  # 2,000 B points expiring before the close
    earn(signer_b, alice, cents=10_000)  # 2,000 B points live at the close
    auction_id, ends = _create(auctions, right, clock, signer_a, length=30 * DAY)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_b, 4_000)  # 2,000 live: the reserve
    clock.travel_to(ends)
    escrow = auctions.escrowOf(auction_id, alice)
    assert ledger.balanceOf(escrow, brand_b) == 2_000
    deadline = ends + 3_600
    ref = auctions.redemptionRef(auction_id, alice)
    signature = encode(
        ["uint256", "address", "uint256", "uint256"], [auction_id, alice.address, 0, deadline]
    )
    whole = (escrow, brand_b, brand_a, 4_000, ref, 0, deadline)
    with errors.expect(ledger, "LedgerInvalidSignature", escrow):
        ledger.redeemWithSig(whole, signature, {"from": signer_a})  # more than the escrow holds
    held = (escrow, brand_b, brand_a, 2_000, ref, 0, deadline)
    ledger.redeemWithSig(held, signature, {"from": signer_a})
    assert ledger.balanceOf(escrow, brand_b) == 0
    assert tuple(auctions.bidOf(auction_id, alice))[2:5] == (4_000, 4_000 * B_VALUE, 2_000)
    auctions.settle(auction_id, alice, {"from": outsider})
    assert alliance_badges.balanceOf(alice, right) == 1
    assert tuple(auctions.bidOf(auction_id, alice))[1] == SETTLED


def test_a_soft_close_recounts_a_held_bid_whose_points_die_before_the_new_end(
    auctions,
    ledger,
    lens,
    right,
    dying,
    tiers,
    clock,
    signer_a,
    alice,
    bob,
    carol,
    outsider,
    brand_a,
    events,
):
    """A review of 2026-12-06: a held bid kept the live count of the end before a later bid's
    extension, so its rank counted points that died before its settlement (it could not be
    outbid for them, and its escrow was empty at the close). Now the extension recounts it, and
    a bid worth the reserve outbids it."""
    dying(signer_a, 30_000)  # 3,000 A points of alice's, expiring at the next month's start
    tiers.reach(carol, SILVER)
    tiers.reach(outsider, SILVER)
    expiry = lens.lotsOf(alice, brand_a)[0][2]
    start = clock.now() + 1
    ends = expiry - 7 * DAY - 3_600  # their points live at the end plus the grace: they count
    tx = auctions.createAuction(
        right, 3, SILVER, 1_000, 100, start, ends, 2 * DAY, {"from": signer_a}
    )
    auction_id = tx.return_value
    clock.travel_to(start)
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 3_000)  # the dying lot only
    assert tuple(auctions.bidOf(auction_id, alice))[4:] == (3_000, expiry)  # live, liveUntil
    approve_and_bid(ledger, auctions, auction_id, bob, brand_a, 1_000)
    assert tuple(auctions.bidOf(auction_id, bob))[4] == 1_000

    clock.travel_to(ends - 60)
    tx = approve_and_bid(ledger, auctions, auction_id, carol, brand_a, 1_100)  # the third unit
    new_end = events.one(tx, "AuctionExtended")["endsAt"]
    assert new_end + 7 * DAY > expiry  # alice's points die before the new end plus the grace
    assert events.one(tx, "BidRecounted") == {
        "auctionId": auction_id,
        "bidder": alice,
        "live": 0,
        "liveUntil": (1 << 40) - 1,
    }
    assert tuple(auctions.bidOf(auction_id, alice))[4:] == (0, (1 << 40) - 1)
    assert auctions.minNewBidValue(auction_id) == 1_000 * A_VALUE  # the reserve, not 0 + 100

    # a reserve-level bid now outbids alice's dying one (before: refused, 1,200 points were
    # needed, and they would have outbid bob's backed bid, not alice's)
    tx = approve_and_bid(ledger, auctions, auction_id, outsider, brand_a, 1_000)
    assert events.one(tx, "BidOutbid")["bidder"] == alice
    assert set(auctions.heldBidders(auction_id)) == {bob.address, carol.address, outsider.address}


def _dying_auction(auctions, lens, right, clock, signer_a, alice, brand_a, units, extension):
    """An auction (reserve 1,000 A points, increment 100) whose end plus the grace falls an hour
    before alice's oldest lot expires: her bid of it counts in full until a soft close moves the
    end. Returns (its id, its end, the lot's expiry)."""
    expiry = lens.lotsOf(alice, brand_a)[0][2]
    start = clock.now() + 1
    ends = expiry - 7 * DAY - 3_600
    tx = auctions.createAuction(
        right, units, SILVER, 1_000, 100, start, ends, extension, {"from": signer_a}
    )
    clock.travel_to(start)
    return tx.return_value, ends, expiry


def test_an_extending_bid_outbids_the_lowest_bid_as_recounted_at_the_new_end(
    auctions, ledger, lens, right, dying, tiers, clock, signer_a, alice, bob, carol, brand_a, events
):
    """A review of the recount (2026-12-06): the extending bid picked the bid to outbid from the
    counts of the old end, then recounted. carol's 1,100 outbid bob's backed 1,000, and alice's
    3,000 dying points, recounted to 0 in the same transaction, kept their unit. Now the recount
    comes first: alice's bid is the one outbid, and the reserve is enough."""
    dying(signer_a, 30_000)  # 3,000 A points of alice's, expiring at the next month's start
    tiers.reach(carol, SILVER)
    auction_id, ends, _ = _dying_auction(
        auctions, lens, right, clock, signer_a, alice, brand_a, 2, 2 * DAY
    )
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 3_000)  # the dying lot only
    approve_and_bid(ledger, auctions, auction_id, bob, brand_a, 1_000)
    clock.travel_to(ends - 60)
    tx = approve_and_bid(ledger, auctions, auction_id, carol, brand_a, 1_000)  # the reserve
    assert [e["bidder"] for e in events.all(tx, "BidRecounted")] == [alice]
    assert events.one(tx, "BidOutbid")["bidder"] == alice
    assert set(auctions.heldBidders(auction_id)) == {bob.address, carol.address}


@pytest.fixture
def recounted(auctions, ledger, lens, right, earn, tiers, clock, signer_a, alice, carol, brand_a):
    """alice's 3,000 A points, expiring before the auction's new end, bid on a 2-unit auction
    with an 8-day extension; carol's reserve-level bid in the soft close takes the other unit
    (nobody outbid) and recounts alice's bid to 0. Returns (auction id, alice's lot's expiry)."""
    start_month = clock.month()
    earn(signer_a, alice, cents=30_000)  # 3,000 A points
    clock.travel_to_month(start_month + 12, day=5)  # room for an auction and its 8-day extension
    tiers.reach(alice, SILVER)
    tiers.reach(carol, SILVER)
    auction_id, ends, expiry = _dying_auction(
        auctions, lens, right, clock, signer_a, alice, brand_a, 2, 8 * DAY
    )
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 3_000)
    clock.travel_to(ends - 60)
    approve_and_bid(ledger, auctions, auction_id, carol, brand_a, 1_000)
    assert tuple(auctions.bidOf(auction_id, alice))[4] == 0
    assert expiry < tuple(auctions.auction(auction_id))[2]  # expired before the new end
    return auction_id, expiry


def test_a_recounted_bid_raised_must_be_worth_the_reserve(
    auctions, ledger, recounted, alice, brand_a, errors
):
    """A review of the recount (2026-12-06): alice's bid, recounted to 0, raised by one
    increment (100 live points) was accepted, worth 100 points against a reserve of 1,000, and
    nobody had to outbid it: the unit then sold for 100 points. A raise now lifts the bid to
    the reserve at least."""
    auction_id, _ = recounted
    ledger.approve(auctions, brand_a, 100, {"from": alice})
    with errors.expect(auctions, "AuctionsBidTooLow", auction_id, 100 * A_VALUE, 1_000 * A_VALUE):
        auctions.bid(auction_id, brand_a, 100, {"from": alice})
    approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 1_000)  # worth the reserve
    assert tuple(auctions.bidOf(auction_id, alice))[2:5] == (4_000, 4_000 * A_VALUE, 1_000)


def test_a_settlement_below_the_reserve_is_refused_and_the_grace_releases_the_unit(
    auctions, ledger, alliance_badges, right, recounted, clock, alice, outsider, brand_a, errors
):
    """A review of the recount (2026-12-06): alice's bid, recounted to 0 and its points expired,
    got one point sent to its escrow; anyone's `settle` then sold the unit for that point. A
    settlement now pays the reserve's worth at least; after the grace the unit is released."""
    auction_id, _ = recounted
    escrow = auctions.escrowOf(auction_id, alice)
    ledger.transfer(escrow, brand_a, 1, {"from": alice})
    end = tuple(auctions.auction(auction_id))[2]
    clock.travel_to(end)
    with errors.expect(
        auctions, "AuctionsBelowReserve", auction_id, alice, 1 * A_VALUE, 1_000 * A_VALUE
    ):
        auctions.settle(auction_id, alice, {"from": outsider})
    clock.travel_to(end + 7 * DAY)
    auctions.cancel(auction_id, alice, {"from": outsider})
    assert tuple(auctions.bidOf(auction_id, alice))[1] == CANCELLED
    assert alliance_badges.balanceOf(alice, right) == 0


def _counted(tx, auction_id, bidder, before=None):
    """What an index of the events alone counts of `bidder`'s bid after `tx`, by the rule of
    `IAllianceAuctions.BidRecounted`: a `BidPlaced` sets the bid's amount, a later
    `BidRecounted` its `live`; `before`, the count before `tx`, when neither names the bid."""
    count = before
    for event in tx.events:  # in log order
        if event.name not in ("BidPlaced", "BidRecounted"):
            continue
        if (event["auctionId"], event["bidder"]) == (auction_id, bidder):
            count = event["amount"] if event.name == "BidPlaced" else event["live"]
    return count


def test_a_bid_counting_fewer_than_its_points_announces_its_live_count(
    auctions, ledger, right, dying, earn, clock, signer_a, alice, bob, brand_a, events
):
    """A trial of 2026-12-07: the gateway, which knows a bid from its events only, showed a bid
    of points dying before the close at its nominal amount and ranked it so, while the contract
    counted only its live part; nothing announced that count. A bid (or a raise) counting fewer
    than its amount now emits `BidRecounted` right after its `BidPlaced`; a bid counted whole
    emits none, a bidder's own points sent to its escrow included, so the index's rule holds:
    the amount of the last `BidPlaced`, or the `live` of a later `BidRecounted`."""
    dying(signer_a, 30_000)  # 3,000 A points of alice's expiring before the close
    total = ledger.balanceOf(alice, brand_a)
    live = total - 3_000  # earned reaching Silver: live at the close
    auction_id, _ = _create(auctions, right, clock, signer_a, length=30 * DAY)

    tx = approve_and_bid(ledger, auctions, auction_id, bob, brand_a, 1_000)  # all live
    assert events.all(tx, "BidRecounted") == []
    assert tuple(auctions.bidOf(auction_id, bob))[4] == _counted(tx, auction_id, bob) == 1_000

    tx = approve_and_bid(ledger, auctions, auction_id, alice, brand_a, total)  # outbids bob
    until = tuple(auctions.bidOf(auction_id, alice))[5]
    assert events.one(tx, "BidRecounted") == {
        "auctionId": auction_id,
        "bidder": alice,
        "live": live,
        "liveUntil": until,
    }
    assert tuple(auctions.bidOf(auction_id, alice))[4] == _counted(tx, auction_id, alice) == live

    earn(signer_a, alice, cents=1_000)  # 100 live points: a raise still short of its amount
    tx = approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 100)
    assert events.one(tx, "BidRecounted")["live"] == live + 100
    assert _counted(tx, auction_id, alice, live) == live + 100
    assert tuple(auctions.bidOf(auction_id, alice))[2:5] == (
        total + 100,
        (total + 100) * A_VALUE,
        live + 100,
    )

    # alice sends 3,000 live points of her own to her escrow (outside a bid): her next raise
    # counts them, up to its amount, so the bid is counted whole and none is announced
    escrow = auctions.escrowOf(auction_id, alice)
    earn(signer_a, alice, cents=31_000)  # 3,100 live points
    ledger.transfer(escrow, brand_a, 3_000, {"from": alice})
    tx = approve_and_bid(ledger, auctions, auction_id, alice, brand_a, 100)
    assert events.all(tx, "BidRecounted") == []
    assert (
        tuple(auctions.bidOf(auction_id, alice))[4]
        == _counted(tx, auction_id, alice, live + 100)
        == total + 200
    )
