// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceTierReviews} from "../interfaces/IAllianceTierReviews.sol";

/// @title TierReviews: a member's tier as the calendar judges it, for the contracts that gate on a tier.
/// @notice See {IAllianceTierReviews}: the ledger's `tierOf` (and the membership badge) is the tier as last
/// applied; {applyDue} applies the reviews due since, so the read that follows it is the calendar's verdict.
library TierReviews {
    /// @dev Applies `member`'s due quarterly reviews on `ledger`: a no-op (one `TierReviewSkipped`) when none
    /// is due. The ledger is trusted and fixed at deploy; a downgrade it applies updates the membership badge,
    /// which makes no call back.
    function applyDue(IAllianceTierReviews ledger, address member) internal {
        address[] memory members = new address[](1);
        members[0] = member;
        ledger.reviewTiers(members);
    }
}
