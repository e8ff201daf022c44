// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceLedger} from "../interfaces/IAllianceLedger.sol";

/// @notice A brand's {IAllianceLedger.EarnRule} in 40 bits: one byte of points per
/// {IAllianceLedger.EarnKind}, in the enum's order (byte k = points of kind k).
type PackedEarnRule is uint40;

using PackedEarnRuleLibrary for PackedEarnRule global;

/// @title Packing and reading of a {PackedEarnRule}.
library PackedEarnRuleLibrary {
    uint256 internal constant BITS_PER_KIND = 8;

    /// @notice The rule's five rates packed in EarnKind order.
    function pack(IAllianceLedger.EarnRule memory r) internal pure returns (PackedEarnRule) {
        return PackedEarnRule.wrap(
            uint40(r.pointsPerUsd) | (uint40(r.pointsPerReview) << 8) | (uint40(r.pointsPerShare) << 16)
                | (uint40(r.pointsPerEvent) << 24) | (uint40(r.pointsPerReferral) << 32)
        );
    }

    /// @notice The rule as its struct.
    function unpack(PackedEarnRule self) internal pure returns (IAllianceLedger.EarnRule memory r) {
        r.pointsPerUsd = uint8(rate(self, IAllianceLedger.EarnKind.Purchase));
        r.pointsPerReview = uint8(rate(self, IAllianceLedger.EarnKind.Review));
        r.pointsPerShare = uint8(rate(self, IAllianceLedger.EarnKind.Share));
        r.pointsPerEvent = uint8(rate(self, IAllianceLedger.EarnKind.Event));
        r.pointsPerReferral = uint8(rate(self, IAllianceLedger.EarnKind.Referral));
    }

    /// @notice Points of `kind`: per USD for a purchase, per engagement otherwise.
    function rate(PackedEarnRule self, IAllianceLedger.EarnKind kind) internal pure returns (uint256) {
        return (uint256(PackedEarnRule.unwrap(self)) >> (BITS_PER_KIND * uint256(kind))) & 0xff;
    }
}
