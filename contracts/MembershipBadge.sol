// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IAlliancePause} from "./interfaces/IAlliancePause.sol";
import {IERC5192, IMembershipBadge} from "./interfaces/IMembershipBadge.sol";

/// @title MembershipBadge
/// @notice One soulbound ERC-721 badge per member (token id = the member's address as a number) that shows the
/// member's current alliance tier. The ledger mints it on the first tier assignment and updates it in place.
/// @dev Metadata is fully on chain: `tokenURI` returns base64 JSON with a base64 SVG image drawn per tier. The
/// only data about a member is the address-derived token id; no personal data is stored or rendered.
/// The badge has no pause of its own: {paused} is the ledger's (the alliance's one pause). The badge is
/// deployed before the ledger, so it learns the ledger's address once, from its constructor or from
/// {setLedger}; until then nothing can pause it.
contract MembershipBadge is ERC721, AccessControl, Pausable, IERC4906, IMembershipBadge {
    using Strings for uint256;

    /// @inheritdoc IMembershipBadge
    bytes32 public constant LEDGER_ROLE = keccak256("LEDGER_ROLE");

    /// @inheritdoc IMembershipBadge
    uint256 public constant MAX_LOCALES = 32;

    /// @dev The highest tier (Diamond).
    uint8 private constant _MAX_TIER = 3;
    /// @dev BCP 47 tags in practice stay far below this; the bound keeps `tokenURI` cheap.
    uint256 private constant _MAX_LOCALE_LENGTH = 35;
    /// @dev In bytes of UTF-8.
    uint256 private constant _MAX_NAME_LENGTH = 32;
    /// @dev ERC-4906 uses a fixed id rather than the XOR of its (event-only) interface.
    bytes4 private constant _ERC4906_INTERFACE_ID = 0x49064906;
    /// @dev The locale of the built-in names, registered at deployment.
    string private constant _BASE_LOCALE = "en";

    /// @dev Packed into one slot, so an in-place tier change is a single warm SSTORE. `silverSince`,
    /// `goldSince` and `diamondSince` hold when the member last reached at least that tier (0 while below it),
    /// so polls can tell the tier a member held at a past moment ({tierHeldSince}).
    struct Badge {
        bool issued;
        uint8 tier;
        uint40 silverSince;
        uint40 goldSince;
        uint40 diamondSince;
    }

    mapping(address member => Badge) private _badges;
    /// @dev The alliance ledger: source of {paused}; set once.
    address private _ledger;

    string private _defaultLocale;
    string[] private _locales;
    mapping(bytes32 localeKey => bool) private _localeRegistered;
    mapping(bytes32 localeKey => mapping(uint8 tier => string)) private _displayNames;

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` (manages roles and display names).
    /// @param ledger_ The alliance ledger: receives `LEDGER_ROLE` and becomes the source of {paused}; pass
    /// the zero address to link it later with {setLedger}.
    constructor(address admin, address ledger_) ERC721("Alliance Membership Badge", "AMB") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (ledger_ != address(0)) {
            _linkLedger(ledger_);
        }
        _defaultLocale = _BASE_LOCALE;
        _registerLocale(_BASE_LOCALE, keccak256(bytes(_BASE_LOCALE)));
    }

    // ----------------------------------------------------------------------------------------------
    // Ledger
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IMembershipBadge
    function setTier(address member, uint8 tier) external onlyRole(LEDGER_ROLE) whenNotPaused {
        if (tier > _MAX_TIER) {
            revert MembershipBadgeInvalidTier(tier, _MAX_TIER);
        }
        Badge storage badge = _badges[member];
        uint256 tokenId = uint256(uint160(member));

        if (!badge.issued) {
            _badges[member] = _withSince(Badge({issued: true, tier: tier, silverSince: 0, goldSince: 0, diamondSince: 0}), 0);
            _mint(member, tokenId);
            emit Locked(tokenId);
            emit TierBadgeUpdated(member, tokenId, 0, tier);
            return;
        }

        uint8 previousTier = badge.tier;
        if (previousTier == tier) {
            return;
        }
        Badge memory updated = badge;
        updated.tier = tier;
        _badges[member] = _withSince(updated, previousTier);
        emit TierBadgeUpdated(member, tokenId, previousTier, tier);
        emit MetadataUpdate(tokenId);
    }

    // ----------------------------------------------------------------------------------------------
    // Admin
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IMembershipBadge
    function setLedger(address ledger_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_ledger != address(0)) {
            revert MembershipBadgeLedgerAlreadySet(_ledger);
        }
        if (ledger_ == address(0)) {
            revert MembershipBadgeInvalidLedger(ledger_);
        }
        _linkLedger(ledger_);
    }

    /// @inheritdoc IMembershipBadge
    function setTierDisplayName(
        string calldata locale,
        uint8 tier,
        string calldata name
    ) external onlyRole(DEFAULT_ADMIN_ROLE) whenNotPaused {
        _checkLocale(locale);
        if (tier > _MAX_TIER) {
            revert MembershipBadgeInvalidTier(tier, _MAX_TIER);
        }
        if (!_isSafeDisplayName(bytes(name))) {
            revert MembershipBadgeInvalidDisplayName(locale, tier, name);
        }

        bytes32 key = keccak256(bytes(locale));
        if (bytes(name).length == 0) {
            delete _displayNames[key][tier];
        } else {
            if (!_localeRegistered[key]) {
                if (_locales.length == MAX_LOCALES) {
                    revert MembershipBadgeTooManyLocales(MAX_LOCALES);
                }
                _registerLocale(locale, key);
            }
            _displayNames[key][tier] = name;
        }
        emit TierDisplayNameUpdated(locale, tier, name);
        emit BatchMetadataUpdate(0, type(uint256).max);
    }

    /// @inheritdoc IMembershipBadge
    function setDefaultLocale(string calldata locale) external onlyRole(DEFAULT_ADMIN_ROLE) whenNotPaused {
        if (!_localeRegistered[keccak256(bytes(locale))]) {
            revert MembershipBadgeUnknownLocale(locale);
        }
        string memory previousLocale = _defaultLocale;
        _defaultLocale = locale;
        emit DefaultLocaleUpdated(previousLocale, locale);
        emit BatchMetadataUpdate(0, type(uint256).max);
    }

    // ----------------------------------------------------------------------------------------------
    // Soulbinding
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IERC5192
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return true;
    }

    /// @notice Always reverts: a membership badge cannot be approved to anyone.
    /// @dev Reverts with {MembershipBadgeSoulbound}.
    function approve(address, uint256 tokenId) public pure override(ERC721, IERC721) {
        revert MembershipBadgeSoulbound(tokenId);
    }

    /// @notice Always reverts: a membership badge cannot be put under an operator.
    /// @dev Reverts with {MembershipBadgeSoulbound} carrying the caller's own badge id.
    function setApprovalForAll(address, bool) public view override(ERC721, IERC721) {
        revert MembershipBadgeSoulbound(uint256(uint160(_msgSender())));
    }

    /// @dev The single balance hook: only mints pass. Public transfers always carry a non-zero `auth` and are
    /// rejected before any state change; an internal transfer or burn (none exists today) would find a previous
    /// owner and revert the whole call.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        if (auth != address(0)) {
            revert MembershipBadgeSoulbound(tokenId);
        }
        address from = super._update(to, tokenId, auth);
        if (from != address(0)) {
            revert MembershipBadgeSoulbound(tokenId);
        }
        return from;
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IMembershipBadge
    function ledger() external view returns (address) {
        return _ledger;
    }

    /// @notice Whether the alliance is paused: the ledger's pause (false while no ledger is linked).
    /// @dev Overrides OpenZeppelin's flag, which this contract never sets.
    function paused() public view override returns (bool) {
        address ledger_ = _ledger;
        return ledger_ != address(0) && IAlliancePause(ledger_).paused();
    }

    /// @inheritdoc IMembershipBadge
    function tokenIdOf(address member) external pure returns (uint256) {
        return uint256(uint160(member));
    }

    /// @inheritdoc IMembershipBadge
    function hasBadge(address member) external view returns (bool) {
        return _badges[member].issued;
    }

    /// @inheritdoc IMembershipBadge
    function badgeTierOf(address member) external view returns (uint8) {
        return _badges[member].tier;
    }

    /// @inheritdoc IMembershipBadge
    function tierHeldSince(address member, uint8 tier) external view returns (uint256) {
        if (tier == 0 || tier > _MAX_TIER) {
            revert MembershipBadgeInvalidTier(tier, _MAX_TIER);
        }
        Badge storage badge = _badges[member];
        if (tier == 1) return badge.silverSince;
        if (tier == 2) return badge.goldSince;
        return badge.diamondSince;
    }

    /// @inheritdoc IMembershipBadge
    function defaultLocale() external view returns (string memory) {
        return _defaultLocale;
    }

    /// @inheritdoc IMembershipBadge
    function locales() external view returns (string[] memory) {
        return _locales;
    }

    /// @inheritdoc IMembershipBadge
    function tierDisplayName(string calldata locale, uint8 tier) external view returns (string memory) {
        if (tier > _MAX_TIER) {
            revert MembershipBadgeInvalidTier(tier, _MAX_TIER);
        }
        return _nameIn(keccak256(bytes(locale)), tier);
    }

    /// @notice On-chain metadata of the badge: `data:application/json;base64,...`.
    /// @dev The JSON carries `name`, `description`, `image` (a base64 SVG drawn in the tier's colours),
    /// `attributes` (tier name in the default locale, tier number), `locale` (the default locale) and
    /// `localized` (the tier name in every registered locale). Reverts with {ERC721NonexistentToken} for an
    /// unminted id.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        address member = _requireOwned(tokenId);
        uint8 tier = _badges[member].tier;
        string memory tierName = _nameIn(keccak256(bytes(_defaultLocale)), tier);

        string memory json = string.concat(
            '{"name":"Alliance ',
            tierName,
            ' Membership","description":"Soulbound membership badge of the loyalty alliance. It shows the holder',
            "'s current tier, follows every tier change and cannot be sold or transferred.\",",
            '"image":"data:image/svg+xml;base64,',
            Base64.encode(bytes(_svg(tier, tierName))),
            '",'
        );
        json = string.concat(
            json,
            '"attributes":[{"trait_type":"Tier","value":"',
            tierName,
            '"},{"trait_type":"Tier level","display_type":"number","value":',
            uint256(tier).toString(),
            ',"max_value":3}],"locale":"',
            _defaultLocale,
            '","localized":{',
            _localizedNames(tier),
            "}}"
        );
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }

    /// @inheritdoc IERC165
    function supportsInterface(
        bytes4 interfaceId
    ) public view override(ERC721, AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC5192).interfaceId
            || interfaceId == _ERC4906_INTERFACE_ID
            || interfaceId == type(IMembershipBadge).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    function _linkLedger(address ledger_) private {
        _ledger = ledger_;
        _grantRole(LEDGER_ROLE, ledger_);
        emit LedgerLinked(ledger_);
    }

    /// @dev `badge` with its new tier already set, coming from `previousTier`: each tier newly reached starts its
    /// clock now, each tier left stops it (0). Timestamps fit 40 bits until the year 36812.
    function _withSince(Badge memory badge, uint8 previousTier) private view returns (Badge memory) {
        uint40 reached = uint40(block.timestamp);
        uint8 tier = badge.tier;
        badge.silverSince = _since(tier, previousTier, 1, badge.silverSince, reached);
        badge.goldSince = _since(tier, previousTier, 2, badge.goldSince, reached);
        badge.diamondSince = _since(tier, previousTier, 3, badge.diamondSince, reached);
        return badge;
    }

    /// @dev The clock of `level` after a change from `previousTier` to `tier`.
    function _since(uint8 tier, uint8 previousTier, uint8 level, uint40 current, uint40 reached)
        private
        pure
        returns (uint40)
    {
        if (tier < level) return 0;
        return previousTier < level ? reached : current;
    }

    function _registerLocale(string memory locale, bytes32 key) private {
        _localeRegistered[key] = true;
        _locales.push(locale);
    }

    /// @dev `localized` entries: `"en":"Gold","id-ID":"Royal"`. Locales are validated to `[A-Za-z0-9-_]` and names
    /// to JSON-safe characters on the way in, so no escaping is needed here.
    function _localizedNames(uint8 tier) private view returns (string memory entries) {
        uint256 count = _locales.length;
        for (uint256 i = 0; i < count; ++i) {
            string memory locale = _locales[i];
            entries = string.concat(
                entries,
                i == 0 ? '"' : ',"',
                locale,
                '":"',
                _nameIn(keccak256(bytes(locale)), tier),
                '"'
            );
        }
    }

    function _nameIn(bytes32 localeKey, uint8 tier) private view returns (string memory) {
        string memory name = _displayNames[localeKey][tier];
        return bytes(name).length != 0 ? name : _baseName(tier);
    }

    function _baseName(uint8 tier) private pure returns (string memory) {
        if (tier == 3) return "Diamond";
        if (tier == 2) return "Gold";
        if (tier == 1) return "Silver";
        return "Member";
    }

    /// @dev Medallion primary colour and accent colour per tier.
    function _palette(uint8 tier) private pure returns (string memory primary, string memory accent) {
        if (tier == 3) return ("#0e7490", "#a5f3fc");
        if (tier == 2) return ("#a16207", "#fde68a");
        if (tier == 1) return ("#6b7280", "#e5e7eb");
        return ("#334155", "#94a3b8");
    }

    /// @dev A medallion with a gem, one pip per tier reached (of three) and the tier name.
    function _svg(uint8 tier, string memory tierName) private pure returns (string memory) {
        (string memory primary, string memory accent) = _palette(tier);
        // slither-disable-next-line uninitialized-local starts as the empty string on purpose; the loop appends
        string memory pips;
        for (uint256 i = 0; i < _MAX_TIER; ++i) {
            pips = string.concat(
                pips,
                '<circle cx="',
                (136 + 24 * i).toString(),
                '" cy="236" r="7" stroke="',
                accent,
                '" stroke-width="2" fill="',
                i < tier ? accent : "none",
                '"/>'
            );
        }
        string memory head = string.concat(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 320" width="320" height="320">',
            '<defs><linearGradient id="m" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="',
            primary,
            '"/><stop offset="1" stop-color="',
            accent,
            '"/></linearGradient></defs><rect width="320" height="320" rx="24" fill="#0f172a"/>',
            '<circle cx="160" cy="124" r="84" fill="url(#m)" stroke="',
            accent,
            '" stroke-width="6"/><path d="M160 70l38 54-38 54-38-54z" fill="#ffffff" fill-opacity="0.35"/>'
        );
        return string.concat(
            head,
            pips,
            '<text x="160" y="278" font-family="sans-serif" font-size="',
            bytes(tierName).length > 16 ? "18" : "28",
            '" font-weight="700" fill="',
            accent,
            '" text-anchor="middle">',
            tierName,
            '</text><text x="160" y="304" font-family="sans-serif" font-size="11" letter-spacing="3" ',
            'fill="#94a3b8" text-anchor="middle">ALLIANCE MEMBERSHIP</text></svg>'
        );
    }

    function _checkLocale(string calldata locale) private pure {
        bytes calldata raw = bytes(locale);
        uint256 length = raw.length;
        if (length == 0 || length > _MAX_LOCALE_LENGTH) {
            revert MembershipBadgeInvalidLocale(locale);
        }
        for (uint256 i = 0; i < length; ++i) {
            bytes1 c = raw[i];
            bool allowed = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-"
                || c == "_";
            if (!allowed) {
                revert MembershipBadgeInvalidLocale(locale);
            }
        }
    }

    /// @dev UTF-8 is allowed (localized scripts); characters that would break JSON strings or SVG text are not.
    function _isSafeDisplayName(bytes calldata name) private pure returns (bool) {
        uint256 length = name.length;
        if (length > _MAX_NAME_LENGTH) {
            return false;
        }
        for (uint256 i = 0; i < length; ++i) {
            bytes1 c = name[i];
            if (c < 0x20 || c == 0x7f || c == '"' || c == "\\" || c == "<" || c == ">" || c == "&") {
                return false;
            }
        }
        return true;
    }
}
