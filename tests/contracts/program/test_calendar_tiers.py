"""Tier gates judge the tier the calendar leaves a member (README "Reviews follow the calendar").

The ledger applies a member's due quarterly reviews lazily (its first earn of a quarter, or anyone's
`reviewTier`/`reviewTiers`), so until then its `tierOf` and the membership badge still show a tier
the calendar has taken away. AlliancePolls (a tier poll's vote), AllianceBadges (a tier-gated
claim or issue) and AllianceAuctions (a bid) apply the member's due reviews before they read its
tier (since 2026-12-06). Each test failed before: the member not yet reviewed got through.
"""

import pytest
from eth_utils import keccak

from tests.contracts.program.conftest import COLLECTIBLE, MIN_TIER, SILVER

CONTENT = keccak(text="poll: which design for the autumn collection?")
DAY = 86_400


@pytest.fixture
def downgraded(ledger, tiers, clock, events, alice, bob):
    """alice and bob reach Silver this quarter, then do nothing: by the calendar the next quarter
    start keeps it, the one after warns them, and the third quarter start drops both to no tier
    (3 months of grace, then one step down). The clock ends on day 10 of that third quarter; bob's
    review has run (anyone may call it), alice's not yet, so the ledger still shows her Silver."""
    q0 = clock.quarter()
    for member in (alice, bob):
        tiers.reach(member, SILVER)
    clock.travel_to_quarter(q0 + 3, 0, 10)
    tx = ledger.reviewTier(bob)
    assert events.one(tx, "TierDowngraded")["newTier"] == 0  # the calendar's verdict
    assert (ledger.tierOf(bob), ledger.tierOf(alice)) == (0, SILVER)  # alice's is not applied yet


def test_a_member_downgraded_by_the_calendar_before_the_opening_cannot_vote_unreviewed(
    polls, downgraded, clock, signer_a, carol, tiers, alice, bob, errors
):
    """A Silver poll opened after the quarter start that dropped alice and bob refuses both
    ("eligibility fixed when the poll opens"; the judgement "depends only on the calendar ...
    never on when someone calls"). Failed before: the poll read only the membership badge's clock,
    which the ledger updates when a review is applied, so alice voted with a tier she had lost
    before the opening. carol, Silver this quarter, votes."""
    tiers.reach(carol, SILVER)
    clock.travel_to(clock.now() + 1)
    start = clock.now() + 1
    poll_id = polls.openPoll(
        CONTENT, 2, start, start + DAY, MIN_TIER, SILVER, {"from": signer_a}
    ).return_value
    clock.travel_to(start)

    with errors.expect(polls, "PollsNotEligible", poll_id, bob):
        polls.vote(poll_id, 0, {"from": bob})
    with errors.expect(polls, "PollsNotEligible", poll_id, alice):
        polls.vote(poll_id, 0, {"from": alice})
    polls.vote(poll_id, 1, {"from": carol})
    assert polls.hasVoted(poll_id, carol)


def test_a_member_downgraded_by_the_calendar_cannot_claim_a_tier_collectible_unreviewed(
    alliance_badges, downgraded, tiers, signer_a, alice, bob, carol, errors
):
    """A Silver-only self-mint collectible (README: "optional minimum tier for Diamond-only
    self-mint"). bob (reviewed) is refused, and so is alice, who lost Silver at the same quarter
    start but was not reviewed yet. Failed before: the badge contract read the ledger's `tierOf`,
    which does not apply the due reviews, and alice claimed it. A brand's `issue` of the type to
    her is refused the same way; carol, Silver this quarter, claims it."""
    type_id = alliance_badges.defineBadge(
        COLLECTIBLE, 0, SILVER, False, True, "ipfs://s", {"from": signer_a}
    ).return_value
    with errors.expect(alliance_badges, "AllianceBadgesTierTooLow", type_id, bob, 0, SILVER):
        alliance_badges.claim(type_id, {"from": bob})
    with errors.expect(alliance_badges, "AllianceBadgesTierTooLow", type_id, alice, 0, SILVER):
        alliance_badges.claim(type_id, {"from": alice})
    with errors.expect(alliance_badges, "AllianceBadgesTierTooLow", type_id, alice, 0, SILVER):
        alliance_badges.issue(type_id, alice, 1, {"from": signer_a})
    tiers.reach(carol, SILVER)
    alliance_badges.claim(type_id, {"from": carol})
    assert alliance_badges.balanceOf(carol, type_id) == 1


def test_a_member_downgraded_by_the_calendar_cannot_bid_unreviewed(
    auctions,
    alliance_badges,
    ledger,
    downgraded,
    clock,
    tiers,
    signer_a,
    alice,
    bob,
    carol,
    brand_a,
    errors,
):
    """A Silver auction ("members of at least a tier"; the tier is checked at bid time) refuses
    bob (reviewed) and alice (not reviewed), both dropped to no tier by the quarter start before
    the bid. Failed before: `_placeBid` read the ledger's `tierOf`, and alice's bid took the unit
    with a tier she had lost. carol, Silver this quarter, bids."""
    right = alliance_badges.defineBadge(
        COLLECTIBLE, 0, 0, True, False, "ipfs://right", {"from": signer_a}
    ).return_value
    start = clock.now() + 1
    auction_id = auctions.createAuction(
        right, 1, SILVER, 1_000, 100, start, start + DAY, 600, {"from": signer_a}
    ).return_value
    clock.travel_to(start)

    for member in (bob, alice):
        ledger.approve(auctions, brand_a, 1_000, {"from": member})
        with errors.expect(auctions, "AuctionsTierTooLow", auction_id, member, 0, SILVER):
            auctions.bid(auction_id, brand_a, 1_000, {"from": member})
    assert auctions.heldBidders(auction_id) == []

    tiers.reach(carol, SILVER)
    ledger.approve(auctions, brand_a, 1_000, {"from": carol})
    auctions.bid(auction_id, brand_a, 1_000, {"from": carol})
    assert auctions.heldBidders(auction_id) == [carol]
