// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceLedger} from "./interfaces/IAllianceLedger.sol";
import {IAllianceLedgerLens} from "./interfaces/IAllianceLedgerLens.sol";
import {IExtsload} from "./interfaces/IExtsload.sol";
import {Calendar} from "./libraries/Calendar.sol";
import {LedgerState} from "./libraries/LedgerState.sol";
import {LotMath} from "./libraries/LotMath.sol";
import {BrandConfig} from "./types/BrandConfig.sol";
import {MintDay} from "./types/MintDay.sol";
import {MemberWord} from "./types/MemberWord.sol";
import {PendingWord, PendingWordLibrary} from "./types/PendingWord.sol";

/// @title AllianceLedgerLens: the ledger's read-only views beyond ERC-6909 and the directory.
/// @notice Lots and expiry, brand accounts and configuration, member status, tier rules and
/// net positions, computed from the ledger's storage as the ledger would compute them.
/// @dev Stateless but for the ledger's address: reads words through {IExtsload} at the slots
/// {LedgerState} names and decodes them with the value types' libraries. Deploy one per
/// ledger; it never writes and holds no role.
contract AllianceLedgerLens is IAllianceLedgerLens {
    uint8 private constant MAX_TIER = 3;

    IExtsload private immutable _ledger;

    /// @param ledger_ the ledger to read
    constructor(IExtsload ledger_) {
        _ledger = ledger_;
    }

    /// @inheritdoc IAllianceLedgerLens
    function ledger() external view returns (IExtsload) {
        return _ledger;
    }

    /// @inheritdoc IAllianceLedgerLens
    function lotsOf(address member, uint256 brand) external view returns (IAllianceLedger.Lot[] memory lots) {
        uint256[7] memory slots = LedgerState.lots(_ledger, member, brand);
        uint256 month = Calendar.currentMonth();
        // slither-disable-next-line uninitialized-local memory starts zeroed on purpose; filled up to count
        IAllianceLedger.Lot[13] memory found;
        // slither-disable-next-line uninitialized-local the counter starts at zero on purpose
        uint256 count;
        for (uint256 m = month - 12; m <= month; ++m) {
            uint256 amount = LotMath.amountIn(slots[LotMath.slotOf(m)], m);
            if (amount != 0) found[count++] = IAllianceLedger.Lot(amount, m, Calendar.monthStart(m + 13));
        }
        lots = new IAllianceLedger.Lot[](count);
        for (uint256 i; i < count; ++i) {
            lots[i] = found[i];
        }
    }

    /// @inheritdoc IAllianceLedgerLens
    function nextExpiry(address member, uint256 brand) external view returns (uint256 amount, uint256 expiresAt) {
        uint256[7] memory slots = LedgerState.lots(_ledger, member, brand);
        uint256 month = Calendar.currentMonth();
        for (uint256 m = month - 12; m <= month; ++m) {
            amount = LotMath.amountIn(slots[LotMath.slotOf(m)], m);
            if (amount != 0) return (amount, Calendar.monthStart(m + 13));
        }
    }

    /// @inheritdoc IAllianceLedgerLens
    function brandAccount(uint256 brand) external view returns (IAllianceLedger.BrandAccount memory account) {
        BrandConfig cfg = LedgerState.brand(_ledger, brand);
        account.issued = cfg.issued();
        account.redeemed = LedgerState.redeemed(_ledger, brand);
        uint256 month = Calendar.currentMonth();
        uint256 latestMonth = cfg.latestMonth();
        if (latestMonth + 12 >= month) {
            // Months before the latest one sit in the ring; the latest one in the config word.
            uint256[4] memory ring = LedgerState.brandLive(_ledger, brand);
            for (uint256 m = month - 12; m < latestMonth; ++m) {
                account.outstanding += LotMath.brandLiveIn(ring[LotMath.brandSlotOf(m)], m);
            }
            account.outstanding += cfg.latestMonthLive();
        }
        account.reversed = LedgerState.reversed(_ledger, brand);
        account.expired = account.issued - account.redeemed - account.reversed - account.outstanding;
    }

    /// @inheritdoc IAllianceLedgerLens
    function pendingOf(address member, uint256 brand)
        external
        view
        returns (IAllianceLedger.PendingPoints[] memory positions)
    {
        PendingWord word = LedgerState.pending(_ledger, member, brand);
        uint256 today = block.timestamp / 1 days;
        // slither-disable-next-line uninitialized-local memory starts zeroed on purpose; filled up to count
        IAllianceLedger.PendingPoints[5] memory found;
        // slither-disable-next-line uninitialized-local the counter starts at zero on purpose
        uint256 count;
        for (uint256 i; i <= PendingWordLibrary.LOCK; ++i) {
            (uint256 day, uint256 amount) = word.at(i);
            if (day > today && amount != 0) found[count++] = IAllianceLedger.PendingPoints(amount, day * 1 days);
        }
        positions = new IAllianceLedger.PendingPoints[](count);
        for (uint256 i; i < count; ++i) {
            positions[i] = found[i];
        }
    }

    /// @inheritdoc IAllianceLedgerLens
    function returnWindowDays(uint256 brand) external view returns (uint256) {
        return LedgerState.brand(_ledger, brand).returnWindowDays();
    }

    /// @inheritdoc IAllianceLedgerLens
    function brandInfo(uint256 brand)
        external
        view
        returns (bool exists, bool suspended, IAllianceLedger.EarnRule memory rule, uint256 valueMicroUsd)
    {
        BrandConfig cfg = LedgerState.brand(_ledger, brand);
        return (cfg.exists(), cfg.suspended(), cfg.rule().unpack(), _valueFor(brand, cfg, Calendar.currentMonth()));
    }

    /// @inheritdoc IAllianceLedgerLens
    function outstandingValue(uint256 brand) external view returns (uint256 valueMicroUsd) {
        BrandConfig cfg = LedgerState.brand(_ledger, brand);
        uint256 month = Calendar.currentMonth();
        uint256 latestMonth = cfg.latestMonth();
        if (latestMonth + 12 < month) return 0;
        uint256[4] memory ring = LedgerState.brandLive(_ledger, brand);
        uint256[2] memory values = LedgerState.monthValues(_ledger, brand);
        for (uint256 m = month - 12; m < latestMonth; ++m) {
            uint256 live = LotMath.brandLiveIn(ring[LotMath.brandSlotOf(m)], m);
            if (live != 0) valueMicroUsd += live * LotMath.monthValueIn(values[LotMath.valueSlotOf(m)], m);
        }
        valueMicroUsd += cfg.latestMonthLive() * cfg.valueMicroUsd();
    }

    /// @inheritdoc IAllianceLedgerLens
    function monthValue(uint256 brand, uint256 month) external view returns (uint256) {
        BrandConfig cfg = LedgerState.brand(_ledger, brand);
        if (month >= cfg.latestMonth()) return _valueFor(brand, cfg, month);
        return LotMath.monthValueIn(LedgerState.monthValues(_ledger, brand)[LotMath.valueSlotOf(month)], month);
    }

    /// @inheritdoc IAllianceLedgerLens
    function pointValue(uint256 brand)
        external
        view
        returns (uint256 currentMicroUsd, uint256 nextMicroUsd, uint256 effectiveMonth)
    {
        BrandConfig cfg = LedgerState.brand(_ledger, brand);
        uint256 month = Calendar.currentMonth();
        currentMicroUsd = _valueFor(brand, cfg, month);
        uint256 next = LedgerState.nextValue(_ledger, brand);
        if (next >> 32 > month) (nextMicroUsd, effectiveMonth) = (next & 0xffffffff, next >> 32);
    }

    /// @dev The ledger's {LedgerStorage-_valueFor}: the value of the points issued in `month`
    /// (the brand's latest month or later).
    function _valueFor(uint256 brand, BrandConfig cfg, uint256 month) private view returns (uint256) {
        if (cfg.latestMonth() == month) return cfg.valueMicroUsd();
        uint256 next = LedgerState.nextValue(_ledger, brand);
        return next != 0 && next >> 32 <= month ? next & 0xffffffff : cfg.valueMicroUsd();
    }

    /// @inheritdoc IAllianceLedgerLens
    function memberStatus(address member) external view returns (IAllianceLedger.MemberStatus memory) {
        MemberWord word = LedgerState.member(_ledger, member);
        return word.toStatus();
    }

    /// @inheritdoc IAllianceLedgerLens
    function tierRule(uint8 tier) external view returns (IAllianceLedger.TierRule memory rule, uint256 giftPoints) {
        if (tier == 0 || tier > MAX_TIER) revert IAllianceLedger.TierInvalid(tier);
        return (LedgerState.globals(_ledger).tierRule(tier), LedgerState.tierGift(_ledger, tier));
    }

    /// @inheritdoc IAllianceLedgerLens
    function maxMultiplierPct() external view returns (uint256) {
        return LedgerState.globals(_ledger).maxMultiplierPct();
    }

    /// @inheritdoc IAllianceLedgerLens
    function orderFloorUsd() external view returns (uint256) {
        return LedgerState.globals(_ledger).orderFloorCents() / 100;
    }

    /// @inheritdoc IAllianceLedgerLens
    function dailyMint(uint256 brand) external view returns (uint256 cap, uint256 mintedToday, uint256 day) {
        MintDay word = LedgerState.mintDay(_ledger, brand);
        day = block.timestamp / 1 days;
        return (word.cap(), word.mintedOn(day), day);
    }

    /// @inheritdoc IAllianceLedgerLens
    function netPosition(uint256 brand) external view returns (int256 net) {
        uint256 count = LedgerState.brandCount(_ledger);
        for (uint256 other = 1; other <= count; ++other) {
            net += LedgerState.position(_ledger, other, brand);
        }
    }
}
