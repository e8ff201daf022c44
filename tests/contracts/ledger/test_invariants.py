"""Property-based stateful test: random sequences of earn, gift, donate, redeem (same brand and
cross-brand), point value changes, time travel by whole months and settlement, and (issue 11)
pending purchases under brands' return windows, reversals and their refusals (the rules in
invariant_returns.py), checked after every step against a plain Python model of the lots and
pending positions (invariant_model.py) and against the ledger's own accounting:

- per brand: issued == redeemed + expired + reversed + outstanding, and outstanding == sum of
  live balances (members + charity pool) + pending points; issued, redeemed, expired, reversed,
  outstanding, every live balance and every member's pending positions (lens.pendingOf) equal
  the model's;
- settlement positions sum to zero across the alliance, and each pair's equals the model's;
- (issue 10) a hostile brand (B, id 2) takes random actions with its own key, direct contract
  calls included: under-paid earns (multiplier below 100%), earns for system addresses, setting
  its own earn rule or daily cap, taking a member's points, settling a position it is not owed,
  relaying a cross-brand redemption it does not host. After every step: no brand's issued total
  moves except by its own operations or its proportional share of a tier gift (the model
  computes both exactly); every nonzero position has a redemption consented by the creditor
  (sent by its signer) behind it.
"""

from brownie import chain
from brownie.exceptions import VirtualMachineError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from invariant_model import DAY, KINDS, RULES, VALUES, WINDOWS, Model, order_ref
from invariant_returns import ReturnRules

from scripts.earned_records import earned_records


def _all(tx, name):
    """Every `name` event of `tx`, in order (none: [])."""
    return list(tx.events[name]) if name in tx.events else []


def _earned_events(tx):
    """The earns of ``tx``: a batch's records of ``PointsEarnedBatch``, or a lone
    ``PointsEarned``."""
    if "PointsEarnedBatch" in tx.events:
        return [
            r
            for b in tx.events["PointsEarnedBatch"]
            for r in earned_records(b["brand"], b["records"])
        ]
    return list(tx.events["PointsEarned"]) if "PointsEarned" in tx.events else []


st_brand = st.integers(min_value=1, max_value=3)
st_member = st.integers(min_value=0, max_value=2)
st_kind = st.sampled_from(KINDS)
# small orders as often as any: the order floor (up to 31 USD) sits among them
st_cents = st.one_of(
    st.integers(min_value=10, max_value=5_000), st.integers(min_value=10, max_value=400_000)
)
st_mult = st.sampled_from([100, 100, 150, 200, 1_000])
st_low_mult = st.integers(min_value=1, max_value=99)
st_fraction = st.floats(min_value=0.0, max_value=1.0)
st_months = st.integers(min_value=0, max_value=14)
st_day = st.integers(min_value=0, max_value=27)
st_flag = st.booleans()
st_value = st.sampled_from([2_500, 10_000, 40_000])


class LedgerStateMachine(ReturnRules, RuleBasedStateMachine):
    """Each example starts from the test's snapshot (the deployed alliance, no points); the
    rules of returns (pending points, reversals) come from ReturnRules."""

    # set by the test before hypothesis runs the machine
    ledger = lens = vault = usd = signing = clock = charity = relayer = admin = errors = None
    members = signers = ()
    op_ids = iter(range(1, 10**9))

    def __init__(self):
        chain.revert()
        super().__init__()
        self.model = Model(["m0", "m1", "m2", "charity"])

    # ------------------------------------------------------------------------------ helpers

    def _holder(self, index):
        return self.members[index], f"m{index}"

    def _now(self):
        """(month, UTC day) of the latest block: what a view call sees."""
        now = self.clock.now()
        return self.clock.month_of(now), now // DAY

    def _funded(self, member, brand):
        """(member, brand) if it holds live points, else the next pair that does (None if none)."""
        month, today = self._now()
        pairs = [(m, b) for m in range(3) for b in RULES]
        start = pairs.index((member, brand))
        for m, b in pairs[start:] + pairs[:start]:
            if self.model.balance(f"m{m}", b, month, today):
                return m, b
        return None

    def _anything_to_move(self):
        return self._funded(0, 1) is not None

    def _amount(self, member, brand, fraction):
        return max(1, int(self.model.balance(f"m{member}", brand, *self._now()) * fraction))

    def _op(self, brand, member, kind, cents, mult):
        account, _ = self._holder(member)
        amount = cents if kind == "purchase" else 0
        return (
            next(self.op_ids),
            account.address,
            KINDS.index(kind),
            mult,
            amount,
            order_ref(f"{brand}-{member}"),
        )

    def _apply_earns(self, tx, brand, ops):
        """Checks each applied op's points and every brand's gift share; credits the model."""
        month, today = self.clock.month_of(tx.timestamp), tx.timestamp // DAY
        earned = [(e["points"], e["releaseAt"]) for e in _earned_events(tx)]
        assert len(earned) == len(ops)
        shares = [(e["brand"], e["points"], e["releaseAt"]) for e in _all(tx, "TierGiftPaid")]
        holds = [tuple(e.values())[1:] for e in _all(tx, "TierGiftHoldExtended")]
        moves = [
            (e["brand"], e["member"], e["month"], e["fromReleaseAt"], e["toReleaseAt"])
            for e in _all(tx, "PendingPointsMoved")
        ]
        self.model.moves.clear()
        expected_shares, expected_holds = [], []
        for (member, kind, cents, mult), got in zip(ops, earned, strict=True):
            name = f"m{member}"
            points = self.model.points(brand, kind, cents, mult)
            release = 0  # live at once: an engagement, or a brand without a return window
            if kind == "purchase" and self.model.windows[brand]:
                counts = cents * min(mult, 100) // 100 >= self.model.order_floor
                release = self.model.add_pending(name, brand, today, points, month, counts) * DAY
            assert got == (points, release)
            paid, extended = self.model.record_activity(
                name, brand, kind, cents, mult, points, month, today
            )
            expected_holds += extended
            self.model.credit(name, brand, month, points)
            self.model.issued[brand] += points
            for b, share, release_at in paid:  # the other brands first, as paid
                expected_shares.append((b, share, release_at))
                self.model.credit(name, b, month, share)
                self.model.issued[b] += share
        assert shares == expected_shares
        assert holds == expected_holds
        assert moves == [
            (b, self._holder(int(h[1:]))[0].address, m, f * DAY, t * DAY)
            for h, b, m, f, t in self.model.moves
        ]

    # -------------------------------------------------------------------------------- rules

    @initialize(cents=st.lists(st_cents, min_size=9, max_size=9))
    def initial_purchases(self, cents):
        """Every member buys at every brand once, in one batch per brand."""
        for brand in RULES:
            ops = [
                (member, "purchase", cents[3 * (brand - 1) + member], 100) for member in range(3)
            ]
            tx = self.ledger.earnBatch(
                [self._op(brand, *op) for op in ops], {"from": self.signers[brand]}
            )
            assert tx.return_value == 3
            self._apply_earns(tx, brand, ops)

    @rule(brand=st_brand, member=st_member, kind=st_kind, cents=st_cents, mult=st_mult)
    def rule_earn(self, brand, member, kind, cents, mult):
        tx = self.ledger.earn(
            self._op(brand, member, kind, cents, mult), {"from": self.signers[brand]}
        )
        self._apply_earns(tx, brand, [(member, kind, cents, mult)])

    @rule(
        brand=st_brand,
        ops=st.lists(st.tuples(st_member, st_kind, st_cents, st_mult), min_size=1, max_size=6),
    )
    def rule_earn_batch(self, brand, ops):
        tx = self.ledger.earnBatch(
            [self._op(brand, *op) for op in ops], {"from": self.signers[brand]}
        )
        assert tx.return_value == len(ops)
        self._apply_earns(tx, brand, ops)

    @precondition(lambda self: self._anything_to_move())
    @rule(brand=st_brand, giver=st_member, receiver=st_member, fraction=st_fraction, signed=st_flag)
    def rule_gift(self, brand, giver, receiver, fraction, signed):
        giver, brand = self._funded(giver, brand)
        (giver_account, giver_name), (receiver_account, receiver_name) = (
            self._holder(giver),
            self._holder(receiver),
        )
        amount = self._amount(giver, brand, fraction)
        if signed:
            gift, sig = self.signing.gift(giver_account, receiver_account, brand, amount)
            tx = self.ledger.giftWithSig(gift, sig, {"from": self.relayer})
        else:
            tx = self.ledger.transfer(receiver_account, brand, amount, {"from": giver_account})
        for m, part in self.model.take(
            giver_name, brand, self.clock.month_of(tx.timestamp), amount, tx.timestamp // DAY
        ).items():
            self.model.credit(receiver_name, brand, m, part)

    @precondition(lambda self: self._anything_to_move())
    @rule(brand=st_brand, member=st_member, fraction=st_fraction)
    def rule_donate(self, brand, member, fraction):
        member, brand = self._funded(member, brand)
        account, name = self._holder(member)
        amount = self._amount(member, brand, fraction)
        tx = self.ledger.donate(brand, amount, {"from": account})
        for m, part in self.model.take(
            name, brand, self.clock.month_of(tx.timestamp), amount, tx.timestamp // DAY
        ).items():
            self.model.credit("charity", brand, m, part)

    @precondition(lambda self: self._anything_to_move())
    @rule(brand=st_brand, at_brand=st_brand, member=st_member, fraction=st_fraction, signed=st_flag)
    def rule_redeem(self, brand, at_brand, member, fraction, signed):
        member, brand = self._funded(member, brand)
        account, name = self._holder(member)
        amount = self._amount(member, brand, fraction)
        ref = order_ref(f"redeem-{brand}-{at_brand}")
        if signed or brand != at_brand:  # a cross-brand redemption is sent by at_brand's signer
            r, sig = self.signing.redeem(account, brand, at_brand, amount, ref=ref)
            sender = self.signers[at_brand] if brand != at_brand else self.relayer
            tx = self.ledger.redeemWithSig(r, sig, {"from": sender})
            if brand != at_brand:
                self.model.consented.add((brand, at_brand))
        else:
            tx = self.ledger.redeem(brand, at_brand, amount, ref, {"from": account})
        taken = self.model.take(
            name, brand, self.clock.month_of(tx.timestamp), amount, tx.timestamp // DAY
        )
        value = sum(part * self.model.value_at(brand, m) for m, part in taken.items())
        assert tx.return_value == value  # each lot at its earn month's value (issue 10, item 7)
        self.model.redeemed[brand] += amount
        if brand != at_brand:
            self.model.add_debt(brand, at_brand, value)

    # --------------------------------------------------------------- the hostile brand (B)

    @rule(member=st_member, kind=st_kind, cents=st_cents, mult=st_low_mult)
    def rule_hostile_underpaid_earn(self, member, kind, cents, mult):
        """B asserts activity below its published rate: it counts only in proportion."""
        op = (member, kind, cents, mult)
        if self.model.points(2, kind, cents, mult) == 0:
            tx = self.ledger.earnBatch([self._op(2, *op)], {"from": self.signers[2]})
            assert tx.return_value == 0
            return
        tx = self.ledger.earn(self._op(2, *op), {"from": self.signers[2]})
        self._apply_earns(tx, 2, [op])

    @rule(
        action=st.sampled_from(
            [
                "earn_rule",
                "cap",
                "window",
                "take",
                "settle",
                "system",
                "redeem_direct",
                "relay_other",
            ]
        ),
        member=st_member,
        victim=st.sampled_from([1, 3]),
    )
    def rule_hostile_call_is_refused(self, action, member, victim):
        """Direct calls of B's key that would cost another brand or a member: all revert."""
        b = self.signers[2]
        account, _ = self._holder(member)
        ref = order_ref("hostile")
        calls = {
            "earn_rule": lambda: self.ledger.setEarnRule(2, (255, 255, 255, 255, 255), {"from": b}),
            "cap": lambda: self.ledger.setDailyMintCap(2, 2**100, {"from": b}),
            "window": lambda: self.ledger.setReturnWindow(2, 90, {"from": b}),
            "take": lambda: self.ledger.transferFrom(account, b, victim, 1, {"from": b}),
            "settle": lambda: self.ledger.settle(victim, 4 - victim, {"from": b}),
            "system": lambda: self.ledger.earn(
                (next(self.op_ids), self.ledger.address, 0, 100, 1_000, ref), {"from": b}
            ),
            "redeem_direct": lambda: self.ledger.redeem(victim, 2, 1, ref, {"from": account}),
            "relay_other": lambda: self.ledger.redeemWithSig(
                *self.signing.redeem(account, victim, 4 - victim, 1, ref=ref), {"from": b}
            ),
        }
        try:
            calls[action]()
        except VirtualMachineError:
            return
        raise AssertionError(f"the hostile brand's {action} went through")

    @rule(usd=st.sampled_from([0, 1, 10, 31]))
    def rule_set_order_floor(self, usd):
        """The admin's order floor: purchases below it count their spend, not an order."""
        self.ledger.setOrderFloor(usd, {"from": self.admin})
        self.model.order_floor = usd * 100

    @rule(brand=st_brand, value=st_value)
    def rule_set_point_value(self, brand, value):
        tx = self.ledger.setPointValue(brand, value, {"from": self.admin})
        self.model.set_value(brand, value, self.clock.month_of(tx.timestamp))

    @rule(months=st_months, day=st_day)
    def rule_travel(self, months, day):
        now = self.clock.now()
        target = self.clock.month_start(self.clock.month_of(now) + months) + day * DAY + 3_600
        self.clock.travel_to(target if target > now else now + 3_600)

    @precondition(lambda self: any(self.model.positions.values()))
    @rule(pair=st.sampled_from([(1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (3, 2)]), via_vault=st_flag)
    def rule_settle(self, pair, via_vault):
        a, b = pair
        if self.model.position(a, b) == 0:
            a, b = next((lo, hi) for (lo, hi), owed in self.model.positions.items() if owed)
        owed = self.model.position(a, b)
        debtor, creditor, value = (a, b, owed) if owed > 0 else (b, a, -owed)
        if via_vault:
            signer = self.signers[debtor]
            self.usd.mint(signer, value, {"from": signer})
            self.usd.approve(self.vault, value, {"from": signer})
            self.vault.deposit(debtor, value, {"from": signer})
            before = (self.vault.depositOf(debtor), self.vault.depositOf(creditor))
            self.vault.settle(a, b, {"from": self.signers[creditor]})
            after = (self.vault.depositOf(debtor), self.vault.depositOf(creditor))
            assert after == (before[0] - value, before[1] + value)  # 1e6 units per USD
        else:
            self.ledger.settle(a, b, {"from": self.signers[creditor]})
        self.model.add_debt(creditor, debtor, value)

    # --------------------------------------------------------------------------- invariants

    @invariant()
    def invariant_points_are_conserved_per_brand(self):
        month, today = self._now()
        holders = [(m, f"m{i}") for i, m in enumerate(self.members)] + [(self.charity, "charity")]
        for brand in RULES:
            issued, redeemed, expired, outstanding, reversed_ = (
                int(x) for x in self.lens.brandAccount(brand)
            )
            assert issued == redeemed + expired + reversed_ + outstanding, f"brand {brand}"
            balances = [int(self.ledger.balanceOf(account, brand)) for account, _ in holders]
            pending = [  # the charity pool never earns: it holds live points only
                tuple((int(a), int(r)) for a, r in self.lens.pendingOf(account, brand))
                for account, _ in holders[:3]
            ]
            locked = sum(a for positions in pending for a, _ in positions)
            assert outstanding == sum(balances) + locked, f"brand {brand}: outstanding"
            model = self.model
            assert (issued, redeemed, expired, reversed_, outstanding) == (
                model.issued[brand],
                model.redeemed[brand],
                model.expired(brand, month),
                model.reversed[brand],
                model.outstanding(brand, month),
            ), f"brand {brand}"
            assert balances == [model.balance(n, brand, month, today) for _, n in holders], (
                f"brand {brand}: live balances"
            )
            assert pending == [model.pending_of(n, brand, today) for _, n in holders[:3]], (
                f"brand {brand}: pending"
            )
            assert self.lens.outstandingValue(brand) == model.outstanding_value(brand, month), (
                f"brand {brand}: the liability's value (issue 10, item 7)"
            )

    @invariant()
    def invariant_tier_counters_are_the_models(self):
        """Each member's quarter counters and tier, as the model counts them (the order floor's
        orders included)."""
        for i, account in enumerate(self.members):
            state = self.model.activity.get(f"m{i}")
            if state is None:
                continue
            s = self.lens.memberStatus(account)
            assert (s[1], s[2], s[3], s[4], s[0]) == tuple(state[0:5]), f"m{i}"

    @invariant()
    def invariant_settlement_positions_sum_to_zero(self):
        nets = [int(self.lens.netPosition(b)) for b in RULES]
        assert sum(nets) == 0
        for a, b in ((1, 2), (1, 3), (2, 3)):
            owed = int(self.ledger.position(a, b))
            assert owed == self.model.position(a, b)
            if owed:  # a creditor's consent is behind every debt
                debtor, creditor = (a, b) if owed > 0 else (b, a)
                assert (debtor, creditor) in self.model.consented


def test_ledger_invariants_hold_over_random_operation_sequences(
    ledger,
    lens,
    vault,
    usd,
    signing,
    clock,
    alice,
    bob,
    carol,
    charity,
    signer_a,
    signer_b,
    signer_c,
    relayer,
    admin,
    errors,
):
    for brand, earn_rule in RULES.items():  # the model's rules are the deployed brands' (conftest)
        _, _, deployed_rule, value = lens.brandInfo(brand)
        assert (tuple(deployed_rule), value) == (earn_rule, VALUES[brand])
    machine = LedgerStateMachine
    machine.ledger, machine.lens, machine.vault, machine.usd, machine.signing, machine.clock = (
        ledger,
        lens,
        vault,
        usd,
        signing,
        clock,
    )
    machine.members, machine.charity = (alice, bob, carol), charity
    machine.signers = {1: signer_a, 2: signer_b, 3: signer_c}
    machine.relayer, machine.admin, machine.errors = relayer, admin, errors
    for brand, days in WINDOWS.items():  # conftest's brands have none: purchases go pending
        ledger.setReturnWindow(brand, days, {"from": admin})
        assert lens.returnWindowDays(brand) == days
    for brand in RULES:  # the model does not follow the daily cap (test_trust.py does)
        ledger.setDailyMintCap(brand, 2**100, {"from": admin})
    chain.snapshot()  # each example starts here
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
