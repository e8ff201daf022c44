// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceDirectory} from "./IAllianceDirectory.sol";

/// @title What the settlement vault asks of the ledger: brands, positions, recording a payment.
/// @dev {SettlementVault} depends on this interface only, not on the concrete ledger.
interface ISettlementLedger is IAllianceDirectory {
    /// @notice How many brands were onboarded: ids run from 1 to this count and are never removed.
    function brandCount() external view returns (uint256);

    /// @notice What `brandA` owes `brandB` net, in micro-USD (negative: B owes A).
    function position(uint256 brandA, uint256 brandB) external view returns (int256);

    /// @notice Records a settlement the vault paid in tokens: `debtor` paid `creditor` `valueMicroUsd`.
    /// @dev Requirements: caller holds the ledger's SETTLER_ROLE; `debtor` owes `creditor` at
    /// least that value; not paused. Emits a {IAllianceLedger-PositionSettled} event.
    function recordSettlement(uint256 debtor, uint256 creditor, uint256 valueMicroUsd, uint256 tokenAmount) external;
}
