// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceLedger} from "../interfaces/IAllianceLedger.sol";

/// @notice A member's tier state and quarter counters, one storage word read and written on
/// every earn. The fields are those of {IAllianceLedger.MemberStatus}; the word's layout is
/// fixed here, not by that struct's field order.
/// @dev Layout, from the low-order bits (the offsets of {MemberWordLibrary}):
/// tier 8 | quarter 16 | spendCents 48 | orders 32 | engagements 32 | graceUntilMonth 16 |
/// reviewedQuarter 16 | closedQuarter 16 | closedBestTier 8 | system 1 (bit 192) | brands 63 (bits 193..255: bit (b-1) % 63 set when
/// brand b's operations counted toward the counters' quarter).
/// `system` marks an address registered by the admin (or the ledger itself) that can never move
/// points: earns, gifts and transfers to it are refused.
type MemberWord is uint256;

using MemberWordLibrary for MemberWord global;

/// @title Named fields of a {MemberWord}.
/// @dev Setters mask the value to its field and leave every other field as it was ({setCounters}
/// excepted, see there); months and quarters fit 16 bits until the year 7431.
library MemberWordLibrary {
    uint256 internal constant TIER_OFFSET = 0;
    uint256 internal constant QUARTER_OFFSET = 8;
    uint256 internal constant SPEND_OFFSET = 24;
    uint256 internal constant ORDERS_OFFSET = 72;
    uint256 internal constant ENGAGEMENTS_OFFSET = 104;
    uint256 internal constant GRACE_OFFSET = 136;
    uint256 internal constant REVIEWED_QUARTER_OFFSET = 152;
    uint256 internal constant CLOSED_QUARTER_OFFSET = 168;
    uint256 internal constant CLOSED_BEST_TIER_OFFSET = 184;
    uint256 internal constant SYSTEM_OFFSET = 192;
    uint256 internal constant BRANDS_OFFSET = 193;
    uint256 internal constant MASK_63 = (uint256(1) << 63) - 1;

    uint256 internal constant MASK_8 = 0xff;
    uint256 internal constant MASK_16 = 0xffff;
    uint256 internal constant MASK_32 = 0xffffffff;
    uint256 internal constant MASK_48 = 0xffffffffffff;
    /// @notice Largest spend (cents), order and engagement counts a quarter can hold; counters saturate there.
    uint256 internal constant MAX_SPEND = MASK_48;
    uint256 internal constant MAX_COUNT = MASK_32;

    /// @dev quarter, spendCents, orders and engagements together: the fields every earn rewrites.
    uint256 private constant COUNTERS_MASK =
        (MASK_16 << QUARTER_OFFSET) | (MASK_48 << SPEND_OFFSET) | (MASK_32 << ORDERS_OFFSET) | (MASK_32 << ENGAGEMENTS_OFFSET);

    function tier(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> TIER_OFFSET) & MASK_8;
    }

    function quarter(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> QUARTER_OFFSET) & MASK_16;
    }

    function spendCents(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> SPEND_OFFSET) & MASK_48;
    }

    function orders(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> ORDERS_OFFSET) & MASK_32;
    }

    function engagements(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> ENGAGEMENTS_OFFSET) & MASK_32;
    }

    function graceUntilMonth(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> GRACE_OFFSET) & MASK_16;
    }

    function reviewedQuarter(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> REVIEWED_QUARTER_OFFSET) & MASK_16;
    }

    function closedQuarter(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> CLOSED_QUARTER_OFFSET) & MASK_16;
    }

    function closedBestTier(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> CLOSED_BEST_TIER_OFFSET) & MASK_8;
    }

    function isSystem(MemberWord self) internal pure returns (bool) {
        return (MemberWord.unwrap(self) >> SYSTEM_OFFSET) & 1 != 0;
    }

    function setSystem(MemberWord self, bool value) internal pure returns (MemberWord) {
        return _set(self, SYSTEM_OFFSET, 1, value ? 1 : 0);
    }

    /// @notice The brands whose operations counted in the counters' quarter (bit (b-1) % 63: brand b).
    function brands(MemberWord self) internal pure returns (uint256) {
        return (MemberWord.unwrap(self) >> BRANDS_OFFSET) & MASK_63;
    }

    function setBrands(MemberWord self, uint256 value) internal pure returns (MemberWord) {
        return _set(self, BRANDS_OFFSET, MASK_63, value);
    }

    function setTier(MemberWord self, uint256 value) internal pure returns (MemberWord) {
        return _set(self, TIER_OFFSET, MASK_8, value);
    }

    function setGraceUntilMonth(MemberWord self, uint256 value) internal pure returns (MemberWord) {
        return _set(self, GRACE_OFFSET, MASK_16, value);
    }

    function setReviewedQuarter(MemberWord self, uint256 value) internal pure returns (MemberWord) {
        return _set(self, REVIEWED_QUARTER_OFFSET, MASK_16, value);
    }

    /// @notice Records the member's previous active quarter and the best tier it met.
    function setClosedQuarter(MemberWord self, uint256 closed, uint256 bestTier) internal pure returns (MemberWord) {
        return _set(_set(self, CLOSED_QUARTER_OFFSET, MASK_16, closed), CLOSED_BEST_TIER_OFFSET, MASK_8, bestTier);
    }

    /// @notice Replaces the quarter and its three counters in one step (the earn hot path).
    /// @dev Unmasked, unlike the other setters: each value must fit its field (quarter 16 bits,
    /// spend 48, orders and engagements 32), which the earn path guarantees by saturating the
    /// counters at MAX_SPEND / MAX_COUNT. A wider value would spill into the next field.
    function setCounters(MemberWord self, uint256 q, uint256 spend, uint256 orderCount, uint256 engagementCount)
        internal
        pure
        returns (MemberWord)
    {
        return MemberWord.wrap(
            (MemberWord.unwrap(self) & ~COUNTERS_MASK) | (q << QUARTER_OFFSET) | (spend << SPEND_OFFSET)
                | (orderCount << ORDERS_OFFSET) | (engagementCount << ENGAGEMENTS_OFFSET)
        );
    }

    /// @notice The word as the interface's struct.
    function toStatus(MemberWord self) internal pure returns (IAllianceLedger.MemberStatus memory s) {
        s.tier = uint8(tier(self));
        s.quarter = uint16(quarter(self));
        s.spendCents = uint48(spendCents(self));
        s.orders = uint32(orders(self));
        s.engagements = uint32(engagements(self));
        s.graceUntilMonth = uint16(graceUntilMonth(self));
        s.reviewedQuarter = uint16(reviewedQuarter(self));
        s.closedQuarter = uint16(closedQuarter(self));
        s.closedBestTier = uint8(closedBestTier(self));
    }

    /// @notice The interface's struct as a word (every field fits by its type).
    function fromStatus(IAllianceLedger.MemberStatus memory s) internal pure returns (MemberWord w) {
        w = setTier(w, s.tier);
        w = setCounters(w, s.quarter, s.spendCents, s.orders, s.engagements); // each fits by its type
        w = setGraceUntilMonth(w, s.graceUntilMonth);
        w = setReviewedQuarter(w, s.reviewedQuarter);
        w = setClosedQuarter(w, s.closedQuarter, s.closedBestTier);
    }

    function _set(MemberWord self, uint256 offset, uint256 mask, uint256 value) private pure returns (MemberWord) {
        return MemberWord.wrap((MemberWord.unwrap(self) & ~(mask << offset)) | ((value & mask) << offset));
    }
}
