// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice The earn months of a tier-gift lock's points ({PendingWord}'s lock: one per member and
/// brand): a lock may hold shares paid in several months (a later upgrade's share joins a lock
/// still running), each in the member's lot of its own month, so a spend skips each month's
/// locked points and a cancellation burns them where they are (README, "Returns").
/// @dev Up to 4 entries of 64 bits, from the low-order bits, each `month 16 | amount 48`
/// (`month` in months since January 1970; an entry of amount 0 is free). Meaningful only while
/// the lock runs: a new lock (the last one released) starts from an empty word. The amounts sum
/// to the lock's amount.
type LockMonths is uint256;

using LockMonthsLibrary for LockMonths global;

/// @title Named fields of a {LockMonths}.
library LockMonthsLibrary {
    uint256 private constant ENTRIES = 4;
    uint256 private constant ENTRY_BITS = 64;
    uint256 private constant AMOUNT_BITS = 48;
    uint256 private constant AMOUNT_MASK = (uint256(1) << AMOUNT_BITS) - 1;
    uint256 private constant ENTRY_MASK = (uint256(1) << ENTRY_BITS) - 1;

    /// @notice Adds `amount` (below 2**32: a lock's amount) to the entry of `month`, else to a
    /// free entry; `ok = false` (nothing changed) when 4 other months hold points.
    function add(LockMonths self, uint256 month, uint256 amount) internal pure returns (LockMonths, bool ok) {
        uint256 word = LockMonths.unwrap(self);
        uint256 free = ENTRIES;
        for (uint256 i; i < ENTRIES; ++i) {
            uint256 entry = (word >> (i * ENTRY_BITS)) & ENTRY_MASK;
            if (entry & AMOUNT_MASK == 0) {
                if (free == ENTRIES) free = i;
            } else if (entry >> AMOUNT_BITS == month) {
                // No overflow: the lock's amount fits 32 bits.
                return (LockMonths.wrap(word + (amount << (i * ENTRY_BITS))), true);
            }
        }
        if (free == ENTRIES) return (self, false);
        uint256 shift = free * ENTRY_BITS;
        word = (word & ~(ENTRY_MASK << shift)) | (((month << AMOUNT_BITS) | amount) << shift);
        return (LockMonths.wrap(word), true);
    }

    /// @notice Adds each entry's amount to `held` (index 0 = month `month - 12`, `month` the
    /// current one; an entry of an expired month, which no running lock holds, is left out).
    function heldInto(LockMonths self, uint256 month, uint256[13] memory held) internal pure {
        uint256 word = LockMonths.unwrap(self);
        for (uint256 i; i < ENTRIES; ++i) {
            uint256 entry = (word >> (i * ENTRY_BITS)) & ENTRY_MASK;
            uint256 m = entry >> AMOUNT_BITS;
            if (entry & AMOUNT_MASK != 0 && m + 12 >= month) held[m + 12 - month] += entry & AMOUNT_MASK;
        }
    }

    /// @notice Takes `amount` (at most the entries' sum) from the entries, newest month first,
    /// adding what it took per month to `taken` (index 0 = month `month - 12`).
    function takeNewest(LockMonths self, uint256 amount, uint256 month, uint256[13] memory taken)
        internal
        pure
        returns (LockMonths)
    {
        uint256 word = LockMonths.unwrap(self);
        while (amount != 0) {
            // slither-disable-next-line uninitialized-local zero on purpose: no entry chosen yet
            uint256 best;
            // slither-disable-next-line uninitialized-local zero on purpose: set with the first entry found
            uint256 bestMonth;
            uint256 found = ENTRIES;
            for (uint256 i; i < ENTRIES; ++i) {
                uint256 entry = (word >> (i * ENTRY_BITS)) & ENTRY_MASK;
                if (entry & AMOUNT_MASK != 0 && (found == ENTRIES || entry >> AMOUNT_BITS > bestMonth)) {
                    (found, best, bestMonth) = (i, entry & AMOUNT_MASK, entry >> AMOUNT_BITS);
                }
            }
            if (found == ENTRIES) break;
            uint256 take = best < amount ? best : amount;
            amount -= take;
            word -= take << (found * ENTRY_BITS);
            if (bestMonth + 12 >= month) taken[bestMonth + 12 - month] += take;
        }
        return LockMonths.wrap(word);
    }
}
