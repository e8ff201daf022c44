// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The ledger's tier reviews, as the contracts that gate on a tier apply them.
/// @notice Reviews follow the calendar (README "Reviews follow the calendar"): at each quarter start the ledger
/// judges the quarter before, and a member short of its tier for a second quarter (3 months of grace) drops one
/// step. The ledger applies a member's due reviews lazily: at the member's first earn of a quarter, or when
/// anyone calls {reviewTiers} (the gateway does at each quarter start). Until then its `tierOf` and the membership
/// badge still show the tier the calendar has taken away. {AlliancePolls}, {AllianceBadges} and
/// {AllianceAuctions} therefore apply the member's due reviews (this call) before they read its tier, so a tier
/// gate judges the tier after the reviews due, never the tier as last written (since 2026-12-06).
/// @dev Kept apart from {IAllianceDirectory}, which the ledger's delegatecall target ({AllianceLedgerAdmin}) also
/// implements; the ledger does not inherit this interface: a caller casts the ledger's address to it.
interface IAllianceTierReviews {
    /// @notice Applies each member's due quarterly reviews (the ledger's `reviewTiers`); anyone may call.
    /// @dev Cheap when none is due: a member already reviewed at this quarter's start is skipped with
    /// `TierReviewSkipped`; a member without a tier (or a system address) only records the quarter
    /// (`TierRetained` with tier 0). Reverts only while the alliance is paused (`EnforcedPause()`), when every
    /// caller's own tier-gated function reverts too.
    function reviewTiers(address[] calldata members) external;
}
