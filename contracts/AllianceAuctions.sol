// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {AuctionEscrow} from "./AuctionEscrow.sol";
import {IAllianceAuctions} from "./interfaces/IAllianceAuctions.sol";
import {IAllianceBadges} from "./interfaces/IAllianceBadges.sol";
import {IAllianceLedger} from "./interfaces/IAllianceLedger.sol";
import {IAllianceLedgerLens} from "./interfaces/IAllianceLedgerLens.sol";
import {IAlliancePause} from "./interfaces/IAlliancePause.sol";
import {IAuctionLedger} from "./interfaces/IAuctionLedger.sol";
import {TierReviews} from "./libraries/TierReviews.sol";

/// @title AllianceAuctions
/// @notice Auctions of scarce rewards for points (see {IAllianceAuctions}): escrow per bidder, top N bids win,
/// soft close, the winner's points redeemed at the auctioning brand and a collectible badge carrying the right.
/// @dev Reads brands, signers, tiers and the pause from the ledger ({IAlliancePause}: the alliance's one
/// switch) and point values from the lens; a bidder's tier is read after applying its due quarterly reviews
/// ({IAllianceTierReviews}). Issues badges through AllianceBadges' `ISSUER_ROLE`, granted at deploy. A point
/// value change during an auction does not reprice bids already placed. A bid counts only its points live at the
/// end plus {SETTLE_GRACE} ({Bid-live}, read from the lens's lots of its escrow).
contract AllianceAuctions is Pausable, IAllianceAuctions {
    using SafeCast for uint256;

    /// @inheritdoc IAllianceAuctions
    uint256 public constant MAX_UNITS = 32;
    /// @inheritdoc IAllianceAuctions
    uint256 public constant MAX_WINDOW = 90 days;
    /// @inheritdoc IAllianceAuctions
    uint256 public constant SETTLE_GRACE = 7 days;

    bytes32 private constant REDEEM_TYPEHASH = keccak256(
        "Redeem(address member,uint256 brand,uint256 atBrand,uint256 amount,bytes32 orderRef,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    uint8 private constant _MAX_TIER = 3;
    /// @dev Bound on points amounts (reserve, increment), so a value (times a uint32 point value) fits 128 bits.
    uint256 private constant _MAX_POINTS = 1 << 96;
    /// @dev Bound on a bid's points, raises included: the ledger's `MAX_AMOUNT`, the most one of its calls moves,
    /// so that the refund, the settlement's redemption and the cancel each move the whole bid in one call (a
    /// review of 2026-12-06: a bid raised past it could be neither outbid, settled nor cancelled).
    uint256 private constant _MAX_BID = 1e12;
    /// @dev Gas forwarded to the badge's issue in {settle} (gas units): the issue with its ERC-1155 acceptance
    /// check takes about 100,000, so a contract wallet's `onERC1155Received` keeps about 200,000; a hook that
    /// burns more makes the issue fail, not the settlement (a hostile review of 2026-12-06, finding 1).
    uint256 private constant _ISSUE_GAS = 300_000;
    /// @dev Least gas (gas units) left after a failed issue that shows the issue had its whole {_ISSUE_GAS}: a
    /// call is given at most 63/64 of what remains (EIP-150), so an issue given less leaves less than 1/63 of
    /// the bound; its failure may then be for want of gas, not the winner's, and {settle} reverts
    /// (OpenZeppelin's ERC2771Forwarder checks its forwarded gas the same way). 4,761 units also pay for
    /// recording the failure ({BidStatus-Unissued}, {BadgeUnissued}).
    uint256 private constant _ISSUE_GAS_LEFT = _ISSUE_GAS / 63;

    IAuctionLedger private immutable _ledger;
    IAllianceLedgerLens private immutable _lens;
    IAllianceBadges private immutable _badges;
    address private immutable _escrowImplementation;

    uint256 private _auctionCount;
    mapping(uint256 auctionId => Auction) private _auctions;
    mapping(uint256 auctionId => mapping(address bidder => Bid)) private _bids;
    mapping(uint256 auctionId => address[] bidders) private _held;

    /// @param ledger_ The alliance ledger: points, brands, tiers and the one pause.
    /// @param lens The ledger's lens: published point values.
    /// @param badges_ The collectible badges; this contract must hold their `ISSUER_ROLE`.
    constructor(IAuctionLedger ledger_, IAllianceLedgerLens lens, IAllianceBadges badges_) {
        _ledger = ledger_;
        _lens = lens;
        _badges = badges_;
        _escrowImplementation = address(new AuctionEscrow(IAllianceAuctions(address(this)), ledger_));
    }

    /// @inheritdoc IAllianceAuctions
    function createAuction(
        uint256 badgeType,
        uint8 units,
        uint8 minTier,
        uint256 reserve,
        uint256 increment,
        uint64 startsAt,
        uint64 endsAt,
        uint32 extension
    ) external whenNotPaused returns (uint256 auctionId) {
        uint256 brand = _ledger.brandOf(msg.sender);
        if (brand == 0 || !_ledger.isBrandActive(brand)) revert AuctionsNotBrandSigner(msg.sender);
        IAllianceBadges.BadgeType memory badge = _badges.badgeType(badgeType);
        if (badge.brand != brand || badge.kind != IAllianceBadges.BadgeKind.Collectible || !badge.hasBenefit) {
            revert AuctionsInvalidBadge(badgeType, brand);
        }
        uint256 maxUnits = _unitsAvailable(badge);
        if (units == 0 || units > maxUnits) revert AuctionsInvalidUnits(units, maxUnits);
        // The badge type's own tier bounds the auction's: this contract issues it as an issuer, without the
        // type's tier check (a hostile review of 2026-12-06, finding 3).
        if (minTier == 0 || minTier > _MAX_TIER || minTier < badge.minTier) revert AuctionsInvalidTier(minTier);
        if (reserve == 0 || increment == 0 || reserve >= _MAX_POINTS || increment >= _MAX_POINTS) {
            revert AuctionsInvalidPrice(reserve, increment);
        }
        if (
            startsAt < block.timestamp || endsAt <= startsAt || endsAt > type(uint40).max
                || endsAt - startsAt > MAX_WINDOW || extension > MAX_WINDOW
        ) {
            revert AuctionsInvalidWindow(startsAt, endsAt, extension, block.timestamp, MAX_WINDOW);
        }
        uint256 value = _valueOf(brand);
        auctionId = ++_auctionCount;
        // Fits: now <= startsAt < endsAt <= type(uint40).max; points < 2^96, value < 2^32.
        _auctions[auctionId] = Auction({
            brand: uint64(brand),
            startsAt: uint40(startsAt),
            endsAt: uint40(endsAt),
            extension: extension,
            minTier: minTier,
            units: units,
            held: 0,
            badgeType: badgeType,
            reserve: uint128(reserve),
            increment: uint128(increment),
            reserveValue: uint128(reserve * value),
            incrementValue: uint128(increment * value)
        });
        emit AuctionCreated(
            auctionId, brand, msg.sender, badgeType, units, minTier, reserve, increment, startsAt, endsAt, extension
        );
    }

    /// @inheritdoc IAllianceAuctions
    function bid(uint256 auctionId, uint256 brand, uint256 added) external {
        (address escrow, uint256 minValue) = _placeBid(auctionId, msg.sender, brand, added);
        // slither-disable-next-line unused-return ERC-6909 transferFrom returns true or reverts
        _ledger.transferFrom(msg.sender, escrow, brand, added);
        _countLive(auctionId, msg.sender, escrow, minValue);
    }

    /// @inheritdoc IAllianceAuctions
    function bidWithSig(uint256 auctionId, IAllianceLedger.Gift calldata gift, bytes calldata signature) external {
        address expected = escrowOf(auctionId, gift.member);
        if (gift.to != expected) revert AuctionsWrongEscrow(auctionId, gift.to, expected);
        (, uint256 minValue) = _placeBid(auctionId, gift.member, gift.brand, gift.amount);
        _ledger.giftWithSig(gift, signature);
        _countLive(auctionId, gift.member, expected, minValue);
    }

    /// @inheritdoc IAllianceAuctions
    function settle(uint256 auctionId, address bidder) external whenNotPaused {
        Auction storage a = _existing(auctionId);
        if (block.timestamp < a.endsAt) revert AuctionsNotEnded(auctionId, a.endsAt, block.timestamp);
        Bid storage b = _bids[auctionId][bidder];
        if (b.status != BidStatus.Held) revert AuctionsNotWinning(auctionId, bidder, b.status);
        address escrow = escrowOf(auctionId, bidder);
        bytes32 ref = redemptionRef(auctionId, bidder);
        uint256 brand = b.brand;
        bool sameBrand = brand == a.brand;
        if (!sameBrand && _ledger.nonces(escrow) == 0) {
            revert AuctionsAwaitingBrandRedemption(auctionId, bidder, a.brand);
        }
        // The issue below would refuse an inactive auctioning brand; its failure must not pass for the winner's.
        if (!_ledger.isBrandActive(a.brand)) revert AuctionsBrandInactive(a.brand);
        b.status = BidStatus.Settled;
        // The escrow pays what it holds of the bid: points that expired in it since the bid are gone (their
        // share never counted in the bid's value, {Bid-live}); an empty escrow is below the reserve.
        uint256 amount = sameBrand ? _returnable(escrow, brand, b.amount) : b.amount;
        if (sameBrand) {
            // What it pays is worth the reserve at least (a review of 2026-12-06: a bid recounted to 0 after an
            // extension, its escrow given one point, was settled for that point). Within the grace a bid's escrow
            // holds at least the points it counted, worth the reserve when it was placed or raised; a bid held
            // is never of 0 points.
            uint256 worth = uint256(b.value) * amount / b.amount;
            if (worth < a.reserveValue) revert AuctionsBelowReserve(auctionId, bidder, worth, a.reserveValue);
        }
        emit BidSettled(auctionId, bidder, brand, amount, a.badgeType, ref);
        if (sameBrand) AuctionEscrow(escrow).redeem(brand, amount, ref);
        // The winner's wallet may refuse the unit (its ERC-1155 hook reverts or burns the gas): the bid stays
        // paid and the unit reserved for {issueWon} (a hostile review of 2026-12-06, finding 1: settle reverted
        // and the grace's cancel refunded the winner in full, a free option to walk away from a win).
        try _badges.issue{gas: _ISSUE_GAS}(a.badgeType, bidder, 1) {}
        catch {
            uint256 gasLeft = gasleft();
            if (gasLeft < _ISSUE_GAS_LEFT) revert AuctionsInsufficientGas(gasLeft, _ISSUE_GAS_LEFT);
            // slither-disable-next-line reentrancy-no-eth the issue reverted: what the winner's hook did in it is undone
            b.status = BidStatus.Unissued;
            emit BadgeUnissued(auctionId, bidder, a.badgeType);
        }
    }

    /// @inheritdoc IAllianceAuctions
    function issueWon(uint256 auctionId, address bidder) external whenNotPaused {
        Auction storage a = _existing(auctionId);
        Bid storage b = _bids[auctionId][bidder];
        if (b.status != BidStatus.Unissued) revert AuctionsBadgeNotUnissued(auctionId, bidder, b.status);
        b.status = BidStatus.Settled;
        emit WonBadgeIssued(auctionId, bidder, a.badgeType);
        _badges.issue(a.badgeType, bidder, 1);
    }

    /// @inheritdoc IAllianceAuctions
    function cancel(uint256 auctionId, address bidder) external whenNotPaused {
        Auction storage a = _existing(auctionId);
        Bid storage b = _bids[auctionId][bidder];
        if (b.status != BidStatus.Held) revert AuctionsNotWinning(auctionId, bidder, b.status);
        uint256 graceEndsAt = uint256(a.endsAt) + SETTLE_GRACE;
        if (block.timestamp < graceEndsAt) revert AuctionsGraceNotOver(auctionId, graceEndsAt, block.timestamp);
        address escrow = escrowOf(auctionId, bidder);
        if (_ledger.nonces(escrow) != 0) revert AuctionsAlreadyRedeemed(auctionId, bidder);
        b.status = BidStatus.Cancelled;
        uint256 brand = b.brand;
        uint256 returned = _returnable(escrow, brand, b.amount);
        emit BidCancelled(auctionId, bidder, brand, returned);
        _badges.releaseSupply(a.badgeType, 1);
        if (returned != 0) AuctionEscrow(escrow).transfer(bidder, brand, returned);
    }

    /// @inheritdoc IAllianceAuctions
    function reclaim(uint256 auctionId, address bidder, uint256 brand) external whenNotPaused {
        _existing(auctionId);
        Bid storage b = _bids[auctionId][bidder];
        address escrow = _deployedEscrow(auctionId, bidder);
        uint256 balance = _ledger.balanceOf(escrow, brand);
        uint256 kept = b.status == BidStatus.Held && b.brand == brand ? b.amount : 0;
        if (balance <= kept) return;
        emit EscrowReclaimed(auctionId, bidder, brand, balance - kept);
        AuctionEscrow(escrow).transfer(bidder, brand, balance - kept);
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @notice Whether the alliance is paused: the ledger's pause, the one switch of the system.
    /// @dev Overrides OpenZeppelin's flag, which this contract never sets.
    function paused() public view override returns (bool) {
        return IAlliancePause(address(_ledger)).paused();
    }

    /// @inheritdoc IAllianceAuctions
    function approvesRedemption(bytes32 hash, bytes calldata signature) external view returns (bool) {
        (uint256 auctionId, address bidder, uint256 nonce, uint256 deadline) =
            abi.decode(signature, (uint256, address, uint256, uint256));
        // The escrow's first redemption only: it is the bid's (a trial redeemed a winner's escrow again at
        // nonce 1, taking points gifted there without a bid, which {reclaim} returns to the bidder).
        if (nonce != 0 || msg.sender != escrowOf(auctionId, bidder)) return false;
        Auction storage a = _auctions[auctionId];
        Bid storage b = _bids[auctionId][bidder];
        if (b.status != BidStatus.Held || b.brand == a.brand) return false;
        if (block.timestamp < a.endsAt || block.timestamp >= uint256(a.endsAt) + SETTLE_GRACE) return false;
        bytes32 structHash = keccak256(
            abi.encode(
                REDEEM_TYPEHASH,
                msg.sender,
                uint256(b.brand),
                uint256(a.brand),
                _returnable(msg.sender, b.brand, b.amount),
                redemptionRef(auctionId, bidder),
                nonce,
                deadline
            )
        );
        return hash == MessageHashUtils.toTypedDataHash(_ledgerDomainSeparator(), structHash);
    }

    /// @inheritdoc IAllianceAuctions
    function auctionCount() external view returns (uint256) {
        return _auctionCount;
    }

    /// @inheritdoc IAllianceAuctions
    function auction(uint256 auctionId) external view returns (Auction memory) {
        return _existing(auctionId);
    }

    /// @inheritdoc IAllianceAuctions
    function bidOf(uint256 auctionId, address bidder) external view returns (Bid memory) {
        return _bids[auctionId][bidder];
    }

    /// @inheritdoc IAllianceAuctions
    function heldBidders(uint256 auctionId) external view returns (address[] memory) {
        return _held[auctionId];
    }

    /// @inheritdoc IAllianceAuctions
    function minNewBidValue(uint256 auctionId) external view returns (uint256) {
        Auction storage a = _existing(auctionId);
        if (a.held < a.units) return a.reserveValue;
        (, uint256 lowest) = _lowest(auctionId);
        return _aboveLowest(a, lowest);
    }

    /// @inheritdoc IAllianceAuctions
    function escrowOf(uint256 auctionId, address bidder) public view returns (address) {
        return Clones.predictDeterministicAddress(_escrowImplementation, _escrowSalt(auctionId, bidder));
    }

    /// @inheritdoc IAllianceAuctions
    function redemptionRef(uint256 auctionId, address bidder) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), auctionId, bidder));
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    /// @dev Records `added` points of `brand` on `bidder`'s bid at their nominal value, outbids the lowest when it
    /// takes a unit and returns the escrow that must receive the points (the caller moves them, then calls
    /// {_countLive}) and the least value (micro-USD) the bid must be worth once its live points are counted.
    function _placeBid(uint256 auctionId, address bidder, uint256 brand, uint256 added)
        private
        whenNotPaused
        returns (address escrow, uint256 minValue)
    {
        Auction storage a = _existing(auctionId);
        if (block.timestamp < a.startsAt || block.timestamp >= a.endsAt) {
            revert AuctionsNotOpen(auctionId, a.startsAt, a.endsAt, block.timestamp);
        }
        // The tier the calendar leaves the bidder: a downgrade nobody applied yet counts.
        // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,reentrancy-events trusted immutable ledger: its review calls nothing back
        TierReviews.applyDue(_ledger, bidder);
        uint8 tier = _ledger.tierOf(bidder);
        if (tier < a.minTier) revert AuctionsTierTooLow(auctionId, bidder, tier, a.minTier);
        if (!_ledger.isBrandActive(brand)) revert AuctionsBrandInactive(brand);
        // A bid in the last `extension` seconds moves the end, and the held bids whose points die before the new
        // end plus the grace are recounted, before any comparison: the lowest bid, the one outbid, is the lowest
        // by what it counts at the new end (a review of 2026-12-06: the bid outbid an honest bid, and the recount
        // then left a worthless one holding its unit). endsAt > now here, so the subtraction cannot underflow.
        if (a.endsAt - block.timestamp < a.extension) {
            uint64 endsAt = uint64(block.timestamp + a.extension);
            a.endsAt = uint40(endsAt);
            emit AuctionExtended(auctionId, endsAt);
            _recountHeld(auctionId, uint256(endsAt) + SETTLE_GRACE);
        }
        Bid storage b = _bids[auctionId][bidder];
        if (added > _MAX_BID) revert AuctionsInvalidAmount(added);
        // added <= 1e12 and a point value < 2^32: the value fits 128 bits.
        uint256 addedValue = added * _valueOf(brand);
        (address outbid, uint256 outbidBrand, uint256 outbidAmount) = (address(0), 0, 0);
        if (b.status == BidStatus.Held) {
            if (b.brand != brand) revert AuctionsBrandMismatch(auctionId, bidder, b.brand, brand);
            if (addedValue < a.incrementValue) {
                revert AuctionsBidTooLow(auctionId, b.value + addedValue, b.value + a.incrementValue);
            }
            // A raise lifts the bid's effective value by the increment from what it counted before the raise, and
            // to at least the reserve: a recounted bid worth less does not win below it by a small raise (a review
            // of 2026-12-06: a bid recounted to 0 raised by 100 points, then won the unit for them).
            minValue = _aboveLowest(a, _effectiveValue(b));
        } else {
            minValue = a.reserveValue;
            if (a.held == a.units) {
                uint256 lowestIndex;
                (lowestIndex, minValue) = _lowest(auctionId);
                minValue = _aboveLowest(a, minValue);
                if (addedValue >= minValue) (outbid, outbidBrand, outbidAmount) = _outbid(auctionId, lowestIndex);
            }
            if (addedValue < minValue) revert AuctionsBidTooLow(auctionId, addedValue, minValue);
            _held[auctionId].push(bidder);
            // held <= units <= MAX_UNITS: the outbid above made room when every unit was held.
            if (outbid == address(0)) ++a.held;
            b.brand = uint64(brand);
            b.status = BidStatus.Held;
            b.amount = 0;
            b.value = 0;
            b.live = 0;
            b.liveUntil = 0;
        }
        uint256 amount = b.amount + added;
        if (amount > _MAX_BID) revert AuctionsInvalidAmount(amount);
        b.amount = amount.toUint128();
        // A local, not `(b.value + addedValue).toUint128()`: slither could not build its IR for that call on a
        // parenthesized sum and skipped this whole function (2026-12-06).
        uint256 value = b.value + addedValue;
        b.value = value.toUint128();
        escrow = _deployedEscrow(auctionId, bidder);
        emit BidPlaced(auctionId, bidder, brand, added, amount, value);
        // A unit taken for the first time (a new bid that outbid none) is reserved in the badge's supply, so the
        // winner's badge is there to issue at its settlement (a trial: the brand issued its last units away after
        // redeeming the bid); after the bid's own writes (the badges contract is trusted all the same).
        if (amount == added && outbid == address(0)) _badges.reserveSupply(a.badgeType, 1);
        if (outbid != address(0)) {
            emit BidOutbid(auctionId, outbid, bidder, outbidBrand, outbidAmount);
            if (outbidAmount != 0) AuctionEscrow(escrowOf(auctionId, outbid)).transfer(outbid, outbidBrand, outbidAmount);
        }
    }

    /// @dev After an extension, recounts the `live` points of each held bid that counted a lot expiring at or before
    /// `horizon`, the new end plus {SETTLE_GRACE} ({Bid}: `liveUntil`); the others keep their count. A bidder's own
    /// bid is counted again once its new points move ({_countLive}).
    function _recountHeld(uint256 auctionId, uint256 horizon) private {
        address[] storage held = _held[auctionId];
        uint256 count = held.length;
        for (uint256 i; i < count; ++i) {
            address holder = held[i];
            Bid storage b = _bids[auctionId][holder];
            if (b.liveUntil > horizon) continue;
            (uint256 live, uint256 until) = _liveIn(escrowOf(auctionId, holder), b.brand, b.amount, horizon);
            // live <= amount <= 10^12 < 2^88; until <= type(uint40).max (_liveIn)
            if (live != b.live) emit BidRecounted(auctionId, holder, live, until);
            (b.live, b.liveUntil) = (uint88(live), uint40(until));
        }
    }

    /// @dev Once the bid's points are in `escrow`: records `live`, what of the escrow's points of the bid's brand
    /// are still live at the end plus {SETTLE_GRACE} (its lots by the lens; at most the bid's amount), and
    /// `liveUntil` ({_liveIn}), and reverts with {AuctionsBidTooLow} unless the bid's effective value
    /// ({_effectiveValue}) is at least `minValue`, the threshold its nominal value met in {_placeBid} (the outbid
    /// that made room reverts too). Emits {BidRecounted} when the bid counts fewer than its amount: its
    /// {BidPlaced} just announced it whole (a trial of 2026-12-07: a bid of points dying before the close was
    /// shown by the gateway at its nominal value, counted 0 here).
    function _countLive(uint256 auctionId, address bidder, address escrow, uint256 minValue) private {
        Bid storage b = _bids[auctionId][bidder];
        uint256 horizon = uint256(_auctions[auctionId].endsAt) + SETTLE_GRACE;
        uint256 amount = b.amount;
        (uint256 live, uint256 until) = _liveIn(escrow, b.brand, amount, horizon);
        // live <= amount <= 10^12 < 2^88; until <= type(uint40).max (_liveIn)
        (b.live, b.liveUntil) = (uint88(live), uint40(until));
        if (live != amount) emit BidRecounted(auctionId, bidder, live, until);
        // amount > 0: what a bid or a raise adds is worth the reserve or the increment (both positive), at a
        // point value the ledger never lets be 0. The value the bid compares ({_effectiveValue}).
        uint256 effective = uint256(b.value) * live / amount;
        if (effective < minValue) revert AuctionsBidTooLow(auctionId, effective, minValue);
    }

    /// @dev What a bid of `amount` points of `brand` counts of its escrow's lots ({Bid}): `live`, the points of
    /// the lots still live after `horizon` (unix seconds; the lens's `lotsOf`), at most `amount`, and `until`,
    /// the earliest expiry among those lots (`type(uint40).max` when none is).
    function _liveIn(address escrow, uint256 brand, uint256 amount, uint256 horizon)
        private
        view
        returns (uint256 live, uint256 until)
    {
        // slither-disable-next-line calls-loop trusted immutable lens (a view); at most MAX_UNITS held bids
        IAllianceLedger.Lot[] memory lots = _lens.lotsOf(escrow, brand);
        until = type(uint40).max;
        for (uint256 i; i < lots.length; ++i) {
            uint256 expiresAt = lots[i].expiresAt;
            if (expiresAt > horizon) {
                live += lots[i].amount;
                if (expiresAt < until) until = expiresAt;
            }
        }
        if (live > amount) live = amount;
    }

    /// @dev A bid's value counting only its live points (micro-USD): `value * live / amount`, rounded down; what
    /// the reserve, the lowest held bid and a raise's increment compare (a hostile review of 2026-12-06: a bid
    /// of points that expired before the close outbid a backed bid and left the unit unsold).
    function _effectiveValue(Bid storage b) private view returns (uint256) {
        uint256 amount = b.amount;
        // value < 2^128 and live <= 10^12: the product fits 256 bits.
        return amount == 0 ? 0 : uint256(b.value) * b.live / amount;
    }

    /// @dev Removes the held bid at `index` and returns what of it its escrow holds live (to return to its bidder).
    function _outbid(uint256 auctionId, uint256 index)
        private
        returns (address bidder, uint256 brand, uint256 amount)
    {
        address[] storage held = _held[auctionId];
        bidder = held[index];
        held[index] = held[held.length - 1];
        held.pop();
        Bid storage b = _bids[auctionId][bidder];
        brand = b.brand;
        amount = _returnable(escrowOf(auctionId, bidder), brand, b.amount);
        delete _bids[auctionId][bidder];
    }

    /// @dev What of a bid of `bid` points an escrow returns in one ledger call: the bid, or less when some of its
    /// points expired. Points sent to the escrow beyond it stay for {reclaim}: with them the whole balance could
    /// pass what one call moves, and a bidder sending its own escrow a point made its bid impossible to outbid.
    function _returnable(address escrow, uint256 brand, uint256 bid) private view returns (uint256) {
        uint256 balance = _ledger.balanceOf(escrow, brand);
        return balance < bid ? balance : bid;
    }

    /// @dev What a bid must be worth to outbid a held bid worth `lowest` (micro-USD): `lowest` plus the increment,
    /// and at least the reserve (a bid recounted after an extension, {_recountHeld}, may be worth less).
    function _aboveLowest(Auction storage a, uint256 lowest) private view returns (uint256 value) {
        value = lowest + a.incrementValue;
        if (value < a.reserveValue) value = a.reserveValue;
    }

    /// @dev The held bid of least effective value ({_effectiveValue}; the first found among equals).
    function _lowest(uint256 auctionId) private view returns (uint256 index, uint256 value) {
        address[] storage held = _held[auctionId];
        value = type(uint256).max;
        uint256 count = held.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 v = _effectiveValue(_bids[auctionId][held[i]]);
            if (v < value) (index, value) = (i, v);
        }
    }

    function _deployedEscrow(uint256 auctionId, address bidder) private returns (address escrow) {
        escrow = escrowOf(auctionId, bidder);
        // slither-disable-next-line unused-return the clone's address is `escrow`, predicted above
        if (escrow.code.length == 0) Clones.cloneDeterministic(_escrowImplementation, _escrowSalt(auctionId, bidder));
    }

    function _escrowSalt(uint256 auctionId, address bidder) private pure returns (bytes32) {
        return keccak256(abi.encode(auctionId, bidder));
    }

    /// @dev Units of `badge` an auction may offer: {MAX_UNITS}, or fewer left under its cap beside the units
    /// minted and those reserved for other auctions' held bids.
    function _unitsAvailable(IAllianceBadges.BadgeType memory badge) private pure returns (uint256) {
        if (badge.maxSupply == 0) return MAX_UNITS;
        uint256 left = uint256(badge.maxSupply) - badge.minted - badge.reserved;
        return left < MAX_UNITS ? left : MAX_UNITS;
    }

    /// @dev `brand`'s published point value in micro-USD (from the lens).
    function _valueOf(uint256 brand) private view returns (uint256 value) {
        // slither-disable-next-line unused-return only the value of the brand's description is needed
        (,,, value) = _lens.brandInfo(brand);
    }

    /// @dev The ledger's EIP-712 domain separator, from its EIP-5267 description.
    function _ledgerDomainSeparator() private view returns (bytes32) {
        // slither-disable-next-line unused-return the fields and extensions play no part in the separator
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            _ledger.eip712Domain();
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256(bytes(version)), chainId, verifyingContract)
        );
    }

    function _existing(uint256 auctionId) private view returns (Auction storage a) {
        a = _auctions[auctionId];
        if (a.startsAt == 0) revert AuctionsUnknownAuction(auctionId);
    }
}
