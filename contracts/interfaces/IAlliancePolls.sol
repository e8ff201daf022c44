// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Polls for badge holders: errors, events, types and functions.
/// @notice A brand (or the alliance's admin) opens a poll: its question and options live off chain, bound by
/// `contentHash`; members vote once each within `[startsAt, endsAt)`, by their own call or by an EIP-712
/// signature anyone may relay. Tallies are on chain and readable at any time; they are final from `endsAt`.
/// Eligibility is fixed at the opening: holders of a soulbound achievement badge type, or members of at least a
/// tier, who held it before the second the poll was opened (`openedAt`). A badge issued or a tier reached
/// later gives no vote, and votes are counted per member, so nothing can be voted twice. A member's tier is
/// judged after applying the quarterly reviews due (README "Reviews follow the calendar"): a member the
/// calendar downgraded before the opening has no vote, whether or not its review was run (since 2026-12-06).
interface IAlliancePolls {
    /// @notice What a voter must hold, since before the poll's opening.
    enum Eligibility {
        MinTier, // `eligibilityRef` is the lowest tier: 1 Silver, 2 Gold, 3 Diamond
        Badge // `eligibilityRef` is a soulbound (achievement) badge type id of AllianceBadges
    }

    /// @notice A poll as stored. `brand` 0: opened by the admin for the alliance.
    /// Times are unix seconds (UTC); the first six fields share one storage slot.
    struct Poll {
        uint64 brand;
        uint40 openedAt;
        uint40 startsAt;
        uint40 endsAt;
        uint8 optionCount;
        Eligibility eligibility;
        uint256 eligibilityRef;
        bytes32 contentHash;
    }

    // ----------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------

    /// @notice `caller` is neither a signer of an active brand nor the admin.
    error PollsNotOpener(address caller);
    /// @notice `pollId` was never opened.
    error PollsUnknownPoll(uint256 pollId);
    /// @notice The window is invalid: it must start now or later, end after it starts and last at most `maxWindow`.
    error PollsInvalidWindow(uint256 startsAt, uint256 endsAt, uint256 nowTimestamp, uint256 maxWindow);
    /// @notice A poll needs between 2 and `maxOptions` options.
    error PollsInvalidOptionCount(uint256 optionCount, uint256 maxOptions);
    /// @notice `contentHash` is zero: the question and options must be bound.
    error PollsEmptyContent();
    /// @notice `tier` is not 1 (Silver), 2 (Gold) or 3 (Diamond).
    error PollsInvalidTier(uint256 tier);
    /// @notice Badge type `typeId` is not a soulbound (achievement) type, so it cannot fix eligibility.
    error PollsBadgeNotSoulbound(uint256 typeId);
    /// @notice A brand may poll the holders of its own badge types only; `typeId` belongs to `ownerBrand`.
    error PollsForeignBadge(uint256 typeId, uint256 ownerBrand, uint256 callerBrand);
    /// @notice Voting on `pollId` is open in `[startsAt, endsAt)` only.
    error PollsNotOpen(uint256 pollId, uint256 startsAt, uint256 endsAt, uint256 nowTimestamp);
    /// @notice `option` is not below the poll's `optionCount`.
    error PollsInvalidOption(uint256 pollId, uint256 option, uint256 optionCount);
    /// @notice `voter` has already voted on `pollId`.
    error PollsAlreadyVoted(uint256 pollId, address voter);
    /// @notice `voter` did not hold what `pollId` requires before it opened.
    error PollsNotEligible(uint256 pollId, address voter);
    /// @notice The signature's deadline has passed.
    error PollsSignatureExpired(uint256 deadline, uint256 nowTimestamp);
    /// @notice The signature is not `voter`'s.
    error PollsInvalidSignature(address voter);

    // ----------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------

    /// @notice Poll `pollId` was opened by `opener` for `brand` (0: the admin, for the alliance).
    event PollOpened(
        uint256 indexed pollId,
        uint256 indexed brand,
        address indexed opener,
        bytes32 contentHash,
        uint8 optionCount,
        uint64 startsAt,
        uint64 endsAt,
        Eligibility eligibility,
        uint256 eligibilityRef
    );

    /// @notice `voter` voted for `option` on `pollId`; `tally` is that option's count after the vote.
    event VoteCast(uint256 indexed pollId, address indexed voter, uint8 option, uint256 tally);

    // ----------------------------------------------------------------------------------------------
    // Functions
    // ----------------------------------------------------------------------------------------------

    /// @notice Opens a poll and fixes its eligibility at this second.
    /// @dev Requirements:
    /// - not paused (the ledger's pause);
    /// - the caller is a signer of an active brand (the poll is that brand's), or holds `DEFAULT_ADMIN_ROLE`
    ///   (brand 0) ({PollsNotOpener});
    /// - `contentHash` is not zero; 2 <= `optionCount` <= {MAX_OPTIONS};
    /// - `block.timestamp <= startsAt < endsAt <= startsAt + MAX_WINDOW` (unix seconds, UTC);
    /// - `MinTier`: `eligibilityRef` in 1..3; `Badge`: an achievement type, of the caller's brand unless the
    ///   caller is the admin.
    ///
    /// Emits a {PollOpened} event.
    function openPoll(
        bytes32 contentHash,
        uint8 optionCount,
        uint64 startsAt,
        uint64 endsAt,
        Eligibility eligibility,
        uint256 eligibilityRef
    ) external returns (uint256 pollId);

    /// @notice Casts the caller's vote for `option` (0-based) on `pollId`.
    /// @dev Requirements: not paused; the poll exists and `startsAt <= block.timestamp < endsAt`; `option` is
    /// below its option count; the caller has not voted on it; the caller was eligible before it opened.
    /// On a `MinTier` poll the voter's due quarterly reviews are applied first ({IAllianceTierReviews}: the
    /// ledger may emit its review events and update the membership badge), so the tier judged is the one the
    /// calendar left it; they stay applied only if the vote goes through.
    ///
    /// Emits a {VoteCast} event.
    function vote(uint256 pollId, uint8 option) external;

    /// @notice Casts `voter`'s vote with its EIP-712 signature (domain `AlliancePolls`/`1`) of
    /// `Vote(address voter,uint256 pollId,uint8 option,uint256 deadline)`; anyone may relay it.
    /// @dev No nonce: a vote counts once per poll, so a replayed signature reverts {PollsAlreadyVoted}. ERC-1271
    /// signatures of contract wallets are accepted. Same requirements as {vote}, plus `block.timestamp <=
    /// deadline` ({PollsSignatureExpired}) and a valid signature ({PollsInvalidSignature}).
    ///
    /// Emits a {VoteCast} event.
    function voteWithSig(uint256 pollId, address voter, uint8 option, uint256 deadline, bytes calldata signature)
        external;

    /// @notice The most options a poll can have.
    function MAX_OPTIONS() external view returns (uint256);

    /// @notice The longest voting window, in seconds.
    function MAX_WINDOW() external view returns (uint256);

    /// @notice How many polls were opened; ids run from 1.
    function pollCount() external view returns (uint256);

    /// @notice Poll `pollId` ({PollsUnknownPoll} if none).
    function poll(uint256 pollId) external view returns (Poll memory);

    /// @notice The votes per option of `pollId` (live while open) and whether they are final (`endsAt` passed).
    function tallies(uint256 pollId) external view returns (uint256[] memory counts, bool isFinal);

    /// @notice Whether `voter` has voted on `pollId`.
    function hasVoted(uint256 pollId, address voter) external view returns (bool);

    /// @notice Whether `member` may vote on `pollId`: eligible at its opening and not voted yet (window aside).
    /// @dev A view cannot apply reviews: on a `MinTier` poll it reads the tier as last applied, so it answers
    /// true for a member the calendar downgraded and whose review nobody ran yet, whom {vote} refuses. Run
    /// the ledger's `reviewTier(member)` first (anyone may) for the calendar's answer.
    function canVote(uint256 pollId, address member) external view returns (bool);
}
