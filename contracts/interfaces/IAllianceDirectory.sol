// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title What the badge contracts ask the ledger: who is a brand, and a member's tier.
interface IAllianceDirectory {
    /// @notice The brand a signing key acts for, 0 when the key belongs to no brand.
    function brandOf(address signer) external view returns (uint256 brand);

    /// @notice Whether `brand` is onboarded and not suspended.
    function isBrandActive(uint256 brand) external view returns (bool);

    /// @notice The member's current tier: 0 none, 1 Silver, 2 Gold, 3 Diamond.
    /// @dev The tier as last applied: a quarterly review the calendar made due is applied lazily (README
    /// "Reviews follow the calendar"), so a tier gate applies the member's due reviews first
    /// ({IAllianceTierReviews-reviewTiers}) and reads this after.
    function tierOf(address member) external view returns (uint8 tier);
}
