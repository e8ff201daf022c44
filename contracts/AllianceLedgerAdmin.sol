// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {LedgerStorage} from "./LedgerStorage.sol";
import {Calendar} from "./libraries/Calendar.sol";
import {LotMath} from "./libraries/LotMath.sol";
import {BrandConfig, BrandConfigLibrary} from "./types/BrandConfig.sol";
import {GiftShares} from "./types/GiftShares.sol";
import {LedgerGlobals, LedgerGlobalsLibrary} from "./types/LedgerGlobals.sol";
import {MemberWord} from "./types/MemberWord.sol";
import {MintDay} from "./types/MintDay.sol";
import {PackedEarnRuleLibrary} from "./types/PackedEarnRule.sol";
import {PendingWord} from "./types/PendingWord.sol";

/// @title AllianceLedgerAdmin: the brand administration of {AllianceLedger}, and a brand's returns.
/// @notice Onboarding, signing keys, suspension, point values, earn and tier rules, daily mint
/// caps, the multiplier cap, return windows, the charity pool and system addresses: every one an act of the
/// alliance's admin (DEFAULT_ADMIN_ROLE). And {reverse}, a brand's return of pending points,
/// with the tier-gift cancellations it brings (moved here 2026-12-06, when the months of
/// pending points made room short in the ledger).
/// @dev Runs only by delegatecall from the {AllianceLedger} that deployed it (its fallback), on
/// the ledger's storage through the layout both inherit from {LedgerStorage}: roles, pause and
/// events are the ledger's. Called directly, it acts on its own empty storage, where nobody
/// holds a role, so every function reverts. Kept out of the ledger for its bytecode size (EIP-170).
contract AllianceLedgerAdmin is LedgerStorage {
    using SafeCast for uint256;

    /// @dev The lowest multiplier cap: the plain rule (100%) must stay allowed.
    uint256 private constant MIN_MAX_MULTIPLIER_PCT = 100;

    /// @dev The largest upgrade gift of a tier, in points (10 million USD at the reference value):
    /// a tier-gift lock holds 2**32 - 1 points ({PendingWord}; 2**40 - 1 until 2026-12-06), so it
    /// takes four of the largest gifts to pass it, more than one operation crossing every tier
    /// pays, where three gifts of `MAX_AMOUNT` passed it and were paid live (a trial of 2026-12-05).
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
    /// @dev Kept in the globals word every earn reads anyway (bits 240..249). Applies to every
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

    /// @notice Sets the order floor, in whole USD: a purchase counts as an order toward the tiers
    /// only when the spend it counts (cents, a multiplier below 100% included) is at least
    /// `usd` * 100; its spend counts either way (DOMAIN.md "Tiers": purchase frequency). Without
    /// it a brand's 5-cent purchases completed a member's order count, and the brands whose
    /// operations held the quarter's value paid the gift (a review of 2026-12-07).
    /// @dev Kept in the globals word every earn reads anyway (bits 250..254). Applies to the
    /// purchases of the next transaction on; orders counted before stay counted, and a pending
    /// purchase that did not count closes no order when it is returned ({PendingWord}).
    /// Requirements: caller is the admin; not paused; `usd` <= 31, else {LedgerInvalidOrderFloor}.
    /// Emits an {OrderFloorChanged} event.
    function setOrderFloor(uint256 usd) external whenNotPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 max = LedgerGlobalsLibrary.MAX_ORDER_FLOOR_USD;
        if (usd > max) revert LedgerInvalidOrderFloor(usd, max);
        LedgerGlobals globals = _globals;
        uint256 previous = globals.orderFloorCents() / 100;
        _globals = globals.setOrderFloorUsd(usd);
        emit OrderFloorChanged(previous, usd);
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

    // ================================================================ returns

    // slither-disable-start incorrect-equality the strict equalities below compare flags, filter
    // bits and amounts of zero, which are exact by design (none is a balance)

    /// @notice Cancels pending points of a returned order, in whole or in part, for the caller's brand.
    /// @dev Only the brand that credited them, only while pending (DOMAIN.md "Returns"); the
    /// gateway bounds a reversal by what the order credited less earlier reversals. The points
    /// leave the member's lot of the month they were earned in (the position's month, see
    /// {PendingWord}), the brand's liability drops and `reversed` grows; the
    /// member's quarter counters drop (see {ReverseOp}), also once that quarter closed when its
    /// gift shares were locked. An upgrade the purchase triggered stands, but when the drop takes
    /// the member below a tier reached in that quarter, every brand's share of that tier's gift
    /// still locked is cancelled: a gift waits for the purchases it depends on (README,
    /// "Returns"); met again in the same quarter, the tier's gift is paid again ({TierGiftRestored}). The brand's part of that quarter (what splits its gifts) drops with the
    /// counters ({_partTaken}). Requirements: not paused; caller is a brand signer; `op.opId`
    /// unused (shared with earns); 0 < points <= the position's pending; `op.quarter` the quarter
    /// of the position's earn month, else {LedgerReversalQuarterMismatch}. Emits {Transfer} and {PointsReversed}
    /// events, then a {Transfer} and a {TierGiftCancelled} per cancelled share.
    /// Runs here, by delegatecall from the ledger's fallback, for the ledger's bytecode size.
    function reverse(ReverseOp calldata op) external whenNotPaused {
        uint256 brand = _brandOfSigner[msg.sender];
        if (brand == 0) revert LedgerNotBrandSigner(msg.sender, 0);
        if (op.points == 0) revert LedgerInvalidAmount(0);
        uint256 wordIndex = op.opId >> 8;
        uint256 bit = uint256(1) << (op.opId & 0xff);
        uint256 used = _usedOps[brand][wordIndex];
        if (used & bit != 0) revert LedgerOperationUsed(brand, op.opId);
        _usedOps[brand][wordIndex] = used | bit;
        uint256 releaseAt = uint256(op.releaseDay) * 1 days;
        if (releaseAt <= block.timestamp) revert LedgerReversalWindowClosed(brand, op.member, releaseAt);
        uint256 earnMonth = op.earnMonth;
        // What the counters lose is bounded by what the reversed points can have counted: at most
        // the spend that earns them at the brand's purchase rate (plus a point's rounding), and
        // an order only where the position still counts one of the brand's purchases (a
        // purchase below the order floor counted none there, {setOrderFloor}). Which purchase a
        // return closes is the brand's word (`closesOrder`): the gateway closes one only for a
        // whole order that counted. Compared here, the floor of the return's block and the spend
        // of its last part refused honest closes (a review: an order returned in two parts, the
        // last below the floor, stayed counted; one bought before a raised floor too).
        BrandConfig cfg = _brands[brand];
        uint256 rate = cfg.rule().rate(EarnKind.Purchase);
        uint256 spend = op.spendCents;
        unchecked {
            // No overflow: points < 2**64. A rate of 0 (changed since the purchase) bounds nothing.
            uint256 bound = rate == 0 ? spend : (uint256(op.points) + 1) * 100 / rate;
            if (bound < spend) spend = bound;
        }
        // The position of the purchase's month with the smallest day on or after its own (a
        // merge may have moved it later, {PendingWord}); the window above stays the purchase's.
        (PendingWord pending, uint256 held, uint256 closed, uint256 day) = _pending[op.member][brand].take(
            op.releaseDay, earnMonth, op.points, op.closesOrder, _globals.orderFloorCents(), rate
        );
        if (held < op.points) revert LedgerReversalExceedsPending(brand, op.member, releaseAt, held, op.points);
        // The purchase counted in its earn month's quarter (the month `take` found a position of):
        // a stated quarter is only checked (a hostile review of 2026-12-06: a brand's reversal of a purchase
        // of one quarter, stated as the quarter before, took that closed quarter's counters down
        // and cancelled other brands' gift shares its purchase had nothing to do with).
        if (op.quarter != earnMonth / 3) revert LedgerReversalQuarterMismatch(op.quarter, earnMonth / 3);
        _pending[op.member][brand] = pending;
        uint256 month = Calendar.currentMonth();
        // slither-disable-next-line uninitialized-local memory starts zeroed; the one month is set below
        uint256[13] memory taken;
        taken[earnMonth + 12 - month] = op.points; // a pending purchase is at most 3 months old
        LotMath.takeAt(_lots[op.member][brand], month, earnMonth, op.points, _partTaken(brand, cfg, month, op, spend, taken));
        _burn(op.member, brand, month, op.points, taken);
        emit PointsReversed(brand, op.member, op.opId, op.points, spend, op.orderRef, day * 1 days, earnMonth, closed);
        _reverseCounters(op, spend, closed);
    }

    /// @dev What a reversal takes off the brand's part of the member's quarter (micro-USD, the
    /// part in the lot of the purchase's month, {LotMath}): the value its points added (their
    /// month's value), in the proportion of the spend it takes off the counters to the spend
    /// those points earn at the brand's purchase rate (all of it for an honest return). A part
    /// must follow the counters: a returned order kept its brand's part, so its brand still paid
    /// a share of the member's later upgrade gifts (a hostile review of 2026-12-06: a returned
    /// 500 USD order paid 250 of a 500-point gift the next brand's purchases qualified), while a
    /// reversal that takes the points but states no spend keeps its counters, and its part.
    function _partTaken(
        uint256 brand,
        BrandConfig cfg,
        uint256 month,
        ReverseOp calldata op,
        uint256 spend,
        uint256[13] memory taken
    ) private view returns (uint256 part) {
        part = LotMath.lotsValue(_monthValues[brand], month, cfg.latestMonth(), cfg.valueMicroUsd(), op.points, taken);
        uint256 rate = cfg.rule().rate(EarnKind.Purchase);
        uint256 earning = uint256(op.points) * 100; // the spend (cents) x rate that earns the points
        // No overflow: value < 2**96, spend < 2**64, rate < 2**8.
        if (rate != 0 && spend * rate < earning) part = part * spend * rate / earning;
    }

    /// @dev Takes a reversal's spend (and order) off the quarter it counted in: the member's word
    /// while it holds that quarter, else the quarter's gift record once closed (kept only for a
    /// quarter whose gift shares were locked). When that takes the member below a tier reached in
    /// that quarter, the shares of that tier's gift still locked are cancelled ({_cancelGifts}).
    /// A member with no tier costs nothing more than the word's read and write.
    function _reverseCounters(ReverseOp calldata op, uint256 spendCents, uint256 closedOrders) private {
        MemberSlot storage slot = _members[op.member];
        MemberWord word = slot.word;
        uint256 tier = word.tier();
        uint256 spend;
        uint256 orders;
        uint256 engagements;
        uint256 brands;
        if (word.quarter() == op.quarter) {
            (spend, orders, engagements) = (word.spendCents(), word.orders(), word.engagements());
            brands = word.brands();
            (spend, orders) = _less(spend, orders, spendCents, closedOrders);
            slot.word = word.setCounters(op.quarter, spend, orders, engagements);
        } else {
            // Only a member with a tier has a closed quarter's record.
            uint256 recordKey = GiftShares.key(op.quarter, 0);
            uint256 record = _giftShares[op.member][recordKey];
            if (record & GiftShares.CLOSED == 0) return;
            (spend, orders, engagements, brands) = GiftShares.counters(record);
            (spend, orders) = _less(spend, orders, spendCents, closedOrders);
            _giftShares[op.member][recordKey] = GiftShares.closed(spend, orders, engagements, brands);
        }
        if (tier == 0) return;
        uint256 best = _globals.bestTier(spend, orders, engagements);
        // Tiers reached in the quarter are at most the member's tier now (a review keeps them).
        if (best >= tier) return;
        uint256 recordKey = GiftShares.key(op.quarter, 0);
        uint256 record = _giftShares[op.member][recordKey];
        if (record & GiftShares.LOCKED == 0) return;
        uint256 tiers = _cancelGifts(op.member, op.quarter, best, brands);
        // In the member's open quarter, a tier whose gift was cancelled is paid again once met
        // again (the tier stands, so no upgrade would pay it: a hostile review of 2026-12-07),
        // once per tier and quarter ({GiftShares}).
        if (tiers == 0 || word.quarter() != op.quarter) return;
        (uint256 cancelled, uint256 regained) = GiftShares.regain(record);
        cancelled |= tiers & ~regained;
        _giftShares[op.member][recordKey] = GiftShares.withRegain(record, cancelled, regained);
    }

    /// @dev The counters less a reversal's spend and orders (saturating at 0).
    function _less(uint256 spend, uint256 orders, uint256 spendCents, uint256 closedOrders)
        private
        pure
        returns (uint256, uint256)
    {
        spend = spend > spendCents ? spend - spendCents : 0;
        orders = orders > closedOrders ? orders - closedOrders : 0;
        return (spend, orders);
    }

    /// @dev Cancels, for each brand in the `brands` filter, its shares of `quarter`'s gifts above
    /// tier `best` whose purchases are not all final yet (each tier's hold day is later than
    /// today) and that its lock still holds. The fields are cleared either way, so a tier's shares
    /// are cancelled once, and a share whose purchases are final never is. The points leave the
    /// lots of the lock's months, newest first ({LockMonths}): a quarter's higher tiers are
    /// reached last. Returns the tiers whose points were cancelled (a mask, bit t - 1: tier t).
    function _cancelGifts(address member, uint256 quarter, uint256 best, uint256 brands)
        private
        returns (uint256 tiers)
    {
        mapping(uint256 => uint256) storage shares = _giftShares[member];
        uint256 count = _brandCount;
        uint256 today = block.timestamp / 1 days;
        uint256 month = Calendar.currentMonth();
        for (uint256 b = 1; b <= count; ++b) {
            if (brands & (uint256(1) << ((b - 1) % BRAND_BITS)) == 0) continue;
            uint256 k = GiftShares.key(quarter, b);
            (uint256 points, uint256 held, uint256 kept) = GiftShares.above(shares[k], best, today);
            shares[k] = kept;
            if (points == 0) continue;
            PendingWord pending = _pending[member][b];
            (uint256 day, uint256 locked) = pending.gift(today);
            if (locked == 0) continue;
            if (points > locked) points = locked;
            tiers |= held;
            // slither-disable-next-line unused-return the amount fits: it is below what the lock held
            (pending,) = pending.withGift(day, locked - points);
            _pending[member][b] = pending;
            // slither-disable-next-line uninitialized-local memory starts zeroed; takeNewest records the months
            uint256[13] memory taken;
            _giftLockMonths[member][b] = _giftLockMonths[member][b].takeNewest(points, month, taken);
            for (uint256 i; i < 13; ++i) {
                if (taken[i] != 0) LotMath.takeAt(_lots[member][b], month, month - 12 + i, taken[i], 0);
            }
            _burn(member, b, month, points, taken);
            emit TierGiftCancelled(member, b, points, day * 1 days);
        }
    }

    /// @dev Burns `amount` points of `brand` that left the member's lots (`taken`, index 0 = month
    /// - 12): the brand's liability drops and its `reversed` grows.
    function _burn(address member, uint256 brand, uint256 month, uint256 amount, uint256[13] memory taken) private {
        _debitBrand(brand, _brands[brand], month, taken);
        _reversed[brand] += amount;
        emit Transfer(msg.sender, member, address(0), brand, amount);
    }
    // slither-disable-end incorrect-equality
}
