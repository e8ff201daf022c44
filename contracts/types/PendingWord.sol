// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Calendar} from "../libraries/Calendar.sol";

/// @notice A member's pending points of one brand, in one storage word read on every purchase,
/// spend and reversal: up to 4 purchase positions, each named by its release day and earn month
/// (what the brand may reverse), and the lock of the tier-gift shares the brand paid while a purchase they depend on
/// could still be reversed (only the ledger's tier rules lock and cancel it, never a brand's
/// reversal). The lock has a place of its own, so it always has room, however many purchase days
/// are pending (2026-12-05: it shared the 4 positions, and a brand with 4 purchase days pending
/// paid its share live, out of a return's reach).
/// @dev Layout, from the low-order bits: 4 purchase positions of 52 bits, each
/// `releaseDay 16 | month 2 | orders 6 | amount 28`, then the lock, `releaseDay 16 | amount 32`
/// (`releaseDay` in days since 1970-01-01 UTC; `orders`: the purchases in the position that
/// counted as orders toward the tiers (the order floor's, {LedgerGlobalsLibrary-orderFloorCents}),
/// saturating at 63, so that a reversal closes at most as many orders as the brand's purchases
/// put there; `month`: the earn month of the position's purchases, modulo 4). The points
/// themselves sit in the member's lot of the month they were earned; a position only locks
/// `amount` of them, in that month's lot, until the first second of `releaseDay`. A position
/// never holds purchases of two earn months, so its month is exact: the latest month congruent
/// to `month` modulo 4 not after the month of `releaseDay - 2` ({earnMonth}; a purchase is
/// released at least 2 days and at most 91 days after its day, so its month is at most 3 months
/// before that one). The lock's months are in {LedgerStorage-_giftLockMonths} ({LockMonths}). A
/// position whose day has come is released by the clock alone (no transaction) and may be reused.
/// A purchase is never released before its own day ({add}: with 4 days pending, two of one month
/// merge into the later day). (2026-12-06: positions had no month, and a spend or a reversal took
/// pending points as the newest lots; until 2026-12-06 a purchase that found 4 positions pending
/// joined its month's latest, earlier, day, or was live at once.)
type PendingWord is uint256;

using PendingWordLibrary for PendingWord global;

/// @title Named fields of a {PendingWord}.
library PendingWordLibrary {
    /// @notice Purchase positions (0 to 3); the lock is position {LOCK}.
    uint256 internal constant PURCHASE_POSITIONS = 4;
    /// @notice The lock's position in {at} (the last one).
    uint256 internal constant LOCK = 4;
    /// @notice A purchase position's largest amount (points).
    uint256 internal constant AMOUNT_MASK = (uint256(1) << 28) - 1;
    /// @notice The lock's largest amount (points; 2**32 - 1, above three of the largest tier gifts).
    uint256 internal constant LOCK_AMOUNT_MASK = (uint256(1) << 32) - 1;
    uint256 internal constant MAX_ORDERS = 63;
    uint256 private constant ORDERS_OFFSET = 28;
    uint256 private constant MONTH_OFFSET = 34;
    uint256 private constant DAY_OFFSET = 36;
    uint256 private constant POSITION_BITS = 52;
    uint256 private constant POSITION_MASK = (uint256(1) << POSITION_BITS) - 1;
    uint256 private constant LOCK_OFFSET = PURCHASE_POSITIONS * POSITION_BITS;
    uint256 private constant LOCK_DAY_OFFSET = 32;

    /// @notice Release day and amount of position `i` (0 <= i < 4: purchases; {LOCK}: the lock).
    function at(PendingWord self, uint256 i) internal pure returns (uint256 releaseDay, uint256 amount) {
        if (i == LOCK) {
            uint256 lock = PendingWord.unwrap(self) >> LOCK_OFFSET;
            return (lock >> LOCK_DAY_OFFSET, lock & LOCK_AMOUNT_MASK);
        }
        uint256 pos = _position(self, i);
        return (pos >> DAY_OFFSET, pos & AMOUNT_MASK);
    }

    /// @notice The earn month (months since January 1970) of a purchase position released on
    /// `releaseDay` whose month field is `month4` (its earn month modulo 4).
    function earnMonth(uint256 releaseDay, uint256 month4) internal pure returns (uint256) {
        unchecked {
            // No underflow: a stored release day is at least 2 days after its purchase's day,
            // and the reference month is at least the earn month.
            uint256 ref = Calendar.monthOf((releaseDay - 2) * 1 days);
            return ref - ((ref + 4 - month4) & 3);
        }
    }

    /// @notice Adds, per earn month, the purchase points still pending on `today` to `held`
    /// (index 0 = month `month - 12`, `month` the current one).
    function heldByMonth(PendingWord self, uint256 today, uint256 month, uint256[13] memory held) internal pure {
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            uint256 day = pos >> DAY_OFFSET;
            if (day <= today || pos & AMOUNT_MASK == 0) continue;
            // A pending purchase is at most 3 months old: its index is within the 13 live months.
            held[earnMonth(day, (pos >> MONTH_OFFSET) & 3) + 12 - month] += pos & AMOUNT_MASK;
        }
    }

    /// @notice The points still pending on day `today` (positions whose release day is later).
    function locked(PendingWord self, uint256 today) internal pure returns (uint256 total) {
        uint256 word = PendingWord.unwrap(self);
        if (word == 0) return 0;
        unchecked {
            // No overflow: 4 amounts of 28 bits and one of 32.
            for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
                uint256 pos = (word >> (i * POSITION_BITS)) & POSITION_MASK;
                if (pos >> DAY_OFFSET > today) total += pos & AMOUNT_MASK;
            }
            uint256 lock = word >> LOCK_OFFSET;
            if (lock >> LOCK_DAY_OFFSET > today) total += lock & LOCK_AMOUNT_MASK;
        }
    }

    /// @notice Adds a purchase of `amount` earned in `month`, pending until `releaseDay`, never
    /// released before that day (DOMAIN.md "Returns": the brand may reverse it for its whole
    /// window). A position is named by its day and month; in this order the purchase:
    /// (a) joins the pending position of its day and month;
    /// (b) else joins the pending position of its month with the smallest later day (only after
    /// the window was shortened: held longer, never shorter); `moved` reports it as a move of the
    /// purchase's own day to that day, and the day returned is its own, which its {PointsEarned}
    /// states (the end of the brand's right to reverse it);
    /// (c) else takes a released or empty position;
    /// (d) else (4 pending) the closest two of the 4 positions and the purchase that are of one
    /// month and adjacent in its order by day (ties: the latest pair) merge into the later day:
    /// the month's latest position moves to `releaseDay` and takes the purchase, or two positions
    /// merge and the freed one takes it. `moved` reports the merge: `fromDay | toDay << 16 |
    /// month << 32` (0: none);
    /// (e) else (4 pending of 4 other months, possible only with a 90-day window) the purchase
    /// is live at once, `day` 0 and the word unchanged.
    /// This keeps every pending purchase of month m released on day D in the pending position of
    /// month m with the smallest day >= D ({take}); a merge moves points only later and within
    /// their month, to a day that is itself a release day of a purchase of that month, so
    /// {earnMonth} still decodes it. Returns the word and the day the amount is released on (in
    /// (b), its own day: `moved` says where it went). The position counts the purchase as one of
    /// its orders only when `counts` (the purchase counted as an order toward the tiers, at least
    /// the order floor), so a return closes only orders that counted.
    /// @dev Reverts-free: returns `ok = false` when the position's amount would pass 28 bits
    /// (in (d): when every pair's would), or `releaseDay` 16.
    function add(PendingWord self, uint256 today, uint256 releaseDay, uint256 amount, uint256 month, bool counts)
        internal
        pure
        returns (PendingWord updated, uint256 day, bool ok, uint256 moved)
    {
        uint256 order = counts ? 1 : 0;
        uint256 free = PURCHASE_POSITIONS;
        uint256 later = PURCHASE_POSITIONS;
        uint256 laterDay = type(uint256).max;
        uint256 month4 = month & 3;
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            uint256 d = pos >> DAY_OFFSET;
            if (d <= today) {
                if (free == PURCHASE_POSITIONS) free = i;
            } else if (d >= releaseDay && (pos >> MONTH_OFFSET) & 3 == month4) {
                // Of `month`: a pending purchase is at most 4 months old, and one of month - 4
                // is released by the second day of `month` (at most 91 days after its day),
                // before `releaseDay` (at least 2 days after today).
                if (d == releaseDay) {
                    (updated, day, ok) = _join(self, i, pos, amount, order);
                    return (updated, day, ok, 0);
                }
                if (d < laterDay) (later, laterDay) = (i, d);
            }
        }
        if (later != PURCHASE_POSITIONS) {
            (updated,, ok) = _join(self, later, _position(self, later), amount, order);
            return (updated, releaseDay, ok, releaseDay | (laterDay << 16) | (month << 32));
        }
        if (free != PURCHASE_POSITIONS) {
            uint256 head = (releaseDay << DAY_OFFSET) | (month4 << MONTH_OFFSET) | (order << ORDERS_OFFSET);
            (updated, day, ok) = _set(self, free, head, amount);
            return (updated, day, ok, 0);
        }
        return _merge(self, releaseDay, amount, month, order);
    }

    /// @dev {add}'s step (d) and (e), all 4 positions pending and none of `month` on or after
    /// `releaseDay`: the purchase is item 4, after the positions 0 to 3, and the latest of its
    /// month. `order`: the purchase's order (1, or 0 below the order floor).
    function _merge(PendingWord self, uint256 releaseDay, uint256 amount, uint256 month, uint256 order)
        private
        pure
        returns (PendingWord, uint256, bool, uint256)
    {
        // slither-disable-next-line uninitialized-local every item is written below before it is read
        uint256[5] memory days_;
        // slither-disable-next-line uninitialized-local every item is written below before it is read
        uint256[5] memory months;
        // slither-disable-next-line uninitialized-local every item is written below before it is read
        uint256[5] memory amounts;
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            days_[i] = pos >> DAY_OFFSET;
            months[i] = earnMonth(days_[i], (pos >> MONTH_OFFSET) & 3);
            amounts[i] = pos & AMOUNT_MASK;
        }
        (days_[4], months[4], amounts[4]) = (releaseDay, month, amount);
        // The pair (from, to): `to` the next day of `from`'s month; the smallest gap, the latest.
        uint256 from = 5;
        uint256 to = 4;
        uint256 gap = type(uint256).max;
        bool paired = false;
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            uint256 next = 5;
            for (uint256 j; j < 5; ++j) {
                if (months[j] == months[i] && days_[j] > days_[i] && (next == 5 || days_[j] < days_[next])) next = j;
            }
            if (next == 5) continue;
            paired = true;
            if (amounts[i] + amounts[next] > AMOUNT_MASK) continue;
            uint256 g = days_[next] - days_[i];
            if (g < gap || (g == gap && days_[next] > days_[to])) (from, to, gap) = (i, next, g);
        }
        if (from == 5) return (self, 0, !paired, 0);
        uint256 moved = days_[from] | (days_[to] << 16) | (months[from] << 32);
        uint256 head = _position(self, from);
        // The purchase's one order, or the later position's (saturating at 63).
        uint256 orders = (head >> ORDERS_OFFSET) & MAX_ORDERS;
        orders += to == 4 ? order : (_position(self, to) >> ORDERS_OFFSET) & MAX_ORDERS;
        if (orders > MAX_ORDERS) orders = MAX_ORDERS;
        head = (days_[to] << DAY_OFFSET) | ((months[from] & 3) << MONTH_OFFSET) | (orders << ORDERS_OFFSET);
        if (to == 4) {
            // The month's latest position moves to the purchase's day and takes it.
            (PendingWord updated, uint256 day, bool ok) = _set(self, from, head, amounts[from] + amount);
            return (updated, day, ok, moved);
        }
        // Two positions merge into the later one; the freed one takes the purchase.
        (PendingWord merged,,) = _set(self, to, head, amounts[from] + amounts[to]);
        uint256 fresh = (releaseDay << DAY_OFFSET) | ((month & 3) << MONTH_OFFSET) | (order << ORDERS_OFFSET);
        (PendingWord placed, uint256 at_, bool fits) = _set(merged, from, fresh, amount);
        return (placed, at_, fits, fits ? moved : 0);
    }

    /// @notice Cancels `amount` of the purchase of earn month `month` released on `releaseDay`:
    /// from the pending position of that month with the smallest day on or after `releaseDay`
    /// (where {add} keeps it), and one of its orders when `closesOrder` and it still counts one;
    /// returns the word, what that position held (`held < amount`: nothing changed), how many
    /// orders it closed and the position's day. The lock is never touched.
    /// The position keeps no more orders than its points left can have counted, whatever the
    /// brand says: none once it is empty, and with an order floor of `floorCents` (earned at
    /// `rate` points a USD) at most as many as the spend those points earn holds floors
    /// (a review of 2026-12-07: a brand returned the purchases it asserted without closing their
    /// orders, and the member kept a tier another brand's gift had paid for).
    function take(
        PendingWord self,
        uint256 releaseDay,
        uint256 month,
        uint256 amount,
        bool closesOrder,
        uint256 floorCents,
        uint256 rate
    ) internal pure returns (PendingWord updated, uint256 held, uint256 closed, uint256 day) {
        uint256 found = PURCHASE_POSITIONS;
        uint256 month4 = month & 3;
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            uint256 d = pos >> DAY_OFFSET;
            if (d < releaseDay || pos & AMOUNT_MASK == 0 || (pos >> MONTH_OFFSET) & 3 != month4) continue;
            if (found == PURCHASE_POSITIONS || d < day) (found, day) = (i, d);
            if (d == releaseDay) break; // the smallest possible: the purchase's own position
        }
        if (found == PURCHASE_POSITIONS || earnMonth(day, month4) != month) return (self, 0, 0, 0);
        uint256 taken = _position(self, found);
        held = taken & AMOUNT_MASK;
        if (held < amount) return (self, held, 0, day);
        uint256 orders = (taken >> ORDERS_OFFSET) & MAX_ORDERS;
        uint256 counted = orders;
        if (closesOrder && orders != 0) --orders;
        if (held == amount) {
            orders = 0;
        } else if (floorCents != 0 && rate != 0) {
            // No overflow: held < 2**28. The spend the points left earn, at most, in floors.
            uint256 bound = ((held - amount + 1) * 100 / rate) / floorCents;
            if (orders > bound) orders = bound;
        }
        closed = counted - orders;
        // No underflow: amount <= held. An emptied position is cleared.
        uint256 head = held == amount ? 0 : (day << DAY_OFFSET) | (month4 << MONTH_OFFSET) | (orders << ORDERS_OFFSET);
        (updated,,) = _set(self, found, head, held - amount);
    }

    /// @notice The latest release day of the purchase positions still pending on `today` (0: none).
    function latestPurchaseDay(PendingWord self, uint256 today) internal pure returns (uint256 latest) {
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            (uint256 day, uint256 amount) = at(self, i);
            if (day > today && amount != 0 && day > latest) latest = day;
        }
    }

    /// @notice The tier-gift lock still running on `today`: its release day and amount (0, 0: none).
    function gift(PendingWord self, uint256 today) internal pure returns (uint256 releaseDay, uint256 amount) {
        (releaseDay, amount) = at(self, LOCK);
        if (releaseDay <= today) return (0, 0);
    }

    /// @notice The word with the tier-gift lock set to `amount` until `releaseDay` (`amount` 0:
    /// the lock removed). `ok = false` (nothing changed) when `amount` passes 32 bits (or
    /// `releaseDay` 16: the ledger's hold days come from stored purchase days, which fit).
    function withGift(PendingWord self, uint256 releaseDay, uint256 amount)
        internal
        pure
        returns (PendingWord updated, bool ok)
    {
        if (amount > LOCK_AMOUNT_MASK || releaseDay >> 16 != 0) return (self, false);
        uint256 lock = amount == 0 ? 0 : (releaseDay << LOCK_DAY_OFFSET) | amount;
        uint256 low = PendingWord.unwrap(self) & ((uint256(1) << LOCK_OFFSET) - 1);
        return (PendingWord.wrap(low | (lock << LOCK_OFFSET)), true);
    }

    function _position(PendingWord self, uint256 i) private pure returns (uint256) {
        return (PendingWord.unwrap(self) >> (i * POSITION_BITS)) & POSITION_MASK;
    }

    /// @dev Adds a purchase of `amount` to the purchase position `i` (`pos`): `order` (0 or 1)
    /// more orders (saturating), its day and month kept.
    function _join(PendingWord self, uint256 i, uint256 pos, uint256 amount, uint256 order)
        private
        pure
        returns (PendingWord, uint256, bool)
    {
        uint256 orders = (pos >> ORDERS_OFFSET) & MAX_ORDERS;
        if (orders < MAX_ORDERS) orders += order;
        uint256 head = ((pos >> MONTH_OFFSET) << MONTH_OFFSET) | (orders << ORDERS_OFFSET);
        return _set(self, i, head, (pos & AMOUNT_MASK) + amount);
    }

    /// @dev Writes purchase position `i` as `head` (its day, month and orders, in place) with
    /// `amount`; returns the word, the position's day and whether `amount` fits its 28 bits and
    /// the day its 16 (a release day from 65,536 on, 2149-06-07 UTC, is refused: it would spill
    /// into the next position's bits, as a trial of 2026-12-05 showed).
    function _set(PendingWord self, uint256 i, uint256 head, uint256 amount)
        private
        pure
        returns (PendingWord, uint256, bool)
    {
        if (amount > AMOUNT_MASK || head >> POSITION_BITS != 0) return (self, head >> DAY_OFFSET, false);
        uint256 shift = i * POSITION_BITS;
        uint256 word = (PendingWord.unwrap(self) & ~(POSITION_MASK << shift)) | ((head | amount) << shift);
        return (PendingWord.wrap(word), head >> DAY_OFFSET, true);
    }
}
