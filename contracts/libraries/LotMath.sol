// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Packed monthly lots of a member, and packed monthly liability of a brand.
/// @dev Member lots: 14 positions (month % 14) in 7 slots, two per slot, each
/// `uint16 month << 112 | uint48 part << 64 | uint64 amount`. A lot earned in month M counts
/// while the current month is at most M + 12, so the 13 live months never share a position;
/// the 14th position holds an expired lot or nothing, and a new month overwrites it.
/// `part` is the brand's part of the member's tier gifts earned in that month: the value
/// (micro-USD, saturating at 2**48 - 1) of the points the brand issued to the member that month
/// by operations that counted toward its tier. It sits in the lot the earn writes anyway (no
/// word of its own: issue 15), stays when the lot's points are spent or gifted (a lot whose
/// amount reaches 0 keeps its month and part), and a quarter's part is the sum over its months
/// ({partSince}).
///
/// Brand liability: 16 positions (month % 16) of 64 bits in 4 slots, untagged; the
/// brand's `latestMonth` says which months they hold, and {clearBrandMonths} zeroes the
/// positions a new month reuses.
library LotMath {
    /// @dev A lot's amount no longer fits its 64 bits, or a brand month its 64 bits.
    error LotOverflow(uint256 month, uint256 amount);

    uint256 internal constant LIVE_MONTHS = 13;
    uint256 private constant POSITIONS = 14;
    uint256 private constant BRAND_POSITIONS = 16;
    uint256 private constant AMOUNT_MASK = (uint256(1) << 64) - 1;
    uint256 private constant PART_OFFSET = 64;
    uint256 private constant PART_MASK = (uint256(1) << 48) - 1;
    uint256 private constant LOT_MASK = (uint256(1) << 128) - 1;
    uint256 private constant BRAND_MASK = (uint256(1) << 64) - 1;
    uint256 private constant VALUE_MASK = 0xffffffff;

    // ------------------------------------------------------------------ member lots

    /// @notice The member's lot amount of `month` (0 when the position holds another month).
    function amountAt(uint256[7] storage slots, uint256 month) internal view returns (uint256) {
        return amountIn(slots[slotOf(month)], month);
    }

    /// @notice Which of the 7 slots holds the lot position of `month`.
    function slotOf(uint256 month) internal pure returns (uint256) {
        return (month % POSITIONS) >> 1;
    }

    /// @notice The lot amount of `month` in `word`, the slot {slotOf} names (0 when the
    /// position holds another month). For readers of the raw slots, such as a lens.
    function amountIn(uint256 word, uint256 month) internal pure returns (uint256) {
        uint256 lot = (word >> ((month % POSITIONS & 1) * 128)) & LOT_MASK;
        return lot >> 112 == month ? lot & AMOUNT_MASK : 0;
    }

    /// @notice The part recorded in the lot of `month` in `word`, the slot {slotOf} names (0 when
    /// the position holds another month).
    function partIn(uint256 word, uint256 month) internal pure returns (uint256) {
        uint256 lot = (word >> ((month % POSITIONS & 1) * 128)) & LOT_MASK;
        return lot >> 112 == month ? (lot >> PART_OFFSET) & PART_MASK : 0;
    }

    /// @notice The sum of the parts recorded in the lots of months `first` to `month` (at most
    /// 13 months: the live ones); a quarter's part when `first` is its first month.
    function partSince(uint256[7] storage slots, uint256 first, uint256 month) internal view returns (uint256 total) {
        for (uint256 m = first; m <= month; ++m) {
            total += partIn(slots[slotOf(m)], m);
        }
    }

    /// @notice Adds `amount` to the lot of `month` and `part` to its part (saturating), replacing
    /// whatever expired lot held its position.
    /// @dev The slot is read and written as one word: `slots[i]` on a storage array would add a
    /// bounds check (pos >> 1 < 7 always holds) and a read-modify-write on the store. Reverts
    /// with {LotOverflow} when the amount would pass 64 bits.
    function credit(uint256[7] storage slots, uint256 month, uint256 amount, uint256 part) internal {
        uint256 pos = month % POSITIONS;
        uint256 shift = (pos & 1) << 7; // 0 or 128
        uint256 slot;
        uint256 word;
        assembly ("memory-safe") {
            slot := add(slots.slot, shr(1, pos)) // element pos >> 1 of a static storage array
            word := sload(slot)
        }
        uint256 lot = (word >> shift) & LOT_MASK;
        uint256 total = amount;
        if (lot >> 112 == month) {
            total += lot & AMOUNT_MASK;
            part += (lot >> PART_OFFSET) & PART_MASK;
        }
        if (total > AMOUNT_MASK) revert LotOverflow(month, total);
        if (part > PART_MASK) part = PART_MASK;
        uint256 updated =
            (word & ~(LOT_MASK << shift)) | (((month << 112) | (part << PART_OFFSET) | total) << shift);
        assembly ("memory-safe") {
            sstore(slot, updated)
        }
    }

    /// @notice Takes up to `amount` from the live lots, oldest first, leaving in each lot the
    /// points `held` for its month (pending: index 0 = month - 12; read only when `anyHeld`),
    /// recording per month what it took in `taken` (same index). Returns what it could not take.
    /// @dev Each slot is read and written at most once: 13 consecutive positions mod 14 visit
    /// each slot in one run.
    function consume(
        uint256[7] storage slots,
        uint256 month,
        uint256 amount,
        bool anyHeld,
        uint256[13] memory held,
        uint256[13] memory taken
    ) internal returns (uint256 remaining) {
        remaining = amount;
        uint256 index = type(uint256).max;
        // slither-disable-next-line uninitialized-local zero on purpose: no slot loaded yet (index is max)
        uint256 word;
        // slither-disable-next-line uninitialized-local false on purpose: nothing to write back yet
        bool dirty;
        uint256 first = month - 12;
        for (uint256 i; i < LIVE_MONTHS && remaining != 0; ++i) {
            uint256 m = first + i;
            uint256 pos = m % POSITIONS;
            if (pos >> 1 != index) {
                if (dirty) slots[index] = word;
                index = pos >> 1;
                word = slots[index];
                dirty = false;
            }
            uint256 shift = (pos & 1) * 128;
            uint256 lot = (word >> shift) & LOT_MASK;
            if (lot >> 112 != m) continue;
            uint256 have = lot & AMOUNT_MASK;
            // Checked: a lot holds every point pending in its month (pending points are never spent).
            if (anyHeld) have -= held[i];
            if (have == 0) continue;
            uint256 take = have < remaining ? have : remaining;
            unchecked {
                remaining -= take; // take <= remaining
            }
            taken[i] = take;
            word = _take(word, shift, lot, take, m, month);
            dirty = true;
        }
        if (dirty) slots[index] = word;
    }

    /// @notice Takes `amount` from the lot of `m`, a live month (`month` the current one) whose lot
    /// holds it, and `part` (micro-USD) from its part, saturating at 0: pending points burned where
    /// they sit (a reversal takes the value its purchase added to the part; a cancelled gift
    /// share, which added none, takes 0).
    /// @dev Reverts with {LotOverflow} when the lot holds less, which the ledger never asks.
    function takeAt(uint256[7] storage slots, uint256 month, uint256 m, uint256 amount, uint256 part) internal {
        uint256 pos = m % POSITIONS;
        uint256 shift = (pos & 1) * 128;
        uint256 word = slots[pos >> 1];
        uint256 lot = (word >> shift) & LOT_MASK;
        if (lot >> 112 != m || lot & AMOUNT_MASK < amount) revert LotOverflow(m, amount);
        if (part != 0) {
            uint256 had = (lot >> PART_OFFSET) & PART_MASK;
            uint256 left = had > part ? had - part : 0;
            lot = (lot & ~(PART_MASK << PART_OFFSET)) | (left << PART_OFFSET);
            word = (word & ~(LOT_MASK << shift)) | (lot << shift);
        }
        slots[pos >> 1] = _take(word, shift, lot, amount, m, month);
    }

    /// @dev `word` with `take` (at most the lot's amount) taken from the lot of month `m` at
    /// `shift`. A lot left with points, or with a part of the current quarter (months from
    /// `month - month % 3` on), keeps its month and part; an emptied lot of an earlier quarter, whose
    /// part no gift reads again, is cleared (a slot whose both lots are cleared is zeroed, and
    /// refunded as before issue 15).
    function _take(uint256 word, uint256 shift, uint256 lot, uint256 take, uint256 m, uint256 month)
        private
        pure
        returns (uint256)
    {
        if (lot & AMOUNT_MASK == take && (m < month - month % 3 || (lot >> PART_OFFSET) & PART_MASK == 0)) {
            return word & ~(LOT_MASK << shift);
        }
        return word - (take << shift);
    }

    // ------------------------------------------------------------- brand liability

    /// @notice Unspent points the brand issued in `month` (valid for the 16 months up to latestMonth).
    function brandLiveAt(uint256[4] storage ring, uint256 month) internal view returns (uint256) {
        return brandLiveIn(ring[brandSlotOf(month)], month);
    }

    /// @notice Which of the brand's 4 ring slots holds the position of `month`.
    function brandSlotOf(uint256 month) internal pure returns (uint256) {
        return (month % BRAND_POSITIONS) >> 2;
    }

    /// @notice The brand's live points of `month` in `word`, the ring slot {brandSlotOf} names.
    function brandLiveIn(uint256 word, uint256 month) internal pure returns (uint256) {
        return (word >> ((month % BRAND_POSITIONS & 3) * 64)) & BRAND_MASK;
    }

    /// @notice Zeroes the positions of the months after `latestMonth` up to `month`, and the
    /// position of `latestMonth` itself, which is about to receive that month's count.
    function clearBrandMonths(uint256[4] storage ring, uint256 latestMonth, uint256 month) internal {
        if (latestMonth == 0) return; // never issued: the ring is empty
        if (month - latestMonth >= BRAND_POSITIONS) {
            for (uint256 i; i < 4; ++i) {
                if (ring[i] != 0) ring[i] = 0;
            }
            return;
        }
        for (uint256 m = latestMonth; m <= month; ++m) {
            uint256 pos = m % BRAND_POSITIONS;
            uint256 word = ring[pos >> 2];
            uint256 cleared = word & ~(BRAND_MASK << ((pos & 3) * 64));
            if (cleared != word) ring[pos >> 2] = cleared;
        }
    }

    /// @notice Adds `amount` to the brand's live points of `month`.
    function addBrandLive(uint256[4] storage ring, uint256 month, uint256 amount) internal {
        uint256 pos = month % BRAND_POSITIONS;
        uint256 shift = (pos & 3) * 64;
        uint256 word = ring[pos >> 2];
        uint256 total = ((word >> shift) & BRAND_MASK) + amount;
        if (total > BRAND_MASK) revert LotOverflow(month, total);
        ring[pos >> 2] = (word & ~(BRAND_MASK << shift)) | (total << shift);
    }

    /// @notice Subtracts what {consume} took (index 0 = month - 12) from the brand's live points.
    /// @dev Checked: a brand month always holds at least the sum of its members' lots of that month.
    function subtractBrandLive(uint256[4] storage ring, uint256 month, uint256[13] memory taken) internal {
        uint256 index = type(uint256).max;
        // slither-disable-next-line uninitialized-local zero on purpose: no slot loaded yet (index is max)
        uint256 word;
        // slither-disable-next-line uninitialized-local false on purpose: nothing to write back yet
        bool dirty;
        uint256 first = month - 12;
        for (uint256 i; i < LIVE_MONTHS; ++i) {
            if (taken[i] == 0) continue;
            uint256 pos = (first + i) % BRAND_POSITIONS;
            if (pos >> 2 != index) {
                if (dirty) ring[index] = word;
                index = pos >> 2;
                word = ring[index];
            }
            uint256 shift = (pos & 3) * 64;
            uint256 live = ((word >> shift) & BRAND_MASK) - taken[i];
            word = (word & ~(BRAND_MASK << shift)) | (live << shift);
            dirty = true;
        }
        if (dirty) ring[index] = word;
    }

    // ----------------------------------------------------------- brand month values

    /// @notice The value (micro-USD) of the brand's points of `month`, from its value ring:
    /// 16 positions (month % 16) of 32 bits in 2 slots, untagged; valid for the months that
    /// received points among the 16 up to the brand's latest month.
    function monthValueAt(uint256[2] storage ring, uint256 month) internal view returns (uint256) {
        return monthValueIn(ring[valueSlotOf(month)], month);
    }

    /// @notice Which of the 2 value ring slots holds the position of `month`.
    function valueSlotOf(uint256 month) internal pure returns (uint256) {
        return (month % BRAND_POSITIONS) >> 3;
    }

    /// @notice The value of `month` in `word`, the value ring slot {valueSlotOf} names.
    function monthValueIn(uint256 word, uint256 month) internal pure returns (uint256) {
        return (word >> ((month % BRAND_POSITIONS & 7) * 32)) & VALUE_MASK;
    }

    /// @notice The value of what {consume} took (`total` in all, index 0 = month - 12), each month's points at
    /// that month's value: `latestValue` for `latestMonth` (the brand's config word holds it),
    /// the value ring for older months.
    /// @dev Each ring slot is read once per run of months it holds (at most 3 reads for 13 months).
    function lotsValue(
        uint256[2] storage ring,
        uint256 month,
        uint256 latestMonth,
        uint256 latestValue,
        uint256 total,
        uint256[13] memory taken
    ) internal view returns (uint256 value) {
        uint256 index = type(uint256).max;
        // slither-disable-next-line uninitialized-local zero on purpose: no slot loaded yet (index is max)
        uint256 word;
        uint256 first = month - 12;
        // `total` is what was taken in all: the loop stops once it is priced.
        for (uint256 i; i < LIVE_MONTHS && total != 0; ++i) {
            uint256 amount = taken[i];
            if (amount == 0) continue;
            unchecked {
                total -= amount; // the months' amounts sum to total
            }
            uint256 m = first + i;
            uint256 v = latestValue;
            if (m != latestMonth) {
                uint256 pos = m % BRAND_POSITIONS;
                if (pos >> 3 != index) {
                    index = pos >> 3;
                    word = ring[index];
                }
                v = (word >> ((pos & 7) * 32)) & VALUE_MASK;
            }
            unchecked {
                // No overflow: amount < 2**112, v < 2**32, 13 terms.
                value += amount * v;
            }
        }
    }

    /// @notice Records `value` (< 2**32) as the value of the brand's points of `month`.
    function setMonthValue(uint256[2] storage ring, uint256 month, uint256 value) internal {
        uint256 pos = month % BRAND_POSITIONS;
        uint256 shift = (pos & 7) * 32;
        uint256 word = ring[pos >> 3];
        uint256 updated = (word & ~(VALUE_MASK << shift)) | (value << shift);
        if (updated != word) ring[pos >> 3] = updated;
    }
}
