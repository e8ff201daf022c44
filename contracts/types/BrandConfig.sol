// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PackedEarnRule} from "./PackedEarnRule.sol";

/// @notice A brand's configuration and running totals, one storage word read on every earn.
/// @dev Layout, from the low-order bits (named by the constants of {BrandConfigLibrary}):
/// exists 8 | suspended 1 | returnWindowDays 7 | rule 40 | valueMicroUsd 32 | latestMonth 16 | issued 96 | latestMonthLive 56.
/// `latestMonth` is the newest month the brand issued points in; `latestMonthLive` the unspent
/// points of that month (older months live in the brand's liability ring, see {LotMath}).
type BrandConfig is uint256;

using BrandConfigLibrary for BrandConfig global;

/// @title Named fields of a {BrandConfig} word.
/// @dev Getters return the field zero-extended; setters take a value that must fit the field
/// (callers check with SafeCast or by construction) and leave every other field as it was.
library BrandConfigLibrary {
    uint256 internal constant EXISTS_OFFSET = 0;
    uint256 internal constant SUSPENDED_OFFSET = 8;
    uint256 internal constant RETURN_WINDOW_OFFSET = 9;
    uint256 internal constant RULE_OFFSET = 16;
    uint256 internal constant VALUE_OFFSET = 56;
    uint256 internal constant LATEST_MONTH_OFFSET = 88;
    uint256 internal constant ISSUED_OFFSET = 104;
    uint256 internal constant LATEST_MONTH_LIVE_OFFSET = 200;

    uint256 internal constant MASK_1 = 1;
    uint256 internal constant MASK_7 = 0x7f;
    uint256 internal constant MASK_8 = 0xff;
    /// @notice A new brand's return window: 14 days, the EU's withdrawal period.
    uint256 internal constant DEFAULT_RETURN_WINDOW_DAYS = 14;
    uint256 internal constant MASK_16 = 0xffff;
    uint256 internal constant MASK_32 = 0xffffffff;
    uint256 internal constant MASK_40 = 0xffffffffff;
    uint256 internal constant MASK_56 = (uint256(1) << 56) - 1;
    uint256 internal constant MASK_96 = (uint256(1) << 96) - 1;

    /// @notice A new brand: exists, active, a 14-day return window, with its rule and point
    /// value, nothing issued.
    function create(PackedEarnRule rule, uint256 valueMicroUsd) internal pure returns (BrandConfig) {
        return BrandConfig.wrap(
            (uint256(1) << EXISTS_OFFSET) | (DEFAULT_RETURN_WINDOW_DAYS << RETURN_WINDOW_OFFSET)
                | (uint256(PackedEarnRule.unwrap(rule)) << RULE_OFFSET)
                | ((valueMicroUsd & MASK_32) << VALUE_OFFSET)
        );
    }

    function exists(BrandConfig self) internal pure returns (bool) {
        return (BrandConfig.unwrap(self) >> EXISTS_OFFSET) & MASK_8 != 0;
    }

    function suspended(BrandConfig self) internal pure returns (bool) {
        return (BrandConfig.unwrap(self) >> SUSPENDED_OFFSET) & MASK_1 != 0;
    }

    /// @notice Days a purchase's points stay pending (0 to 90); see {PendingWord}.
    function returnWindowDays(BrandConfig self) internal pure returns (uint256) {
        return (BrandConfig.unwrap(self) >> RETURN_WINDOW_OFFSET) & MASK_7;
    }

    function setReturnWindowDays(BrandConfig self, uint256 value) internal pure returns (BrandConfig) {
        return _set(self, RETURN_WINDOW_OFFSET, MASK_7, value);
    }

    function rule(BrandConfig self) internal pure returns (PackedEarnRule) {
        return PackedEarnRule.wrap(uint40(BrandConfig.unwrap(self) >> RULE_OFFSET));
    }

    function valueMicroUsd(BrandConfig self) internal pure returns (uint256) {
        return (BrandConfig.unwrap(self) >> VALUE_OFFSET) & MASK_32;
    }

    function latestMonth(BrandConfig self) internal pure returns (uint256) {
        return (BrandConfig.unwrap(self) >> LATEST_MONTH_OFFSET) & MASK_16;
    }

    function issued(BrandConfig self) internal pure returns (uint256) {
        return (BrandConfig.unwrap(self) >> ISSUED_OFFSET) & MASK_96;
    }

    function latestMonthLive(BrandConfig self) internal pure returns (uint256) {
        return (BrandConfig.unwrap(self) >> LATEST_MONTH_LIVE_OFFSET) & MASK_56;
    }

    function setSuspended(BrandConfig self, bool value) internal pure returns (BrandConfig) {
        return _set(self, SUSPENDED_OFFSET, MASK_1, value ? 1 : 0);
    }

    function setRule(BrandConfig self, PackedEarnRule value) internal pure returns (BrandConfig) {
        return _set(self, RULE_OFFSET, MASK_40, PackedEarnRule.unwrap(value));
    }

    function setValueMicroUsd(BrandConfig self, uint256 value) internal pure returns (BrandConfig) {
        return _set(self, VALUE_OFFSET, MASK_32, value);
    }

    function setLatestMonth(BrandConfig self, uint256 value) internal pure returns (BrandConfig) {
        return _set(self, LATEST_MONTH_OFFSET, MASK_16, value);
    }

    function setIssued(BrandConfig self, uint256 value) internal pure returns (BrandConfig) {
        return _set(self, ISSUED_OFFSET, MASK_96, value);
    }

    function setLatestMonthLive(BrandConfig self, uint256 value) internal pure returns (BrandConfig) {
        return _set(self, LATEST_MONTH_LIVE_OFFSET, MASK_56, value);
    }

    function _set(BrandConfig self, uint256 offset, uint256 mask, uint256 value) private pure returns (BrandConfig) {
        return BrandConfig.wrap((BrandConfig.unwrap(self) & ~(mask << offset)) | ((value & mask) << offset));
    }
}
