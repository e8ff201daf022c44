// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Packed monthly lots of a member, and packed monthly liability of a brand.
/// @dev Member lots: 14 positions (month % 14) in 7 slots, two per slot, each
/// `uint16 month << 112 | uint112 amount`. A lot earned in month M counts while the
/// current month is at most M + 12, so the 13 live months never share a position;
/// the 14th position holds an expired lot or nothing, and a new month overwrites it.
///
/// Brand liability: 16 positions (month % 16) of 64 bits in 4 slots, untagged; the
/// brand's `latestMonth` says which months they hold, and {clearBrandMonths} zeroes the
/// positions a new month reuses.
library LotMath {
    /// @dev A lot's amount no longer fits its 112 bits, or a brand month its 64 bits.
    error LotOverflow(uint256 month, uint256 amount);

    uint256 internal constant LIVE_MONTHS = 13;
    uint256 private constant POSITIONS = 14;
    uint256 private constant BRAND_POSITIONS = 16;
    uint256 private constant AMOUNT_MASK = (uint256(1) << 112) - 1;
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

    /// @notice Adds `amount` to the lot of `month`, replacing whatever expired lot held its position.
    /// @dev The slot is read and written as one word: `slots[i]` on a storage array would add a
    /// bounds check (pos >> 1 < 7 always holds) and a read-modify-write on the store.
    function credit(uint256[7] storage slots, uint256 month, uint256 amount) internal {
        uint256 pos = month % POSITIONS;
        uint256 shift = (pos & 1) << 7; // 0 or 128
        uint256 slot;
        uint256 word;
        assembly ("memory-safe") {
            slot := add(slots.slot, shr(1, pos)) // element pos >> 1 of a static storage array
            word := sload(slot)
        }
        uint256 lot = (word >> shift) & LOT_MASK;
        uint256 total = lot >> 112 == month ? (lot & AMOUNT_MASK) + amount : amount;
        if (total > AMOUNT_MASK) revert LotOverflow(month, total);
        uint256 updated = (word & ~(LOT_MASK << shift)) | (((month << 112) | total) << shift);
        assembly ("memory-safe") {
            sstore(slot, updated)
        }
    }

    /// @notice Takes up to `amount` from the live lots, oldest first, recording per month what
    /// it took in `taken` (index 0 = month - 12). Returns what it could not take.
    /// @dev Each slot is read and written at most once: 13 consecutive positions mod 14 visit
    /// each slot in one run.
    function consume(uint256[7] storage slots, uint256 month, uint256 amount, uint256[13] memory taken)
        internal
        returns (uint256 remaining)
    {
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
            if (have == 0) continue;
            uint256 take = have < remaining ? have : remaining;
            unchecked {
                // take <= have and take <= remaining.
                remaining -= take;
                have -= take;
            }
            taken[i] = take;
            uint256 newLot = have == 0 ? 0 : (m << 112) | have;
            word = (word & ~(LOT_MASK << shift)) | (newLot << shift);
            dirty = true;
        }
        if (dirty) slots[index] = word;
    }

    /// @notice Takes `amount` from the live lots, newest first (a reversal of pending points,
    /// which sit in the newest lots), recording per month what it took in `taken` (index 0 =
    /// month - 12). Returns what it could not take.
    function takeNewest(uint256[7] storage slots, uint256 month, uint256 amount, uint256[13] memory taken)
        internal
        returns (uint256 remaining)
    {
        remaining = amount;
        for (uint256 i = LIVE_MONTHS; i != 0 && remaining != 0;) {
            unchecked {
                --i; // i > 0 before
            }
            uint256 m = month - 12 + i;
            uint256 pos = m % POSITIONS;
            uint256 shift = (pos & 1) * 128;
            uint256 word = slots[pos >> 1];
            uint256 lot = (word >> shift) & LOT_MASK;
            if (lot >> 112 != m) continue;
            uint256 have = lot & AMOUNT_MASK;
            uint256 take = have < remaining ? have : remaining;
            if (take == 0) continue;
            unchecked {
                // take <= have and take <= remaining.
                remaining -= take;
                have -= take;
            }
            taken[i] = take;
            slots[pos >> 1] = (word & ~(LOT_MASK << shift)) | ((have == 0 ? 0 : (m << 112) | have) << shift);
        }
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
