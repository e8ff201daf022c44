// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceDirectory} from "./IAllianceDirectory.sol";

/// @title The alliance's shared points ledger: types, errors and events.
/// @dev Points are ERC-6909 tokens whose id is the issuing brand's id. Every
/// member holds, per brand, lots bucketed by calendar month (UTC); a lot earned
/// in month M stops counting when month M + 13 begins (never less than 12 full
/// months). Amounts are whole points; values are in micro-USD (1e-6 USD).
interface IAllianceLedger is IAllianceDirectory {
    // ------------------------------------------------------------------ types

    /// @notice What an earn operation rewards.
    enum EarnKind {
        Purchase, // amountCents spent; points = amountCents * pointsPerUsd / 100
        Review,
        Share,
        Event, // community event, eco challenge
        Referral // an invited friend joined
    }

    /// @notice A brand's earning rule: points per USD spent and per engagement.
    /// @dev Stored packed as a {PackedEarnRule} (one byte per EarnKind, in the enum's order).
    struct EarnRule {
        uint8 pointsPerUsd;
        uint8 pointsPerReview;
        uint8 pointsPerShare;
        uint8 pointsPerEvent;
        uint8 pointsPerReferral;
    }

    /// @notice One earn operation. `opId` is unique per brand and can be applied once.
    /// @dev `multiplierPct` is 100 for the plain rule, 200 for double points
    /// (first order, green purchase, birthday week), at most the admin's cap
    /// ({MaxMultiplierChanged}; {MAX_MULTIPLIER_PCT} while none is set).
    struct EarnOp {
        uint64 opId;
        address member;
        EarnKind kind;
        uint16 multiplierPct;
        uint64 amountCents;
        bytes32 orderRef;
    }

    /// @notice A member-signed gift (or donation, when `to` is the charity pool).
    struct Gift {
        address member;
        address to;
        uint256 brand;
        uint256 amount;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A member-signed redemption of `brand` points at `atBrand`.
    struct Redeem {
        address member;
        uint256 brand;
        uint256 atBrand;
        uint256 amount;
        bytes32 orderRef;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A live lot as the views return it.
    struct Lot {
        uint256 amount;
        uint256 earnedMonth; // months since 1970-01
        uint256 expiresAt; // first second at which the lot no longer counts
    }

    /// @notice Tier thresholds, all three must be met within one calendar quarter.
    struct TierRule {
        uint48 spendCents;
        uint16 orders;
        uint16 engagements;
    }

    /// @notice A member's tier state and activity in its latest active quarter.
    /// @dev The view's shape only: the ledger stores it as one {MemberWord} whose layout its
    /// library fixes, so reordering these fields changes no stored state.
    struct MemberStatus {
        uint8 tier;
        uint16 quarter; // quarter of the counters below (quarters since 1970)
        uint48 spendCents;
        uint32 orders;
        uint32 engagements;
        uint16 graceUntilMonth; // 0: not in grace; else month from which a downgrade may apply
        uint16 reviewedQuarter; // the quarter in which the member was last reviewed
        uint16 closedQuarter; // the previous active quarter
        uint8 closedBestTier; // the best tier that previous quarter met
    }

    /// @notice A brand's issued, redeemed, expired, outstanding and reversed points:
    /// `issued = redeemed + expired + reversed + outstanding` (outstanding includes pending points).
    struct BrandAccount {
        uint256 issued;
        uint256 redeemed;
        uint256 expired;
        uint256 outstanding;
        uint256 reversed;
    }

    /// @notice A brand's reversal of a returned order's pending points (issue 11).
    /// `releaseDay` is the purchase's own release day (the day {PointsEarned}'s `releaseAt` falls
    /// on; the brand's right ends there) and `earnMonth` its earn month (months since 1970-01,
    /// UTC): the points are taken from the pending position of that month with the smallest day
    /// on or after `releaseDay`, where they are also after a {PendingPointsMoved};
    /// `quarter` is the quarter the purchase counted in (`earnMonth / 3`, else
    /// {LedgerReversalQuarterMismatch}): the member's counters drop only while they still hold
    /// that quarter, else its closed record's; `closesOrder` also takes one order off them. The ledger
    /// bounds both by what the position can have counted ({PointsReversed}): a brand's reversals
    /// take off no more than its pending purchases added.
    struct ReverseOp {
        uint64 opId;
        address member;
        uint32 releaseDay;
        uint16 earnMonth;
        uint64 points;
        uint64 spendCents;
        uint16 quarter;
        bool closesOrder;
        bytes32 orderRef;
    }

    /// @notice Pending points of a member at a brand, live from `releaseAt` (seconds, UTC).
    struct PendingPoints {
        uint256 amount;
        uint256 releaseAt;
    }

    // ----------------------------------------------------------------- errors

    error LedgerUnknownBrand(uint256 brand);
    error LedgerBrandSuspended(uint256 brand);
    error LedgerNotBrandSigner(address caller, uint256 brand);
    error LedgerSignerTaken(address signer, uint256 brand);
    error LedgerInvalidPointValue(uint256 valueMicroUsd);
    error LedgerInvalidMember(address member);
    error LedgerInvalidAmount(uint256 amount);
    error LedgerInvalidMultiplier(uint256 multiplierPct);
    error LedgerZeroPoints(uint64 opId);
    error LedgerOperationUsed(uint256 brand, uint64 opId);
    error LedgerSignatureExpired(uint256 deadline, uint256 nowTimestamp);
    error LedgerInvalidSignature(address member);
    error PointsInsufficientBalance(address member, uint256 brand, uint256 balance, uint256 needed);
    error TierInvalid(uint8 tier);
    error TierRuleNotAscending(uint8 tier);
    error TierAlreadyReviewed(address member, uint256 quarter);
    error SettlementNothingToSettle(uint256 brandA, uint256 brandB);
    error SettlementNotParty(address caller, uint256 brandA, uint256 brandB);
    /// @notice A cross-brand redemption at `atBrand` was not sent by `atBrand`'s signer.
    error LedgerNoBrandConsent(uint256 atBrand, address caller);
    /// @notice The operation would take `brand` past its daily mint cap for UTC day `day`.
    error LedgerDailyMintCapExceeded(uint256 brand, uint256 day, uint256 cap, uint256 requested);
    /// @notice A value change for `brand` too soon: the oldest value still needed for live lots would be lost.
    error LedgerValueChangeTooSoon(uint256 brand, uint256 fromMonth);
    /// @notice A multiplier cap (percent) outside [`minPct`, `maxPct`] (100, the plain rule, to
    /// {MAX_MULTIPLIER_PCT}).
    error LedgerInvalidMaxMultiplier(uint256 pct, uint256 minPct, uint256 maxPct);
    /// @notice An order floor (whole USD) above `maxUsd` (31, the field's 5 bits).
    error LedgerInvalidOrderFloor(uint256 usd, uint256 maxUsd);
    /// @notice A return window beyond {MAX_RETURN_WINDOW_DAYS}.
    error LedgerInvalidReturnWindow(uint256 days_);
    /// @notice The points released at `releaseAt` are the member's: the window closed.
    error LedgerReversalWindowClosed(uint256 brand, address member, uint256 releaseAt);
    /// @notice The pending position released at `releaseAt` holds `pending` points, fewer than `points`.
    error LedgerReversalExceedsPending(uint256 brand, address member, uint256 releaseAt, uint256 pending, uint256 points);
    /// @notice A reversal states `stated` as its purchase's quarter, whose position's earn month
    /// is of quarter `earned` (quarters since 1970-Q1): the purchase counted in that one.
    error LedgerReversalQuarterMismatch(uint256 stated, uint256 earned);

    // ----------------------------------------------------------------- events

    event BrandOnboarded(uint256 indexed brand, address indexed signer, uint256 valueMicroUsd, EarnRule rule);
    event BrandSuspensionChanged(uint256 indexed brand, bool suspended);
    event BrandSignerChanged(uint256 indexed brand, address indexed signer, bool authorized);
    event EarnRuleChanged(uint256 indexed brand, EarnRule rule);
    /// @notice A governance act: `newValueMicroUsd` applies to the points issued from month
    /// `effectiveMonth` (months since January 1970, UTC) on; points issued before keep their
    /// month's value (`previousValueMicroUsd` is this month's); balances never change.
    event PointValueChanged(
        uint256 indexed brand, uint256 previousValueMicroUsd, uint256 newValueMicroUsd, uint256 effectiveMonth
    );
    event CharityPoolChanged(address indexed pool);
    /// @notice `account` is (or no longer is) a system address: no points may be earned, gifted or sent to it.
    event SystemAddressChanged(address indexed account, bool isSystem);
    /// @notice The admin set `brand`'s daily mint cap (points per UTC day, tier gifts it pays included).
    event DailyMintCapChanged(uint256 indexed brand, uint256 cap);
    /// @notice The admin set the highest multiplier an earn may carry, in percent (100 = the
    /// plain rule); `previousPct` is the cap in force before (1000 while none was set).
    event MaxMultiplierChanged(uint256 previousPct, uint256 pct);
    /// @notice The admin set the order floor: from now on a purchase counts as an order toward
    /// the tiers only when the spend it counts is at least `usd` whole USD (0: every purchase);
    /// `previousUsd` is the floor in force before. Its spend counts either way.
    event OrderFloorChanged(uint256 previousUsd, uint256 usd);
    /// @notice The admin set `brand`'s return window (also at onboarding: 0 -> 14 days).
    event ReturnWindowChanged(uint256 indexed brand, uint256 previousDays, uint256 newDays);

    /// @notice `member` earned `points` of `brand` for operation `opId` (an upgrade gift is not
    /// included: see {TierUpgraded}); emitted by {earn}, while {earnBatch} emits one
    /// {PointsEarnedBatch} with the same fields per operation. `spendCents` is the purchase amount counted toward the
    /// member's tier spend (0 for engagements), so tier progress can be rebuilt from events alone.
    /// `releaseAt` is when a purchase's points become live: the end of its return window, or a
    /// later day it joined ({PendingWord}; a {PendingPointsMoved} may move it later still, never
    /// earlier); 0: live at once (an engagement, no return window, or 4 positions pending of 4
    /// other months, possible only with a 90-day window). Until then they are pending (see
    /// {PointsReversed}).
    event PointsEarned(
        uint256 indexed brand,
        address indexed member,
        uint64 indexed opId,
        EarnKind kind,
        uint256 points,
        uint256 spendCents,
        bytes32 orderRef,
        uint256 releaseAt
    );
    /// @notice The operations `brand` applied in one {earnBatch}, in their order: what
    /// {PointsEarned} says of each, packed in 80 bytes per operation (issue 15: one log per batch
    /// instead of one per operation). Each record, big-endian: opId 8 bytes | member 20 |
    /// kind 1 | points 8 | spendCents 6 | releaseAt 5 | orderRef 32. Each applied operation also
    /// emits its mint {Transfer} (`id` = `brand`), in the same order, before this event.
    event PointsEarnedBatch(uint256 indexed brand, bytes records);
    /// @notice `brand` cancelled `points` pending points of `member` for a returned order,
    /// taking `spendCents` (the stated spend, at most what those points can have counted at the
    /// brand's purchase rate) and `closedOrders` orders off the member's quarter (not below 0):
    /// one when `closesOrder` asked it and the position still counted one (it counts at most 63,
    /// {PendingWord}), and any more the position's points left can no longer have counted (all
    /// of them once it is empty; with an order floor, beyond the floors their spend holds).
    /// Until 2026-12-07 `bool closedOrder`: a brand that returned its purchases without
    /// closing their orders left them counted. `releaseAt` is the release of the position the
    /// points left (seconds, UTC: the purchase's own or, after a {PendingPointsMoved}, a later
    /// one) and `month` its earn month (months since 1970-01): the lot they left.
    event PointsReversed(
        uint256 indexed brand,
        address indexed member,
        uint64 indexed opId,
        uint256 points,
        uint256 spendCents,
        bytes32 orderRef,
        uint256 releaseAt,
        uint256 month,
        uint256 closedOrders
    );
    /// @notice `member`'s pending points of `brand` earned in `month` (months since 1970-01,
    /// UTC) that were to be released at `fromReleaseAt` are now released at `toReleaseAt`, later
    /// (seconds, UTC, like {PointsEarned}'s `releaseAt`): a purchase found 4 purchase days
    /// pending, and the two closest of one month merged into the later day, so that no purchase
    /// is released before its return window closes (DOMAIN.md "Returns"; {PendingWord}); emitted
    /// by {earn} and {earnBatch} before the purchase's own {PointsEarned} (or record). Or the
    /// purchase itself joined its month's later day (after a window was shortened): emitted just
    /// before its {PointsEarned} (or its record's mint {Transfer}), which states its own day, from
    /// which nothing else moves. A reversal of a moved purchase still names its own release day;
    /// the brand's right ends there.
    event PendingPointsMoved(
        uint256 indexed brand, address indexed member, uint256 month, uint256 fromReleaseAt, uint256 toReleaseAt
    );
    /// @notice An operation of a batch was not applied; `reason` is the selector of the custom error.
    event OperationSkipped(uint256 indexed brand, uint64 indexed opId, bytes4 reason);
    event PointsDonated(address indexed member, address indexed pool, uint256 indexed brand, uint256 amount);
    event PointsRedeemed(
        address indexed member,
        uint256 indexed brand,
        uint256 indexed atBrand,
        uint256 amount,
        uint256 valueMicroUsd,
        bytes32 orderRef
    );

    event TierRuleChanged(uint8 indexed tier, TierRule rule, uint256 giftPoints);
    event TierUpgraded(address indexed member, uint8 previousTier, uint8 newTier, uint256 indexed brand, uint256 giftPoints);
    /// @notice `brand` paid `points` of its own of `member`'s upgrade gift (its part of the quarter).
    /// `releaseAt` is when they become the member's: 0 (at once) unless a purchase counted in the
    /// quarter could still be reversed, then the latest such purchase's release (see
    /// {TierGiftCancelled}); also 0 in the cases the lock cannot hold it: a lock past 2**32 - 1
    /// points, or a share of a fifth earn month in it ({LockMonths}).
    event TierGiftPaid(address indexed member, uint256 indexed brand, uint256 points, uint256 releaseAt);
    /// @notice A reversal took `member`'s quarter below a tier reached in it: `points` of `brand`'s
    /// share of that tier's gift, still locked until `releaseAt`, are cancelled (burned, counted
    /// in the brand's `reversed`).
    event TierGiftCancelled(address indexed member, uint256 indexed brand, uint256 points, uint256 releaseAt);
    /// @notice `member` met again, by an operation of `brand`, tier `tier` whose gift a return
    /// had cancelled in this quarter ({TierGiftCancelled}; the tier had stood, so no
    /// {TierUpgraded} pays it): its gift, `giftPoints`, is paid again, once per tier and quarter,
    /// split like an upgrade's gift ({TierGiftPaid} per paying brand, right after this event).
    event TierGiftRestored(address indexed member, uint8 tier, uint256 indexed brand, uint256 giftPoints);
    /// @notice `points` of `brand`'s gift shares locked for `member` until `fromReleaseAt` now wait
    /// until `toReleaseAt`, with a later gift's shares (one lock per member and brand).
    event TierGiftHoldExtended(
        address indexed member, uint256 indexed brand, uint256 points, uint256 fromReleaseAt, uint256 toReleaseAt
    );
    /// @notice `member` keeps `tier`: met in quarter `quarter` (a review's, judging the quarter
    /// before its start), or met again during grace, which ends it (an earn's, in its quarter;
    /// an earn that upgrades ends it with {TierUpgraded} instead).
    event TierRetained(address indexed member, uint8 tier, uint256 quarter);
    event TierDowngradeWarned(address indexed member, uint8 tier, uint256 graceUntilMonth);
    event TierDowngraded(address indexed member, uint8 previousTier, uint8 newTier);
    /// @notice {reviewTiers} skipped `member`: already reviewed at quarter `quarter`'s start.
    event TierReviewSkipped(address indexed member, uint256 quarter);

    /// @notice `debtor` paid `creditor` the net value they owed; `tokenAmount` is 0 when paid off chain.
    event PositionSettled(uint256 indexed debtor, uint256 indexed creditor, uint256 valueMicroUsd, uint256 tokenAmount);
}
