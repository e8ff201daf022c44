"""The rules of returns (issue 11) for test_invariants.py's LedgerStateMachine: brands with a
return window, whose purchase points stay pending until it closes.

- a brand reverses one of its own pending purchases, in whole or in part (the lot of its earn
  month pays, the member's quarter counters drop while they still hold the op's quarter, or the
  closed quarter's record of locked gift shares; below a tier reached in that quarter, the shares
  of its gift still locked are cancelled, from the lock's months: `TierGiftCancelled`);
- refused with the exact custom error, nothing changed: an over-reversal, a reversal after the
  window closed, another brand's reversal, a reversal of zero points;
- a member's gift, donation or redemption of more than its live points (pending points are
  counted in) is refused: pending points cannot be spent;
- time travel to a pending position's release, checked one second before (still pending) and
  at the second (live); the admin changes a brand's window (later purchases follow it).

A rule that must see the same pending state when its transaction is mined as when it was
built only picks positions released more than MARGIN seconds from now.
"""

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule
from invariant_model import DAY, RULES, order_ref

MARGIN = 600  # seconds: far more than the few seconds between a rule's read and its transaction

st_pick = st.integers(min_value=0, max_value=47)
st_flag = st.booleans()
st_fraction = st.floats(min_value=0.0, max_value=1.0)
st_cents = st.integers(min_value=0, max_value=400_000)


class ReturnRules:
    """Mixed into the machine: uses its ledger, lens, clock, signers, errors, model, op ids."""

    def _pending_positions(self, margin=MARGIN):
        """[(member index, brand, release day, amount, earn month)] pending for more than
        `margin` s."""
        now = self.clock.now()
        return [
            (m, b, d, a, month)
            for m in range(3)
            for b in RULES
            for d, a, month in self.model.purchase_months(f"m{m}", b)
            if a and d * DAY > now + margin
        ]

    def _reverse_op(self, member, day, month, points, spend_cents, quarter, closes):
        return (
            next(self.op_ids),
            member.address,
            day,
            month,
            points,
            spend_cents,
            quarter,
            closes,
            order_ref(f"return-{day}"),
        )

    @precondition(lambda self: self._pending_positions())
    @rule(
        pick=st_pick,
        whole=st_flag,
        fraction=st_fraction,
        cents=st_cents,
        closes=st_flag,
        past_quarter=st.sampled_from([0, 0, 1]),
    )
    def rule_reverse_own_pending_purchase(self, pick, whole, fraction, cents, closes, past_quarter):
        positions = self._pending_positions()
        member, brand, day, amount, earned = positions[pick % len(positions)]
        account, name = self._holder(member)
        points = amount if whole else max(1, int(amount * fraction))
        quarter = earned // 3 - past_quarter  # another quarter than its own stated: refused
        op = self._reverse_op(account, day, earned, points, cents, quarter, closes)
        if quarter != earned // 3:
            with self.errors.expect(
                self.ledger, "LedgerReversalQuarterMismatch", quarter, earned // 3
            ):
                self.ledger.reverse(op, {"from": self.signers[brand]})
            return
        tx = self.ledger.reverse(op, {"from": self.signers[brand]})
        event = tx.events["PointsReversed"]
        assert (
            event["brand"],
            event["member"],
            event["points"],
            event["releaseAt"],
            event["month"],
        ) == (brand, account.address, points, day * DAY, earned)
        cancelled = self.model.reverse(
            name,
            brand,
            day,
            earned,
            points,
            cents,
            quarter,
            closes,
            self.clock.month_of(tx.timestamp),
            tx.timestamp // DAY,
        )
        # brownie's EventDict has no `get`
        events = tx.events["TierGiftCancelled"] if "TierGiftCancelled" in tx.events else []  # noqa: SIM401
        assert [(e["brand"], e["points"], e["releaseAt"]) for e in events] == cancelled
        assert all(e["member"] == account.address for e in events)

    @precondition(lambda self: self._pending_positions())
    @rule(pick=st_pick, extra=st.integers(min_value=1, max_value=10**6), other=st.integers(1, 2))
    def rule_reverse_is_refused(self, pick, extra, other):
        """Each refusal in turn (reverted calls: cheap), against one pending position."""
        for case in ("over", "closed", "other_brand", "zero"):
            self._refused_reversal(case, pick, extra, other)

    def _refused_reversal(self, case, pick, extra, other):
        positions = self._pending_positions()
        member, brand, day, amount, earned = positions[pick % len(positions)]
        account, name = self._holder(member)
        sender, points = brand, amount
        if case == "over":  # more than the position holds (earlier partial reversals counted)
            points = amount + extra
            expected = ("LedgerReversalExceedsPending", brand, account, day * DAY, amount, points)
        elif case == "closed":  # a purchase's released day if there is one, else today
            today = self.clock.now() // DAY
            released = [d for d in self.model.releases.get((name, brand), ()) if d <= today]
            day = max(released, default=today)
            expected = ("LedgerReversalWindowClosed", brand, account, day * DAY)
        elif case == "other_brand":  # the sender's own position for that day, if any, is short
            sender = (brand - 1 + other) % 3 + 1
            held = self.model.held(name, sender, day, earned)
            points = max(amount, held + 1)
            expected = ("LedgerReversalExceedsPending", sender, account, day * DAY, held, points)
        else:
            points = 0
            expected = ("LedgerInvalidAmount", 0)
        op = self._reverse_op(account, day, earned, points, amount, self.clock.quarter(), True)
        with self.errors.expect(self.ledger, *expected):
            self.ledger.reverse(op, {"from": self.signers[sender]})

    def _locked_pairs(self):
        """(member, brand) pairs with pending points, none released within MARGIN seconds."""
        now = self.clock.now()
        today = now // DAY
        return [
            (m, b)
            for m in range(3)
            for b in RULES
            if self.model.locked(f"m{m}", b, today)
            and not any(
                now < d * DAY <= now + MARGIN for d, _ in self.model.pending_positions(f"m{m}", b)
            )
        ]

    @precondition(lambda self: self._locked_pairs())
    @rule(pick=st_pick, extra=st.integers(min_value=0, max_value=10**6), other=st.integers(1, 2))
    def rule_spending_pending_points_is_refused(self, pick, extra, other):
        """Each way of spending in turn: gift (direct, signed), donation, redemption (at the
        brand, cross-brand sent by the other brand's signer)."""
        for action in ("transfer", "gift_sig", "donate", "redeem", "redeem_cross"):
            self._refused_spend(action, pick, extra, other)

    def _refused_spend(self, action, pick, extra, other):
        pairs = self._locked_pairs()
        member, brand = pairs[pick % len(pairs)]
        account, name = self._holder(member)
        receiver, _ = self._holder((member + other) % 3)
        at_brand = (brand - 1 + other) % 3 + 1
        month, today = self._now()
        live = self.model.balance(name, brand, month, today)
        amount = live + 1 + extra % self.model.locked(name, brand, today)  # live < amount <= all
        ref = order_ref("pending")
        calls = {
            "transfer": lambda: self.ledger.transfer(receiver, brand, amount, {"from": account}),
            "gift_sig": lambda: self.ledger.giftWithSig(
                *self.signing.gift(account, receiver, brand, amount), {"from": self.relayer}
            ),
            "donate": lambda: self.ledger.donate(brand, amount, {"from": account}),
            "redeem": lambda: self.ledger.redeem(brand, brand, amount, ref, {"from": account}),
            "redeem_cross": lambda: self.ledger.redeemWithSig(
                *self.signing.redeem(account, brand, at_brand, amount, ref=ref),
                {"from": self.signers[at_brand]},
            ),
        }
        with self.errors.expect(
            self.ledger, "PointsInsufficientBalance", account, brand, live, amount
        ):
            calls[action]()

    @precondition(lambda self: self._pending_positions(margin=0))
    @rule(pick=st_pick)
    def rule_travel_to_a_release(self, pick):
        """One second before the release: still pending; at the second: live (the invariants)."""
        positions = self._pending_positions(margin=0)
        member, brand, day, *_ = positions[pick % len(positions)]
        account, name = self._holder(member)
        release = day * DAY
        if release - 1 > self.clock.now():
            self.clock.travel_to(release - 1)
            month, today = self._now()
            assert int(self.ledger.balanceOf(account, brand)) == self.model.balance(
                name, brand, month, today
            )
            pending = tuple((int(a), int(r)) for a, r in self.lens.pendingOf(account, brand))
            assert pending == self.model.pending_of(name, brand, today)
            assert any(r == release for _, r in pending)
        self.clock.travel_to(release)

    @rule(brand=st.integers(min_value=1, max_value=3), days=st.sampled_from([0, 1, 14, 90]))
    def rule_set_return_window(self, brand, days):
        self.ledger.setReturnWindow(brand, days, {"from": self.admin})
        self.model.windows[brand] = days
