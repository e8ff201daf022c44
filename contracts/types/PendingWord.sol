// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A member's pending points of one brand: up to 3 purchase positions, one per release
/// day, and the lock of the brand's tier-gift shares, in one storage word read on every purchase,
/// spend and reversal.
/// @dev Layout, from the low-order bits: 4 positions of 64 bits, each
/// `releaseDay 16 | amount 48` (`releaseDay` in days since 1970-01-01 UTC): positions 0 to 2
/// hold purchases ({add}, {take}: what a brand may reverse), position 3 the tier-gift shares the
/// brand paid while a purchase they depend on could still be reversed ({gift}, {withGift}: only
/// the ledger's tier rules lock and cancel it, never a brand's reversal). The points themselves
/// sit in the member's lot of the month they were earned; a position only locks `amount` of them
/// until the first second of `releaseDay`. A position whose day has come is released by the clock
/// alone (no transaction) and may be reused.
type PendingWord is uint256;

using PendingWordLibrary for PendingWord global;

/// @title Named fields of a {PendingWord}.
library PendingWordLibrary {
    uint256 internal constant POSITIONS = 4;
    /// @notice Positions 0 to 2 hold purchases; position 3 is the tier-gift lock.
    uint256 internal constant PURCHASE_POSITIONS = 3;
    uint256 internal constant GIFT_POSITION = 3;
    uint256 internal constant DAY_MASK = 0xffff;
    uint256 internal constant AMOUNT_MASK = (uint256(1) << 48) - 1;
    uint256 private constant POSITION_MASK = (uint256(1) << 64) - 1;

    /// @notice Release day and amount of position `i` (0 <= i < 4).
    function at(PendingWord self, uint256 i) internal pure returns (uint256 releaseDay, uint256 amount) {
        uint256 pos = (PendingWord.unwrap(self) >> (i * 64)) & POSITION_MASK;
        return (pos >> 48, pos & AMOUNT_MASK);
    }

    /// @notice The points still pending on day `today` (positions whose release day is later).
    function locked(PendingWord self, uint256 today) internal pure returns (uint256 total) {
        for (uint256 i; i < POSITIONS; ++i) {
            (uint256 day, uint256 amount) = at(self, i);
            if (day > today) total += amount;
        }
    }

    /// @notice Adds `amount` pending until `releaseDay`: into the purchase position of that day,
    /// else a released or empty one; with 3 other days pending, into the latest of them, whose
    /// (earlier) day it keeps. Returns the word and the day the amount is released on.
    /// @dev Reverts-free: returns `ok = false` when the position's amount would pass 48 bits.
    function add(PendingWord self, uint256 today, uint256 releaseDay, uint256 amount)
        internal
        pure
        returns (PendingWord updated, uint256 day, bool ok)
    {
        uint256 free = PURCHASE_POSITIONS;
        // slither-disable-next-line uninitialized-local zero on purpose: no later position seen yet
        uint256 latest;
        // slither-disable-next-line uninitialized-local zero on purpose: no later release day seen yet
        uint256 latestDay;
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            (uint256 d,) = at(self, i);
            if (d == releaseDay) return _put(self, i, releaseDay, amount);
            if (d <= today) {
                if (free == PURCHASE_POSITIONS) free = i;
            } else if (d > latestDay) {
                (latest, latestDay) = (i, d);
            }
        }
        if (free != PURCHASE_POSITIONS) return _set(self, free, releaseDay, amount);
        return _put(self, latest, latestDay, amount);
    }

    /// @notice Cancels `amount` of the purchase position released on `releaseDay`; returns the
    /// word and what that position held (`held < amount`: nothing changed).
    function take(PendingWord self, uint256 releaseDay, uint256 amount)
        internal
        pure
        returns (PendingWord updated, uint256 held)
    {
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            (uint256 d, uint256 a) = at(self, i);
            if (d != releaseDay || a == 0) continue;
            if (a < amount) return (self, a);
            // No underflow: amount <= a.
            (updated,,) = _set(self, i, a == amount ? 0 : d, a - amount);
            return (updated, a);
        }
        return (self, 0);
    }

    /// @notice The latest release day of the purchase positions still pending on `today` (0: none).
    function latestPurchaseDay(PendingWord self, uint256 today) internal pure returns (uint256 latest) {
        for (uint256 i; i < PURCHASE_POSITIONS; ++i) {
            (uint256 day, uint256 amount) = at(self, i);
            if (day > today && amount != 0 && day > latest) latest = day;
        }
    }

    /// @notice The tier-gift lock: its release day and amount (a day not after today: released).
    function gift(PendingWord self) internal pure returns (uint256 releaseDay, uint256 amount) {
        return at(self, GIFT_POSITION);
    }

    /// @notice The word with the tier-gift lock set to `amount` until `releaseDay`; `ok = false`
    /// (nothing changed) when `amount` passes 48 bits.
    function withGift(PendingWord self, uint256 releaseDay, uint256 amount)
        internal
        pure
        returns (PendingWord updated, bool ok)
    {
        (updated,, ok) = _set(self, GIFT_POSITION, releaseDay, amount);
    }

    function _put(PendingWord self, uint256 i, uint256 day, uint256 amount)
        private
        pure
        returns (PendingWord, uint256, bool)
    {
        (, uint256 held) = at(self, i);
        return _set(self, i, day, held + amount);
    }

    function _set(PendingWord self, uint256 i, uint256 day, uint256 amount)
        private
        pure
        returns (PendingWord, uint256, bool)
    {
        if (amount > AMOUNT_MASK) return (self, day, false);
        uint256 shift = i * 64;
        uint256 word = (PendingWord.unwrap(self) & ~(POSITION_MASK << shift)) | (((day << 48) | amount) << shift);
        return (PendingWord.wrap(word), day, true);
    }
}
