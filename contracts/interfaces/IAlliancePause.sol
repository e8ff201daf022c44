// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The alliance's one pause switch, as the other contracts read it from the ledger.
/// @notice {AllianceLedger} holds the only pause flag of the system (its admin-only `pause` and
/// `unpause`); {SettlementVault}, {AllianceBadges} and {MembershipBadge} read it through this
/// interface and revert with OpenZeppelin's `EnforcedPause()` while it is set.
/// @dev Kept apart from {IAllianceDirectory}: the ledger's `paused()` already overrides
/// OpenZeppelin's {Pausable}, so the ledger does not inherit this interface; a caller casts the
/// ledger's address to it.
interface IAlliancePause {
    /// @notice Whether the alliance is paused (the ledger's admin pause).
    function paused() external view returns (bool);
}
