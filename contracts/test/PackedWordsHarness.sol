// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceLedger} from "../interfaces/IAllianceLedger.sol";
import {BrandConfig, BrandConfigLibrary} from "../types/BrandConfig.sol";
import {LedgerGlobals, LedgerGlobalsLibrary} from "../types/LedgerGlobals.sol";
import {MemberWord, MemberWordLibrary} from "../types/MemberWord.sol";
import {PackedEarnRule, PackedEarnRuleLibrary} from "../types/PackedEarnRule.sol";
import {LockMonths} from "../types/LockMonths.sol";
import {PendingWord, PendingWordLibrary} from "../types/PendingWord.sol";

/// @title PackedWordsHarness
/// @notice TEST HELPER ONLY, never deployed outside tests: exposes the packed-word libraries
/// (types/) as external pure functions over raw words, for their unit tests.
contract PackedWordsHarness {
    // ------------------------------------------------------------------ BrandConfig

    function brandCreate(IAllianceLedger.EarnRule memory rule, uint256 valueMicroUsd) external pure returns (uint256) {
        return BrandConfig.unwrap(BrandConfigLibrary.create(PackedEarnRuleLibrary.pack(rule), valueMicroUsd));
    }

    /// @notice Every field of a brand word: exists, suspended, rule, value, latestMonth, issued, latestMonthLive.
    function brandFields(uint256 word) external pure returns (bool, bool, uint256, uint256, uint256, uint256, uint256) {
        BrandConfig c = BrandConfig.wrap(word);
        return (
            c.exists(),
            c.suspended(),
            PackedEarnRule.unwrap(c.rule()),
            c.valueMicroUsd(),
            c.latestMonth(),
            c.issued(),
            c.latestMonthLive()
        );
    }

    /// @notice Sets field `field` (1 suspended, 2 rule, 3 value, 4 latestMonth, 5 issued, 6 latestMonthLive).
    function brandSet(uint256 word, uint256 field, uint256 value) external pure returns (uint256) {
        BrandConfig c = BrandConfig.wrap(word);
        if (field == 1) c = c.setSuspended(value != 0);
        else if (field == 2) c = c.setRule(PackedEarnRule.wrap(uint40(value)));
        else if (field == 3) c = c.setValueMicroUsd(value);
        else if (field == 4) c = c.setLatestMonth(value);
        else if (field == 5) c = c.setIssued(value);
        else c = c.setLatestMonthLive(value);
        return BrandConfig.unwrap(c);
    }

    // ------------------------------------------------------------------ PendingWord

    function pendingAdd(uint256 word, uint256 today, uint256 releaseDay, uint256 amount, uint256 month)
        external
        pure
        returns (uint256, uint256, bool, uint256)
    {
        (PendingWord updated, uint256 day, bool ok, uint256 moved) =
            PendingWord.wrap(word).add(today, releaseDay, amount, month, true);
        return (PendingWord.unwrap(updated), day, ok, moved);
    }

    function pendingAddCounted(
        uint256 word,
        uint256 today,
        uint256 releaseDay,
        uint256 amount,
        uint256 month,
        bool counts
    ) external pure returns (uint256, uint256, bool, uint256) {
        (PendingWord updated, uint256 day, bool ok, uint256 moved) =
            PendingWord.wrap(word).add(today, releaseDay, amount, month, counts);
        return (PendingWord.unwrap(updated), day, ok, moved);
    }

    function pendingTake(uint256 word, uint256 releaseDay, uint256 month, uint256 amount, bool closesOrder)
        external
        pure
        returns (uint256, uint256, uint256, uint256)
    {
        (PendingWord updated, uint256 held, uint256 closed, uint256 day) =
            PendingWord.wrap(word).take(releaseDay, month, amount, closesOrder, 0, 0);
        return (PendingWord.unwrap(updated), held, closed, day);
    }

    function pendingTakeFloor(
        uint256 word,
        uint256 releaseDay,
        uint256 month,
        uint256 amount,
        bool closesOrder,
        uint256 floorCents,
        uint256 rate
    ) external pure returns (uint256, uint256, uint256, uint256) {
        (PendingWord updated, uint256 held, uint256 closed, uint256 day) =
            PendingWord.wrap(word).take(releaseDay, month, amount, closesOrder, floorCents, rate);
        return (PendingWord.unwrap(updated), held, closed, day);
    }

    function pendingEarnMonth(uint256 releaseDay, uint256 month4) external pure returns (uint256) {
        return PendingWordLibrary.earnMonth(releaseDay, month4);
    }

    function pendingHeldByMonth(uint256 word, uint256 today, uint256 month) external pure returns (uint256[13] memory held) {
        PendingWord.wrap(word).heldByMonth(today, month, held);
    }

    // ------------------------------------------------------------------- LockMonths

    function lockMonthsAdd(uint256 word, uint256 month, uint256 amount) external pure returns (uint256, bool) {
        (LockMonths updated, bool ok) = LockMonths.wrap(word).add(month, amount);
        return (LockMonths.unwrap(updated), ok);
    }

    function lockMonthsTakeNewest(uint256 word, uint256 amount, uint256 month)
        external
        pure
        returns (uint256, uint256[13] memory taken)
    {
        return (LockMonths.unwrap(LockMonths.wrap(word).takeNewest(amount, month, taken)), taken);
    }

    function lockMonthsHeld(uint256 word, uint256 month) external pure returns (uint256[13] memory held) {
        LockMonths.wrap(word).heldInto(month, held);
    }

    function pendingWithGift(uint256 word, uint256 releaseDay, uint256 amount) external pure returns (uint256, bool) {
        (PendingWord updated, bool ok) = PendingWord.wrap(word).withGift(releaseDay, amount);
        return (PendingWord.unwrap(updated), ok);
    }

    function pendingLocked(uint256 word, uint256 today) external pure returns (uint256) {
        return PendingWord.wrap(word).locked(today);
    }

    // ------------------------------------------------------------------- MemberWord

    function memberToStatus(uint256 word) external pure returns (IAllianceLedger.MemberStatus memory) {
        return MemberWord.wrap(word).toStatus();
    }

    function memberFromStatus(IAllianceLedger.MemberStatus memory s) external pure returns (uint256) {
        return MemberWord.unwrap(MemberWordLibrary.fromStatus(s));
    }

    /// @notice Sets field `field` (0 tier, 1 graceUntilMonth, 2 reviewedQuarter, 3 closed quarter + best tier).
    function memberSet(uint256 word, uint256 field, uint256 value, uint256 second) external pure returns (uint256) {
        MemberWord w = MemberWord.wrap(word);
        if (field == 0) w = w.setTier(value);
        else if (field == 1) w = w.setGraceUntilMonth(value);
        else if (field == 2) w = w.setReviewedQuarter(value);
        else w = w.setClosedQuarter(value, second);
        return MemberWord.unwrap(w);
    }

    function memberSetCounters(uint256 word, uint256 quarter, uint256 spend, uint256 orders, uint256 engagements)
        external
        pure
        returns (uint256)
    {
        return MemberWord.unwrap(MemberWord.wrap(word).setCounters(quarter, spend, orders, engagements));
    }

    // ---------------------------------------------------------------- LedgerGlobals

    function globalsSetTierRule(uint256 word, uint256 tier, IAllianceLedger.TierRule memory rule)
        external
        pure
        returns (uint256)
    {
        return LedgerGlobals.unwrap(LedgerGlobals.wrap(word).setTierRule(tier, rule));
    }

    function globalsTierRule(uint256 word, uint256 tier) external pure returns (IAllianceLedger.TierRule memory) {
        return LedgerGlobals.wrap(word).tierRule(tier);
    }

    function globalsSetPaused(uint256 word, bool paused) external pure returns (uint256) {
        return LedgerGlobals.unwrap(LedgerGlobals.wrap(word).setPaused(paused));
    }

    function globalsPaused(uint256 word) external pure returns (bool) {
        return LedgerGlobals.wrap(word).paused();
    }

    function globalsSetMaxMultiplierPct(uint256 word, uint256 pct) external pure returns (uint256) {
        return LedgerGlobals.unwrap(LedgerGlobals.wrap(word).setMaxMultiplierPct(pct));
    }

    function globalsMaxMultiplierPct(uint256 word) external pure returns (uint256) {
        return LedgerGlobals.wrap(word).maxMultiplierPct();
    }

    function globalsSetOrderFloorUsd(uint256 word, uint256 usd) external pure returns (uint256) {
        return LedgerGlobals.unwrap(LedgerGlobals.wrap(word).setOrderFloorUsd(usd));
    }

    function globalsOrderFloorCents(uint256 word) external pure returns (uint256) {
        return LedgerGlobals.wrap(word).orderFloorCents();
    }

    function globalsBestTier(uint256 word, uint256 spend, uint256 orders, uint256 engagements)
        external
        pure
        returns (uint256)
    {
        return LedgerGlobals.wrap(word).bestTier(spend, orders, engagements);
    }

    /// @notice Whether the counters reach the lane-wise minimum of the three tiers' floors.
    function globalsMeetsEntry(uint256 word, uint256 spend, uint256 orders, uint256 engagements)
        external
        pure
        returns (bool)
    {
        LedgerGlobals g = LedgerGlobals.wrap(word);
        uint256 lowest = LedgerGlobalsLibrary.minFloors(g.floors(1), g.floors(2), g.floors(3));
        return LedgerGlobalsLibrary.meets(LedgerGlobalsLibrary.counterLanes(spend, orders, engagements), lowest);
    }

    // --------------------------------------------------------------- PackedEarnRule

    function rulePack(IAllianceLedger.EarnRule memory rule) external pure returns (uint256) {
        return PackedEarnRule.unwrap(PackedEarnRuleLibrary.pack(rule));
    }

    function ruleUnpack(uint40 packed) external pure returns (IAllianceLedger.EarnRule memory) {
        return PackedEarnRule.wrap(packed).unpack();
    }

    function ruleRate(uint40 packed, IAllianceLedger.EarnKind kind) external pure returns (uint256) {
        return PackedEarnRule.wrap(packed).rate(kind);
    }
}
