// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAlliancePause} from "./interfaces/IAlliancePause.sol";
import {ISettlementVault} from "./interfaces/ISettlementVault.sol";
import {ISettlementLedger} from "./interfaces/ISettlementLedger.sol";

/// @title SettlementVault: brands settle their net positions in an ERC-20 they deposit.
/// @notice Brands (or anyone on their behalf) deposit the settlement token; a settlement
/// moves the debtor's deposit to the creditor's and clears the position on the ledger.
/// A deposit is collateral: only the brand's treasury key (never one of its signing keys)
/// withdraws it, and never below what the brand owes its creditors.
/// @dev Holds the ledger's SETTLER_ROLE; knows the ledger only through {ISettlementLedger}
/// (and {IAlliancePause} for the alliance's one pause: the vault has no pause of its own,
/// {paused} reads the ledger's). Token moves run under a transient reentrancy guard.
/// Conversions from micro-USD to token units round up, in the creditor's favour.
contract SettlementVault is ISettlementVault, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    ISettlementLedger private immutable _ledger;
    IERC20 private immutable _token;
    uint256 private immutable _unitsPerUsd;
    mapping(uint256 brand => uint256) private _deposits;
    mapping(uint256 brand => address) private _treasuries;

    /// @param admin sets each brand's first treasury and may settle any pair
    /// @param ledger the alliance ledger whose positions this vault pays (and whose pause it obeys)
    /// @param token the settlement token (e.g. a USD stablecoin)
    /// @param unitsPerUsd token units worth 1 USD (1e6 for a 6-decimals stablecoin); not 0
    constructor(address admin, ISettlementLedger ledger, IERC20 token, uint256 unitsPerUsd) {
        if (unitsPerUsd == 0) revert VaultInvalidUnitsPerUsd(unitsPerUsd);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _ledger = ledger;
        _token = token;
        _unitsPerUsd = unitsPerUsd;
    }

    /// @notice Sets the treasury of `brand`: the only key that may withdraw its deposit.
    /// @dev The admin sets a brand's first treasury (at onboarding); afterwards only the current
    /// treasury may hand over to another. A brand's signing keys are hot (the gateway holds them),
    /// so none of them can be a treasury, and a treasury the admin later made a signing key can
    /// neither withdraw nor hand over (since 2026-12-06: it handed the treasury to a fresh key of
    /// its own and withdrew through it) until the admin revokes that signing key.
    /// Requirements: not paused; `brand` exists; the caller is the admin (no treasury yet) or the
    /// current treasury, which signs for no brand ({VaultTreasuryIsSigner}, as {withdraw});
    /// `treasury` is not zero and signs for no brand.
    /// Emits a {BrandTreasuryChanged} event.
    function setTreasury(uint256 brand, address treasury) external whenNotPaused {
        _checkBrand(brand);
        address current = _treasuries[brand];
        bool allowed = current == address(0) ? hasRole(DEFAULT_ADMIN_ROLE, msg.sender) : msg.sender == current;
        if (!allowed) revert VaultNotTreasury(msg.sender, brand);
        // The admin may since have made the treasury a signing key: a hot key never hands it over.
        if (current != address(0)) _checkNotSigner(msg.sender);
        if (treasury == address(0)) revert VaultInvalidTreasury(treasury);
        _checkNotSigner(treasury);
        _treasuries[brand] = treasury;
        emit BrandTreasuryChanged(brand, current, treasury);
    }

    /// @notice Deposits up to `amount` tokens for `brand`; anyone may fund a brand.
    /// @dev The brand is credited what the vault's balance actually grew by, so a token that
    /// takes a fee on transfer credits less than `amount`.
    /// Requirements: not paused; the brand exists; `amount` and the amount received are not 0;
    /// the caller approved the vault. Emits {SettlementDeposited} with the credited amount.
    /// @return credited the token units added to the brand's deposit
    function deposit(uint256 brand, uint256 amount) external nonReentrant whenNotPaused returns (uint256 credited) {
        if (amount == 0) revert VaultInvalidAmount(amount);
        _checkBrand(brand);
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        credited = _token.balanceOf(address(this)) - before;
        // slither-disable-next-line incorrect-equality nothing received is refused; not a balance-dependent gate
        if (credited == 0) revert VaultInvalidAmount(credited);
        // slither-disable-next-line reentrancy-no-eth,reentrancy-benign the balance delta needs the transfer first; nonReentrant
        _deposits[brand] += credited;
        // slither-disable-next-line reentrancy-events emitted after the measured transfer on purpose; nonReentrant
        emit SettlementDeposited(brand, msg.sender, credited);
    }

    /// @notice Withdraws `amount` of `brand`'s deposit to `to`.
    /// @dev While the brand owes other brands, its deposit cannot fall below {requiredDeposit}
    /// (each debt converted to token units, rounded up), so every creditor can still settle.
    /// Requirements: not paused; `amount` is not 0; the caller is the brand's treasury and signs for
    /// no brand; the deposit keeps {requiredDeposit} after the withdrawal.
    /// Emits {SettlementWithdrawn}.
    function withdraw(uint256 brand, uint256 amount, address to) external nonReentrant whenNotPaused {
        if (amount == 0) revert VaultInvalidAmount(amount);
        address treasury = _treasuries[brand];
        if (treasury == address(0) || msg.sender != treasury) revert VaultNotTreasury(msg.sender, brand);
        // The admin may since have made the treasury a signing key: a hot key never withdraws.
        _checkNotSigner(msg.sender);
        uint256 available = _deposits[brand];
        if (available < amount) revert VaultInsufficientDeposit(brand, available, amount);
        uint256 owed = _owedUnits(brand);
        // available >= amount was checked above.
        if (available - amount < owed) revert VaultDepositBacksDebt(brand, available, owed, amount);
        _deposits[brand] = available - amount;
        emit SettlementWithdrawn(brand, to, amount);
        _token.safeTransfer(to, amount);
    }

    /// @notice Pays the net position between two brands from the debtor's deposit, in whole token
    /// units: the largest part of the position that whole units pay. What is worth less than one
    /// unit stays owed (to a later settlement, or to the ledger's off-chain `settle`).
    /// @dev `tokenAmount` = floor(owed x unitsPerUsd / 1e6); the value settled is what those units
    /// are worth, rounded down, and the units are then the fewest worth that value: the creditor
    /// gains less than 1 micro-USD a settlement, never a unit (a hostile review of 2026-12-06:
    /// rounding each settlement up paid 10 units for 5 owed over ten small settlements).
    /// Requirements: not paused; caller is the admin or a signer of either brand; the position is
    /// worth at least one unit (`VaultBelowOneUnit`); the debtor's deposit covers the units.
    /// Emits {SettlementPaid}; the ledger emits {PositionSettled} with the same value.
    function settle(uint256 brandA, uint256 brandB) external nonReentrant whenNotPaused {
        uint256 caller = _ledger.brandOf(msg.sender);
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender) && (caller == 0 || (caller != brandA && caller != brandB))) {
            revert VaultNotParty(msg.sender, brandA, brandB);
        }
        int256 owed = _ledger.position(brandA, brandB);
        if (owed == 0) revert VaultNothingToSettle(brandA, brandB);
        (uint256 debtor, uint256 creditor, uint256 owedValue) =
            owed > 0 ? (brandA, brandB, uint256(owed)) : (brandB, brandA, uint256(-owed));
        (uint256 value, uint256 tokenAmount) = _payable(owedValue);
        if (value == 0) revert VaultBelowOneUnit(debtor, creditor, owedValue, _unitsPerUsd);
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

    /// @notice The key that may withdraw `brand`'s deposit (zero: none set yet, nobody may).
    function treasuryOf(uint256 brand) external view returns (address) {
        return _treasuries[brand];
    }

    /// @notice The part of `brand`'s deposit a withdrawal must leave: the sum, over every brand it
    /// owes, of that debt in token units rounded up.
    function requiredDeposit(uint256 brand) external view returns (uint256) {
        return _owedUnits(brand);
    }

    /// @notice The settlement token and how many of its units make 1 USD.
    function token() external view returns (IERC20, uint256 unitsPerUsd) {
        return (_token, _unitsPerUsd);
    }

    /// @notice The ledger this vault settles for.
    function ledger() external view returns (ISettlementLedger) {
        return _ledger;
    }

    /// @notice Whether the alliance is paused: the ledger's pause, the one switch of the system.
    /// @dev Overrides OpenZeppelin's flag, which this contract never sets.
    function paused() public view override returns (bool) {
        return IAlliancePause(address(_ledger)).paused();
    }

    /// @dev Micro-USD to token units, rounded up: what a debt needs in the deposit behind it.
    function _toUnits(uint256 valueMicroUsd) private view returns (uint256) {
        return Math.mulDiv(valueMicroUsd, _unitsPerUsd, 1e6, Math.Rounding.Ceil);
    }

    /// @dev The part of `owedMicroUsd` whole token units pay (`value`, micro-USD, at most the
    /// debt) and those units; (0, 0) when the debt is worth less than one unit.
    function _payable(uint256 owedMicroUsd) private view returns (uint256 value, uint256 units) {
        units = Math.mulDiv(owedMicroUsd, _unitsPerUsd, 1e6);
        value = Math.mulDiv(units, 1e6, _unitsPerUsd);
        units = _toUnits(value);
    }

    /// @dev Each debt rounded up on its own, as {settle} converts each pair on its own.
    function _owedUnits(uint256 brand) private view returns (uint256 units) {
        uint256 count = _ledger.brandCount();
        for (uint256 other = 1; other <= count; ++other) {
            if (other == brand) continue;
            int256 owed = _ledger.position(brand, other);
            if (owed > 0) units += _toUnits(uint256(owed));
        }
    }

    function _checkBrand(uint256 brand) private view {
        // Brand ids run from 1 to brandCount and are never removed (a suspended brand may still fund).
        if (brand == 0 || brand > _ledger.brandCount()) revert VaultUnknownBrand(brand);
    }

    function _checkNotSigner(address account) private view {
        uint256 signerBrand = _ledger.brandOf(account);
        if (signerBrand != 0) revert VaultTreasuryIsSigner(account, signerBrand);
    }
}
