// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A member's pending points of one brand: up to 4 positions, one per release day, in one
/// storage word read on every purchase, spend and reversal. A position holds purchases (what the
/// brand may reverse) or, at most one at a time, the lock of the tier-gift shares the brand paid
/// while a purchase they depend on could still be reversed (only the ledger's tier rules lock and
/// cancel it, never a brand's reversal).
/// @dev Layout, from the low-order bits: 4 positions of 64 bits, each
/// `releaseDay 16 | gift 1 | orders 7 | amount 40` (`releaseDay` in days since 1970-01-01 UTC;
/// `orders`: the purchases in the position, saturating at 127, so that a reversal closes at most
/// as many orders as the brand's purchases put there). The points themselves sit in the member's
/// lot of the month they were earned; a position only locks `amount` of them until the first
/// second of `releaseDay`. A position whose day has come is released by the clock alone (no
/// transaction) and may be reused, by a purchase or a gift lock alike.
type PendingWord is uint256;

using PendingWordLibrary for PendingWord global;

/// @title Named fields of a {PendingWord}.
library PendingWordLibrary {
    uint256 internal constant POSITIONS = 4;
    uint256 internal constant AMOUNT_MASK = (uint256(1) << 40) - 1;
    uint256 internal constant MAX_ORDERS = 127;
    uint256 private constant ORDERS_OFFSET = 40;
    uint256 private constant GIFT_FLAG = uint256(1) << 47;
    uint256 private constant POSITION_MASK = (uint256(1) << 64) - 1;

    /// @notice Release day and amount of position `i` (0 <= i < 4).
    function at(PendingWord self, uint256 i) internal pure returns (uint256 releaseDay, uint256 amount) {
        uint256 pos = _position(self, i);
        return (pos >> 48, pos & AMOUNT_MASK);
    }

    /// @notice The points still pending on day `today` (positions whose release day is later).
    function locked(PendingWord self, uint256 today) internal pure returns (uint256 total) {
        for (uint256 i; i < POSITIONS; ++i) {
            (uint256 day, uint256 amount) = at(self, i);
            if (day > today) total += amount;
        }
    }

    /// @notice Adds a purchase of `amount` pending until `releaseDay`: into the purchase position
    /// of that day, else a released or empty one; with every other position pending, into the
    /// latest purchase position, whose (earlier) day it keeps. Returns the word and the day the
    /// amount is released on.
    /// @dev Reverts-free: returns `ok = false` when the position's amount would pass 40 bits.
    function add(PendingWord self, uint256 today, uint256 releaseDay, uint256 amount)
        internal
        pure
        returns (PendingWord updated, uint256 day, bool ok)
    {
        uint256 free = POSITIONS;
        // slither-disable-next-line uninitialized-local zero on purpose: no later position seen yet
        uint256 latest;
        // slither-disable-next-line uninitialized-local zero on purpose: no later release day seen yet
        uint256 latestDay;
        for (uint256 i; i < POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            uint256 d = pos >> 48;
            if (d <= today) {
                if (free == POSITIONS) free = i;
            } else if (pos & GIFT_FLAG == 0) {
                if (d == releaseDay) return _join(self, i, pos, amount);
                if (d > latestDay) (latest, latestDay) = (i, d);
            }
        }
        if (free != POSITIONS) return _set(self, free, (releaseDay << 48) | (uint256(1) << ORDERS_OFFSET), amount);
        // At most one position is a gift lock: three purchase positions are pending here.
        return _join(self, latest, _position(self, latest), amount);
    }

    /// @notice Cancels `amount` of the purchase position released on `releaseDay`, and one of its
    /// orders when `closesOrder` and it still counts one; returns the word, what that position
    /// held (`held < amount`: nothing changed) and whether an order was closed.
    function take(PendingWord self, uint256 releaseDay, uint256 amount, bool closesOrder)
        internal
        pure
        returns (PendingWord updated, uint256 held, bool closed)
    {
        for (uint256 i; i < POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            held = pos & AMOUNT_MASK;
            if (pos >> 48 != releaseDay || pos & GIFT_FLAG != 0 || held == 0) continue;
            if (held < amount) return (self, held, false);
            uint256 orders = (pos >> ORDERS_OFFSET) & MAX_ORDERS;
            closed = closesOrder && orders != 0;
            if (closed) --orders;
            // No underflow: amount <= held. An emptied position is cleared.
            uint256 head = held == amount ? 0 : (releaseDay << 48) | (orders << ORDERS_OFFSET);
            (updated,,) = _set(self, i, head, held - amount);
            return (updated, held, closed);
        }
        return (self, 0, false);
    }

    /// @notice The latest release day of the purchase positions still pending on `today` (0: none).
    function latestPurchaseDay(PendingWord self, uint256 today) internal pure returns (uint256 latest) {
        for (uint256 i; i < POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            uint256 day = pos >> 48;
            if (day > today && pos & GIFT_FLAG == 0 && pos & AMOUNT_MASK != 0 && day > latest) latest = day;
        }
    }

    /// @notice The tier-gift lock still running on `today`: its release day and amount (0, 0: none).
    function gift(PendingWord self, uint256 today) internal pure returns (uint256 releaseDay, uint256 amount) {
        for (uint256 i; i < POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            if (pos & GIFT_FLAG != 0 && pos >> 48 > today) return (pos >> 48, pos & AMOUNT_MASK);
        }
    }

    /// @notice The word with the tier-gift lock set to `amount` until `releaseDay` (`amount` 0:
    /// the lock removed), in the running lock's position, else a released or empty one. `ok =
    /// false` (nothing changed) when `amount` passes 40 bits or every position is pending.
    function withGift(PendingWord self, uint256 today, uint256 releaseDay, uint256 amount)
        internal
        pure
        returns (PendingWord updated, bool ok)
    {
        uint256 free = POSITIONS;
        for (uint256 i; i < POSITIONS; ++i) {
            uint256 pos = _position(self, i);
            if (pos >> 48 <= today) {
                if (free == POSITIONS) free = i;
            } else if (pos & GIFT_FLAG != 0) {
                free = i;
                break;
            }
        }
        if (free == POSITIONS) return (self, false);
        uint256 head = amount == 0 ? 0 : (releaseDay << 48) | GIFT_FLAG;
        (updated,, ok) = _set(self, free, head, amount);
    }

    function _position(PendingWord self, uint256 i) private pure returns (uint256) {
        return (PendingWord.unwrap(self) >> (i * 64)) & POSITION_MASK;
    }

    /// @dev Adds a purchase of `amount` to the purchase position `i` (`pos`): one more order
    /// (saturating), its day kept.
    function _join(PendingWord self, uint256 i, uint256 pos, uint256 amount)
        private
        pure
        returns (PendingWord, uint256, bool)
    {
        uint256 orders = (pos >> ORDERS_OFFSET) & MAX_ORDERS;
        if (orders < MAX_ORDERS) ++orders;
        return _set(self, i, ((pos >> 48) << 48) | (orders << ORDERS_OFFSET), (pos & AMOUNT_MASK) + amount);
    }

    /// @dev Writes position `i` as `head` (its day, flag and orders, in place) with `amount`;
    /// returns the word, the position's day and whether `amount` fits its 40 bits.
    function _set(PendingWord self, uint256 i, uint256 head, uint256 amount)
        private
        pure
        returns (PendingWord, uint256, bool)
    {
        if (amount > AMOUNT_MASK) return (self, head >> 48, false);
        uint256 shift = i * 64;
        uint256 word = (PendingWord.unwrap(self) & ~(POSITION_MASK << shift)) | ((head | amount) << shift);
        return (PendingWord.wrap(word), head >> 48, true);
    }
}
