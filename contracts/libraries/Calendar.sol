// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Calendar months and quarters (UTC) for lot expiry and tier reviews.
/// @dev A month index counts months since January 1970 (index 0); a quarter
/// index is `month / 3`. Conversions use the proleptic Gregorian calendar
/// (days-from-civil), exact for every timestamp after 1970.
library Calendar {
    uint256 private constant SECONDS_PER_DAY = 86_400;
    /// @dev Days between 0000-03-01 and 1970-01-01 in the shifted (March-first) calendar.
    uint256 private constant EPOCH_SHIFT = 719_468;

    /// @notice The month index of `timestamp`.
    function monthOf(uint256 timestamp) internal pure returns (uint256) {
        unchecked {
            // No overflow: every term is bounded by timestamp / 86400 plus small constants.
            uint256 z = timestamp / SECONDS_PER_DAY + EPOCH_SHIFT;
            // slither-disable-next-line divide-before-multiply floor division is the algorithm (days-from-civil eras)
            uint256 era = z / 146_097;
            uint256 doe = z - era * 146_097;
            // slither-disable-next-line divide-before-multiply floor division is the algorithm (year of era)
            uint256 yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            uint256 mp = (5 * doy + 2) / 153;
            uint256 year = yoe + era * 400 + (mp >= 10 ? 1 : 0);
            uint256 month = mp < 10 ? mp + 2 : mp - 10; // 0 = January
            return (year - 1970) * 12 + month;
        }
    }

    /// @notice The first second of month `monthIndex`.
    function monthStart(uint256 monthIndex) internal pure returns (uint256) {
        unchecked {
            // No overflow: monthIndex is at most 2**16 in this codebase.
            uint256 year = 1970 + monthIndex / 12;
            uint256 month = monthIndex % 12 + 1; // 1 = January
            if (month <= 2) year -= 1;
            // slither-disable-next-line divide-before-multiply floor division is the algorithm (days-from-civil eras)
            uint256 era = year / 400;
            uint256 yoe = year - era * 400;
            uint256 doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5;
            uint256 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            return (era * 146_097 + doe - EPOCH_SHIFT) * SECONDS_PER_DAY;
        }
    }

    /// @notice The current month index.
    function currentMonth() internal view returns (uint256) {
        return monthOf(block.timestamp);
    }
}
