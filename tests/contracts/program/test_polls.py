"""AlliancePolls: who may open, eligibility fixed at the opening, one vote per member, the window,
live and final tallies, signatures and the one pause."""

import pytest
from brownie import ZERO_ADDRESS, accounts
from eth_utils import keccak

from tests.contracts.program.conftest import ACHIEVEMENT, BADGE, COLLECTIBLE, GOLD, MIN_TIER, SILVER

CONTENT = keccak(text="poll: which design for the spring collection? options: a, b, c")
DAY = 86_400


@pytest.fixture
def open_poll(polls, clock, signer_a):
    def _open(eligibility=MIN_TIER, ref=SILVER, options=3, start_in=0, length=7 * DAY, sender=None):
        # what happened before opens the poll one second later: eligibility is "held strictly
        # before"
        clock.travel_to(clock.now() + 1)
        start = clock.now() + 1 + start_in
        tx = polls.openPoll(
            CONTENT, options, start, start + length, eligibility, ref, {"from": sender or signer_a}
        )
        return tx.return_value, start, start + length

    return _open


def test_brand_opens_a_poll_with_its_window_and_eligibility(
    polls, clock, signer_a, brand_a, events, to_plain
):
    start = clock.now() + 100
    tx = polls.openPoll(CONTENT, 3, start, start + DAY, MIN_TIER, GOLD, {"from": signer_a})
    opened = events.one(tx, "PollOpened")
    assert (opened["pollId"], opened["brand"], opened["opener"]) == (1, brand_a, signer_a)
    assert (
        opened["startsAt"],
        opened["endsAt"],
        opened["eligibility"],
        opened["eligibilityRef"],
    ) == (start, start + DAY, MIN_TIER, GOLD)
    stored = to_plain(polls.poll(1))
    assert (
        stored[0] == brand_a
        and stored[1] == tx.timestamp
        and stored[2:5] == (start, start + DAY, 3)
    )
    assert polls.pollCount() == 1


def test_admin_opens_an_alliance_wide_poll_and_an_outsider_cannot(
    polls, clock, admin, outsider, errors
):
    start = clock.now() + 10
    tx = polls.openPoll(CONTENT, 2, start, start + DAY, MIN_TIER, SILVER, {"from": admin})
    assert tx.events["PollOpened"]["brand"] == 0
    with errors.expect(polls, "PollsNotOpener", outsider):
        polls.openPoll(CONTENT, 2, start, start + DAY, MIN_TIER, SILVER, {"from": outsider})


def test_suspended_brand_cannot_open(polls, ledger, clock, admin, signer_a, brand_a, errors):
    ledger.setBrandSuspended(brand_a, True, {"from": admin})
    start = clock.now() + 10
    with errors.expect(polls, "PollsNotOpener", signer_a):
        polls.openPoll(CONTENT, 2, start, start + DAY, MIN_TIER, SILVER, {"from": signer_a})


def test_opening_refuses_bad_windows_options_tiers_and_content(polls, clock, signer_a, errors):
    now = clock.now()
    max_window = polls.MAX_WINDOW()
    clock.next_block_at(now + 1)
    with errors.expect(polls, "PollsInvalidWindow", now, now + DAY, now + 1, max_window):
        polls.openPoll(
            CONTENT, 2, now, now + DAY, MIN_TIER, SILVER, {"from": signer_a}
        )  # starts in the past
    start = clock.now() + 10
    for end in (start, start + max_window + 1):  # empty, then one second too long
        at = clock.now() + 1
        clock.next_block_at(at)
        with errors.expect(polls, "PollsInvalidWindow", start, end, at, max_window):
            polls.openPoll(CONTENT, 2, start, end, MIN_TIER, SILVER, {"from": signer_a})
    with errors.expect(polls, "PollsInvalidOptionCount", 1, 32):
        polls.openPoll(CONTENT, 1, start, start + DAY, MIN_TIER, SILVER, {"from": signer_a})
    with errors.expect(polls, "PollsInvalidOptionCount", 33, 32):
        polls.openPoll(CONTENT, 33, start, start + DAY, MIN_TIER, SILVER, {"from": signer_a})
    for tier in (0, 4):
        with errors.expect(polls, "PollsInvalidTier", tier):
            polls.openPoll(CONTENT, 2, start, start + DAY, MIN_TIER, tier, {"from": signer_a})
    with errors.expect(polls, "PollsEmptyContent"):
        polls.openPoll(
            "0x" + "00" * 32, 2, start, start + DAY, MIN_TIER, SILVER, {"from": signer_a}
        )


def test_badge_polls_need_a_soulbound_type_of_the_brand(
    polls, alliance_badges, clock, signer_a, signer_b, admin, errors
):
    achievement = alliance_badges.defineBadge(
        ACHIEVEMENT, 0, 0, False, False, "ipfs://a", {"from": signer_a}
    ).return_value
    collectible = alliance_badges.defineBadge(
        COLLECTIBLE, 0, 0, False, False, "ipfs://c", {"from": signer_a}
    ).return_value
    start = clock.now() + 10
    with errors.expect(polls, "PollsBadgeNotSoulbound", collectible):
        polls.openPoll(CONTENT, 2, start, start + DAY, BADGE, collectible, {"from": signer_a})
    with errors.expect(polls, "PollsForeignBadge", achievement, 1, 2):
        polls.openPoll(CONTENT, 2, start, start + DAY, BADGE, achievement, {"from": signer_b})
    with errors.expect(alliance_badges, "AllianceBadgesUnknownType", 99):
        polls.openPoll(CONTENT, 2, start, start + DAY, BADGE, 99, {"from": signer_a})
    polls.openPoll(
        CONTENT, 2, start, start + DAY, BADGE, achievement, {"from": admin}
    )  # the admin: any brand's


def test_member_of_the_tier_before_the_opening_votes_once(
    polls, tiers, open_poll, clock, alice, errors, events
):
    tiers.reach(alice, SILVER)
    poll_id, start, _ = open_poll()
    clock.travel_to(start)
    tx = polls.vote(poll_id, 2, {"from": alice})
    assert events.one(tx, "VoteCast") == {
        "pollId": poll_id,
        "voter": alice.address,
        "option": 2,
        "tally": 1,
    }
    assert polls.hasVoted(poll_id, alice)
    with errors.expect(polls, "PollsAlreadyVoted", poll_id, alice):
        polls.vote(poll_id, 1, {"from": alice})
    counts, final = polls.tallies(poll_id)
    assert list(counts) == [0, 0, 1] and not final


def test_tier_reached_after_the_opening_gives_no_vote(
    polls, tiers, open_poll, clock, alice, bob, errors
):
    tiers.reach(alice, SILVER)
    poll_id, start, _ = open_poll(start_in=DAY)
    tiers.reach(bob, GOLD)  # bought after the opening, before the window even starts
    clock.travel_to(start)
    assert polls.canVote(poll_id, alice) and not polls.canVote(poll_id, bob)
    with errors.expect(polls, "PollsNotEligible", poll_id, bob):
        polls.vote(poll_id, 0, {"from": bob})


def test_tier_reached_in_the_opening_second_gives_no_vote(
    polls, tiers, ledger, earn, clock, signer_a, bob, errors
):
    earn(signer_a, bob, cents=50_000)  # Silver: 500 USD, 3 orders, 2 engagements
    earn(signer_a, bob, cents=100)
    earn(signer_a, bob, cents=100)
    earn(signer_a, bob, kind="review")
    second = clock.now() + 5
    clock.next_block_at(second)
    start = second + 1
    tx = polls.openPoll(CONTENT, 2, start, start + DAY, MIN_TIER, SILVER, {"from": signer_a})
    assert tx.timestamp == second
    # the upgrading earn lands in a later block of the same second on chains that allow it; here the
    # next block is at `second` too (anvil takes an equal timestamp when told to)
    clock.next_block_at(second)
    earn(signer_a, bob, kind="review")
    assert ledger.tierOf(bob) == SILVER
    clock.travel_to(start)
    with errors.expect(polls, "PollsNotEligible", 1, bob):
        polls.vote(1, 0, {"from": bob})


def test_members_below_the_tier_cannot_vote(polls, tiers, open_poll, clock, alice, errors):
    tiers.reach(alice, SILVER)
    poll_id, start, _ = open_poll(ref=GOLD)
    clock.travel_to(start)
    with errors.expect(polls, "PollsNotEligible", poll_id, alice):
        polls.vote(poll_id, 0, {"from": alice})


def test_badge_issued_after_the_opening_gives_no_vote(
    polls, alliance_badges, open_poll, clock, signer_a, alice, bob, errors
):
    type_id = alliance_badges.defineBadge(
        ACHIEVEMENT, 0, 0, False, False, "ipfs://eco", {"from": signer_a}
    ).return_value
    alliance_badges.issue(type_id, alice, 1, {"from": signer_a})
    poll_id, start, _ = open_poll(eligibility=BADGE, ref=type_id)
    alliance_badges.issue(type_id, bob, 1, {"from": signer_a})
    clock.travel_to(start)
    polls.vote(poll_id, 1, {"from": alice})
    with errors.expect(polls, "PollsNotEligible", poll_id, bob):
        polls.vote(poll_id, 1, {"from": bob})


def test_vote_after_moving_a_badge_is_refused(
    polls, alliance_badges, open_poll, clock, signer_a, alice, bob, errors
):
    """The badge that carries the vote cannot move (soulbound), and the same type reaching someone
    else after the opening carries none: one badge, one vote."""
    type_id = alliance_badges.defineBadge(
        ACHIEVEMENT, 0, 0, False, False, "ipfs://eco", {"from": signer_a}
    ).return_value
    alliance_badges.issue(type_id, alice, 1, {"from": signer_a})
    poll_id, start, _ = open_poll(eligibility=BADGE, ref=type_id)
    clock.travel_to(start)
    polls.vote(poll_id, 0, {"from": alice})
    with errors.expect(alliance_badges, "AllianceBadgesSoulbound", type_id):
        alliance_badges.safeTransferFrom(alice, bob, type_id, 1, b"", {"from": alice})
    alliance_badges.issue(
        type_id, bob, 1, {"from": signer_a}
    )  # a "moved" unit: new to bob after the opening
    with errors.expect(polls, "PollsNotEligible", poll_id, bob):
        polls.vote(poll_id, 0, {"from": bob})
    with errors.expect(polls, "PollsAlreadyVoted", poll_id, alice):
        polls.vote(poll_id, 0, {"from": alice})
    assert list(polls.tallies(poll_id)[0]) == [1, 0, 0]


def test_window_bounds_and_final_results(
    polls, tiers, open_poll, clock, alice, bob, carol, errors, to_plain
):
    for member in (alice, bob, carol):
        tiers.reach(member, SILVER)
    poll_id, start, end = open_poll(start_in=DAY, length=DAY)
    clock.next_block_at(start - 1)
    with errors.expect(polls, "PollsNotOpen", poll_id, start, end, start - 1):
        polls.vote(poll_id, 0, {"from": alice})
    clock.next_block_at(start)
    polls.vote(poll_id, 0, {"from": alice})  # the first second counts
    clock.next_block_at(end - 1)
    polls.vote(poll_id, 1, {"from": bob})  # the last second counts
    assert to_plain(polls.tallies(poll_id)) == ((1, 1, 0), False)
    clock.next_block_at(end)
    with errors.expect(polls, "PollsNotOpen", poll_id, start, end, end):
        polls.vote(poll_id, 0, {"from": carol})
    assert to_plain(polls.tallies(poll_id)) == ((1, 1, 0), True)


def test_invalid_option_and_unknown_poll(polls, tiers, open_poll, clock, alice, errors):
    tiers.reach(alice, SILVER)
    poll_id, start, _ = open_poll(options=2)
    clock.travel_to(start)
    with errors.expect(polls, "PollsInvalidOption", poll_id, 2, 2):
        polls.vote(poll_id, 2, {"from": alice})
    with errors.expect(polls, "PollsUnknownPoll", 7):
        polls.vote(7, 0, {"from": alice})
    with errors.expect(polls, "PollsUnknownPoll", 7):
        polls.tallies(7)


def test_relayed_signed_vote_counts_once(
    polls, tiers, open_poll, clock, alice, relayer, typed, errors
):
    tiers.reach(alice, SILVER)
    poll_id, start, _ = open_poll()
    clock.travel_to(start)
    deadline = start + 3_600
    message = {"voter": alice.address, "pollId": poll_id, "option": 1, "deadline": deadline}
    sig = typed.sign(polls, "AlliancePolls", "Vote", typed.VOTE, message, alice.private_key)
    polls.voteWithSig(poll_id, alice, 1, deadline, sig, {"from": relayer})
    assert list(polls.tallies(poll_id)[0]) == [0, 1, 0]
    with errors.expect(polls, "PollsAlreadyVoted", poll_id, alice):
        polls.voteWithSig(poll_id, alice, 1, deadline, sig, {"from": relayer})


def test_signed_vote_refuses_another_signer_another_option_and_late_relay(
    polls, tiers, open_poll, clock, alice, bob, relayer, typed, errors
):
    tiers.reach(alice, SILVER)
    poll_id, start, _ = open_poll()
    clock.travel_to(start)
    deadline = start + 100
    message = {"voter": alice.address, "pollId": poll_id, "option": 1, "deadline": deadline}
    by_bob = typed.sign(polls, "AlliancePolls", "Vote", typed.VOTE, message, bob.private_key)
    with errors.expect(polls, "PollsInvalidSignature", alice):
        polls.voteWithSig(poll_id, alice, 1, deadline, by_bob, {"from": relayer})
    sig = typed.sign(polls, "AlliancePolls", "Vote", typed.VOTE, message, alice.private_key)
    with errors.expect(polls, "PollsInvalidSignature", alice):
        polls.voteWithSig(poll_id, alice, 2, deadline, sig, {"from": relayer})
    clock.next_block_at(deadline + 1)
    with errors.expect(polls, "PollsSignatureExpired", deadline, deadline + 1):
        polls.voteWithSig(poll_id, alice, 1, deadline, sig, {"from": relayer})


def test_the_ledgers_pause_stops_opening_and_voting(
    polls, ledger, tiers, open_poll, clock, admin, signer_a, alice, errors
):
    tiers.reach(alice, SILVER)
    poll_id, start, _ = open_poll()
    clock.travel_to(start)
    ledger.pause({"from": admin})
    assert polls.paused()
    with errors.expect(polls, "EnforcedPause"):
        polls.vote(poll_id, 0, {"from": alice})
    with errors.expect(polls, "EnforcedPause"):
        polls.openPoll(CONTENT, 2, start + 10, start + DAY, MIN_TIER, SILVER, {"from": signer_a})
    ledger.unpause({"from": admin})
    polls.vote(poll_id, 0, {"from": alice})


def test_membership_badge_keeps_when_each_tier_was_reached(
    MembershipBadge, DirectoryStub, admin, clock, errors
):
    # a stub stands in for the ledger's pause; the admin holds LEDGER_ROLE to call setTier
    badge = MembershipBadge.deploy(admin, ZERO_ADDRESS, {"from": admin})
    badge.grantRole(badge.LEDGER_ROLE(), admin, {"from": admin})
    badge.setLedger(DirectoryStub.deploy({"from": admin}), {"from": admin})
    member = accounts.add()
    assert badge.tierHeldSince(member, 1) == 0
    first = badge.setTier(member, 3, {"from": admin}).timestamp
    assert [badge.tierHeldSince(member, t) for t in (1, 2, 3)] == [first, first, first]
    clock.travel_to(clock.now() + 50)
    badge.setTier(member, 1, {"from": admin})
    assert [badge.tierHeldSince(member, t) for t in (1, 2, 3)] == [first, 0, 0]
    clock.travel_to(clock.now() + 50)
    again = badge.setTier(member, 2, {"from": admin}).timestamp
    assert [badge.tierHeldSince(member, t) for t in (1, 2, 3)] == [first, again, 0]
    with errors.expect(badge, "MembershipBadgeInvalidTier", 0, 3):
        badge.tierHeldSince(member, 0)
    assert badge.tierHeldSince(ZERO_ADDRESS, 2) == 0


def test_achievements_keep_when_first_received_and_collectibles_do_not(
    alliance_badges, signer_a, alice
):
    achievement = alliance_badges.defineBadge(
        ACHIEVEMENT, 0, 0, False, False, "ipfs://a", {"from": signer_a}
    ).return_value
    collectible = alliance_badges.defineBadge(
        COLLECTIBLE, 0, 0, False, False, "ipfs://c", {"from": signer_a}
    ).return_value
    first = alliance_badges.issue(achievement, alice, 1, {"from": signer_a}).timestamp
    alliance_badges.issue(achievement, alice, 2, {"from": signer_a})
    alliance_badges.issue(collectible, alice, 1, {"from": signer_a})
    assert alliance_badges.heldSince(achievement, alice) == first
    assert alliance_badges.heldSince(collectible, alice) == 0
