"""An auction bid is bounded by what one ledger call moves (a review of 2026-12-06).

The ledger moves at most `MAX_AMOUNT` (10**12) points per call, and an escrow returns, redeems
or cancels a bid in one call. A bid grew by raises with no bound but 2**96, each raise moved on
its own: a bid of 2 * 10**12 could then be neither outbid (the refund reverted, so nobody could
take the unit), settled nor cancelled, its points lost to expiry in the escrow. And an outbid or
a cancel returned the escrow's whole balance: a bidder at 10**12 that sent its own escrow one
point made its bid impossible to outbid. Now a bid, raises included, is at most 10**12
(`AuctionsInvalidAmount`), and an escrow returns the bid, leaving what was sent beyond it to
`reclaim`.

Precondition of both: points in the 10**12 range, which needs the admin to have raised the
brands' daily mint caps (at the default 10**8 a day, a year of a brand's mints stays below
10**12).
"""

from types import SimpleNamespace

import pytest
from brownie import accounts

from scripts.deployment import REFERENCE_EARN_RULE
from tests.contracts.program.conftest import COLLECTIBLE, SILVER

DAY = 86_400
MAX_AMOUNT = 10**12  # LedgerStorage.MAX_AMOUNT
HELD = 1  # IAllianceAuctions.BidStatus


def _silver_with(earn, signer, member, cents, mult):
    """Silver at `signer`'s brand: 3 purchases of `cents` at `mult`, then 2 reviews."""
    ops = [earn.op(member, cents=cents, mult=mult) for _ in range(3)]
    earn.batch(signer, ops + [earn.op(member, "review") for _ in range(2)])


@pytest.fixture
def big(ledger, auctions, alliance_badges, admin, earn, signer_a, alice, bob, brand_a, clock):
    """An open 1-unit auction of brand A's right (reserve 1,000, increment 100, one day) and two
    Silver bidders with points past MAX_AMOUNT: alice 3 * 10**12 of A, bob 3 * 10**11 of a brand
    D worth 10 A points each (so that a bid of bob's tops one of 10**12 A points)."""
    ledger.setDailyMintCap(brand_a, 10**14, {"from": admin})
    _silver_with(earn, signer_a, alice, MAX_AMOUNT, 1_000)  # 10**12 points per purchase
    d_signer = accounts[8]
    onboarded = ledger.onboardBrand(
        d_signer, 100_000, REFERENCE_EARN_RULE, "Brand D Points", "DPT", {"from": admin}
    )
    brand_d = onboarded.events["BrandOnboarded"]["brand"]
    ledger.setReturnWindow(brand_d, 0, {"from": admin})
    ledger.setDailyMintCap(brand_d, 10**14, {"from": admin})
    _silver_with(earn, d_signer, bob, 10**11, 1_000)
    right = alliance_badges.defineBadge(
        COLLECTIBLE, 0, 0, True, False, "ipfs://right", {"from": signer_a}
    ).return_value
    start = clock.now() + 1
    auction_id = auctions.createAuction(
        right, 1, SILVER, 1_000, 100, start, start + DAY, 600, {"from": signer_a}
    ).return_value
    clock.travel_to(start)
    ledger.approve(auctions, brand_a, 3 * MAX_AMOUNT, {"from": alice})
    auctions.bid(auction_id, brand_a, MAX_AMOUNT, {"from": alice})
    return SimpleNamespace(
        id=auction_id,
        right=right,
        brand_d=brand_d,
        escrow=auctions.escrowOf(auction_id, alice),
        before=ledger.balanceOf(alice, brand_a) + MAX_AMOUNT,
        ends=start + DAY,
    )


def _outbid(ledger, auctions, big, bob):
    """bob's bid in D points, worth 10**10 A points more than alice's 10**12: it takes the unit."""
    amount = MAX_AMOUNT // 10 + 10**9
    ledger.approve(auctions, big.brand_d, amount, {"from": bob})
    return auctions.bid(big.id, big.brand_d, amount, {"from": bob})


def test_a_bid_raises_included_is_at_most_what_one_ledger_call_moves(
    ledger, auctions, big, alice, brand_a, errors
):
    """alice's bid of 10**12 cannot be raised: the raise was accepted and the escrow held
    2 * 10**12, which no refund, settlement or cancel could move."""
    with errors.expect(auctions, "AuctionsInvalidAmount", MAX_AMOUNT + 100):
        auctions.bid(big.id, brand_a, 100, {"from": alice})  # the increment: a raise's least
    assert tuple(auctions.bidOf(big.id, alice))[:3] == (brand_a, HELD, MAX_AMOUNT)
    assert ledger.balanceOf(big.escrow, brand_a) == MAX_AMOUNT


def test_a_bid_of_the_most_is_returned_in_full_when_outbid(
    ledger, auctions, big, alice, bob, brand_a, events
):
    """The bound lets a bid of 10**12 through its life: outbid, it comes back in full."""
    tx = _outbid(ledger, auctions, big, bob)
    outbid = events.one(tx, "BidOutbid")
    assert (outbid["bidder"], outbid["amount"]) == (alice, MAX_AMOUNT)
    assert ledger.balanceOf(alice, brand_a) == big.before
    assert ledger.balanceOf(big.escrow, brand_a) == 0


def test_a_winning_bid_of_the_most_is_settled(
    ledger, auctions, alliance_badges, big, clock, alice, outsider, brand_a
):
    """Won, a bid of 10**12 is redeemed in one call and the right issued."""
    clock.travel_to(big.ends)
    auctions.settle(big.id, alice, {"from": outsider})
    assert alliance_badges.balanceOf(alice, big.right) == 1
    assert ledger.balanceOf(alice, brand_a) == big.before - MAX_AMOUNT
    assert ledger.balanceOf(big.escrow, brand_a) == 0


def test_points_sent_to_an_escrow_neither_block_an_outbid_nor_a_cancel(
    ledger, auctions, big, clock, alice, bob, outsider, brand_a, events
):
    """An escrow is an ordinary holder: anyone may send it points. alice sends her own escrow a
    point: the outbid refunded the whole balance (10**12 + 1) in one transfer, which the ledger
    refused, so nobody could outbid her. The outbid now returns the bid, and `reclaim` the
    point; an unsettled win's cancel likewise returns the bid."""
    ledger.transfer(big.escrow, brand_a, 1, {"from": alice})
    tx = _outbid(ledger, auctions, big, bob)
    assert events.one(tx, "BidOutbid")["amount"] == MAX_AMOUNT
    assert ledger.balanceOf(big.escrow, brand_a) == 1
    auctions.reclaim(big.id, alice, brand_a, {"from": outsider})
    assert ledger.balanceOf(alice, brand_a) == big.before

    bob_escrow = auctions.escrowOf(big.id, bob)
    ledger.transfer(bob_escrow, big.brand_d, 1, {"from": bob})
    held = auctions.bidOf(big.id, bob)[2]
    clock.travel_to(big.ends + auctions.SETTLE_GRACE())
    tx = auctions.cancel(big.id, bob, {"from": outsider})
    assert events.one(tx, "BidCancelled")["amount"] == held
    assert ledger.balanceOf(bob_escrow, big.brand_d) == 1
