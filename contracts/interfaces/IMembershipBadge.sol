// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ERC-5192: minimal soulbound NFTs.
/// @dev The interface id is the selector of {locked}: `0xb45a3c0e`.
interface IERC5192 {
    /// @notice Emitted when the locking status of `tokenId` becomes locked.
    event Locked(uint256 tokenId);

    /// @notice Emitted when the locking status of `tokenId` becomes unlocked.
    event Unlocked(uint256 tokenId);

    /// @notice Whether `tokenId` is bound to its owner.
    /// @dev Reverts when `tokenId` does not exist.
    function locked(uint256 tokenId) external view returns (bool);
}

/// @title The alliance membership badge: one soulbound ERC-721 per member, showing the current tier.
/// @notice The token id of a member's badge is `uint256(uint160(member))`. Tiers: 0 Member (no tier yet),
/// 1 Silver, 2 Gold, 3 Diamond. Tier display names are metadata, localizable per market.
interface IMembershipBadge is IERC5192 {
    // ----------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------

    /// @notice A transfer, burn or approval was attempted on a soulbound badge.
    error MembershipBadgeSoulbound(uint256 tokenId);

    /// @notice `tier` is above the highest tier (3, Diamond).
    error MembershipBadgeInvalidTier(uint8 tier, uint8 maxTier);

    /// @notice `locale` is empty, too long, or holds a character outside `[A-Za-z0-9-_]`.
    error MembershipBadgeInvalidLocale(string locale);

    /// @notice `name` is too long or holds a character that is unsafe in JSON or SVG text
    /// (`"`, `\`, `<`, `>`, `&` or a control character).
    error MembershipBadgeInvalidDisplayName(string locale, uint8 tier, string name);

    /// @notice `locale` holds no display names yet, so it cannot become the default locale.
    error MembershipBadgeUnknownLocale(string locale);

    /// @notice Registering another locale would exceed the fixed maximum.
    error MembershipBadgeTooManyLocales(uint256 maxLocales);

    /// @notice The badge is already linked to `ledger`; the link is set once.
    error MembershipBadgeLedgerAlreadySet(address ledger);

    /// @notice The zero address cannot be the ledger.
    error MembershipBadgeInvalidLedger(address ledger);

    // ----------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------

    /// @notice The badge of `member` was minted or its tier changed from `previousTier` to `newTier`.
    /// @dev On mint `previousTier` is 0.
    event TierBadgeUpdated(address indexed member, uint256 indexed tokenId, uint8 previousTier, uint8 newTier);

    /// @notice The display name of `tier` in `locale` was set to `name` (empty: back to the default name).
    event TierDisplayNameUpdated(string locale, uint8 indexed tier, string name);

    /// @notice The locale whose names `tokenURI` shows first changed from `previousLocale` to `newLocale`.
    event DefaultLocaleUpdated(string previousLocale, string newLocale);

    /// @notice The badge was linked to the alliance ledger `ledger`, which received `LEDGER_ROLE` and whose
    /// pause the badge now obeys.
    event LedgerLinked(address indexed ledger);

    // ----------------------------------------------------------------------------------------------
    // Ledger
    // ----------------------------------------------------------------------------------------------

    /// @notice Mints the badge of `member` on the first call, afterwards sets its tier in place.
    /// @dev Called by the ledger on every tier change. Setting the tier a badge already shows is a no-op
    /// (no storage write, no event), so the ledger never has to read the badge first.
    ///
    /// Requirements:
    /// - the caller has `LEDGER_ROLE`;
    /// - not paused (the ledger's pause);
    /// - `tier` is at most 3;
    /// - `member` is not the zero address.
    ///
    /// Emits {Transfer} and {Locked} on mint, {MetadataUpdate} on an in-place change, and {TierBadgeUpdated} for both.
    function setTier(address member, uint8 tier) external;

    // ----------------------------------------------------------------------------------------------
    // Admin
    // ----------------------------------------------------------------------------------------------

    /// @notice Links the badge to the alliance ledger, once: grants it `LEDGER_ROLE` and makes its pause the
    /// badge's ({paused}). For a badge deployed before the ledger with the zero address as `ledger`.
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE`; no ledger is linked yet
    /// ({MembershipBadgeLedgerAlreadySet}); `ledger` is not zero ({MembershipBadgeInvalidLedger}).
    ///
    /// Emits a {LedgerLinked} event and an AccessControl {RoleGranted} event.
    function setLedger(address ledger_) external;

    /// @notice Sets the display name of `tier` in the market `locale` (e.g. "id-ID", 3, "Royal").
    /// @dev An empty `name` removes the localization, so the default English name shows again. The first
    /// name set for a locale registers that locale (at most {MAX_LOCALES}).
    ///
    /// Requirements:
    /// - the caller has `DEFAULT_ADMIN_ROLE`;
    /// - not paused;
    /// - `locale` is 1 to 35 characters of `[A-Za-z0-9-_]`;
    /// - `tier` is at most 3;
    /// - `name` is at most 32 bytes, without `"`, `\`, `<`, `>`, `&` or control characters.
    ///
    /// Emits a {TierDisplayNameUpdated} event and an ERC-4906 {BatchMetadataUpdate} event for all tokens.
    function setTierDisplayName(string calldata locale, uint8 tier, string calldata name) external;

    /// @notice Sets the locale whose names `tokenURI` shows as the tier name.
    /// @dev Tiers without a name in that locale fall back to the default English names.
    ///
    /// Requirements:
    /// - the caller has `DEFAULT_ADMIN_ROLE`;
    /// - not paused;
    /// - `locale` is registered: "en" or a locale given a name with {setTierDisplayName}.
    ///
    /// Emits a {DefaultLocaleUpdated} event and an ERC-4906 {BatchMetadataUpdate} event for all tokens.
    function setDefaultLocale(string calldata locale) external;

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @notice The role allowed to call {setTier}: the alliance ledger.
    function LEDGER_ROLE() external view returns (bytes32);

    /// @notice The alliance ledger the badge is linked to (zero until {setLedger}).
    function ledger() external view returns (address);

    /// @notice The most locales that can hold display names.
    function MAX_LOCALES() external view returns (uint256);

    /// @notice The token id of the badge of `member`, whether minted or not.
    function tokenIdOf(address member) external pure returns (uint256);

    /// @notice Whether `member` holds a badge.
    function hasBadge(address member) external view returns (bool);

    /// @notice The tier the badge of `member` shows (0 when no badge).
    function badgeTierOf(address member) external view returns (uint8);

    /// @notice Since when `member` has held at least `tier` without a break (unix seconds), 0 while below it.
    /// @dev Set by every tier change the ledger reports ({setTier}): reaching a tier starts its clock, dropping
    /// below it stops it. Polls use it to fix eligibility at a past moment (a member who reached the tier after
    /// that moment shows a later time). Reverts with {MembershipBadgeInvalidTier} unless 1 <= `tier` <= 3.
    function tierHeldSince(address member, uint8 tier) external view returns (uint256);

    /// @notice The locale whose names `tokenURI` shows as the tier name.
    function defaultLocale() external view returns (string memory);

    /// @notice The registered locales, in registration order.
    function locales() external view returns (string[] memory);

    /// @notice The name of `tier` in `locale`, falling back to the default English name.
    function tierDisplayName(string calldata locale, uint8 tier) external view returns (string memory);
}
