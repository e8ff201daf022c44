"""The plain Python model test_invariants.py checks the ledger against: lots per (holder, brand)
by earn month, pending purchase positions (issue 11: a brand's return window), tiers, totals and
settlement positions. Every method mirrors one piece of AllianceLedger.sol; its docstring names it.
"""

from eth_utils import keccak

from scripts.deployment import DEFAULT_TIER_RULES

RULES = {1: (10, 5, 3, 5, 20), 2: (20, 8, 4, 6, 25), 3: (10, 5, 3, 5, 20)}  # conftest's brands
VALUES = {1: 10_000, 2: 5_000, 3: 10_000}
REFERENCE_VALUE = 10_000  # micro-USD per point: 100 points = 1 USD (DOMAIN.md)
KINDS = ("purchase", "review", "share", "event", "referral")
DAY = 86_400
WINDOWS = {1: 14, 2: 7, 3: 0}  # return windows (days) the test gives the brands; C stays instant


class Model:
    """What the ledger should hold: lots per (holder, brand) by earn month, pending positions,
    tiers, totals."""

    def __init__(self, holders):
        self.holders = holders  # names
        self.lots = {(h, b): {} for h in holders for b in RULES}
        self.issued = dict.fromkeys(RULES, 0)
        self.redeemed = dict.fromkeys(RULES, 0)
        self.reversed = dict.fromkeys(RULES, 0)
        self.windows = dict(WINDOWS)
        self.order_floor = 0  # cents: the least counted spend of a tier order (setOrderFloor)
        # PendingWord: 5 positions [release day, amount, orders, gift lock?, earn month] per
        # (holder, brand): 4 of purchases, then the lock of the brand's tier-gift shares (its own
        # place, so it always has room); a position whose day has come is released by the clock
        # alone and stays until something reuses it
        self.pending = {
            (h, b): [*([0, 0, 0, False, 0] for _ in range(4)), [0, 0, 0, True, 0]]
            for h in holders
            for b in RULES
        }
        # LockMonths: the running lock's points per earn month, (holder, brand) -> {month: amount}
        self.lock_months = {(h, b): {} for h in holders for b in RULES}
        self.releases = {}  # (holder, brand) -> every release day a purchase was given
        self.moves = []  # PendingPointsMoved: (holder, brand, month, from day, to day)
        # per brand, (first month, value) in force from it on: setPointValue in month M applies
        # from M + 1 (issue 10, item 7); a second change within M replaces the first
        self.values = {b: [(0, v)] for b, v in VALUES.items()}
        self.positions = {}  # (lo, hi) -> what lo owes hi, micro-USD
        # member -> [quarter, spend, orders, engagements, tier, grace, reviewed, closed,
        # closed_best]
        self.activity = {}
        self.parts = {}  # (member, brand) -> [quarter, micro-USD issued for counted operations]
        # GiftShares: (member, quarter, brand) -> {tier: (points the brand paid of its gift under
        # lock, the day that upgrade's purchases are final)}; (member, quarter) -> the quarter's
        # counters and brands once closed (None while open), present once a share was locked
        self.gift_shares = {}
        self.gift_quarters = {}
        # (member, quarter) -> ({tiers whose cancelled gift the member has not met again},
        # {tiers whose gift was paid again}): GiftShares' record
        self.regain = {}
        self.consented = set()  # (debtor, creditor) pairs with a redemption sent by the creditor

    def value_at(self, brand, month):
        """The value of `brand`'s points issued in `month` (the ledger's value ring)."""
        return [v for first, v in self.values[brand] if first <= month][-1]

    def set_value(self, brand, value, month):
        """setPointValue in `month`: `value` prices the points issued from `month + 1` on."""
        kept = [(first, v) for first, v in self.values[brand] if first <= month]
        self.values[brand] = [*kept, (month + 1, value)]

    def live(self, holder, brand, month):
        return {m: a for m, a in self.lots[(holder, brand)].items() if m >= month - 12 and a}

    def balance(self, holder, brand, month, today):
        """ERC-6909 balanceOf: live lots less the points still pending on `today`."""
        return sum(self.live(holder, brand, month).values()) - self.locked(holder, brand, today)

    def pending_positions(self, holder, brand):
        """The five PendingWord positions in order (the lock last), as (release day, amount)."""
        return [(d, a) for d, a, *_ in self.pending[(holder, brand)]]

    def purchase_positions(self, holder, brand):
        """(release day, amount) of the positions that hold purchases (what a brand reverses)."""
        return [(d, a) for d, a, _, gift, _ in self.pending[(holder, brand)] if not gift]

    def locked(self, holder, brand, today):
        return sum(a for d, a in self.pending_positions(holder, brand) if d > today)

    def pending_of(self, holder, brand, today):
        """AllianceLedgerLens.pendingOf: ((amount, releaseAt), ...) in position order."""
        return tuple(
            (a, d * DAY) for d, a in self.pending_positions(holder, brand) if d > today and a
        )

    def held(self, holder, brand, day, month):
        """What PendingWord.take finds for a purchase of `month` released on `day`: the pending
        position of that month with the smallest day on or after it."""
        found = _position_of(self.pending[(holder, brand)][:4], day, month)
        return 0 if found is None else self.pending[(holder, brand)][found][1]

    def purchase_months(self, holder, brand):
        """(release day, amount, earn month) of the purchase positions."""
        return [(d, a, m) for d, a, _, gift, m in self.pending[(holder, brand)] if not gift]

    def held_by_month(self, holder, brand, today):
        """AllianceLedger._held: the points still pending on `today` per earn month (purchase
        positions, the running gift lock's months)."""
        held = {}
        for d, a, _, _gift, m in self.pending[(holder, brand)][:4]:
            if d > today and a:
                held[m] = held.get(m, 0) + a
        if self.gift_lock(holder, brand, today) is not None:
            for m, a in self.lock_months[(holder, brand)].items():
                held[m] = held.get(m, 0) + a
        return held

    def add_pending(self, holder, brand, today, amount, month, counts=True):
        """PendingWord.add for a purchase on `today` in `month`: returns the day its event
        states (0: live at once, 4 positions pending of 4 other months; its own day also when it
        joined a later one); a merge, or that join, is appended to `moves` as (holder, brand,
        month, from day, to day)."""
        release = today + self.windows[brand] + 1
        slots = self.pending[(holder, brand)]
        day, moved = add_position(slots, today, release, amount, month, 1 if counts else 0)
        if moved:
            self.moves.append((holder, brand, moved[2], moved[0], moved[1]))
        if day:
            self.releases.setdefault((holder, brand), set()).add(release)
        return day

    def gift_lock(self, holder, brand, today):
        """PendingWord.gift: the index of the running gift lock (its own place, 4), or None."""
        return 4 if self.pending[(holder, brand)][4][0] > today else None

    def set_gift_lock(self, holder, brand, day, amount):
        """PendingWord.withGift: the lock has a place of its own (amounts stay far below 2**32)."""
        self.pending[(holder, brand)][4] = (
            [day, amount, 0, True, 0] if amount else [0, 0, 0, True, 0]
        )

    def reverse(
        self, holder, brand, day, earned, points, spend_cents, quarter, closes, month, today
    ):
        """AllianceLedger.reverse of a purchase of month `earned` released on `day`: its position
        (the month's smallest day on or after it) shrinks, the lot of its earn month pays, counters
        drop. Returns the gift shares it cancels: [(brand, points, releaseAt)]."""
        slots = self.pending[(holder, brand)]
        i = _position_of(slots[:4], day, earned)
        at, held, orders, _, _ = slots[i]
        assert held >= points
        rate = RULES[brand][0]
        spend = min(spend_cents, (points + 1) * 100 // rate)  # what the points counted
        counted = orders
        if closes and orders:
            orders -= 1
        if held == points:  # PendingWord.take: an empty position keeps no order
            orders = 0
        elif self.order_floor and rate:  # nor more than its points left can have counted
            orders = min(orders, ((held - points + 1) * 100 // rate) // self.order_floor)
        closed = counted - orders
        empty = [0, 0, 0, False, 0]
        slots[i] = [at, held - points, orders, False, earned] if held > points else empty
        self._burn(holder, brand, {earned: points})
        # the brand's part of the quarter drops with the counters (AllianceLedgerAdmin._partTaken)
        value = points * self.value_at(brand, earned)
        if spend * rate < points * 100:
            value = value * spend * rate // (points * 100)
        part = self.parts.get((holder, brand))
        if part is not None and part[0] == earned // 3:
            part[1] = max(part[1] - value, 0)
        return self._reverse_counters(holder, spend, quarter, closed, month, today)

    def _burn(self, holder, brand, months):
        """AllianceLedgerAdmin._burn: the pending points `months` ({month: points}) leave the lots
        they sit in, counted as reversed."""
        lots = self.lots[(holder, brand)]
        for m, points in months.items():
            assert lots.get(m, 0) >= points
            lots[m] -= points
            self.reversed[brand] += points

    def _reverse_counters(self, holder, spend_cents, quarter, closes, month, today):
        """AllianceLedger._reverseCounters: the counters of the reversal's quarter drop (the
        member's while they hold it, else the closed quarter's record of locked shares); below a
        tier reached in it, each brand's shares of that tier's gifts still locked are cancelled
        (_cancelGifts)."""
        state = self.activity.get(holder)
        if not state:
            return []
        if state[0] == quarter:
            counters, brands = (
                state,
                {b for (m, b), (q, _) in self.parts.items() if m == holder and q == quarter},
            )
        else:
            closed = self.gift_quarters.get((holder, quarter))
            if not state[4] or closed is None:
                return []
            counters, brands = closed, closed[4]
        counters[1] = max(counters[1] - spend_cents, 0)
        counters[2] = max(counters[2] - closes, 0)  # `closes`: the orders the reversal closed
        best = self.best_tier(*counters[1:4])
        if best >= state[4] or (holder, quarter) not in self.gift_quarters:
            return []
        cancelled, tiers = self._cancel_gifts(holder, quarter, best, brands, today)
        if tiers and state[0] == quarter:  # _reverseCounters: met again, paid again, once
            marked, regained = self.regain.setdefault((holder, quarter), (set(), set()))
            marked |= tiers - regained
        return cancelled

    def _cancel_gifts(self, holder, quarter, best, brands, today):
        """AllianceLedger._cancelGifts: [(brand, points, releaseAt)] cancelled, and the tiers
        whose points were."""
        cancelled, tiers = [], set()
        for b in sorted(brands):
            shares = self.gift_shares.get((holder, quarter, b), {})
            held = {t: p for t, (p, hold) in shares.items() if t > best and hold > today and p}
            points = sum(held.values())
            for t in [t for t in shares if t > best]:
                del shares[t]
            lock = self.gift_lock(holder, b, today)
            if not points or lock is None:
                continue
            day, locked, *_ = self.pending[(holder, b)][lock]
            points = min(points, locked)
            tiers |= set(held)
            cancelled.append((b, points, day * DAY))
            self.set_gift_lock(holder, b, day, locked - points)
            months, left = self.lock_months[(holder, b)], points  # LockMonths.takeNewest
            burned = {}
            for m in sorted((m for m, a in months.items() if a), reverse=True):
                part = min(left, months[m])
                months[m] -= part
                burned[m] = part
                left -= part
            self._burn(holder, b, burned)
        return cancelled, tiers

    def outstanding(self, brand, month):
        return sum(
            a
            for (_, b), lots in self.lots.items()
            if b == brand
            for m, a in lots.items()
            if m >= month - 12
        )

    def outstanding_value(self, brand, month):
        """AllianceLedgerLens.outstandingValue: each live lot at its earn month's value."""
        return sum(
            a * self.value_at(brand, m)
            for (_, b), lots in self.lots.items()
            if b == brand
            for m, a in lots.items()
            if m >= month - 12
        )

    def expired(self, brand, month):
        """Lots are never touched once expired (every take is of live lots)."""
        return sum(
            a
            for (_, b), lots in self.lots.items()
            if b == brand
            for m, a in lots.items()
            if m < month - 12
        )

    def take(self, holder, brand, month, amount, today):
        """AllianceLedger._consume: oldest lots first, each month's pending points left."""
        taken, held = {}, self.held_by_month(holder, brand, today)
        for m in sorted(self.live(holder, brand, month)):
            part = min(amount, self.lots[(holder, brand)][m] - held.get(m, 0))
            self.lots[(holder, brand)][m] -= part
            taken[m] = part
            amount -= part
        assert amount == 0
        return taken

    def credit(self, holder, brand, month, amount):
        lots = self.lots[(holder, brand)]
        lots[month] = lots.get(month, 0) + amount

    def points(self, brand, kind, cents, mult):
        rate = RULES[brand][KINDS.index(kind)]
        return cents * rate * mult // 10_000 if kind == "purchase" else rate * mult // 100

    @staticmethod
    def best_tier(spend, orders, engagements):
        return max(
            [
                t
                for t, (s, o, e, _) in DEFAULT_TIER_RULES.items()
                if spend >= s and orders >= o and engagements >= e
            ],
            default=0,
        )

    def catch_up(self, state, quarter):
        """AllianceLedger._catchUp: each quarter start since the last review, in order."""
        q_cur, spend, orders, engagements, tier, grace, reviewed, closed, closed_best = state
        q = reviewed
        while tier and q < quarter:
            q += 1
            judged = q - 1
            met = closed_best if closed == judged else 0
            if q_cur == judged:
                met = self.best_tier(spend, orders, engagements)
            if met >= tier:
                grace = 0
            elif grace == 0:
                grace = 3 * (q + 1)
            else:
                tier, grace = tier - 1, 0
        state[4], state[5], state[6] = tier, grace, quarter

    def record_activity(  # noqa: C901 (the ledger's tier rule, step by step)
        self, member, brand, kind, cents, mult, points, month, today
    ):
        """Returns ([(brand, gift points it pays, releaseAt)] in the ledger's order, [(brand,
        points, from, to)] of the locks a later gift extended), as the ledger computes them."""
        quarter = month // 3
        state = self.activity.setdefault(member, [0, 0, 0, 0, 0, 0, 0, 0, 0])
        if state[0] != quarter:
            if state[4] and (member, state[0]) in self.gift_quarters:  # the closed quarter's record
                brands = {
                    b for (m, b), (q, _) in self.parts.items() if m == member and q == state[0]
                }
                self.gift_quarters[(member, state[0])] = [state[0], *state[1:4], brands]
            state[7], state[8] = state[0], self.best_tier(*state[1:4])
            state[0:4] = [quarter, 0, 0, 0]
            self.catch_up(state, quarter)
            for key in [k for k in self.parts if k[0] == member]:
                del self.parts[key]
        rate = RULES[brand][KINDS.index(kind)]
        counted = kind == "purchase" or points >= rate
        before = self.best_tier(*state[1:4])
        if kind == "purchase":
            state[1] += cents * min(mult, 100) // 100
            state[2] += cents * min(mult, 100) // 100 >= self.order_floor
        elif counted:
            state[3] += 1
        if counted:
            part = self.parts.setdefault((member, brand), [quarter, 0])
            part[1] += points * self.value_at(brand, month)
        best = self.best_tier(*state[1:4])
        tier = state[4]
        if best >= tier:
            state[5] = 0
        paid, extended = [], []
        marked, regained = self.regain.get((member, quarter), (set(), set()))
        if before < tier:  # _regainGifts: each cancelled tier met again, once per quarter
            for t in sorted(t for t in marked if before < t <= min(best, tier)):
                marked.discard(t)
                regained.add(t)
                paid += self._pay(member, brand, quarter, t - 1, t, month, today, extended)
        if best > tier:
            state[4] = best
            paid += self._pay(member, brand, quarter, tier, best, month, today, extended)
        return paid, extended

    def _pay(self, member, brand, quarter, tier, best, month, today, extended):
        """AllianceLedger._payGift of the gifts of tiers tier + 1 .. best: [(brand, share,
        releaseAt)], the other brands first."""
        gift = sum(DEFAULT_TIER_RULES[t][3] for t in range(tier + 1, best + 1))
        if not gift:
            return []
        parts = {b: p for (m, b), (q, p) in self.parts.items() if m == member and q == quarter}
        total = sum(parts.values())
        # each brand pays its part of the gift's value (points of the reference value, 10,000
        # micro-USD) in its own points at its value this month, rounded up
        paid, left = {}, gift * REFERENCE_VALUE
        for b in sorted(parts):
            if b == brand or total == 0:  # no part at all: the calling brand pays the gift
                continue
            value = min(-(-gift * REFERENCE_VALUE * parts[b] // total), left)
            if value:
                point_value = self.value_at(b, month)
                share = -(-value // point_value)
                if share * point_value > left:  # whole points worth no more than the value left
                    share = left // point_value
                if share:
                    left -= share * point_value
                    paid[b] = share
        own = -(-left // self.value_at(brand, month))
        if own:
            paid[brand] = own
        hold = max(  # the latest release of a counted brand's pending purchase (_payGift)
            (d for b in parts for d, a in self.purchase_positions(member, b) if d > today and a),
            default=0,
        )
        return [
            (
                b,
                paid[b],
                self._lock_share(
                    member, b, paid[b], hold, tier, best, gift, quarter, today, extended, month
                ),
            )
            for b in [*(b for b in sorted(paid) if b != brand), *([brand] if brand in paid else [])]
        ]

    def _lock_share(
        self, member, b, share, hold, tier, best, gift, quarter, today, extended, month
    ):
        """AllianceLedger._lockShare: returns the share's releaseAt (0: live at once)."""
        if not hold:
            return 0
        lock = self.gift_lock(member, b, today)
        day, locked = (0, 0) if lock is None else self.pending[(member, b)][lock][:2]
        months = dict(self.lock_months[(member, b)]) if locked else {}
        if (
            month not in {m for m, a in months.items() if a}
            and sum(1 for a in months.values() if a) == 4
        ):
            return 0  # a fifth month's share is paid live (LockMonths: 4 months)
        months = {m: a for m, a in months.items() if a}
        months[month] = months.get(month, 0) + share
        self.lock_months[(member, b)] = months
        new_day = max(day, hold)
        self.set_gift_lock(member, b, new_day, locked + share)
        if locked and day < new_day:
            extended.append((b, locked, day * DAY, new_day * DAY))
        self.gift_quarters.setdefault((member, quarter), None)
        shares, left = self.gift_shares.setdefault((member, quarter, b), {}), share
        for t in range(tier + 1, best):  # GiftShares: per tier (points, hold day)
            shares[t] = (share * DEFAULT_TIER_RULES[t][3] // gift, hold)
            left -= share * DEFAULT_TIER_RULES[t][3] // gift
        shares[best] = (left, hold)
        return new_day * DAY

    def add_debt(self, debtor, creditor, value):
        lo, hi = sorted((debtor, creditor))
        self.positions[(lo, hi)] = self.positions.get((lo, hi), 0) + (
            value if debtor == lo else -value
        )

    def position(self, a, b):
        if a == b:
            return 0
        lo, hi = sorted((a, b))
        owed = self.positions.get((lo, hi), 0)
        return owed if a == lo else -owed


def _position_of(slots, day, month):
    """PendingWord.take: the index of the pending purchase position of `month` with the
    smallest day on or after `day` (None: none)."""
    found = [(d, i) for i, (d, a, _, _, m) in enumerate(slots) if d >= day and a and m == month]
    return min(found)[1] if found else None


def add_position(slots, today, release, amount, month, order=1):
    """PendingWord.add on the 4 purchase positions `slots` ([day, amount, orders, gift, month]),
    the purchase counting `order` orders (0 below the order floor),
    in place: returns (the day the purchase is released on, 0: live at once; the merge as
    (from day, to day, month), or None). Amounts are not bounded here (the tests stay far
    below 2**28)."""
    pending = [i for i, s in enumerate(slots) if s[0] > today]
    for i in pending:  # (a) its day and month
        if slots[i][0] == release and slots[i][4] == month:
            slots[i][1] += amount
            slots[i][2] = min(slots[i][2] + order, 63)
            return release, None
    later = [(slots[i][0], i) for i in pending if slots[i][4] == month and slots[i][0] > release]
    if later:  # (b) its month's smallest later day: the purchase itself moves there
        d, i = min(later)
        slots[i][1] += amount
        slots[i][2] = min(slots[i][2] + order, 63)
        return release, (release, d, month)  # its own day, and the move to d
    free = [i for i, s in enumerate(slots) if s[0] <= today]
    if free:  # (c) a released or empty position
        slots[free[0]] = [release, amount, order, False, month]
        return release, None
    # (d) the closest adjacent pair of one month among the 4 and the purchase (index 4)
    items = [(s[0], s[4]) for s in slots] + [(release, month)]
    best = None
    for i in range(4):
        nxt = [j for j in range(5) if items[j][1] == items[i][1] and items[j][0] > items[i][0]]
        if not nxt:
            continue
        j = min(nxt, key=lambda k: items[k][0])
        key = (items[j][0] - items[i][0], -items[j][0])
        if best is None or key < best[0]:
            best = (key, i, j)
    if best is None:  # (e) 4 months other than the purchase's: live at once
        return 0, None
    _, i, j = best
    moved = (slots[i][0], items[j][0], slots[i][4])
    if j == 4:
        slots[i] = [release, slots[i][1] + amount, min(slots[i][2] + order, 63), False, month]
    else:
        slots[j] = [
            slots[j][0],
            slots[i][1] + slots[j][1],
            min(slots[i][2] + slots[j][2], 63),
            False,
            slots[j][4],
        ]
        slots[i] = [release, amount, order, False, month]
    return release, moved


def order_ref(text):
    return keccak(text=f"order:{text}")
