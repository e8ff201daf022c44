// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceLedger} from "../interfaces/IAllianceLedger.sol";

/// @notice The ledger's global word, read on every earn: the three tier rules, the admin's cap
/// on an earn's multiplier, the order floor and the pause flag.
/// @dev Layout, from the low-order bits: tier t (1..3) rule in bits [(t-1)*80, t*80) as
/// spendCents 48 | orders 16 | engagements 16; the multiplier cap (percent) in bits 240..249,
/// 0 meaning {LedgerGlobalsLibrary-DEFAULT_MAX_MULTIPLIER_PCT}; the order floor (whole USD, 0 to
/// 31) in bits 250..254; the pause flag at bit 255. (Until 2026-12-07 the cap had bits 240..254;
/// it never passes 1,000, which fits 10.)
type LedgerGlobals is uint256;

using LedgerGlobalsLibrary for LedgerGlobals global;

/// @title Tier rules, the multiplier cap and the pause flag of a {LedgerGlobals} word, and the lane arithmetic
/// that compares a member's three counters with a tier's three thresholds at once.
/// @dev Lanes: spend, orders and engagements each sit in a 64-bit lane (bits 0, 64, 128)
/// whose top bit is a guard bit. Every counter is below 2**48 (spend is 48-bit, orders and
/// engagements 32-bit) and every floor at most 2**63, so `(counters | LANE_GUARDS) - floors`
/// never borrows across lanes, and a lane keeps its guard bit exactly when its counter is at
/// least its floor.
library LedgerGlobalsLibrary {
    uint256 internal constant RULE_BITS = 80;
    uint256 internal constant RULE_SPEND_OFFSET = 0;
    uint256 internal constant RULE_ORDERS_OFFSET = 48;
    uint256 internal constant RULE_ENGAGEMENTS_OFFSET = 64;
    uint256 internal constant MAX_MULTIPLIER_OFFSET = 240;
    uint256 internal constant ORDER_FLOOR_OFFSET = 250;
    /// @notice The highest order floor, in whole USD (the field's 5 bits).
    uint256 internal constant MAX_ORDER_FLOOR_USD = 31;
    uint256 internal constant PAUSED_OFFSET = 255;
    /// @notice The multiplier cap (percent) while the admin has set none: 10x.
    uint256 internal constant DEFAULT_MAX_MULTIPLIER_PCT = 1000;

    uint256 internal constant MASK_5 = 0x1f;
    uint256 internal constant MASK_10 = 0x3ff;
    uint256 internal constant MASK_16 = 0xffff;
    uint256 internal constant MASK_48 = 0xffffffffffff;
    uint256 internal constant MASK_80 = (uint256(1) << RULE_BITS) - 1;

    uint256 internal constant LANE_BITS = 64;
    uint256 internal constant LANE_MASK = (uint256(1) << LANE_BITS) - 1;
    uint256 internal constant LANE_GUARDS = (uint256(1) << 63) | (uint256(1) << 127) | (uint256(1) << 191);

    function paused(LedgerGlobals self) internal pure returns (bool) {
        return (LedgerGlobals.unwrap(self) >> PAUSED_OFFSET) & 1 != 0;
    }

    function setPaused(LedgerGlobals self, bool value) internal pure returns (LedgerGlobals) {
        uint256 flag = uint256(1) << PAUSED_OFFSET;
        uint256 word = LedgerGlobals.unwrap(self);
        return LedgerGlobals.wrap(value ? word | flag : word & ~flag);
    }

    /// @notice The highest multiplier (percent) an earn may carry: the admin's cap, or
    /// {DEFAULT_MAX_MULTIPLIER_PCT} while none is set.
    function maxMultiplierPct(LedgerGlobals self) internal pure returns (uint256 pct) {
        pct = (LedgerGlobals.unwrap(self) >> MAX_MULTIPLIER_OFFSET) & MASK_10;
        if (pct == 0) pct = DEFAULT_MAX_MULTIPLIER_PCT;
    }

    /// @notice The word with the multiplier cap set to `pct` (percent). Requires 0 < pct < 2**10.
    function setMaxMultiplierPct(LedgerGlobals self, uint256 pct) internal pure returns (LedgerGlobals) {
        uint256 mask = MASK_10 << MAX_MULTIPLIER_OFFSET;
        return LedgerGlobals.wrap((LedgerGlobals.unwrap(self) & ~mask) | ((pct & MASK_10) << MAX_MULTIPLIER_OFFSET));
    }

    /// @notice The least a purchase must count, in cents, to count as an order toward the tiers
    /// (the admin's order floor in whole USD, times 100; 0: every purchase counts).
    function orderFloorCents(LedgerGlobals self) internal pure returns (uint256) {
        return ((LedgerGlobals.unwrap(self) >> ORDER_FLOOR_OFFSET) & MASK_5) * 100;
    }

    /// @notice The word with the order floor set to `usd` (whole USD). Requires `usd` <= 31.
    function setOrderFloorUsd(LedgerGlobals self, uint256 usd) internal pure returns (LedgerGlobals) {
        uint256 mask = MASK_5 << ORDER_FLOOR_OFFSET;
        return LedgerGlobals.wrap((LedgerGlobals.unwrap(self) & ~mask) | ((usd & MASK_5) << ORDER_FLOOR_OFFSET));
    }

    /// @notice Tier `t`'s thresholds (all zero when not configured). Requires 1 <= t <= 3.
    function tierRule(LedgerGlobals self, uint256 t) internal pure returns (IAllianceLedger.TierRule memory r) {
        uint256 packed = _packedRule(self, t);
        r.spendCents = uint48(packed >> RULE_SPEND_OFFSET);
        r.orders = uint16(packed >> RULE_ORDERS_OFFSET);
        r.engagements = uint16(packed >> RULE_ENGAGEMENTS_OFFSET);
    }

    /// @notice The word with tier `t`'s thresholds replaced. Requires 1 <= t <= 3.
    function setTierRule(LedgerGlobals self, uint256 t, IAllianceLedger.TierRule memory r)
        internal
        pure
        returns (LedgerGlobals)
    {
        uint256 shift = (t - 1) * RULE_BITS;
        uint256 packed = (uint256(r.spendCents) << RULE_SPEND_OFFSET) | (uint256(r.orders) << RULE_ORDERS_OFFSET)
            | (uint256(r.engagements) << RULE_ENGAGEMENTS_OFFSET);
        return LedgerGlobals.wrap((LedgerGlobals.unwrap(self) & ~(MASK_80 << shift)) | (packed << shift));
    }

    /// @notice Tier `t`'s thresholds as lane floors. An unconfigured tier (all thresholds 0)
    /// gets 2**63 in every lane, which no counter reaches. Requires 1 <= t <= 3.
    function floors(LedgerGlobals self, uint256 t) internal pure returns (uint256) {
        uint256 r = _packedRule(self, t);
        if (r == 0) return LANE_GUARDS;
        return ((r >> RULE_SPEND_OFFSET) & MASK_48) | (((r >> RULE_ORDERS_OFFSET) & MASK_16) << LANE_BITS)
            | (((r >> RULE_ENGAGEMENTS_OFFSET) & MASK_16) << (2 * LANE_BITS));
    }

    /// @notice A member's counters in lane form (each below 2**63).
    function counterLanes(uint256 spend, uint256 orders, uint256 engagements) internal pure returns (uint256) {
        return spend | (orders << LANE_BITS) | (engagements << (2 * LANE_BITS)) | LANE_GUARDS;
    }

    /// @notice The lane-wise minimum of three floor words: counters short of it in any lane meet
    /// no tier (meeting a tier means reaching each of its floors, so at least the minimum).
    function minFloors(uint256 floors1, uint256 floors2, uint256 floors3) internal pure returns (uint256) {
        return _laneMin(floors1, floors2, floors3, 0) | _laneMin(floors1, floors2, floors3, LANE_BITS)
            | _laneMin(floors1, floors2, floors3, 2 * LANE_BITS);
    }

    /// @notice Whether the counter lanes reach every lane of `floors` (as {tierOf} tests each tier).
    function meets(uint256 lanes, uint256 floors) internal pure returns (bool) {
        unchecked {
            // No underflow: each lane of `lanes` is at least 2**63, each floor at most 2**63.
            return (lanes - floors) & LANE_GUARDS == LANE_GUARDS;
        }
    }

    /// @notice The highest tier whose floors the counter lanes meet, or 0.
    function tierOf(uint256 lanes, uint256 floors1, uint256 floors2, uint256 floors3) internal pure returns (uint256) {
        unchecked {
            // No underflow: each lane of `lanes` is at least 2**63, each floor at most 2**63.
            if ((lanes - floors3) & LANE_GUARDS == LANE_GUARDS) return 3;
            if ((lanes - floors2) & LANE_GUARDS == LANE_GUARDS) return 2;
            if ((lanes - floors1) & LANE_GUARDS == LANE_GUARDS) return 1;
        }
        return 0;
    }

    /// @notice The highest configured tier whose three thresholds the counters meet (0 if none).
    function bestTier(LedgerGlobals self, uint256 spend, uint256 orders, uint256 engagements)
        internal
        pure
        returns (uint256)
    {
        return tierOf(counterLanes(spend, orders, engagements), floors(self, 1), floors(self, 2), floors(self, 3));
    }

    /// @dev The smallest of the three words' lanes at `shift`, in place.
    function _laneMin(uint256 a, uint256 b, uint256 c, uint256 shift) private pure returns (uint256) {
        uint256 lane = LANE_MASK << shift;
        (a, b, c) = (a & lane, b & lane, c & lane);
        uint256 m = a < b ? a : b;
        return m < c ? m : c;
    }

    function _packedRule(LedgerGlobals self, uint256 t) private pure returns (uint256) {
        return (LedgerGlobals.unwrap(self) >> ((t - 1) * RULE_BITS)) & MASK_80;
    }
}
