// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Token settlement between brands: errors and events.
interface ISettlementVault {
    /// @notice `caller` is not the treasury of `brand` (or, before one is set, not the admin).
    error VaultNotTreasury(address caller, uint256 brand);
    /// @notice `treasury` is a signing key of `brand` (a hot key), so it cannot hold the treasury: it is
    /// refused as a new treasury, and a treasury the admin later made a signing key neither withdraws nor
    /// hands the treasury over (`setTreasury`, since 2026-12-06).
    error VaultTreasuryIsSigner(address treasury, uint256 brand);
    /// @notice The zero address cannot be a treasury.
    error VaultInvalidTreasury(address treasury);
    error VaultUnknownBrand(uint256 brand);
    error VaultNotParty(address caller, uint256 brandA, uint256 brandB);
    error VaultNothingToSettle(uint256 brandA, uint256 brandB);
    /// @notice `debtor` owes `creditor` `owedMicroUsd`, worth less than one token unit at
    /// `unitsPerUsd`: the vault pays whole units only, so the debt waits for more (or for the
    /// ledger's off-chain `settle`).
    error VaultBelowOneUnit(uint256 debtor, uint256 creditor, uint256 owedMicroUsd, uint256 unitsPerUsd);
    error VaultInsufficientDeposit(uint256 brand, uint256 deposit, uint256 needed);
    /// @notice Withdrawing `amount` would take `brand`'s `deposit` below `owedUnits`, the token
    /// units of the debts it owes (each creditor's position rounded up).
    error VaultDepositBacksDebt(uint256 brand, uint256 deposit, uint256 owedUnits, uint256 amount);
    error VaultInvalidAmount(uint256 amount);
    error VaultInvalidUnitsPerUsd(uint256 unitsPerUsd);

    /// @notice `from` funded `brand`; `amount` is what the vault actually received and credited.
    event SettlementDeposited(uint256 indexed brand, address indexed from, uint256 amount);
    event SettlementWithdrawn(uint256 indexed brand, address indexed to, uint256 amount);
    /// @notice `debtor`'s deposit paid `creditor`'s deposit `tokenAmount` for `valueMicroUsd` owed.
    event SettlementPaid(uint256 indexed debtor, uint256 indexed creditor, uint256 valueMicroUsd, uint256 tokenAmount);
    /// @notice The key that may withdraw `brand`'s deposit changed from `previousTreasury` to `treasury`.
    event BrandTreasuryChanged(uint256 indexed brand, address indexed previousTreasury, address indexed treasury);
}
