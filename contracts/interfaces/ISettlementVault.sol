// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Token settlement between brands: errors and events.
interface ISettlementVault {
    error VaultNotBrandSigner(address caller, uint256 brand);
    error VaultUnknownBrand(uint256 brand);
    error VaultNotParty(address caller, uint256 brandA, uint256 brandB);
    error VaultNothingToSettle(uint256 brandA, uint256 brandB);
    error VaultInsufficientDeposit(uint256 brand, uint256 deposit, uint256 needed);
    error VaultInvalidAmount(uint256 amount);

    event SettlementDeposited(uint256 indexed brand, address indexed from, uint256 amount);
    event SettlementWithdrawn(uint256 indexed brand, address indexed to, uint256 amount);
    /// @notice `debtor`'s deposit paid `creditor`'s deposit `tokenAmount` for `valueMicroUsd` owed.
    event SettlementPaid(uint256 indexed debtor, uint256 indexed creditor, uint256 valueMicroUsd, uint256 tokenAmount);
}
