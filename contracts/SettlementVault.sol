// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ISettlementVault} from "./interfaces/ISettlementVault.sol";
import {ISettlementLedger} from "./interfaces/ISettlementLedger.sol";

/// @title SettlementVault: brands settle their net positions in an ERC-20 they deposit.
/// @notice Brands (or anyone on their behalf) deposit the settlement token; a settlement
/// moves the debtor's deposit to the creditor's and clears the position on the ledger.
/// @dev Holds the ledger's SETTLER_ROLE; knows the ledger only through {ISettlementLedger}.
/// Token moves follow checks-effects-interactions and run under a transient reentrancy guard.
contract SettlementVault is ISettlementVault, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    ISettlementLedger private immutable _ledger;
    IERC20 private immutable _token;
    uint256 private immutable _unitsPerUsd;
    mapping(uint256 brand => uint256) private _deposits;

    /// @param admin may settle any pair
    /// @param ledger the alliance ledger whose positions this vault pays
    /// @param token the settlement token (e.g. a USD stablecoin)
    /// @param unitsPerUsd token units worth 1 USD (1e6 for a 6-decimals stablecoin)
    constructor(address admin, ISettlementLedger ledger, IERC20 token, uint256 unitsPerUsd) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _ledger = ledger;
        _token = token;
        _unitsPerUsd = unitsPerUsd;
    }

    /// @notice Deposits `amount` tokens for `brand`; anyone may fund a brand.
    /// @dev Requirements: the brand exists; the caller approved the vault. Emits {SettlementDeposited}.
    function deposit(uint256 brand, uint256 amount) external nonReentrant {
        if (amount == 0) revert VaultInvalidAmount(amount);
        // Brand ids run from 1 to brandCount and are never removed (a suspended brand may still fund).
        if (brand == 0 || brand > _ledger.brandCount()) revert VaultUnknownBrand(brand);
        _deposits[brand] += amount;
        emit SettlementDeposited(brand, msg.sender, amount);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Withdraws `amount` of the caller brand's deposit to `to`.
    /// @dev Requirements: caller is a signer of `brand`. Emits {SettlementWithdrawn}.
    function withdraw(uint256 brand, uint256 amount, address to) external nonReentrant {
        if (brand == 0 || _ledger.brandOf(msg.sender) != brand) revert VaultNotBrandSigner(msg.sender, brand);
        uint256 available = _deposits[brand];
        if (available < amount) revert VaultInsufficientDeposit(brand, available, amount);
        _deposits[brand] = available - amount;
        emit SettlementWithdrawn(brand, to, amount);
        _token.safeTransfer(to, amount);
    }

    /// @notice Pays the whole net position between two brands from the debtor's deposit.
    /// @dev Requirements: caller is the admin or a signer of either brand; the debtor's deposit
    /// covers the value. Emits {SettlementPaid}; the ledger emits {PositionSettled}.
    function settle(uint256 brandA, uint256 brandB) external nonReentrant {
        uint256 caller = _ledger.brandOf(msg.sender);
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender) && (caller == 0 || (caller != brandA && caller != brandB))) {
            revert VaultNotParty(msg.sender, brandA, brandB);
        }
        int256 owed = _ledger.position(brandA, brandB);
        if (owed == 0) revert VaultNothingToSettle(brandA, brandB);
        (uint256 debtor, uint256 creditor, uint256 value) =
            owed > 0 ? (brandA, brandB, uint256(owed)) : (brandB, brandA, uint256(-owed));
        uint256 tokenAmount = value * _unitsPerUsd / 1e6;
        uint256 available = _deposits[debtor];
        if (available < tokenAmount) revert VaultInsufficientDeposit(debtor, available, tokenAmount);
        _deposits[debtor] = available - tokenAmount;
        _deposits[creditor] += tokenAmount;
        emit SettlementPaid(debtor, creditor, value, tokenAmount);
        _ledger.recordSettlement(debtor, creditor, value, tokenAmount);
    }

    /// @notice `brand`'s deposit, in token units.
    function depositOf(uint256 brand) external view returns (uint256) {
        return _deposits[brand];
    }

    /// @notice The settlement token and how many of its units make 1 USD.
    function token() external view returns (IERC20, uint256 unitsPerUsd) {
        return (_token, _unitsPerUsd);
    }

    /// @notice The ledger this vault settles for.
    function ledger() external view returns (ISettlementLedger) {
        return _ledger;
    }
}
