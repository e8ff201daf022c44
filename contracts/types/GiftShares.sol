// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What the brands paid of a member's tier gifts in one quarter while a purchase counted
/// in it could still be reversed, kept so that a reversal which takes the member below a tier
/// reached that quarter cancels that tier's shares still locked (README, "Returns").
/// @dev Two kinds of word, both in {LedgerStorage-_giftShares} under `quarter << 128 | brand`:
///
/// - brand >= 1, a brand's shares: per tier t (1 Silver, 2 Gold, 3 Diamond), 80 bits at offset
///   80 * (t - 1): `holdDay 16 | points 64`, the points the brand paid of tier t's gift in that
///   quarter under lock ({PendingWord}) and the day every purchase that upgrade counted is final
///   (days since 1970-01-01 UTC; from then on the share is the member's whatever the lock holds,
///   since a later gift may have extended the lock). A tier is reached at most once per quarter
///   (the tier never drops within a quarter), so each field is written once; a gift paid by one
///   operation crossing several tiers is split among them in proportion to their gifts. A field
///   is zeroed when a reversal takes the member below its tier, cancelled or not.
/// - brand 0, the quarter's record: bit 0 set when a share was locked in the quarter; bit 1 set
///   once the quarter closed (the member's first operation of a later quarter), which also stores
///   the quarter's counters and its brand filter as {MemberWord} held them then: spendCents 48 at
///   offset 2 | orders 32 at 50 | engagements 32 at 82 | brands 63 at 114. A reversal arriving
///   after the quarter closed lowers these counters instead of the member's word. While the
///   quarter is open, bits 177..179 hold the tiers whose shares a reversal cancelled and that
///   the member has not met again since (bit t - 1: tier t), and bits 180..182 the tiers whose
///   gift was paid again this quarter: meeting a cancelled tier again pays its gift again, once
///   per tier and quarter ({AllianceLedger-_regainGifts}, hostile reviews of 2026-12-07: a brand
///   cycling a pending purchase and its return made another brand pay and cancel the gift
///   again and again, and a mark of the lowest tier alone paid tiers never cancelled).
///
/// Bounds: a field's points are at most a tier gift's value in the brand's points (3e13 at a
/// point of 1 micro-USD, < 2^64).
library GiftShares {
    uint256 internal constant FIELD_BITS = 80;
    uint256 internal constant FIELD_MASK = (uint256(1) << 80) - 1;
    uint256 private constant POINTS_MASK = (uint256(1) << 64) - 1;

    uint256 internal constant LOCKED = 1;
    uint256 internal constant CLOSED = 2;
    uint256 private constant SPEND_OFFSET = 2;
    uint256 private constant ORDERS_OFFSET = 50;
    uint256 private constant ENGAGEMENTS_OFFSET = 82;
    uint256 private constant BRANDS_OFFSET = 114;
    uint256 private constant CANCELLED_OFFSET = 177;
    uint256 private constant REGAINED_OFFSET = 180;
    uint256 private constant MASK_3 = 7;
    uint256 private constant MASK_32 = 0xffffffff;
    uint256 private constant MASK_48 = 0xffffffffffff;
    uint256 private constant MASK_63 = (uint256(1) << 63) - 1;

    /// @notice The storage key of `brand`'s shares in `quarter` (brand 0: the quarter's record).
    function key(uint256 quarter, uint256 brand) internal pure returns (uint256) {
        return (quarter << 128) | brand;
    }

    /// @notice `shares` with tier `tier`'s field (1 <= tier <= 3) set to `points` held until
    /// `holdDay`.
    function set(uint256 shares, uint256 tier, uint256 points, uint256 holdDay) internal pure returns (uint256) {
        uint256 shift = FIELD_BITS * (tier - 1);
        return (shares & ~(FIELD_MASK << shift)) | (((holdDay << 64) | points) << shift);
    }

    /// @notice The points of the tiers above `tier` still held on `today` (their hold day later),
    /// those tiers as a mask (bit t - 1: tier t), and `shares` with every field above `tier`
    /// cleared.
    function above(uint256 shares, uint256 tier, uint256 today)
        internal
        pure
        returns (uint256 points, uint256 tiers, uint256 kept)
    {
        uint256 shift = FIELD_BITS * tier;
        kept = shares & ((uint256(1) << shift) - 1);
        uint256 t = tier;
        for (uint256 rest = shares >> shift; rest != 0; rest >>= FIELD_BITS) {
            uint256 field = rest & FIELD_MASK;
            if (field >> 64 > today && field & POINTS_MASK != 0) {
                points += field & POINTS_MASK;
                tiers |= uint256(1) << t; // tier t + 1
            }
            ++t;
        }
    }

    /// @notice An open quarter's record: the tiers whose cancelled gift the member has not met
    /// again, and the tiers whose gift was paid again (masks, bit t - 1: tier t).
    function regain(uint256 record) internal pure returns (uint256 cancelled, uint256 regained) {
        cancelled = (record >> CANCELLED_OFFSET) & MASK_3;
        regained = (record >> REGAINED_OFFSET) & MASK_3;
    }

    /// @notice An open quarter's record with both masks replaced.
    function withRegain(uint256 record, uint256 cancelled, uint256 regained) internal pure returns (uint256) {
        return (record & ~(((MASK_3 << 3) | MASK_3) << CANCELLED_OFFSET)) | (cancelled << CANCELLED_OFFSET)
            | (regained << REGAINED_OFFSET);
    }

    /// @notice A closed quarter's record: locked, closed, with the quarter's counters and brands.
    function closed(uint256 spend, uint256 orders, uint256 engagements, uint256 brands)
        internal
        pure
        returns (uint256)
    {
        return LOCKED | CLOSED | (spend << SPEND_OFFSET) | (orders << ORDERS_OFFSET)
            | (engagements << ENGAGEMENTS_OFFSET) | (brands << BRANDS_OFFSET);
    }

    /// @notice The counters and brand filter a closed quarter's record holds.
    function counters(uint256 record)
        internal
        pure
        returns (uint256 spend, uint256 orders, uint256 engagements, uint256 brands)
    {
        spend = (record >> SPEND_OFFSET) & MASK_48;
        orders = (record >> ORDERS_OFFSET) & MASK_32;
        engagements = (record >> ENGAGEMENTS_OFFSET) & MASK_32;
        brands = (record >> BRANDS_OFFSET) & MASK_63;
    }
}
