// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IAllianceBadges} from "./interfaces/IAllianceBadges.sol";
import {IAllianceDirectory} from "./interfaces/IAllianceDirectory.sol";
import {IAlliancePause} from "./interfaces/IAlliancePause.sol";
import {IAlliancePolls} from "./interfaces/IAlliancePolls.sol";
import {IAllianceTierReviews} from "./interfaces/IAllianceTierReviews.sol";
import {IMembershipBadge} from "./interfaces/IMembershipBadge.sol";
import {TierReviews} from "./libraries/TierReviews.sol";

/// @title AlliancePolls
/// @notice Polls for badge holders (see {IAlliancePolls}): one vote per eligible member, tallies on chain.
/// @dev Reads everything it needs: brands from the directory (the ledger), the pause from the ledger
/// ({IAlliancePause}, the alliance's one switch), how long a member has held a tier from the membership badge
/// ({IMembershipBadge-tierHeldSince}) and how long an achievement from {IAllianceBadges-heldSince}. Eligibility
/// is "held since strictly before `openedAt`": a tier reached or a badge issued in the poll's opening second,
/// or later, gives no vote, whatever the order of transactions inside that second. A vote on a tier poll first
/// applies the voter's due quarterly reviews on the ledger ({IAllianceTierReviews}), so the badge's clocks show
/// the tier the calendar left the voter, not the tier as last written (since 2026-12-06).
contract AlliancePolls is AccessControl, Pausable, EIP712, IAlliancePolls {
    /// @inheritdoc IAlliancePolls
    uint256 public constant MAX_OPTIONS = 32;
    /// @inheritdoc IAlliancePolls
    uint256 public constant MAX_WINDOW = 90 days;

    bytes32 private constant VOTE_TYPEHASH =
        keccak256("Vote(address voter,uint256 pollId,uint8 option,uint256 deadline)");
    uint8 private constant _MAX_TIER = 3;

    IAllianceDirectory private immutable _directory;
    IMembershipBadge private immutable _membership;
    IAllianceBadges private immutable _badges;

    uint256 private _pollCount;
    mapping(uint256 pollId => Poll) private _polls;
    mapping(uint256 pollId => mapping(uint256 option => uint256 count)) private _tallies;
    mapping(uint256 pollId => mapping(address voter => bool)) private _voted;

    /// @param directory_ The alliance ledger: brands, and the one pause.
    /// @param membership The membership (tier) badge.
    /// @param badges_ The achievement and collectible badges.
    /// @param admin Receives `DEFAULT_ADMIN_ROLE` (opens alliance-wide polls, manages roles).
    constructor(IAllianceDirectory directory_, IMembershipBadge membership, IAllianceBadges badges_, address admin)
        EIP712("AlliancePolls", "1")
    {
        _directory = directory_;
        _membership = membership;
        _badges = badges_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IAlliancePolls
    function openPoll(
        bytes32 contentHash,
        uint8 optionCount,
        uint64 startsAt,
        uint64 endsAt,
        Eligibility eligibility,
        uint256 eligibilityRef
    ) external whenNotPaused returns (uint256 pollId) {
        uint256 brand = _openerBrand(_msgSender());
        if (contentHash == bytes32(0)) revert PollsEmptyContent();
        if (optionCount < 2 || optionCount > MAX_OPTIONS) revert PollsInvalidOptionCount(optionCount, MAX_OPTIONS);
        if (
            startsAt < block.timestamp || endsAt <= startsAt || endsAt - startsAt > MAX_WINDOW
                || endsAt > type(uint40).max
        ) {
            revert PollsInvalidWindow(startsAt, endsAt, block.timestamp, MAX_WINDOW);
        }
        _checkEligibilityRule(brand, eligibility, eligibilityRef);

        pollId = ++_pollCount;
        // The times fit 40 bits: now <= startsAt < endsAt <= type(uint40).max was checked above.
        _polls[pollId] = Poll({
            brand: uint64(brand),
            openedAt: uint40(block.timestamp),
            startsAt: uint40(startsAt),
            endsAt: uint40(endsAt),
            optionCount: optionCount,
            eligibility: eligibility,
            eligibilityRef: eligibilityRef,
            contentHash: contentHash
        });
        emit PollOpened(
            pollId, brand, _msgSender(), contentHash, optionCount, startsAt, endsAt, eligibility, eligibilityRef
        );
    }

    /// @inheritdoc IAlliancePolls
    function vote(uint256 pollId, uint8 option) external {
        _vote(pollId, _msgSender(), option);
    }

    /// @inheritdoc IAlliancePolls
    function voteWithSig(uint256 pollId, address voter, uint8 option, uint256 deadline, bytes calldata signature)
        external
    {
        if (block.timestamp > deadline) revert PollsSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(VOTE_TYPEHASH, voter, pollId, option, deadline)));
        if (!SignatureChecker.isValidSignatureNowCalldata(voter, digest, signature)) {
            revert PollsInvalidSignature(voter);
        }
        _vote(pollId, voter, option);
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @notice Whether the alliance is paused: the ledger's pause, the one switch of the system.
    /// @dev Overrides OpenZeppelin's flag, which this contract never sets.
    function paused() public view override returns (bool) {
        return IAlliancePause(address(_directory)).paused();
    }

    /// @inheritdoc IAlliancePolls
    function pollCount() external view returns (uint256) {
        return _pollCount;
    }

    /// @inheritdoc IAlliancePolls
    function poll(uint256 pollId) external view returns (Poll memory) {
        return _existingPoll(pollId);
    }

    /// @inheritdoc IAlliancePolls
    function tallies(uint256 pollId) external view returns (uint256[] memory counts, bool isFinal) {
        Poll storage p = _existingPoll(pollId);
        uint256 optionCount = p.optionCount;
        counts = new uint256[](optionCount);
        for (uint256 i = 0; i < optionCount; ++i) {
            counts[i] = _tallies[pollId][i];
        }
        isFinal = block.timestamp >= p.endsAt;
    }

    /// @inheritdoc IAlliancePolls
    function hasVoted(uint256 pollId, address voter) external view returns (bool) {
        return _voted[pollId][voter];
    }

    /// @inheritdoc IAlliancePolls
    function canVote(uint256 pollId, address member) external view returns (bool) {
        Poll storage p = _existingPoll(pollId);
        return !_voted[pollId][member] && _eligible(p, member);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    function _vote(uint256 pollId, address voter, uint8 option) private whenNotPaused {
        Poll storage p = _existingPoll(pollId);
        if (block.timestamp < p.startsAt || block.timestamp >= p.endsAt) {
            revert PollsNotOpen(pollId, p.startsAt, p.endsAt, block.timestamp);
        }
        if (option >= p.optionCount) revert PollsInvalidOption(pollId, option, p.optionCount);
        if (_voted[pollId][voter]) revert PollsAlreadyVoted(pollId, voter);
        if (p.eligibility == Eligibility.MinTier) {
            // A downgrade the calendar made but nobody applied yet stops the badge's clock of that tier now.
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,reentrancy-events trusted ledger
            TierReviews.applyDue(IAllianceTierReviews(address(_directory)), voter);
        }
        if (!_eligible(p, voter)) revert PollsNotEligible(pollId, voter);

        _voted[pollId][voter] = true;
        // One vote per member and poll: a tally cannot exceed the number of addresses.
        uint256 tally;
        unchecked {
            tally = ++_tallies[pollId][option];
        }
        emit VoteCast(pollId, voter, option, tally);
    }

    /// @dev Held without a break since strictly before the poll's opening second.
    function _eligible(Poll storage p, address member) private view returns (bool) {
        uint256 since = p.eligibility == Eligibility.MinTier
            ? _membership.tierHeldSince(member, uint8(p.eligibilityRef))
            : _badges.heldSince(p.eligibilityRef, member);
        return since != 0 && since < p.openedAt;
    }

    /// @dev The brand the caller opens polls for: its signer's brand (active), or 0 for the admin.
    function _openerBrand(address caller) private view returns (uint256 brand) {
        brand = _directory.brandOf(caller);
        if (brand != 0 && _directory.isBrandActive(brand)) return brand;
        if (hasRole(DEFAULT_ADMIN_ROLE, caller)) return 0;
        revert PollsNotOpener(caller);
    }

    function _checkEligibilityRule(uint256 brand, Eligibility eligibility, uint256 ref) private view {
        if (eligibility == Eligibility.MinTier) {
            if (ref == 0 || ref > _MAX_TIER) revert PollsInvalidTier(ref);
            return;
        }
        // badgeType reverts with AllianceBadgesUnknownType for an undefined type (or a redeemed variant's base).
        IAllianceBadges.BadgeType memory badge = _badges.badgeType(ref);
        if (badge.kind != IAllianceBadges.BadgeKind.Achievement || ref != (ref & ~_badges.REDEEMED_FLAG())) {
            revert PollsBadgeNotSoulbound(ref);
        }
        if (brand != 0 && badge.brand != brand) revert PollsForeignBadge(ref, badge.brand, brand);
    }

    function _existingPoll(uint256 pollId) private view returns (Poll storage p) {
        p = _polls[pollId];
        if (p.openedAt == 0) revert PollsUnknownPoll(pollId);
    }
}
