// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceLedger} from "./IAllianceLedger.sol";

/// @title Auctions of scarce rewards for points: errors, events, types and functions.
/// @notice A brand auctions `units` units of a collectible badge that carries a benefit (a limited-edition
/// purchase right, redeemable once) to members of at least `minTier`. Bids are in points of any active brand,
/// compared by value (micro-USD, at the published point value when the points are bid) counting only the bid's
/// points still live at the end plus {SETTLE_GRACE} (its effective value, see {Bid}); the top `units` bids
/// win. A bid is at least the reserve, and once every unit is held, at least the lowest held bid plus the
/// increment; that lowest bid is then outbid and returned to its bidder at once. A bid in the last `extension`
/// seconds moves the end to `extension` seconds after it (soft close).
///
/// Escrow: each bidder of an auction has its own escrow holder ({escrowOf}, an OpenZeppelin minimal proxy
/// created at its first bid), an ordinary ledger holder, so lots keep their earn month while held and come back
/// exactly as they left (points that expired while held stay expired: the ledger counts them nowhere).
///
/// Close: after the end, a winning bid is settled: its points are redeemed at the auctioning brand and the
/// bidder receives one unit of the badge. A bid in the auctioning brand's points is settled by anyone
/// ({settle}). A bid in another brand's points is a cross-brand redemption that needs the auctioning brand's
/// consent: one of its signers sends the ledger's `redeemWithSig` for the escrow (the escrow approves it by
/// ERC-1271, see {approvesRedemption}), then anyone calls {settle}. A winning bid not settled within
/// {SETTLE_GRACE} after the end can be cancelled by anyone ({cancel}): its escrow returns to the bidder, so a
/// close is never blocked forever. The winner cannot block its settlement: a wallet that refuses the badge
/// (its ERC-1155 hook reverts) leaves the bid redeemed and `Unissued`, never cancellable, and the unit reserved
/// until anyone calls {issueWon} once the wallet accepts it. The settlement redeems what the escrow holds of the
/// bid (at most its amount): points that expired in it since the bid are not paid, and never counted in its
/// value (lots expire at the start of their 13th month). Every state change stops while the ledger is paused
/// (the one pause).
interface IAllianceAuctions {
    /// @notice An auction as stored. Points amounts are in the auctioning brand's points; `*Value` in
    /// micro-USD at the brand's published value when the auction was created. Times are unix seconds (UTC).
    struct Auction {
        uint64 brand;
        uint40 startsAt;
        uint40 endsAt;
        uint32 extension;
        uint8 minTier;
        uint8 units;
        uint8 held;
        uint256 badgeType;
        uint128 reserve;
        uint128 increment;
        uint128 reserveValue;
        uint128 incrementValue;
    }

    /// @notice Where a member's bid on an auction stands.
    enum BidStatus {
        None, // no bid, or outbid and returned
        Held, // among the top `units` bids: winning if the auction has ended
        Settled, // redeemed; the badge was issued
        Cancelled, // not settled within the grace period: returned
        Unissued // redeemed; the winner's wallet refused the badge: its unit stays reserved for {issueWon}
    }

    /// @notice A member's bid: `amount` points of `brand`, worth `value` micro-USD when bid (nominal), of which
    /// `live` points (at most `amount`) are still live at the auction's end plus {SETTLE_GRACE}, as counted
    /// from its escrow's lots when the bid (or its last raise) was placed. Bids compare by their effective
    /// value, `value * live / amount` micro-USD (rounded down): a bid of points that expire before the close is
    /// worth only its live part (a hostile review of 2026-12-06: a bid of 30,000 points expiring during the
    /// auction outbid a backed bid, won and left the unit unsold). `liveUntil` is the earliest expiry (unix
    /// seconds) among the lots `live` counted (`type(uint40).max` when it counted none): a bid in the soft close
    /// moves the end, then recounts every held bid whose `liveUntil` is at or before the new end plus
    /// {SETTLE_GRACE} ({BidRecounted} when its `live` changes), before it compares any bid (a review of
    /// 2026-12-06: a held bid kept the live points of the end before the extension, so its rank counted points
    /// that died before its settlement).
    struct Bid {
        uint64 brand;
        BidStatus status;
        uint128 amount;
        uint128 value;
        uint88 live;
        uint40 liveUntil;
    }

    // ----------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------

    /// @notice `caller` is not a signer of an active brand.
    error AuctionsNotBrandSigner(address caller);
    /// @notice `auctionId` was never created.
    error AuctionsUnknownAuction(uint256 auctionId);
    /// @notice The window is invalid: it must start now or later, end after it starts, by `type(uint40).max`
    /// (unix seconds, as stored) and last at most `maxWindow`; the extension is at most `maxWindow` too.
    error AuctionsInvalidWindow(uint256 startsAt, uint256 endsAt, uint256 extension, uint256 nowTimestamp, uint256 maxWindow);
    /// @notice `units` must be in 1..`maxUnits`: {MAX_UNITS}, or the badge's units left under its cap.
    error AuctionsInvalidUnits(uint256 units, uint256 maxUnits);
    /// @notice `tier` is not 1 (Silver), 2 (Gold) or 3 (Diamond), or is below the badge type's own `minTier`.
    error AuctionsInvalidTier(uint256 tier);
    /// @notice The reserve and the increment must be positive and fit 96 bits.
    error AuctionsInvalidPrice(uint256 reserve, uint256 increment);
    /// @notice Badge type `typeId` is not a collectible with a benefit of the auctioning brand `brand`.
    error AuctionsInvalidBadge(uint256 typeId, uint256 brand);
    /// @notice Bids on `auctionId` are taken in `[startsAt, endsAt)` only.
    error AuctionsNotOpen(uint256 auctionId, uint256 startsAt, uint256 endsAt, uint256 nowTimestamp);
    /// @notice `bidder` holds tier `tier` (its due reviews applied), below the auction's `minTier`, when it bids.
    error AuctionsTierTooLow(uint256 auctionId, address bidder, uint8 tier, uint8 minTier);
    /// @notice `bidder` already bids in points of `heldBrand`; a raise must use the same brand.
    error AuctionsBrandMismatch(uint256 auctionId, address bidder, uint256 heldBrand, uint256 brand);
    /// @notice A bid (raises included) would hold `amount` points, more than 10^12: the ledger's `MAX_AMOUNT`,
    /// the most one of its calls moves (the refund, the settlement and the cancel each move the whole bid).
    error AuctionsInvalidAmount(uint256 amount);
    /// @notice `brand` is not an active brand.
    error AuctionsBrandInactive(uint256 brand);
    /// @notice The bid (or the raise) is worth `value` micro-USD; at least `minValue` is needed. Checked on the
    /// nominal value before the points move, then on the effective value once they are in escrow ({Bid}: only
    /// the points live at the end plus {SETTLE_GRACE} count; a bid of points that all expire before is worth 0).
    error AuctionsBidTooLow(uint256 auctionId, uint256 value, uint256 minValue);
    /// @notice The gift that funds a signed bid must go to `escrow`, the bidder's escrow for the auction.
    error AuctionsWrongEscrow(uint256 auctionId, address to, address escrow);
    /// @notice `auctionId` has not ended yet (it ends at `endsAt`).
    error AuctionsNotEnded(uint256 auctionId, uint256 endsAt, uint256 nowTimestamp);
    /// @notice `bidder` holds no winning bid on `auctionId` that is still to settle.
    error AuctionsNotWinning(uint256 auctionId, address bidder, BidStatus status);
    /// @notice The bid is in another brand's points: a signer of `atBrand` must first redeem it (the ledger's
    /// `redeemWithSig` for the escrow).
    error AuctionsAwaitingBrandRedemption(uint256 auctionId, address bidder, uint256 atBrand);
    /// @notice A winning bid can be cancelled from `graceEndsAt`, if it is not redeemed.
    error AuctionsGraceNotOver(uint256 auctionId, uint256 graceEndsAt, uint256 nowTimestamp);
    /// @notice The winning bid's points were already redeemed: it can only be settled.
    error AuctionsAlreadyRedeemed(uint256 auctionId, address bidder);
    /// @notice The badge's issue in {settle} failed with `gasLeft` gas units left after it, below `needed` (1/63
    /// of its bound): it was given less than its bound, so it may have failed for want of gas, not because of
    /// the winner's wallet. Send {settle} with more gas.
    error AuctionsInsufficientGas(uint256 gasLeft, uint256 needed);
    /// @notice `bidder`'s bid on `auctionId` is not `Unissued` (redeemed, its badge still to issue).
    error AuctionsBadgeNotUnissued(uint256 auctionId, address bidder, BidStatus status);
    /// @notice Only this contract may move what an escrow holds.
    error AuctionsEscrowUnauthorized(address caller);
    /// @notice What `bidder`'s escrow still holds of its bid is worth `worth` micro-USD, below the auction's
    /// reserve, `reserve` micro-USD (its points expired in escrow; an empty escrow is worth 0): it is not
    /// settled; after the grace {cancel} releases the unit.
    error AuctionsBelowReserve(uint256 auctionId, address bidder, uint256 worth, uint256 reserve);

    // ----------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------

    /// @notice `creator` (a signer of `brand`) created `auctionId` for `units` units of badge `badgeType`.
    event AuctionCreated(
        uint256 indexed auctionId,
        uint256 indexed brand,
        address indexed creator,
        uint256 badgeType,
        uint8 units,
        uint8 minTier,
        uint256 reserve,
        uint256 increment,
        uint64 startsAt,
        uint64 endsAt,
        uint32 extension
    );
    /// @notice `bidder` bid: its bid is now `amount` points of `brand` (`added` of them just moved to escrow),
    /// worth `value` micro-USD.
    event BidPlaced(
        uint256 indexed auctionId,
        address indexed bidder,
        uint256 indexed brand,
        uint256 added,
        uint256 amount,
        uint256 value
    );
    /// @notice `bidder`'s bid was outbid by `by`'s; its `amount` points of `brand` returned from escrow.
    event BidOutbid(uint256 indexed auctionId, address indexed bidder, address indexed by, uint256 brand, uint256 amount);
    /// @notice A bid in the last `extension` seconds moved the end of `auctionId` to `endsAt`.
    event AuctionExtended(uint256 indexed auctionId, uint64 endsAt);
    /// @notice `bidder`'s held bid now counts `live` of its points (those live at the auction's end plus
    /// {SETTLE_GRACE}, {Bid}), until `liveUntil` (unix seconds: the earliest expiry among the lots counted,
    /// `type(uint40).max` when none is). Emitted when a bid or a raise counts fewer than its amount, right after
    /// its {BidPlaced} (a bid of points that die before the close), and when a soft close's recount changes a
    /// held bid's count. A bid's count is therefore the `amount` of its last {BidPlaced}, or the `live` of a
    /// later {BidRecounted} (a trial of 2026-12-07: an index of the events alone showed such a bid at its
    /// nominal value, counted 0 here). Its effective value is `value * live / amount` micro-USD.
    event BidRecounted(uint256 indexed auctionId, address indexed bidder, uint256 live, uint256 liveUntil);
    /// @notice `bidder` won a unit: `amount` points of `brand` were redeemed at the auction's brand
    /// (`orderRef` {redemptionRef}) and one unit of `badgeType` was issued to it. For a bid in the auctioning
    /// brand's points, `amount` is what the escrow held of the bid (its points that expired are not paid); for
    /// another brand's it is the bid's amount, the redemption being the ledger's (its `PointsRedeemed` tells
    /// what the escrow paid: at most that).
    event BidSettled(
        uint256 indexed auctionId,
        address indexed bidder,
        uint256 indexed brand,
        uint256 amount,
        uint256 badgeType,
        bytes32 orderRef
    );
    /// @notice `bidder`'s bid was redeemed ({BidSettled}) but its wallet refused the unit of `badgeType`: the
    /// unit stays reserved for it ({issueWon}).
    event BadgeUnissued(uint256 indexed auctionId, address indexed bidder, uint256 badgeType);
    /// @notice The unit of `badgeType` `bidder` won on `auctionId`, refused at its settlement, was issued to it.
    event WonBadgeIssued(uint256 indexed auctionId, address indexed bidder, uint256 badgeType);
    /// @notice `bidder`'s winning bid was not settled within the grace period: `amount` points of `brand`
    /// returned from escrow.
    event BidCancelled(uint256 indexed auctionId, address indexed bidder, uint256 indexed brand, uint256 amount);
    /// @notice Points of `brand` in `bidder`'s escrow beyond its bid (a gift relayed without its bid) returned.
    event EscrowReclaimed(uint256 indexed auctionId, address indexed bidder, uint256 indexed brand, uint256 amount);

    // ----------------------------------------------------------------------------------------------
    // Functions
    // ----------------------------------------------------------------------------------------------

    /// @notice Creates an auction of the caller's brand.
    /// @dev Requirements: not paused; the caller is a signer of an active brand ({AuctionsNotBrandSigner});
    /// `badgeType` is a collectible with a benefit of that brand ({AuctionsInvalidBadge}); 1 <= `units` <=
    /// {MAX_UNITS} and at most the units its cap leaves beside those minted and reserved ({AuctionsInvalidUnits});
    /// `minTier` in 1..3 and at least the badge type's own `minTier` ({AuctionsInvalidTier}: the auction issues
    /// as an issuer, without the type's tier check; a hostile review of 2026-12-06); `reserve` and `increment`
    /// (the brand's points) positive and below 2^96; `block.timestamp <= startsAt < endsAt <= startsAt +
    /// MAX_WINDOW`, `endsAt <= type(uint40).max` (stored as uint40 unix seconds), `extension <= MAX_WINDOW`
    /// ({AuctionsInvalidWindow}).
    ///
    /// Emits an {AuctionCreated} event.
    function createAuction(
        uint256 badgeType,
        uint8 units,
        uint8 minTier,
        uint256 reserve,
        uint256 increment,
        uint64 startsAt,
        uint64 endsAt,
        uint32 extension
    ) external returns (uint256 auctionId);

    /// @notice Adds `added` of the caller's `brand` points to its bid on `auctionId`; the points move from the
    /// caller to its escrow through the ledger's ERC-6909 `transferFrom`, so the caller first approves this
    /// contract for them (or makes it an operator).
    /// @dev Requirements: not paused; the auction open; the caller's tier at least `minTier` now, judged after
    /// applying its due quarterly reviews (README "Reviews follow the calendar"; the ledger's `reviewTiers`, see
    /// {IAllianceTierReviews}; since 2026-12-06), so a member the calendar downgraded is refused
    /// ({AuctionsTierTooLow}) even before anyone ran its review; `brand` active and the brand of any bid the
    /// caller holds; the bid, raises included, at most 10^12 points
    /// ({AuctionsInvalidAmount}); a new bid worth at least the reserve, or when every unit is
    /// held, at least the lowest held bid plus the increment (and the reserve); a raise worth at least the
    /// increment, and the bid then worth the reserve. In the last `extension` seconds the end moves first and
    /// the held bids whose points die before the new end plus {SETTLE_GRACE} are recounted ({Bid}). A bid that
    /// takes a unit no bid held before reserves one unit of the badge ({IAllianceBadges-reserveSupply}), so the
    /// winner's badge is there at its settlement: with none left under the cap (the brand issued them, or
    /// another auction's bids hold them) it reverts with {IAllianceBadges-AllianceBadgesSupplyExceeded}.
    /// Once the points are in escrow, the bid's `live` points are counted ({Bid}) and its effective value must
    /// meet the same threshold: the reserve, the lowest held bid's effective value plus the increment, or for a
    /// raise the bid's effective value before it plus the increment and at least the reserve
    /// ({AuctionsBidTooLow}; the whole transaction
    /// reverts, the outbid too). A member whose oldest points expire before the close still bids: its live
    /// points count (a hostile review of 2026-12-06; README "Auctions").
    ///
    /// Emits a {BidPlaced} event, a {BidOutbid} event when it takes a unit from the lowest bid, and an
    /// {AuctionExtended} event in the last `extension` seconds, with a {BidRecounted} event for each held bid
    /// whose count changes at the new end plus {SETTLE_GRACE}, and a {BidRecounted} event after its {BidPlaced}
    /// when the bid counts fewer live points than its amount.
    function bid(uint256 auctionId, uint256 brand, uint256 added) external;

    /// @notice Bids on the member's signature: `gift` is a ledger Gift signed by `gift.member` of `gift.amount`
    /// points of `gift.brand` to its escrow for `auctionId` ({escrowOf}); anyone may relay it.
    /// @dev The escrow address binds the gift to the auction and the bidder. Same requirements as {bid} for
    /// `gift.member`, plus the ledger's for `giftWithSig` and `gift.to == escrowOf(auctionId, gift.member)`
    /// ({AuctionsWrongEscrow}).
    function bidWithSig(uint256 auctionId, IAllianceLedger.Gift calldata gift, bytes calldata signature) external;

    /// @notice Settles `bidder`'s winning bid on `auctionId`: redeems it at the auction's brand (a bid in that
    /// brand's points) or checks that a signer of the auction's brand redeemed it (a bid in another brand's
    /// points), then issues one unit of the badge to `bidder`. Anyone may call.
    /// @dev Requirements: not paused; the auction ended ({AuctionsNotEnded}); the bid is `Held`
    /// ({AuctionsNotWinning}); for another brand's points, the escrow's redemption is done
    /// ({AuctionsAwaitingBrandRedemption}); the auctioning brand active ({AuctionsBrandInactive}).
    /// A bid in the auctioning brand's points redeems `min(escrow balance, amount)` points (those that expired in
    /// the escrow are gone), worth at least the reserve ({AuctionsBelowReserve}, an empty escrow too).
    /// The issue gets at most 300,000 gas units and its failure does not revert (unless it was given less than
    /// that and failed: {AuctionsInsufficientGas}, so no caller makes it fail by sending too little gas, and a
    /// gas estimate never stops at such a limit): the winner's wallet cannot block the
    /// settlement of a win it regrets (a hostile review of 2026-12-06: its ERC-1155 hook reverted, settle
    /// failed, and the grace's cancel refunded it in full). The bid is then redeemed and `Unissued`, its unit
    /// stays reserved and {issueWon} issues it later; {cancel} refuses it.
    ///
    /// Emits a {BidSettled} event, and a {BadgeUnissued} event when the issue failed.
    function settle(uint256 auctionId, address bidder) external;

    /// @notice Issues to `bidder` the unit it won on `auctionId` that its wallet refused at the settlement
    /// ({BadgeUnissued}), now that it accepts it. Anyone may call.
    /// @dev Requirements: not paused; the bid is `Unissued` ({AuctionsBadgeNotUnissued}); the badge's issue
    /// succeeds (its brand active, the wallet accepting the unit: their errors otherwise). The bid is `Settled`.
    ///
    /// Emits a {WonBadgeIssued} event.
    function issueWon(uint256 auctionId, address bidder) external;

    /// @notice Cancels `bidder`'s winning bid not settled within {SETTLE_GRACE} after the end and returns the
    /// bid from its escrow to `bidder` (points sent to the escrow beyond it: {reclaim}). Anyone may call.
    /// @dev Requirements: not paused; the bid is `Held` (an `Unissued` bid was paid: never cancelled);
    /// `block.timestamp >= endsAt + SETTLE_GRACE`; its points
    /// not redeemed ({AuctionsAlreadyRedeemed}). The badge unit the bid reserved is released.
    ///
    /// Emits a {BidCancelled} event.
    function cancel(uint256 auctionId, address bidder) external;

    /// @notice Returns to `bidder` the points of `brand` its escrow for `auctionId` holds beyond its held bid
    /// (a signed gift to the escrow relayed to the ledger without its bid). Anyone may call.
    /// @dev Emits an {EscrowReclaimed} event when something returned.
    function reclaim(uint256 auctionId, address bidder, uint256 brand) external;

    /// @notice Whether the escrow calling it may sign `hash`: the ledger's EIP-712 digest of the
    /// `Redeem(escrow, bid brand, auction brand, amount, redemptionRef(auctionId, bidder), nonce,
    /// deadline)`, `amount` being what the escrow holds of the bid, `min(balance, bid amount)` (its points that
    /// expired in it are not paid; since 2026-12-06), of a held winning bid in another brand's points, before the grace period ends, at nonce 0: the
    /// escrow's first redemption only (it holds one bid; points beyond it go back by {reclaim}).
    /// `signature` is `abi.encode(auctionId, bidder, nonce, deadline)`.
    function approvesRedemption(bytes32 hash, bytes calldata signature) external view returns (bool);

    /// @notice Most units an auction can offer.
    function MAX_UNITS() external view returns (uint256);

    /// @notice Longest bidding window (and extension), in seconds.
    function MAX_WINDOW() external view returns (uint256);

    /// @notice Seconds after the end during which a winning bid can only be settled, not cancelled.
    function SETTLE_GRACE() external view returns (uint256);

    /// @notice How many auctions were created; ids run from 1.
    function auctionCount() external view returns (uint256);

    /// @notice Auction `auctionId` ({AuctionsUnknownAuction} if none).
    function auction(uint256 auctionId) external view returns (Auction memory);

    /// @notice `bidder`'s bid on `auctionId`.
    function bidOf(uint256 auctionId, address bidder) external view returns (Bid memory);

    /// @notice The bidders holding a unit of `auctionId` (the winners once it ended), in no particular order.
    function heldBidders(uint256 auctionId) external view returns (address[] memory);

    /// @notice The least effective value (micro-USD, {Bid}: its points live at the end plus {SETTLE_GRACE}) a new
    /// bid on `auctionId` must have now: the reserve, or once every unit is held the lowest held bid's effective
    /// value plus the increment, at least the reserve (a bid recounted after an extension may be worth less).
    function minNewBidValue(uint256 auctionId) external view returns (uint256);

    /// @notice `bidder`'s escrow holder for `auctionId` (deterministic; it may not be deployed yet).
    function escrowOf(uint256 auctionId, address bidder) external view returns (address);

    /// @notice The hashed order reference of `bidder`'s redemption for `auctionId`.
    function redemptionRef(uint256 auctionId, address bidder) external view returns (bytes32);
}
