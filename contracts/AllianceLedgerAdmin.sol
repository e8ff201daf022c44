// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {LedgerStorage} from "./LedgerStorage.sol";
import {Calendar} from "./libraries/Calendar.sol";
import {BrandConfig, BrandConfigLibrary} from "./types/BrandConfig.sol";
import {LedgerGlobals} from "./types/LedgerGlobals.sol";
import {MintDay} from "./types/MintDay.sol";
import {PackedEarnRuleLibrary} from "./types/PackedEarnRule.sol";

/// @title AllianceLedgerAdmin: the brand administration of {AllianceLedger}.
/// @notice Onboarding, signing keys, suspension, point values, earn and tier rules, daily mint
/// caps, the multiplier cap, return windows, the charity pool and system addresses: every one an act of the
/// alliance's admin (DEFAULT_ADMIN_ROLE).
/// @dev Runs only by delegatecall from the {AllianceLedger} that deployed it (its fallback), on
/// the ledger's storage through the layout both inherit from {LedgerStorage}: roles, pause and
/// events are the ledger's. Called directly, it acts on its own empty storage, where nobody
/// holds a role, so every function reverts. Kept out of the ledger for its bytecode size (EIP-170).
contract AllianceLedgerAdmin is LedgerStorage {
    using SafeCast for uint256;

    /// @dev The lowest multiplier cap: the plain rule (100%) must stay allowed.
    uint256 private constant MIN_MAX_MULTIPLIER_PCT = 100;

    /// @dev The largest upgrade gift of a tier, in points (10 million USD at the reference value):
    /// a tier-gift lock holds 2**40 - 1 points ({PendingWord}), so it takes over 1,000 of the
    /// largest gifts to pass it, where three gifts of `MAX_AMOUNT` (one operation crossing every
    /// tier) passed it and were paid live (a trial of 2026-12-05).
    uint256 private constant MAX_TIER_GIFT = 1e9;

    /// @notice Onboards a brand with its signing key, published point value and earning rule.
    /// @dev Requirements: caller is the admin; `signer` acts for no brand yet; value > 0.
    /// Emits a {BrandOnboarded} event.
    /// @return brand the new brand id, which is also the ERC-6909 id of its points
    function onboardBrand(
        address signer,
        uint32 valueMicroUsd,
        EarnRule calldata rule,
        string calldata name,
        string calldata symbol
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 brand) {
        if (valueMicroUsd == 0) revert LedgerInvalidPointValue(valueMicroUsd);
        brand = ++_brandCount;
        _brands[brand] = BrandConfigLibrary.create(PackedEarnRuleLibrary.pack(rule), valueMicroUsd);
        _setName(brand, name);
        _setSymbol(brand, symbol);
        _authorizeSigner(brand, signer);
        emit BrandOnboarded(brand, signer, valueMicroUsd, rule);
        emit ReturnWindowChanged(brand, 0, BrandConfigLibrary.DEFAULT_RETURN_WINDOW_DAYS);
        _mintDays[brand] = MintDay.wrap(0).setCap(DEFAULT_DAILY_MINT_CAP);
        emit DailyMintCapChanged(brand, DEFAULT_DAILY_MINT_CAP);
    }

    /// @notice Sets `brand`'s daily mint cap: points it may issue per UTC day, tier gifts it pays included.
    /// @dev Requirements: caller is the admin; not paused; the brand exists; cap < 2**112.
    /// Emits a {DailyMintCapChanged} event.
    function setDailyMintCap(uint256 brand, uint256 cap) external whenNotPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireBrand(brand);
        _mintDays[brand] = _mintDays[brand].setCap(cap.toUint112());
        emit DailyMintCapChanged(brand, cap);
    }

    /// @notice Sets the highest multiplier an earn may carry, in percent (100 = the plain rule,
    /// 1000 = 10x): how far the brands' campaigns may combine (issue 16, "the admin sets a cap
    /// the chain enforces"). An earn above it is refused with {LedgerInvalidMultiplier} (a
    /// batch skips it), whoever sends it: the gateway or a brand's own signer.
    /// @dev Kept in the globals word every earn reads anyway (bits 240..254). Applies to every
    /// earn from the next transaction on. Requirements: caller is the admin; not paused;
    /// 100 <= `pct` <= {MAX_MULTIPLIER_PCT}, else {LedgerInvalidMaxMultiplier}.
    /// Emits a {MaxMultiplierChanged} event.
    function setMaxMultiplier(uint256 pct) external whenNotPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        if (pct < MIN_MAX_MULTIPLIER_PCT || pct > MAX_MULTIPLIER_PCT) {
            revert LedgerInvalidMaxMultiplier(pct, MIN_MAX_MULTIPLIER_PCT, MAX_MULTIPLIER_PCT);
        }
        LedgerGlobals globals = _globals;
        uint256 previous = globals.maxMultiplierPct();
        _globals = globals.setMaxMultiplierPct(pct);
        emit MaxMultiplierChanged(previous, pct);
    }

    /// @notice Registers (or unregisters) a system address that can never move points (the lens,
    /// the badge contracts, the vault): earns, gifts and transfers to it are refused.
    /// @dev Requirements: caller is the admin; not the zero address. The ledger itself is
    /// registered at deploy. Emits a {SystemAddressChanged} event.
    function setSystemAddress(address account, bool isSystem) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert LedgerInvalidMember(account);
        _setSystem(account, isSystem);
    }

    /// @notice Authorizes or revokes a brand signing key.
    /// @dev Requirements: caller is the admin; the brand exists; a key serves one brand only.
    /// Emits a {BrandSignerChanged} event.
    function setBrandSigner(uint256 brand, address signer, bool authorized) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireBrand(brand);
        if (authorized) {
            _authorizeSigner(brand, signer);
        } else {
            if (_brandOfSigner[signer] != brand) revert LedgerNotBrandSigner(signer, brand);
            delete _brandOfSigner[signer];
            emit BrandSignerChanged(brand, signer, false);
        }
    }

    /// @notice Suspends a brand (no earning, no redemption at or from it) or lifts the suspension.
    /// @dev Emits a {BrandSuspensionChanged} event.
    function setBrandSuspended(uint256 brand, bool suspended) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _brands[brand] = _requireBrand(brand).setSuspended(suspended);
        emit BrandSuspensionChanged(brand, suspended);
    }

    /// @notice Publishes a new point value for `brand`: a recorded governance act that applies to
    /// the points issued from the next calendar month (UTC) on (DOMAIN.md "Value of issued points").
    /// @dev Points already issued, and those issued during the rest of this month, keep their
    /// month's value for redemptions, positions and liability; the brand is rolled to this
    /// month first, so this month's value is fixed. A second change within the month replaces
    /// the first. Requirements: caller is the admin; not paused; the brand exists; value > 0.
    /// Emits a {PointValueChanged} event.
    function setPointValue(uint256 brand, uint32 valueMicroUsd) external whenNotPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        if (valueMicroUsd == 0) revert LedgerInvalidPointValue(valueMicroUsd);
        uint256 month = Calendar.currentMonth();
        BrandConfig cfg = _creditBrand(brand, _requireBrand(brand), month, 0);
        _brands[brand] = cfg;
        _nextValue[brand] = ((month + 1) << 32) | valueMicroUsd;
        emit PointValueChanged(brand, cfg.valueMicroUsd(), valueMicroUsd, month + 1);
    }

    /// @notice Sets how many days a brand's purchase points stay pending (DOMAIN.md "Returns").
    /// @dev Applies to purchases from now on. Requirements: caller is the admin; the brand
    /// exists; `days_` <= {MAX_RETURN_WINDOW_DAYS}. Emits a {ReturnWindowChanged} event.
    function setReturnWindow(uint256 brand, uint256 days_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (days_ > MAX_RETURN_WINDOW_DAYS) revert LedgerInvalidReturnWindow(days_);
        BrandConfig cfg = _requireBrand(brand);
        uint256 previous = cfg.returnWindowDays();
        _brands[brand] = cfg.setReturnWindowDays(days_);
        emit ReturnWindowChanged(brand, previous, days_);
    }

    /// @notice Sets where donations go. Emits a {CharityPoolChanged} event.
    function setCharityPool(address pool) external whenNotPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        if (pool == address(0) || _members[pool].word.isSystem()) revert LedgerInvalidMember(pool);
        _charityPool = pool;
        emit CharityPoolChanged(pool);
    }

    /// @notice Sets the thresholds and upgrade gift of tier `tier` (1 Silver, 2 Gold, 3 Diamond).
    /// @dev Requirements: 1 <= tier <= 3; `giftPoints` <= 10**9 ({LedgerInvalidAmount}); each
    /// threshold at least the lower tier's and at most the higher tier's (when configured).
    /// Emits a {TierRuleChanged} event.
    function setTierRule(uint8 tier, TierRule calldata rule, uint256 giftPoints)
        external
        whenNotPaused
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (tier == 0 || tier > MAX_TIER) revert TierInvalid(tier);
        if (giftPoints > MAX_TIER_GIFT) revert LedgerInvalidAmount(giftPoints);
        LedgerGlobals globals = _globals;
        if (tier > 1 && !_ruleAtMost(globals.tierRule(tier - 1), rule)) revert TierRuleNotAscending(tier);
        if (tier < MAX_TIER) {
            TierRule memory higher = globals.tierRule(tier + 1);
            if (_configured(higher) && !_ruleAtMost(rule, higher)) revert TierRuleNotAscending(tier);
        }
        _globals = globals.setTierRule(tier, rule);
        _tierGift[tier] = giftPoints;
        emit TierRuleChanged(tier, rule, giftPoints);
    }

    /// @notice Changes a brand's earning rule: an alliance governance act, since the rule prices
    /// what the brand's operations count toward tiers.
    /// @dev Requirements: caller is the admin; not paused; the brand exists.
    /// Emits an {EarnRuleChanged} event.
    function setEarnRule(uint256 brand, EarnRule calldata rule) external whenNotPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        _brands[brand] = _requireBrand(brand).setRule(PackedEarnRuleLibrary.pack(rule));
        emit EarnRuleChanged(brand, rule);
    }
}
