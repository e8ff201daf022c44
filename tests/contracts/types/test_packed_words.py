"""The packed storage words (contracts/types/): each field reads back what was written and no
field overlaps another, so the ledger and the lens agree on every word whatever the order of
the interface's structs. Exercised through PackedWordsHarness (contracts/test/)."""

import datetime as dt

import pytest

MEMBER_FIELDS = {  # IAllianceLedger.MemberStatus field -> width in bits
    "tier": 8,
    "quarter": 16,
    "spendCents": 48,
    "orders": 32,
    "engagements": 32,
    "graceUntilMonth": 16,
    "reviewedQuarter": 16,
    "closedQuarter": 16,
    "closedBestTier": 8,
}
BRAND_FIELDS = {  # harness field number -> (name, width)
    1: ("suspended", 1),
    2: ("rule", 40),
    3: ("valueMicroUsd", 32),
    4: ("latestMonth", 16),
    5: ("issued", 96),
    6: ("latestMonthLive", 56),
}
BRAND_GETTERS = (
    "exists",
    "suspended",
    "rule",
    "valueMicroUsd",
    "latestMonth",
    "issued",
    "latestMonthLive",
)
KINDS = ("purchase", "review", "share", "event", "referral")  # IAllianceLedger.EarnKind
MAX_WORD = 2**256 - 1


@pytest.fixture(scope="module")
def harness(PackedWordsHarness, admin):
    return PackedWordsHarness.deploy({"from": admin})


def _status(harness, word):
    return dict(harness.memberToStatus(word).dict())


def _brand(harness, word):
    return dict(zip(BRAND_GETTERS, harness.brandFields(word), strict=True))


# ------------------------------------------------------------------------------- MemberWord


def test_member_word_round_trips_every_field_at_its_maximum(harness):
    full = {name: 2**bits - 1 for name, bits in MEMBER_FIELDS.items()}
    word = harness.memberFromStatus(tuple(full.values()))
    assert _status(harness, word) == full
    # the fields take 192 distinct bits: none overlaps another
    assert bin(word).count("1") == sum(MEMBER_FIELDS.values()) == 192


@pytest.mark.parametrize("name", list(MEMBER_FIELDS))
def test_member_word_field_at_its_maximum_touches_no_other_field(harness, name):
    values = {n: (2**bits - 1 if n == name else 0) for n, bits in MEMBER_FIELDS.items()}
    word = harness.memberFromStatus(tuple(values.values()))
    assert _status(harness, word) == values


def test_member_word_setters_change_only_their_field(harness):
    word = harness.memberFromStatus((1, 2, 3, 4, 5, 6, 7, 8, 9))
    cases = [
        (0, 255, 0, {"tier": 255}),
        (1, 65_535, 0, {"graceUntilMonth": 65_535}),
        (2, 42, 0, {"reviewedQuarter": 42}),
        (3, 41, 3, {"closedQuarter": 41, "closedBestTier": 3}),
    ]
    before = _status(harness, word)
    for field, value, second, changed in cases:
        after = _status(harness, harness.memberSet(word, field, value, second))
        assert after == {**before, **changed}
    # a value wider than its field is masked, never spilled into the neighbour
    assert _status(harness, harness.memberSet(word, 0, 256 + 7, 0)) == {**before, "tier": 7}


def test_member_word_counters_are_replaced_together_and_nothing_else(harness):
    word = harness.memberFromStatus((3, 100, 1, 1, 1, 300, 99, 98, 2))
    updated = harness.memberSetCounters(word, 101, 2**48 - 1, 2**32 - 1, 17)
    assert _status(harness, updated) == {
        **_status(harness, word),
        "quarter": 101,
        "spendCents": 2**48 - 1,
        "orders": 2**32 - 1,
        "engagements": 17,
    }


def test_member_word_ignores_bits_outside_its_fields(harness):
    assert _status(harness, MAX_WORD) == {n: 2**b - 1 for n, b in MEMBER_FIELDS.items()}


# ------------------------------------------------------------------------------ BrandConfig


def test_a_new_brand_word_exists_active_with_its_rule_and_value(harness):
    rule = (10, 5, 3, 5, 20)
    word = harness.brandCreate(rule, 10_000)
    assert _brand(harness, word) == {
        "exists": True,
        "suspended": False,
        "rule": harness.rulePack(rule),
        "valueMicroUsd": 10_000,
        "latestMonth": 0,
        "issued": 0,
        "latestMonthLive": 0,
    }


@pytest.mark.parametrize("field", list(BRAND_FIELDS))
def test_brand_word_setter_changes_only_its_field(harness, field):
    name, bits = BRAND_FIELDS[field]
    maximum = 2**bits - 1
    empty = _brand(harness, harness.brandSet(0, field, maximum))
    assert empty == {g: (maximum if g == name else 0) for g in BRAND_GETTERS} | (
        {"suspended": True} if name == "suspended" else {}
    )
    # cleared inside a full word: every other field keeps all its bits
    cleared = _brand(harness, harness.brandSet(MAX_WORD, field, 0))
    assert cleared[name] in (0, False)
    assert {g: v for g, v in cleared.items() if g != name} == {
        g: v for g, v in _brand(harness, MAX_WORD).items() if g != name
    }


def test_brand_word_fields_fill_the_word_without_overlap(harness):
    word = 0
    for field, (_, bits) in BRAND_FIELDS.items():
        word = harness.brandSet(word, field, 2**bits - 1)
    # exists (8 bits, created only by create) is the one field left empty
    assert bin(word).count("1") == 1 + 40 + 32 + 16 + 96 + 56  # suspended stores 1
    assert not _brand(harness, word)["exists"]


# ---------------------------------------------------------------------------- LedgerGlobals


def test_tier_rules_and_pause_flag_share_the_word_without_touching_each_other(harness):
    rules = {1: (50_000, 3, 2), 2: (2**48 - 1, 2**16 - 1, 2**16 - 1), 3: (1, 0, 65_535)}
    word = harness.globalsSetPaused(0, True)
    for tier, rule in rules.items():
        word = harness.globalsSetTierRule(word, tier, rule)
    assert harness.globalsPaused(word)
    assert {t: tuple(harness.globalsTierRule(word, t)) for t in rules} == rules
    unpaused = harness.globalsSetPaused(word, False)
    assert not harness.globalsPaused(unpaused)
    assert {t: tuple(harness.globalsTierRule(unpaused, t)) for t in rules} == rules
    replaced = harness.globalsSetTierRule(word, 2, (7, 8, 9))
    assert [tuple(harness.globalsTierRule(replaced, t)) for t in (1, 2, 3)] == [
        rules[1],
        (7, 8, 9),
        rules[3],
    ]
    assert harness.globalsPaused(replaced)


def _every_rule_bit_and_the_pause(harness):
    rules = {t: (2**48 - 1, 2**16 - 1, 2**16 - 1) for t in (1, 2, 3)}
    full = harness.globalsSetPaused(0, True)
    for tier, rule in rules.items():
        full = harness.globalsSetTierRule(full, tier, rule)
    return full, rules


def test_the_multiplier_cap_sits_in_bits_240_to_249_and_reads_1000_when_unset(harness):
    full, rules = _every_rule_bit_and_the_pause(harness)
    full = harness.globalsSetOrderFloorUsd(full, 31)  # every floor bit set
    assert harness.globalsMaxMultiplierPct(0) == harness.globalsMaxMultiplierPct(full) == 1000
    word = harness.globalsSetMaxMultiplierPct(full, 2**10 - 1)
    assert word == full | ((2**10 - 1) << 240)
    assert harness.globalsMaxMultiplierPct(word) == 2**10 - 1
    assert harness.globalsOrderFloorCents(word) == 3_100
    assert harness.globalsPaused(word)
    assert {t: tuple(harness.globalsTierRule(word, t)) for t in rules} == rules
    lowered = harness.globalsSetMaxMultiplierPct(word, 150)
    assert harness.globalsMaxMultiplierPct(lowered) == 150
    assert lowered == full | (150 << 240)
    assert harness.globalsMaxMultiplierPct(harness.globalsSetPaused(lowered, False)) == 150


def test_the_order_floor_sits_in_bits_250_to_254_and_reads_0_when_unset(harness):
    full, rules = _every_rule_bit_and_the_pause(harness)
    full = harness.globalsSetMaxMultiplierPct(full, 2**10 - 1)  # every cap bit set
    assert harness.globalsOrderFloorCents(0) == harness.globalsOrderFloorCents(full) == 0
    word = harness.globalsSetOrderFloorUsd(full, 31)
    assert word == full | (31 << 250)
    assert harness.globalsOrderFloorCents(word) == 3_100
    assert harness.globalsMaxMultiplierPct(word) == 2**10 - 1
    assert harness.globalsPaused(word)
    assert {t: tuple(harness.globalsTierRule(word, t)) for t in rules} == rules
    lowered = harness.globalsSetOrderFloorUsd(word, 10)
    assert lowered == full | (10 << 250)
    assert harness.globalsOrderFloorCents(lowered) == 1_000
    assert harness.globalsOrderFloorCents(harness.globalsSetOrderFloorUsd(lowered, 0)) == 0


def test_no_tier_is_met_when_none_is_configured(harness):
    assert harness.globalsBestTier(0, 2**48 - 1, 2**32 - 1, 2**32 - 1) == 0
    assert not harness.globalsMeetsEntry(0, 2**48 - 1, 2**32 - 1, 2**32 - 1)


@pytest.mark.parametrize(
    "counters",
    [(0, 0, 0), (99, 3, 0), (100, 3, 0), (999, 2, 5), (1_000, 1, 0), (1_000, 3, 0), (50_000, 3, 2)],
)
def test_counters_short_of_the_lowest_floors_meet_no_tier_even_with_rules_out_of_order(
    harness, counters
):
    # Diamond below Silver in spend, above it in orders (possible while Gold is unset)
    word = harness.globalsSetTierRule(0, 3, (100, 3, 0))
    word = harness.globalsSetTierRule(word, 1, (1_000, 1, 0))
    best = harness.globalsBestTier(word, *counters)
    meets_entry = harness.globalsMeetsEntry(word, *counters)
    assert meets_entry or best == 0
    spend, orders, engagements = counters
    assert meets_entry == (spend >= 100 and orders >= 1 and engagements >= 0)
    expected = 3 if (spend >= 100 and orders >= 3) else 1 if (spend >= 1_000 and orders >= 1) else 0
    assert best == expected


# ---------------------------------------------------------------------------- PackedEarnRule


def test_earn_rule_packs_one_byte_per_kind_in_enum_order(harness):
    rule = (10, 5, 3, 255, 20)
    packed = harness.rulePack(rule)
    assert tuple(harness.ruleUnpack(packed)) == rule
    assert [harness.ruleRate(packed, k) for k in range(len(KINDS))] == list(rule)
    assert packed == sum(rate << (8 * k) for k, rate in enumerate(rule))


# ---------------------------------------------------------------------------- PendingWord
# 4 purchase positions of 52 bits (`releaseDay 16 | month 2 | orders 6 | amount 28`), then the
# tier-gift lock (`releaseDay 16 | amount 32`) in bits 208 to 255 (2026-12-06: 50-bit positions
# with no month, and a 40-bit lock amount).


def _position(word, i):
    return (word >> (52 * i)) & (2**52 - 1)


def _lock(word):
    return word >> 208


def _month(day):
    """The month index (months since January 1970) of a day index."""
    date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
    return (date.year - 1970) * 12 + date.month - 1


def test_pending_positions_and_the_lock_at_their_maxima_touch_nothing_else(harness):
    """A trial of 2026-12-05 filled every field to its limit: each keeps to its own bits."""
    word = 0
    days = [65_532, 65_533, 65_534, 65_535]
    month = _month(65_500)
    for day in days:
        word, released, ok, moved = harness.pendingAdd(word, 65_500, day, 2**28 - 1, month)
        assert ok and released == day and moved == 0
    word, ok = harness.pendingWithGift(word, 65_535, 2**32 - 1)
    assert ok
    assert [_position(word, i) >> 36 for i in range(4)] == days
    assert [(_position(word, i) >> 34) & 3 for i in range(4)] == [month & 3] * 4
    assert [_position(word, i) & (2**28 - 1) for i in range(4)] == [2**28 - 1] * 4
    assert _lock(word) == (65_535 << 32) | (2**32 - 1)
    assert harness.pendingLocked(word, 65_500) == 4 * (2**28 - 1) + 2**32 - 1
    # a purchase of the latest position's day and month joins it, which is full: refused
    assert harness.pendingAdd(word, 65_500, 65_535, 1, month)[2] is False
    # a reversal never reaches the lock: the latest position holds 2**28 - 1 only
    updated, held, _, _ = harness.pendingTake(word, 65_535, month, 2**28, True)
    assert (updated, held) == (word, 2**28 - 1)
    updated, held, closed, day = harness.pendingTake(word, 65_535, month, 2**28 - 1, True)
    assert closed == 1 and day == 65_535 and _position(updated, 3) == 0
    assert _lock(updated) == _lock(word)
    assert updated & (2**156 - 1) == word & (2**156 - 1)


@pytest.mark.parametrize("release_day", [65_536, 65_537, 2**17])
def test_a_release_day_past_16_bits_is_refused_and_spills_into_no_other_field(harness, release_day):
    """A trial of 2026-12-05: from day 65,536 (2149-06-07 UTC) a purchase's release day did not
    fit its 16 bits; position 3's spilled into the lock's amount (a phantom locked point) and
    the purchase was stored as released at once, out of its brand's reach. Now refused."""
    word = 0
    month = _month(65_445)
    for day in (65_531, 65_532, 65_533):
        word, _, ok, _ = harness.pendingAdd(word, 65_445, day, 100, month)
        assert ok
    word, ok = harness.pendingWithGift(word, 65_533, 500)
    assert ok
    updated, _, ok, _ = harness.pendingAdd(word, 65_445, release_day, 10, month)
    assert ok is False and updated == word
    assert harness.pendingWithGift(word, release_day, 500) == (word, False)
    # the last day that fits is taken as any other
    updated, released, ok, _ = harness.pendingAdd(word, 65_445, 65_535, 10, month)
    assert ok and released == 65_535 and _position(updated, 3) >> 36 == 65_535
    assert _lock(updated) == _lock(word)


def test_orders_saturate_at_63_without_reaching_the_day(harness):
    word = 0
    for _ in range(70):
        word, _, ok, _ = harness.pendingAdd(word, 100, 115, 1, _month(100))
        assert ok
    assert _position(word, 0) == (115 << 36) | ((_month(100) & 3) << 34) | (63 << 28) | 70


def _orders(word, i):
    return (_position(word, i) >> 28) & 63


def test_a_purchase_below_the_order_floor_adds_no_order_to_its_position(harness):
    """The order floor: a position counts only the purchases that counted as orders, so a
    return closes no more (a new position, a join, a merge into the purchase's day)."""
    month = _month(100)
    word, _, ok, _ = harness.pendingAddCounted(0, 100, 110, 5, month, False)  # a new position
    assert ok and _orders(word, 0) == 0
    word, _, ok, _ = harness.pendingAddCounted(word, 100, 110, 7, month, True)  # joins it
    assert ok and _orders(word, 0) == 1
    word, _, ok, _ = harness.pendingAddCounted(word, 100, 110, 9, month, False)
    assert ok and _orders(word, 0) == 1
    closes = [harness.pendingTake(word, 110, month, n, True)[2] for n in (5, 21)]
    assert closes == [1, 1]  # one order either way: the position's only one
    word = harness.pendingTake(word, 110, month, 5, True)[0]
    assert harness.pendingTake(word, 110, month, 16, True)[2] == 0  # none left

    merged = 0  # 4 days of one month pending, then a 5th: the latest position takes it
    for day, counts in ((111, True), (112, False), (113, False), (114, False)):
        merged, _, ok, _ = harness.pendingAddCounted(merged, 100, day, 1, month, counts)
        assert ok
    merged, released, ok, moved = harness.pendingAddCounted(merged, 100, 115, 1, month, False)
    assert ok and released == 115 and moved == 114 | (115 << 16) | (month << 32)
    assert harness.pendingTake(merged, 115, month, 2, True)[2] == 0
    assert harness.pendingTake(merged, 111, month, 1, True)[2] == 1


def test_a_position_keeps_no_more_orders_than_its_points_left_can_have_counted(harness):
    """A review of 2026-12-07: a brand returned the purchases it asserted without closing their
    orders (`closesOrder` false), and the member kept them. An emptied position keeps none; with
    an order floor, no more than the spend its points left earn holds floors."""
    month = _month(100)
    word = 0
    for _ in range(3):  # three 10 USD purchases at 20 points a USD: 600 points, 3 orders
        word, _, ok, _ = harness.pendingAddCounted(word, 100, 110, 200, month, True)
        assert ok
    assert _orders(word, 0) == 3
    # no floor: the brand's word, until the position is empty
    assert harness.pendingTakeFloor(word, 110, month, 599, False, 0, 20)[2] == 0
    assert harness.pendingTakeFloor(word, 110, month, 600, False, 0, 20)[2] == 3
    # a 10 USD floor: 401 points left earn at most 20.10 USD, two floors; 199, one; 198, none
    assert harness.pendingTakeFloor(word, 110, month, 199, False, 1_000, 20)[2] == 1
    assert harness.pendingTakeFloor(word, 110, month, 199, True, 1_000, 20)[2] == 1
    assert harness.pendingTakeFloor(word, 110, month, 200, True, 1_000, 20)[2] == 1
    assert harness.pendingTakeFloor(word, 110, month, 401, False, 1_000, 20)[2] == 2
    assert harness.pendingTakeFloor(word, 110, month, 402, False, 1_000, 20)[2] == 3
    assert harness.pendingTakeFloor(word, 110, month, 1, False, 1_000, 0)[2] == 0  # no rate


@pytest.mark.parametrize("window", [1, 2, 14, 30, 88, 89, 90])
def test_a_positions_earn_month_is_exact_for_every_day_and_window(harness, window):
    """2026-12-06: a position keeps its earn month modulo 4, read back against the month of
    its release day less 2 days. Every day of a leap year and the next, at each window
    (0 to 90 days: released the day after the window's last), gives its own month back,
    the month ends included (January 31 with a 90-day window is released on May 2)."""
    first = (dt.date(2028, 1, 1) - dt.date(1970, 1, 1)).days
    for day in range(first - 3, first + 731, 3 if window not in (1, 89, 90) else 1):
        release = day + window + 1
        assert harness.pendingEarnMonth(release, _month(day) & 3) == _month(day), (day, window)


def test_a_position_never_takes_a_purchase_of_another_month(harness):
    """2026-12-06: a position's points sit in one month's lot, and a purchase is never released
    before its own day. A position is named by its day and month: a purchase of the day of a
    position of another month takes a position of its own; with all 4 pending, the closest
    two of one month merge into the later day (before, the purchase was live at once, or joined
    its month's latest, earlier, day)."""
    june_26 = (dt.date(2027, 6, 26) - dt.date(1970, 1, 1)).days
    june, july = _month(june_26), _month(june_26) + 1
    word = 0
    for i in range(3):  # June 26 to 28, a 14-day window: released July 11 to 13
        word, released, ok, _ = harness.pendingAdd(word, june_26 + i, june_26 + i + 15, 100, june)
        assert ok and released == june_26 + i + 15
    july_1 = june_26 + 5
    # a July purchase released on July 13 (a shorter window), beside June's July 13: its own
    word, released, ok, moved = harness.pendingAdd(word, july_1, june_26 + 17, 7, july)
    assert (released, ok, moved) == (june_26 + 17, True, 0)
    assert [(_position(word, i) >> 34) & 3 for i in range(4)] == [june & 3] * 3 + [july & 3]
    # all 4 pending: a July purchase released on July 16; July's only other position (July 13)
    # and the June pairs 1 day apart: the latest pair, June's July 12 and 13, merge into 13
    updated, released, ok, moved = harness.pendingAdd(word, july_1, july_1 + 15, 9, july)
    assert (released, ok) == (july_1 + 15, True)
    assert moved == (june_26 + 16) | ((june_26 + 17) << 16) | (june << 32)
    positions = [
        (_position(updated, i) >> 36, _position(updated, i) & (2**28 - 1)) for i in range(4)
    ]
    assert positions == [
        (june_26 + 15, 100),
        (july_1 + 15, 9),
        (june_26 + 17, 200),
        (june_26 + 17, 7),
    ]
    # each purchase is found by its own day and month: July 12's June points on July 13
    for day, month, day_found in (
        (june_26 + 15, june, june_26 + 15),
        (june_26 + 16, june, june_26 + 17),
        (june_26 + 17, june, june_26 + 17),
        (june_26 + 17, july, june_26 + 17),
        (july_1 + 15, july, july_1 + 15),
    ):
        assert harness.pendingTake(updated, day, month, 1, False)[3] == day_found
    # a month that holds no position there finds nothing
    assert harness.pendingTake(updated, july_1 + 15, june, 1, False)[1] == 0


def test_pending_points_are_held_in_their_earn_months(harness):
    """What a spend leaves in each lot (index 0 = the current month - 12): a position's points in
    its earn month, released positions nothing."""
    june_26 = (dt.date(2027, 6, 26) - dt.date(1970, 1, 1)).days
    june = _month(june_26)
    word, _, _, _ = harness.pendingAdd(0, june_26, june_26 + 15, 100, june)  # July 11
    word, _, _, _ = harness.pendingAdd(word, june_26 + 6, june_26 + 21, 30, june + 1)  # July 17
    word, _, _, _ = harness.pendingAdd(word, june_26 + 6, june_26 + 8, 5, june + 1)  # July 4
    held = harness.pendingHeldByMonth(word, june_26 + 7, june + 1)  # July 3
    assert (held[11], held[12], sum(held)) == (100, 35, 135)
    # a shorter window's July 4 joined July's later July 17 (held longer, never shorter)
    held = harness.pendingHeldByMonth(word, june_26 + 8, june + 1)
    assert (held[11], held[12], sum(held)) == (100, 35, 135)
    held = harness.pendingHeldByMonth(word, june_26 + 15, june + 1)  # July 11: June's released
    assert (held[11], held[12], sum(held)) == (0, 35, 35)


# ---------------------------------------------------------------------------- LockMonths
# up to 4 entries of 64 bits (`month 16 | amount 48`): a tier-gift lock's points per earn month


def test_a_gift_lock_keeps_four_months_and_takes_the_newest_first(harness):
    word = 0
    for month, amount in ((700, 10), (701, 20), (700, 5), (703, 40), (702, 1)):
        word, ok = harness.lockMonthsAdd(word, month, amount)
        assert ok
    assert [(word >> (64 * i)) & (2**64 - 1) for i in range(4)] == [
        (700 << 48) | 15,
        (701 << 48) | 20,
        (703 << 48) | 40,
        (702 << 48) | 1,
    ]
    assert list(harness.lockMonthsAdd(word, 704, 1)) == [word, False]  # a fifth month: refused
    held = harness.lockMonthsHeld(word, 705)  # index 0 = month 693
    assert [held[m - 693] for m in (700, 701, 702, 703)] == [15, 20, 1, 40]
    updated, taken = harness.lockMonthsTakeNewest(word, 45, 705)
    assert [taken[m - 693] for m in (700, 701, 702, 703)] == [0, 4, 1, 40]
    assert [(updated >> (64 * i)) & (2**48 - 1) for i in range(4)] == [15, 16, 0, 0]
    # a freed entry takes a new month
    updated, ok = harness.lockMonthsAdd(updated, 704, 3)
    assert ok and (updated >> 128) & (2**64 - 1) == (704 << 48) | 3
