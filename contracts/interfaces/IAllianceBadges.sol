// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Achievement and collectible badges defined by the alliance's brands (ERC-1155).
/// @notice A brand defines badge types and issues them to members. Achievements are soulbound proof of
/// behaviour; collectibles are tradable, may be self-claimed by members of a high enough tier, and may carry a
/// benefit that is redeemed exactly once per unit. Redeeming swaps the unit for its "redeemed" variant
/// (`typeId | REDEEMED_FLAG`), which stays tradable but can never be redeemed again.
/// While the ledger is paused (the alliance's one pause), every function that changes state reverts with
/// OpenZeppelin's `EnforcedPause()`.
interface IAllianceBadges {
    /// @notice Achievements are soulbound; collectibles are transferable.
    enum BadgeKind {
        Achievement,
        Collectible
    }

    /// @notice A badge type, packed into one storage slot (the URI is kept apart).
    /// @param brand The brand that defined the type and alone may issue it.
    /// @param minted Units issued or claimed so far; redeemed variants are not counted again.
    /// @param maxSupply Cap on `minted`; 0 means uncapped.
    /// @param minTier Lowest tier a recipient must hold (0 none, 1 Silver, 2 Gold, 3 Diamond).
    /// @param kind Achievement (soulbound) or Collectible (transferable).
    /// @param hasBenefit Whether a unit carries a benefit redeemable once (collectibles only).
    /// @param selfMint Whether members may claim one unit themselves (collectibles only).
    /// @dev `reserved`: units held back for an `ISSUER_ROLE` holder (an auction's units that found a bidder,
    /// issued when the bid is settled), counted against `maxSupply` as if minted, so no issue or claim takes them.
    struct BadgeType {
        uint64 brand;
        uint64 minted;
        uint32 maxSupply;
        uint32 reserved;
        uint8 minTier;
        BadgeKind kind;
        bool hasBenefit;
        bool selfMint;
    }

    // ----------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------

    /// @notice `signer` is not a signing key of any brand.
    error AllianceBadgesNotBrandSigner(address signer);

    /// @notice `brand` is not onboarded or is suspended.
    error AllianceBadgesBrandInactive(uint256 brand);

    /// @notice `typeId` was never defined.
    error AllianceBadgesUnknownType(uint256 typeId);

    /// @notice A signer of `callerBrand` tried to issue a badge type that belongs to `ownerBrand`.
    error AllianceBadgesForeignType(uint256 typeId, uint256 ownerBrand, uint256 callerBrand);

    /// @notice `tier` is above the highest tier (3, Diamond).
    error AllianceBadgesInvalidTier(uint8 tier);

    /// @notice The flags do not fit the kind: only collectibles carry benefits or are self-mintable.
    error AllianceBadgesInvalidFlags(BadgeKind kind, bool hasBenefit, bool selfMint);

    /// @notice A badge type needs a metadata URI.
    error AllianceBadgesEmptyURI(uint256 brand);

    /// @notice An issue of zero units.
    error AllianceBadgesZeroAmount(uint256 typeId);

    /// @notice Minting or reserving `amount` more units would take `minted` plus `reserved` past `maxSupply`.
    error AllianceBadgesSupplyExceeded(
        uint256 typeId, uint256 maxSupply, uint256 minted, uint256 reserved, uint256 amount
    );

    /// @notice An issuer issued or released `amount` units of `typeId` beyond the `reserved` ones.
    error AllianceBadgesNotReserved(uint256 typeId, uint256 reserved, uint256 amount);

    /// @notice `member` holds `tier`, below the `minTier` the badge type requires.
    error AllianceBadgesTierTooLow(uint256 typeId, address member, uint8 tier, uint8 minTier);

    /// @notice `typeId` is not a self-mintable collectible.
    error AllianceBadgesNotClaimable(uint256 typeId);

    /// @notice `member` already claimed its unit of `typeId`.
    error AllianceBadgesAlreadyClaimed(uint256 typeId, address member);

    /// @notice An achievement (`id`) cannot be transferred or burned.
    error AllianceBadgesSoulbound(uint256 id);

    /// @notice `typeId` carries no benefit to redeem.
    error AllianceBadgesNoBenefit(uint256 typeId);

    /// @notice `id` is a redeemed variant: its benefit is already used.
    error AllianceBadgesAlreadyRedeemed(uint256 id);

    /// @notice The signature's deadline has passed.
    error AllianceBadgesSignatureExpired(uint256 deadline, uint256 nowTimestamp);

    /// @notice The signature is not the holder's.
    error AllianceBadgesInvalidSignature(address holder);

    // ----------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------

    /// @notice `brand` defined badge type `typeId`.
    event BadgeDefined(
        uint256 indexed typeId,
        uint256 indexed brand,
        BadgeKind kind,
        uint32 maxSupply,
        uint8 minTier,
        bool hasBenefit,
        bool selfMint
    );

    /// @notice `brand` issued `amount` units of `typeId` to `member`.
    event BadgeIssued(uint256 indexed typeId, uint256 indexed brand, address indexed member, uint256 amount);

    /// @notice `issuer` reserved `amount` units of `typeId`: counted against its cap until issued or released.
    event BadgeSupplyReserved(uint256 indexed typeId, address indexed issuer, uint256 amount);

    /// @notice `issuer` released `amount` reserved units of `typeId` (a winning bid cancelled, never issued).
    event BadgeSupplyReleased(uint256 indexed typeId, address indexed issuer, uint256 amount);

    /// @notice `member` claimed one unit of the self-mintable collectible `typeId` of `brand`.
    event BadgeClaimed(uint256 indexed typeId, uint256 indexed brand, address indexed member);

    /// @notice `holder` redeemed the benefit of one unit of `typeId` of `brand`; `claimRef` is the hashed
    /// fulfilment reference the brand matches off chain (no personal data).
    event BenefitRedeemed(uint256 indexed typeId, address indexed holder, uint256 indexed brand, bytes32 claimRef);

    // ----------------------------------------------------------------------------------------------
    // Brands
    // ----------------------------------------------------------------------------------------------

    /// @notice Defines a badge type owned by the caller's brand.
    /// @dev Type ids are assigned sequentially from 1.
    ///
    /// Requirements:
    /// - not paused;
    /// - the caller is a signer of an active brand;
    /// - `minTier` is at most 3;
    /// - achievements have neither `hasBenefit` nor `selfMint`;
    /// - `uri` is not empty.
    ///
    /// Emits a {BadgeDefined} and an ERC-1155 {URI} event.
    /// @param kind Achievement (soulbound) or Collectible (transferable).
    /// @param maxSupply Cap on units issued; 0 = uncapped.
    /// @param minTier Lowest recipient tier.
    /// @param hasBenefit Whether each unit carries a benefit redeemable once.
    /// @param selfMint Whether members may claim one unit themselves.
    /// @param uri Metadata URI of the type (shared by its redeemed variant).
    /// @return typeId The new type id.
    function defineBadge(
        BadgeKind kind,
        uint32 maxSupply,
        uint8 minTier,
        bool hasBenefit,
        bool selfMint,
        string calldata uri
    ) external returns (uint256 typeId);

    /// @notice Issues `amount` units of `typeId` to `member`.
    /// @dev Requirements:
    /// - not paused;
    /// - the caller is a signer of the brand that owns `typeId`, or holds `ISSUER_ROLE` (then the tier check
    ///   below is skipped: the issuer checked eligibility itself), and that brand is active;
    /// - `amount` is not zero; a brand's issue keeps minted plus reserved units within the cap
    ///   ({AllianceBadgesSupplyExceeded}); an issuer issues only units it reserved ({reserveSupply}), which it
    ///   consumes ({AllianceBadgesNotReserved});
    /// - the tier of `member` in the directory is at least the type's `minTier`, judged after applying
    ///   `member`'s due quarterly reviews (README "Reviews follow the calendar": the ledger's `reviewTiers`,
    ///   see {IAllianceTierReviews}; since 2026-12-06);
    /// - a contract `member` accepts ERC-1155 tokens.
    ///
    /// Emits an ERC-1155 {TransferSingle} and a {BadgeIssued} event.
    function issue(uint256 typeId, address member, uint256 amount) external;

    /// @notice Holds back `amount` units of `typeId` for a later {issue} by the caller (AllianceAuctions: a
    /// unit a bid takes, so that the brand cannot issue the last units away before the winner's settlement).
    /// @dev Requirements: not paused; the caller holds `ISSUER_ROLE`; `typeId` defined; `amount` not zero and
    /// within the cap with the units minted and reserved ({AllianceBadgesSupplyExceeded}; an uncapped type
    /// reserves up to 2^32 - 1 units at a time). Emits a {BadgeSupplyReserved} event.
    function reserveSupply(uint256 typeId, uint256 amount) external;

    /// @notice Gives back `amount` reserved units of `typeId` that will not be issued (a winning bid cancelled).
    /// @dev Requirements: not paused; the caller holds `ISSUER_ROLE`; `amount` in 1..reserved
    /// ({AllianceBadgesNotReserved}). Emits a {BadgeSupplyReleased} event.
    function releaseSupply(uint256 typeId, uint256 amount) external;

    // ----------------------------------------------------------------------------------------------
    // Members
    // ----------------------------------------------------------------------------------------------

    /// @notice Claims one unit of the self-mintable collectible `typeId` for the caller.
    /// @dev Requirements:
    /// - not paused;
    /// - `typeId` is a collectible defined with `selfMint`, and its brand is active;
    /// - the caller's tier is at least the type's `minTier`, judged after applying its due quarterly reviews
    ///   (README "Reviews follow the calendar": a member the calendar downgraded is refused even before anyone
    ///   ran its review; since 2026-12-06), and the caller has not claimed it before;
    /// - the cap is not reached.
    ///
    /// Emits an ERC-1155 {TransferSingle} and a {BadgeClaimed} event.
    function claim(uint256 typeId) external;

    /// @notice Redeems the benefit of one unit of `typeId` held by the caller.
    /// @dev Burns one unit of `typeId` and mints one unit of `typeId | REDEEMED_FLAG` to the caller, so the
    /// collectible is kept (and stays tradable) while its benefit is spent.
    ///
    /// Requirements:
    /// - not paused;
    /// - `typeId` is not a redeemed variant, is defined with `hasBenefit`, and its brand is active;
    /// - the caller holds at least one unit of `typeId`.
    ///
    /// Emits two ERC-1155 {TransferSingle} events (burn, mint) and a {BenefitRedeemed} event.
    function redeemBenefit(uint256 typeId, bytes32 claimRef) external;

    /// @notice {redeemBenefit} on the holder's EIP-712 signature (domain "AllianceBadges", "1"), relayed by anyone:
    /// `RedeemBenefit(address holder,uint256 typeId,bytes32 claimRef,uint256 nonce,uint256 deadline)`.
    /// @dev Requirements: not paused; an unexpired deadline, the holder's next nonce ({nonces}) and a valid signature
    /// (ERC-1271 for contract wallets). Emits a {BenefitRedeemed} event.
    function redeemBenefitWithSig(
        address holder,
        uint256 typeId,
        bytes32 claimRef,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @notice The bit that marks the redeemed variant of a badge type: `1 << 255`.
    function REDEEMED_FLAG() external view returns (uint256);

    /// @notice The directory (the alliance ledger) answering brand membership and member tiers.
    function directory() external view returns (address);

    /// @notice The badge type of `id`; a redeemed variant resolves to its base type.
    /// @dev Reverts with {AllianceBadgesUnknownType} for an undefined type.
    function badgeType(uint256 id) external view returns (BadgeType memory);

    /// @notice Units of `id` (or of its base type, for a redeemed variant) issued or claimed so far.
    /// @dev Reverts with {AllianceBadgesUnknownType} for an undefined type.
    function totalMinted(uint256 id) external view returns (uint256);

    /// @notice How many badge types exist; ids run from 1 to this number.
    function typeCount() external view returns (uint256);

    /// @notice When `member` received its first unit of the achievement `typeId` (unix seconds), 0 if never.
    /// @dev Achievements never leave their holder, so a non-zero time means "held without a break since".
    /// Collectibles (tradable) keep no clock: always 0. Polls fix eligibility with it.
    function heldSince(uint256 typeId, address member) external view returns (uint256);

    /// @notice Whether `member` has claimed its unit of `typeId`.
    function hasClaimed(uint256 typeId, address member) external view returns (bool);
}
