// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IAllianceBadges} from "./interfaces/IAllianceBadges.sol";
import {IAllianceDirectory} from "./interfaces/IAllianceDirectory.sol";
import {IAlliancePause} from "./interfaces/IAlliancePause.sol";
import {IAllianceTierReviews} from "./interfaces/IAllianceTierReviews.sol";
import {TierReviews} from "./libraries/TierReviews.sol";

/// @title AllianceBadges
/// @notice Achievement and collectible badges (ERC-1155) that the alliance's brands define and issue.
/// @dev Brand identity and member tiers come from the directory (the alliance ledger); a minimum tier is
/// checked after applying the member's due quarterly reviews ({IAllianceTierReviews}). Type ids run from 1;
/// bit 255 ({REDEEMED_FLAG}) marks the redeemed variant of a collectible whose benefit was used.
/// The contract has no pause of its own: {paused} is the ledger's (the alliance's one pause, lifted only
/// by the ledger's admin), and while it is set no badge is defined, minted, claimed, redeemed, moved or
/// put under an operator.
contract AllianceBadges is ERC1155, AccessControl, Pausable, EIP712, Nonces, IAllianceBadges {
    /// @inheritdoc IAllianceBadges
    uint256 public constant REDEEMED_FLAG = 1 << 255;
    /// @notice Held by a contract the admin trusts to issue any brand's badge on that brand's behalf: it checks
    /// the brand's consent and the recipient's eligibility itself (AllianceAuctions: the brand opened the
    /// auction naming the type, and the tier was checked at bid time), so {issue} skips both checks for it.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    /// @dev Clears {REDEEMED_FLAG}: maps either variant to its base type id.
    uint256 private constant _TYPE_MASK = ~REDEEMED_FLAG;
    bytes32 private constant REDEEM_BENEFIT_TYPEHASH =
        keccak256("RedeemBenefit(address holder,uint256 typeId,bytes32 claimRef,uint256 nonce,uint256 deadline)");
    /// @dev The highest tier (Diamond).
    uint8 private constant _MAX_TIER = 3;

    IAllianceDirectory private immutable _directory;

    uint256 private _typeCount;
    mapping(uint256 typeId => BadgeType) private _types;
    mapping(uint256 typeId => string) private _uris;
    mapping(uint256 typeId => mapping(address member => bool)) private _claimed;
    /// @dev When each member received its first unit of an achievement (which never leaves its holder).
    mapping(uint256 typeId => mapping(address member => uint256 since)) private _heldSince;

    /// @param directory_ The alliance ledger, also the source of {paused}.
    /// @param admin Receives `DEFAULT_ADMIN_ROLE` (roles).
    constructor(IAllianceDirectory directory_, address admin) ERC1155("") EIP712("AllianceBadges", "1") {
        _directory = directory_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------------------------
    // Brands
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IAllianceBadges
    function defineBadge(
        BadgeKind kind,
        uint32 maxSupply,
        uint8 minTier,
        bool hasBenefit,
        bool selfMint,
        string calldata uri_
    ) external whenNotPaused returns (uint256 typeId) {
        uint256 brand = _directory.brandOf(_msgSender());
        if (brand == 0) {
            revert AllianceBadgesNotBrandSigner(_msgSender());
        }
        _checkBrandActive(brand);
        if (minTier > _MAX_TIER) {
            revert AllianceBadgesInvalidTier(minTier);
        }
        if (kind == BadgeKind.Achievement && (hasBenefit || selfMint)) {
            revert AllianceBadgesInvalidFlags(kind, hasBenefit, selfMint);
        }
        if (bytes(uri_).length == 0) {
            revert AllianceBadgesEmptyURI(brand);
        }

        // Ids grow by one per definition, so they never reach REDEEMED_FLAG (bit 255).
        typeId = ++_typeCount;
        _types[typeId] = BadgeType({
            brand: SafeCast.toUint64(brand),
            minted: 0,
            maxSupply: maxSupply,
            reserved: 0,
            minTier: minTier,
            kind: kind,
            hasBenefit: hasBenefit,
            selfMint: selfMint
        });
        _uris[typeId] = uri_;
        emit BadgeDefined(typeId, brand, kind, maxSupply, minTier, hasBenefit, selfMint);
        emit URI(uri_, typeId);
    }

    /// @inheritdoc IAllianceBadges
    function issue(uint256 typeId, address member, uint256 amount) external {
        BadgeType storage badge = _existingType(typeId);
        uint256 brand = badge.brand;
        uint256 callerBrand = _directory.brandOf(_msgSender());
        bool issuer = hasRole(ISSUER_ROLE, _msgSender());
        if (callerBrand != brand && !issuer) {
            if (callerBrand == 0) {
                revert AllianceBadgesNotBrandSigner(_msgSender());
            }
            revert AllianceBadgesForeignType(typeId, brand, callerBrand);
        }
        _checkBrandActive(brand);
        if (amount == 0) {
            revert AllianceBadgesZeroAmount(typeId);
        }
        if (issuer) {
            _takeReserved(typeId, badge, amount);
            // minted + reserved <= cap held before, so minted + amount <= cap <= type(uint64).max.
            badge.minted += uint64(amount);
        } else {
            _checkTier(typeId, badge.minTier, member);
            _recordMint(typeId, badge, amount);
        }

        _mint(member, typeId, amount, "");
        emit BadgeIssued(typeId, brand, member, amount);
    }

    /// @inheritdoc IAllianceBadges
    function reserveSupply(uint256 typeId, uint256 amount) external onlyRole(ISSUER_ROLE) whenNotPaused {
        BadgeType storage badge = _existingType(typeId);
        if (amount == 0) {
            revert AllianceBadgesZeroAmount(typeId);
        }
        _checkSupply(typeId, badge, amount);
        badge.reserved = SafeCast.toUint32(badge.reserved + amount);
        emit BadgeSupplyReserved(typeId, _msgSender(), amount);
    }

    /// @inheritdoc IAllianceBadges
    function releaseSupply(uint256 typeId, uint256 amount) external onlyRole(ISSUER_ROLE) whenNotPaused {
        BadgeType storage badge = _existingType(typeId);
        if (amount == 0) {
            revert AllianceBadgesNotReserved(typeId, badge.reserved, amount);
        }
        _takeReserved(typeId, badge, amount);
        emit BadgeSupplyReleased(typeId, _msgSender(), amount);
    }

    // ----------------------------------------------------------------------------------------------
    // Members
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IAllianceBadges
    function claim(uint256 typeId) external {
        BadgeType storage badge = _existingType(typeId);
        // Only collectibles can be defined self-mintable.
        if (!badge.selfMint) {
            revert AllianceBadgesNotClaimable(typeId);
        }
        uint256 brand = badge.brand;
        _checkBrandActive(brand);
        address member = _msgSender();
        if (_claimed[typeId][member]) {
            revert AllianceBadgesAlreadyClaimed(typeId, member);
        }
        _checkTier(typeId, badge.minTier, member);
        _recordMint(typeId, badge, 1);
        _claimed[typeId][member] = true;

        _mint(member, typeId, 1, "");
        emit BadgeClaimed(typeId, brand, member);
    }

    /// @inheritdoc IAllianceBadges
    function redeemBenefit(uint256 typeId, bytes32 claimRef) external {
        _redeemBenefit(_msgSender(), typeId, claimRef);
    }

    /// @inheritdoc IAllianceBadges
    function redeemBenefitWithSig(
        address holder,
        uint256 typeId,
        bytes32 claimRef,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) {
            revert AllianceBadgesSignatureExpired(deadline, block.timestamp);
        }
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REDEEM_BENEFIT_TYPEHASH, holder, typeId, claimRef, nonce, deadline))
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(holder, digest, signature)) {
            revert AllianceBadgesInvalidSignature(holder);
        }
        _useCheckedNonce(holder, nonce);
        _redeemBenefit(holder, typeId, claimRef);
    }

    function _redeemBenefit(address holder, uint256 typeId, bytes32 claimRef) private {
        if (typeId & REDEEMED_FLAG != 0) {
            revert AllianceBadgesAlreadyRedeemed(typeId);
        }
        BadgeType storage badge = _existingType(typeId);
        // Only collectibles can be defined with a benefit.
        if (!badge.hasBenefit) {
            revert AllianceBadgesNoBenefit(typeId);
        }
        uint256 brand = badge.brand;
        _checkBrandActive(brand);

        _burn(holder, typeId, 1);
        _mint(holder, typeId | REDEEMED_FLAG, 1, "");
        emit BenefitRedeemed(typeId, holder, brand, claimRef);
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @notice Whether the alliance is paused: the ledger's pause, the one switch of the system.
    /// @dev Overrides OpenZeppelin's flag, which this contract never sets.
    function paused() public view override returns (bool) {
        return IAlliancePause(address(_directory)).paused();
    }

    /// @notice Puts all the caller's badges under `operator` (or lifts it); not while paused.
    /// @dev Reverts with {EnforcedPause} while the alliance is paused.
    function setApprovalForAll(address operator, bool approved) public override whenNotPaused {
        super.setApprovalForAll(operator, approved);
    }

    /// @inheritdoc IAllianceBadges
    function directory() external view returns (address) {
        return address(_directory);
    }

    /// @inheritdoc IAllianceBadges
    function badgeType(uint256 id) external view returns (BadgeType memory) {
        return _existingType(id & _TYPE_MASK);
    }

    /// @inheritdoc IAllianceBadges
    function totalMinted(uint256 id) external view returns (uint256) {
        return _existingType(id & _TYPE_MASK).minted;
    }

    /// @inheritdoc IAllianceBadges
    function typeCount() external view returns (uint256) {
        return _typeCount;
    }

    /// @inheritdoc IAllianceBadges
    function heldSince(uint256 typeId, address member) external view returns (uint256) {
        return _heldSince[typeId][member];
    }

    /// @inheritdoc IAllianceBadges
    function hasClaimed(uint256 typeId, address member) external view returns (bool) {
        return _claimed[typeId][member];
    }

    /// @notice Metadata URI of `id`; a redeemed variant shares the URI of its base type.
    /// @dev Reverts with {AllianceBadgesUnknownType} for an undefined type.
    function uri(uint256 id) public view override returns (string memory) {
        string memory typeUri = _uris[id & _TYPE_MASK];
        if (bytes(typeUri).length == 0) {
            revert AllianceBadgesUnknownType(id);
        }
        return typeUri;
    }

    /// @dev See {IERC165-supportsInterface}.
    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return interfaceId == type(IAllianceBadges).interfaceId || super.supportsInterface(interfaceId);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    /// @dev The single balance hook. Blocked while paused; achievements may be minted but never leave their
    /// holder (neither transfer nor burn). Undefined ids read as kind 0 (Achievement), which is harmless:
    /// nobody holds them.
    function _update(
        address from,
        address to,
        uint256[] memory ids,
        uint256[] memory values
    ) internal override whenNotPaused {
        if (from != address(0)) {
            uint256 count = ids.length;
            for (uint256 i = 0; i < count; ++i) {
                uint256 id = ids[i];
                if (_types[id & _TYPE_MASK].kind == BadgeKind.Achievement) {
                    revert AllianceBadgesSoulbound(id);
                }
            }
        } else {
            _recordFirstHeld(to, ids);
        }
        super._update(from, to, ids, values);
    }

    /// @dev On a mint: the first unit of an achievement `to` receives starts its {heldSince} clock (polls fix
    /// eligibility with it). Collectibles move, so they keep no such clock.
    function _recordFirstHeld(address to, uint256[] memory ids) private {
        uint256 count = ids.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 id = ids[i];
            if (_types[id].kind == BadgeKind.Achievement && _types[id].brand != 0 && _heldSince[id][to] == 0) {
                _heldSince[id][to] = block.timestamp;
            }
        }
    }

    /// @dev Brand 0 means "no brand" in the directory, so a stored brand of 0 marks an undefined type.
    function _existingType(uint256 typeId) private view returns (BadgeType storage badge) {
        badge = _types[typeId];
        if (badge.brand == 0) {
            revert AllianceBadgesUnknownType(typeId);
        }
    }

    function _checkBrandActive(uint256 brand) private view {
        if (!_directory.isBrandActive(brand)) {
            revert AllianceBadgesBrandInactive(brand);
        }
    }

    /// @dev The tier the calendar leaves the member: its due reviews applied first, so a downgrade nobody
    /// applied yet counts (README "Reviews follow the calendar").
    function _checkTier(uint256 typeId, uint8 minTier, address member) private {
        if (minTier == 0) {
            return;
        }
        // slither-disable-next-line reentrancy-no-eth trusted immutable ledger: its review calls nothing back
        TierReviews.applyDue(IAllianceTierReviews(address(_directory)), member);
        uint8 tier = _directory.tierOf(member);
        if (tier < minTier) {
            revert AllianceBadgesTierTooLow(typeId, member, tier, minTier);
        }
    }

    /// @dev Counts issued units against the cap; an uncapped type is bounded only by the counter's width.
    function _recordMint(uint256 typeId, BadgeType storage badge, uint256 amount) private {
        _checkSupply(typeId, badge, amount);
        // Fits in uint64: minted + amount <= cap <= type(uint64).max.
        badge.minted = uint64(badge.minted + amount);
    }

    /// @dev Whether `amount` more units fit the cap beside those minted and those reserved for an issuer.
    function _checkSupply(uint256 typeId, BadgeType storage badge, uint256 amount) private view {
        uint256 minted = badge.minted;
        uint256 reserved = badge.reserved;
        uint256 cap = badge.maxSupply == 0 ? type(uint64).max : badge.maxSupply;
        // minted + reserved <= cap always holds, so the subtraction cannot underflow.
        if (amount > cap - minted - reserved) {
            revert AllianceBadgesSupplyExceeded(typeId, cap, minted, reserved, amount);
        }
    }

    /// @dev Consumes `amount` of the units reserved for an issuer (issued, or released).
    function _takeReserved(uint256 typeId, BadgeType storage badge, uint256 amount) private {
        uint256 reserved = badge.reserved;
        if (amount > reserved) {
            revert AllianceBadgesNotReserved(typeId, reserved, amount);
        }
        // amount <= reserved < 2^32.
        badge.reserved = uint32(reserved - amount);
    }
}
