// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceLedger} from "./IAllianceLedger.sol";
import {IExtsload} from "./IExtsload.sol";

/// @title Read-only views of the alliance ledger, served outside its size-bounded core.
/// @dev Every view reads the ledger's current state (no copy): same block, same answer as the
/// ledger itself would give.
interface IAllianceLedgerLens {
    /// @notice The ledger this lens reads.
    function ledger() external view returns (IExtsload);

    /// @notice The member's live lots of `brand`, oldest first.
    function lotsOf(address member, uint256 brand) external view returns (IAllianceLedger.Lot[] memory lots);

    /// @notice The member's next lot of `brand` to expire: its amount and expiry time (0, 0 if none).
    function nextExpiry(address member, uint256 brand) external view returns (uint256 amount, uint256 expiresAt);

    /// @notice A brand's points issued, redeemed, expired, reversed and still outstanding (its
    /// liability, pending points included).
    /// @dev `issued = redeemed + expired + reversed + outstanding` at every second.
    function brandAccount(uint256 brand) external view returns (IAllianceLedger.BrandAccount memory account);

    /// @notice The brand's liability in value: each month's outstanding points at the value of
    /// that month (micro-USD; DOMAIN.md "Value of issued points").
    function outstandingValue(uint256 brand) external view returns (uint256 valueMicroUsd);

    /// @notice The value (micro-USD) of the points `brand` issued in `month` (months since
    /// January 1970, UTC), for a live month it issued points in, the current month or a later one.
    function monthValue(uint256 brand, uint256 month) external view returns (uint256 valueMicroUsd);

    /// @notice The value of the points the brand issues this month, and a published value not yet
    /// in force with the month it applies from (0 and 0 when none).
    function pointValue(uint256 brand)
        external
        view
        returns (uint256 currentMicroUsd, uint256 nextMicroUsd, uint256 effectiveMonth);

    /// @notice The brand's configuration: onboarded flag, suspension, earning rule and the value
    /// (micro-USD) of the points it issues this month.
    function brandInfo(uint256 brand)
        external
        view
        returns (bool exists, bool suspended, IAllianceLedger.EarnRule memory rule, uint256 valueMicroUsd);

    /// @notice A member's tier state and quarter counters.
    function memberStatus(address member) external view returns (IAllianceLedger.MemberStatus memory);

    /// @notice Tier `tier`'s thresholds and upgrade gift points.
    /// @dev Reverts with {IAllianceLedger-TierInvalid} unless 1 <= tier <= 3.
    function tierRule(uint8 tier) external view returns (IAllianceLedger.TierRule memory rule, uint256 giftPoints);

    /// @notice The brand's daily mint cap and what it minted so far today (UTC), tier gifts it
    /// paid included; `day` is today's index (days since 1970-01-01 UTC).
    function dailyMint(uint256 brand) external view returns (uint256 cap, uint256 mintedToday, uint256 day);
    /// @notice The member's pending points of `brand` by release time: its purchase positions (at
    /// most 4; two of different earn months may share a `releaseAt`), then the lock of the
    /// tier-gift shares it paid, if one runs (see {PendingWord}); they count in
    /// {IERC6909-balanceOf} from `releaseAt` on.
    function pendingOf(address member, uint256 brand)
        external
        view
        returns (IAllianceLedger.PendingPoints[] memory positions);

    /// @notice The highest multiplier an earn may carry now, in percent: the admin's cap
    /// (`setMaxMultiplier`), or the ledger's MAX_MULTIPLIER_PCT (1000) while none is set.
    function maxMultiplierPct() external view returns (uint256);

    /// @notice The order floor in whole USD: a purchase counts as an order toward the tiers only
    /// when the spend it counts is at least this (0: every purchase; {IAllianceLedger-OrderFloorChanged}).
    function orderFloorUsd() external view returns (uint256);

    /// @notice Days a purchase's points of `brand` stay pending.
    function returnWindowDays(uint256 brand) external view returns (uint256);

    /// @notice What the alliance owes `brand` net (negative: what it owes), in micro-USD.
    function netPosition(uint256 brand) external view returns (int256 net);
}
