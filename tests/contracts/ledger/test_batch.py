"""earnBatch: many operations in one call; an operation that cannot apply is skipped with an
OperationSkipped event carrying its error's selector, and never reverts its neighbours."""

import pytest
from brownie import ZERO_ADDRESS, web3

MAX_AMOUNT = 10**12


def _skipped(events, tx):
    return [(e["brand"], e["opId"], e["reason"]) for e in events.all(tx, "OperationSkipped")]


def _earned(events, tx):
    return [(e["member"], e["opId"], e["points"]) for e in events.all(tx, "PointsEarned")]


def test_batch_applies_every_valid_operation(
    ledger, lens, earn, signer_a, alice, bob, carol, brand_a, events, to_plain
):
    ops = [
        earn.op(alice, cents=10_000, op_id=1),
        earn.op(bob, "review", op_id=2),
        earn.op(carol, cents=2_550, mult=200, op_id=3),
        earn.op(alice, "share", op_id=4),
    ]
    tx = earn.batch(signer_a, ops)

    assert tx.return_value == 4
    assert _skipped(events, tx) == []
    assert _earned(events, tx) == [(alice, 1, 1_000), (bob, 2, 5), (carol, 3, 510), (alice, 4, 3)]
    assert [ledger.balanceOf(m, brand_a) for m in (alice, bob, carol)] == [1_003, 5, 510]
    assert to_plain(lens.brandAccount(brand_a)) == (1_518, 0, 0, 1_518, 0)
    assert all(ledger.isOperationUsed(brand_a, i) for i in (1, 2, 3, 4))


def test_a_batch_emits_one_record_per_applied_operation_with_every_field_of_points_earned(
    ledger, earn, signer_a, admin, alice, bob, brand_a, events, clock
):
    """Issue 15: `earnBatch` emits one `PointsEarnedBatch` (80 bytes per applied operation, in
    order) instead of a `PointsEarned` per operation; each record carries what `PointsEarned`
    says, and each applied operation's mint `Transfer` comes before it, in the same order. The
    widest values of each field come back whole; a skipped operation has no record. The widest
    points are live (a pending purchase position holds at most 2**28 - 1 points, see
    test_a_purchase_refused_for_its_pending_position_changes_nothing); the next batch, with a
    return window, carries its release time."""
    big, ref = 10**12, "0x" + "ab" * 32
    ops = [
        earn.op(alice, cents=big, mult=1_000, op_id=2**64 - 1, ref=ref),  # 10**12 points
        earn.op(bob, "review", op_id=7),
        earn.op(alice, cents=0, op_id=8),  # refused: LedgerInvalidAmount
        earn.op(bob, cents=1, mult=100, op_id=9),  # 0 points: refused
    ]
    ledger.setDailyMintCap(brand_a, 2**112 - 1, {"from": admin})
    tx = earn.batch(signer_a, ops)
    ledger.setReturnWindow(brand_a, 90, {"from": admin})
    later = earn.batch(signer_a, [earn.op(bob, cents=1_234, mult=50, op_id=10)])

    release = (later.timestamp // 86_400 + 90 + 1) * 86_400
    records = events.all(tx, "PointsEarned") + events.all(later, "PointsEarned")
    fields = ("member", "opId", "kind", "points", "spendCents", "releaseAt")
    assert [tuple(r[f] for f in fields) for r in records] == [
        (alice, 2**64 - 1, 0, big * 10 * 1_000 // 10_000, big, 0),
        (bob, 7, 1, 5, 0, 0),
        (bob, 10, 0, 1_234 * 10 * 50 // 10_000, 1_234 * 50 // 100, release),
    ]
    assert records[0]["orderRef"] == ref
    assert bytes(records[1]["orderRef"]) == bytes(ops[1][5])
    assert len(events.all(tx, "PointsEarnedBatch")) == 1 and "PointsEarned" not in tx.events
    mints = [t for t in events.all(tx, "Transfer", ledger) if t["id"] == brand_a]
    assert [t["receiver"] for t in mints] == [r["member"] for r in records[:2]]
    assert [e["opId"] for e in events.all(tx, "OperationSkipped")] == [8, 9]


def test_empty_batch_applies_nothing(ledger, lens, earn, signer_a, brand_a, to_plain):
    tx = earn.batch(signer_a, [])
    assert tx.return_value == 0
    assert to_plain(lens.brandAccount(brand_a)) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    "bad_op, error",
    [
        ({"op_id": 900}, "LedgerOperationUsed"),  # used by an earlier call
        ({"op_id": 11}, "LedgerOperationUsed"),  # repeats the batch's first op
        ({"member": ZERO_ADDRESS}, "LedgerInvalidMember"),
        ({"mult": 0}, "LedgerInvalidMultiplier"),
        ({"mult": 1_001}, "LedgerInvalidMultiplier"),
        ({"cents": 0}, "LedgerInvalidAmount"),
        ({"cents": MAX_AMOUNT + 1}, "LedgerInvalidAmount"),
        ({"cents": 5}, "LedgerZeroPoints"),
    ],
)
def test_batch_with_a_failing_operation_in_the_middle_applies_its_neighbours(
    ledger, lens, earn, signer_a, alice, bob, brand_a, bad_op, error, errors, events, to_plain
):
    earn(signer_a, bob, "review", op_id=900)
    before = ledger.balanceOf(bob, brand_a)
    bad = {"member": bob, "cents": 10_000, "mult": 100, "op_id": 12, **bad_op}
    ops = [
        earn.op(alice, cents=10_000, op_id=11),
        earn.op(bad.pop("member"), **bad),
        earn.op(alice, cents=20_000, op_id=13),
    ]
    bad_id = ops[1][0]

    tx = earn.batch(signer_a, ops)

    assert tx.return_value == 2
    assert _skipped(events, tx) == [(brand_a, bad_id, "0x" + errors.selector(ledger, error).hex())]
    assert _earned(events, tx) == [(alice, 11, 1_000), (alice, 13, 2_000)]
    assert ledger.balanceOf(alice, brand_a) == 3_000
    assert ledger.balanceOf(bob, brand_a) == before
    assert to_plain(lens.brandAccount(brand_a))[0] == 3_000 + before
    assert ledger.isOperationUsed(brand_a, 11) and ledger.isOperationUsed(brand_a, 13)
    assert ledger.isOperationUsed(brand_a, 12) is False


def test_operation_id_reused_across_batches_is_skipped_not_reverted(
    ledger, earn, signer_a, alice, brand_a, errors, events
):
    earn.batch(signer_a, [earn.op(alice, cents=10_000, op_id=500)])
    tx = earn.batch(
        signer_a, [earn.op(alice, cents=10_000, op_id=500), earn.op(alice, "review", op_id=501)]
    )

    used = "0x" + errors.selector(ledger, "LedgerOperationUsed").hex()
    assert tx.return_value == 1
    assert _skipped(events, tx) == [(brand_a, 500, used)]
    assert ledger.balanceOf(alice, brand_a) == 1_005


def test_batch_tracks_operation_ids_across_bitmap_words(
    ledger, earn, signer_a, alice, brand_a, errors, events
):
    ids = [3, 300, 4, 2**40, 300, 3, 70_000, 2**40 + 1, 4]
    tx = earn.batch(signer_a, [earn.op(alice, "review", op_id=i) for i in ids])

    used = "0x" + errors.selector(ledger, "LedgerOperationUsed").hex()
    assert tx.return_value == 6
    assert _skipped(events, tx) == [(brand_a, 300, used), (brand_a, 3, used), (brand_a, 4, used)]
    assert ledger.balanceOf(alice, brand_a) == 6 * 5
    for i in set(ids):
        assert ledger.isOperationUsed(brand_a, i)
    for i in (2, 5, 299, 301, 2**40 + 2, 69_999):
        assert not ledger.isOperationUsed(brand_a, i)
    # and a later call sees every id of the batch as used
    again = earn.batch(signer_a, [earn.op(alice, "review", op_id=i) for i in set(ids)])
    assert again.return_value == 0


def test_batch_where_every_operation_fails_changes_nothing(
    ledger, lens, earn, signer_a, alice, brand_a, events, to_plain
):
    tx = earn.batch(signer_a, [earn.op(alice, mult=0, op_id=40), earn.op(ZERO_ADDRESS, op_id=41)])

    assert tx.return_value == 0
    assert len(events.all(tx, "OperationSkipped")) == 2
    assert to_plain(lens.brandAccount(brand_a)) == (0, 0, 0, 0, 0)
    assert not ledger.isOperationUsed(brand_a, 40) and not ledger.isOperationUsed(brand_a, 41)


def test_suspended_brand_batch_skips_every_operation_with_the_suspension_selector(
    ledger, lens, admin, earn, signer_a, alice, bob, brand_a, errors, events, to_plain
):
    ledger.setBrandSuspended(brand_a, True, {"from": admin})
    ops = [earn.op(alice, op_id=60), earn.op(bob, "review", op_id=61), earn.op(alice, op_id=62)]

    tx = earn.batch(signer_a, ops)

    suspended = "0x" + errors.selector(ledger, "LedgerBrandSuspended").hex()
    assert tx.return_value == 0
    assert _skipped(events, tx) == [
        (brand_a, 60, suspended),
        (brand_a, 61, suspended),
        (brand_a, 62, suspended),
    ]
    assert "PointsEarned" not in tx.events and "PointsEarnedBatch" not in tx.events
    assert ledger.balanceOf(alice, brand_a) == 0
    assert to_plain(lens.brandAccount(brand_a)) == (0, 0, 0, 0, 0)
    assert not any(ledger.isOperationUsed(brand_a, i) for i in (60, 61, 62))

    ledger.setBrandSuspended(brand_a, False, {"from": admin})
    assert earn.batch(signer_a, ops).return_value == 3


def test_batch_from_a_non_signer_reverts(ledger, earn, outsider, alice, errors):
    with errors.expect(ledger, "LedgerNotBrandSigner", outsider, 0):
        earn.batch(outsider, [earn.op(alice)])


def test_batch_upgrades_a_tier_mid_batch_and_credits_the_gift(
    ledger, membership_badge, earn, signer_a, alice, brand_a, events
):
    # Silver needs 500 USD, 3 orders and 2 engagements in the quarter (DEFAULT_TIER_RULES)
    ops = [earn.op(alice, cents=20_000) for _ in range(3)] + [
        earn.op(alice, "review") for _ in range(3)
    ]

    tx = earn.batch(signer_a, ops)

    upgrade = events.one(tx, "TierUpgraded")
    assert upgrade == {
        "member": alice,
        "previousTier": 0,
        "newTier": 1,
        "brand": brand_a,
        "giftPoints": 500,
    }
    minted = [e["amount"] for e in events.all(tx, "Transfer", ledger)]
    assert minted == [2_000, 2_000, 2_000, 5, 5 + 500, 5]  # the gift rides on the op that qualified
    assert ledger.balanceOf(alice, brand_a) == 6_000 + 15 + 500
    assert ledger.tierOf(alice) == 1
    assert membership_badge.badgeTierOf(alice) == 1


# ------------------------------------------------------------------ malformed calldata

OP_WORDS = 6  # EarnOp: opId, member, kind, multiplierPct, amountCents, orderRef
DIRTY_FIELDS = {
    "opId": (0, 1 << 64),  # word index, bit set above the field's ABI width
    "member": (1, 1 << 160),
    "kind": (2, 5),  # EarnKind has 5 members: 5 is out of range
    "multiplierPct": (3, 1 << 16),
    "amountCents": (4, 1 << 64),
}


def _call_error(signer, to, data):
    """eth_call of raw calldata: (None, return data) on success, (revert data, None) on a revert."""
    response = web3.provider.make_request(
        "eth_call", [{"from": signer.address, "to": to.address, "data": data}, "latest"]
    )
    if "error" in response:
        return response["error"].get("data", "0x"), None
    return None, response["result"]


def _with_dirty_word(calldata, head, op_index, field):
    """Calldata with one field of op `op_index` given bits above its ABI type; the ops start
    `head` bytes in (earn: after the selector; earnBatch: also the array's offset and length)."""
    word, extra = DIRTY_FIELDS[field]
    raw = bytearray(bytes.fromhex(calldata[2:]))
    at = head + 32 * (OP_WORDS * op_index + word)
    value = int.from_bytes(raw[at : at + 32], "big") | extra
    raw[at : at + 32] = value.to_bytes(32, "big")
    return "0x" + raw.hex()


@pytest.mark.parametrize("field", DIRTY_FIELDS)
def test_batch_with_a_field_outside_its_abi_type_reverts_whole_without_data(
    ledger, earn, signer_a, alice, bob, field
):
    ops = [earn.op(alice, op_id=70), earn.op(bob, "review", op_id=71), earn.op(alice, op_id=72)]
    clean = ledger.earnBatch.encode_input(ops)
    assert _call_error(signer_a, ledger, clean) == (None, "0x" + f"{3:064x}")

    assert _call_error(signer_a, ledger, _with_dirty_word(clean, 4 + 64, 1, field)) == ("0x", None)


@pytest.mark.parametrize("field", DIRTY_FIELDS)
def test_earn_with_a_field_outside_its_abi_type_reverts_without_data(
    ledger, earn, signer_a, alice, field
):
    clean = ledger.earn.encode_input(earn.op(alice, op_id=80))
    assert _call_error(signer_a, ledger, clean)[0] is None

    assert _call_error(signer_a, ledger, _with_dirty_word(clean, 4, 0, field)) == ("0x", None)


def test_a_purchase_refused_for_its_pending_position_changes_nothing(
    ledger, lens, earn, signer_a, admin, alice, bob, brand_a, errors, events, to_plain, clock
):
    """A pending purchase position holds at most 2**28 - 1 points: the purchase that would pass
    it is skipped with `LedgerInvalidAmount`, and nothing of it is written (its lot, its op id, the
    brand's totals and daily mint, the member's counters), so that it may be sent again.
    Before, it was refused after its lot was credited and its op id marked: points minted with
    no `Transfer` and live at once, for an operation reported as skipped."""
    ledger.setReturnWindow(brand_a, 14, {"from": admin})
    ledger.setDailyMintCap(brand_a, 2**112 - 1, {"from": admin})
    big = 10**7  # cents; 10**7 points at brand A's 10 points per USD and a 1,000% multiplier
    fill = (2**28 - 1) // big  # purchases the day's position holds
    ops = [earn.op(alice, cents=big, mult=1_000, op_id=1_000 + i) for i in range(fill)]
    ops.append(earn.op(alice, cents=big, mult=1_000, op_id=2_000))  # past 28 bits: refused
    ops.append(earn.op(bob, "review", op_id=2_001))  # its neighbour still applies

    tx = earn.batch(signer_a, ops)

    invalid = "0x" + errors.selector(ledger, "LedgerInvalidAmount").hex()
    assert _skipped(events, tx) == [(brand_a, 2_000, invalid)]
    assert tx.return_value == fill + 1
    assert ledger.isOperationUsed(brand_a, 2_000) is False
    mints = [(e["receiver"], e["amount"]) for e in events.all(tx, "Transfer")]
    to_alice = sum(amount for receiver, amount in mints if receiver == alice)
    assert to_alice >= fill * big  # the purchases' points, and any tier gift they paid
    # what the chain holds is what its Transfers say: no point without its event
    assert sum(lot[0] for lot in to_plain(lens.lotsOf(alice, brand_a))) == to_alice
    assert to_plain(lens.brandAccount(brand_a))[0] == sum(amount for _, amount in mints)
    assert to_plain(lens.dailyMint(brand_a))[1] == sum(amount for _, amount in mints)
    assert to_plain(lens.memberStatus(alice))[3] == fill  # orders counted
    pending = to_plain(lens.pendingOf(alice, brand_a))
    gift = to_alice - fill * big  # the tier gifts: locked while the purchases are pending
    assert sorted(amount for amount, _ in pending) == sorted([fill * big] + [gift] * (gift > 0))
    assert len({release for _, release in pending}) == 1  # the gift waits for the purchases
    assert ledger.balanceOf(alice, brand_a) == 0
    clock.travel_to(pending[0][1])
    assert ledger.balanceOf(alice, brand_a) == to_alice
