// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC6909Metadata} from "@openzeppelin/contracts/token/ERC6909/extensions/ERC6909Metadata.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IAllianceDirectory} from "./interfaces/IAllianceDirectory.sol";
import {IAllianceLedger} from "./interfaces/IAllianceLedger.sol";
import {LotMath} from "./libraries/LotMath.sol";
import {BrandConfig} from "./types/BrandConfig.sol";
import {LedgerGlobals, LedgerGlobalsLibrary} from "./types/LedgerGlobals.sol";
import {MemberWord} from "./types/MemberWord.sol";
import {MintDay} from "./types/MintDay.sol";
import {LockMonths} from "./types/LockMonths.sol";
import {PendingWord} from "./types/PendingWord.sol";

/// @title LedgerStorage: the storage of {AllianceLedger}, shared with {AllianceLedgerAdmin}.
/// @notice Holds every state variable of the ledger and the internal functions both contracts use.
/// @dev {AllianceLedger} runs the brand administration (onboarding, rules, caps, values, return
/// windows, signers) by delegatecall into {AllianceLedgerAdmin}, which it deploys in its
/// constructor: both inherit this contract, so they share one storage layout by construction,
/// and the administration's code stays out of the ledger's bytecode (EIP-170). Add new
/// variables at the end (the lens reads them at the slots {LedgerState} names).
abstract contract LedgerStorage is IAllianceLedger, ERC6909Metadata, AccessControl, EIP712, Nonces, Pausable {
    using SafeCast for uint256;

    /// @notice Largest purchase amount (cents) or point amount a single operation may carry.
    uint256 public constant MAX_AMOUNT = 1e12;
    /// @notice The top tier (Diamond).
    uint8 public constant MAX_TIER = 3;
    /// @notice A new brand's daily mint cap, in points per UTC day (1,000,000 USD at the reference
    /// value of 100 points = 1 USD); the admin sets each brand's own with {setDailyMintCap}.
    uint256 public constant DEFAULT_DAILY_MINT_CAP = 100_000_000;
    /// @notice Highest earn multiplier (10x), in percent: the ceiling of the admin's cap
    /// ({setMaxMultiplier}) and the cap while the admin has set none.
    uint256 public constant MAX_MULTIPLIER_PCT = LedgerGlobalsLibrary.DEFAULT_MAX_MULTIPLIER_PCT;
    /// @notice Longest return window a brand may have, in days.
    uint256 public constant MAX_RETURN_WINDOW_DAYS = 90;
    /// @dev Bits of a member's word that mark the brands involved in its quarter: brand b sets
    /// bit (b - 1) % 63, exact for the first 63 brands (the sources speak of 12 to 20), a filter
    /// beyond (each part carries its quarter, so a shared bit never mixes brands).
    uint256 internal constant BRAND_BITS = 63;
    /// @dev The reference value of a point, micro-USD (100 points = 1 USD, DOMAIN.md): a tier
    /// gift is set in points of this value, and each paying brand pays its part of that value in
    /// its own points ({AllianceLedger-_payGift}).
    uint256 internal constant REFERENCE_POINT_VALUE = 10_000;

    struct MemberSlot {
        MemberWord word;
    }

    // Storage layout: {LedgerState} names each variable's slot for the lens; a test compares
    // it with the compiler's layout. Add new variables at the end.
    // slither-disable-next-line uninitialized-state written by {AllianceLedgerAdmin} (onboardBrand) by delegatecall
    uint256 internal _brandCount;
    /// @dev Read on every earn and written back once per call.
    mapping(uint256 brand => BrandConfig) internal _brands;
    mapping(uint256 brand => uint256) internal _redeemed;
    /// @dev Points still unspent per brand and earn month before its latestMonth: 16 positions
    /// (month % 16) of 64 bits. The latest month itself is counted in the config slot.
    // slither-disable-next-line uninitialized-state written through storage pointers by {LotMath} (addBrandLive)
    mapping(uint256 brand => uint256[4]) internal _brandLive;
    mapping(address signer => uint256 brand) internal _brandOfSigner;
    mapping(uint256 brand => mapping(uint256 word => uint256 bits)) internal _usedOps;

    /// @dev Per member and brand: 14 lot positions (month % 14), two 128-bit lots per slot, each
    /// with the brand's part of the member's tier gifts for its month ({LotMath}).
    mapping(address member => mapping(uint256 brand => uint256[7])) internal _lots;
    /// @dev A one-field struct rather than the bare word so that the earn path reads and writes
    /// it through one storage pointer (one slot computation); the layout is {MemberWord}'s.
    mapping(address member => MemberSlot) internal _members;
    /// @dev Read on every earn, so it holds the tier rules and the pause flag (see {paused}).
    LedgerGlobals internal _globals;
    // slither-disable-next-line uninitialized-state written by {AllianceLedgerAdmin} (setTierRule) by delegatecall
    mapping(uint8 tier => uint256 points) internal _tierGift;

    /// @dev Signed net position per brand pair (lo, hi): positive means lo owes hi, in micro-USD.
    mapping(uint256 pair => int256) internal _positions;
    address internal _charityPool;
    /// @dev Per brand: its daily mint cap and what it minted on its latest UTC day.
    mapping(uint256 brand => MintDay) internal _mintDays;
    /// @dev Per member, what each brand paid under lock of the tier gifts of each quarter, and the
    /// quarter's record, under `quarter << 128 | brand` (brand 0: the record); see {GiftShares}.
    /// Written at an upgrade while a counted purchase is pending and when such a quarter closes;
    /// read by a reversal of that quarter's purchases.
    /// (The slot held the brands' parts until issue 15 moved them into the lots.)
    mapping(address member => mapping(uint256 key => uint256)) internal _giftShares;
    /// @dev A purchase's points wait here (a lock on the member's lots) during the brand's return window.
    mapping(address member => mapping(uint256 brand => PendingWord)) internal _pending;
    mapping(uint256 brand => uint256) internal _reversed;
    /// @dev Per brand: a published value not yet in force, `effectiveMonth << 32 | valueMicroUsd`
    /// (0: none). It applies to points issued from `effectiveMonth` on (see {_valueFor}).
    mapping(uint256 brand => uint256) internal _nextValue;
    /// @dev Per brand: the value (micro-USD) of the points issued in each month, 16 positions
    /// (month % 16) of 32 bits, written when a month first receives points (see {LotMath}).
    mapping(uint256 brand => uint256[2]) internal _monthValues;
    /// @dev Per member and brand: the earn months of the tier-gift lock's points ({LockMonths}),
    /// written when a share is locked or cancelled, read by a spend only while a lock runs.
    mapping(address member => mapping(uint256 brand => LockMonths)) internal _giftLockMonths;

    constructor() EIP712("AllianceLedger", "1") {}

    /// @dev Takes what left the members' lots (`taken`, index 0 = month - 12) off the brand's liability.
    function _debitBrand(uint256 brand, BrandConfig cfg, uint256 month, uint256[13] memory taken) internal {
        // Points of the brand's latest month are counted in its config slot (taken[] index 12 - age).
        uint256 latestMonth = cfg.latestMonth();
        uint256 latestIndex = latestMonth + 12 >= month ? latestMonth + 12 - month : 13;
        if (latestIndex < 13 && taken[latestIndex] != 0) {
            // Checked: the brand's latest month holds at least what its members' lots of it hold.
            _brands[brand] = cfg.setLatestMonthLive(cfg.latestMonthLive() - taken[latestIndex]);
            taken[latestIndex] = 0;
        }
        LotMath.subtractBrandLive(_brandLive[brand], month, taken);
    }

    /// @dev `cfg` with `amount` more points issued in `month` (the brand's latest month).
    function _creditBrand(uint256 brand, BrandConfig cfg, uint256 month, uint256 amount)
        internal
        returns (BrandConfig)
    {
        uint256 latestMonth = cfg.latestMonth();
        uint256 latestLive = cfg.latestMonthLive();
        if (latestMonth != month) {
            // A new month: the previous latest month moves to the ring, whose reused positions are cleared.
            uint256[4] storage ring = _brandLive[brand];
            LotMath.clearBrandMonths(ring, latestMonth, month);
            if (latestLive != 0 && month - latestMonth < 16) {
                LotMath.addBrandLive(ring, latestMonth, latestLive);
            }
            // The new month's points take the value in force now, kept for them in the value ring.
            uint256 value = _valueFor(brand, cfg, month);
            if (value != cfg.valueMicroUsd()) {
                cfg = cfg.setValueMicroUsd(value);
                delete _nextValue[brand];
            }
            LotMath.setMonthValue(_monthValues[brand], month, value);
            cfg = cfg.setLatestMonth(uint16(month));
            latestLive = 0;
        }
        return cfg.setLatestMonthLive((latestLive + amount).toUint56()).setIssued((cfg.issued() + amount).toUint96());
    }

    /// @dev The value of the points `brand` issues in `month`, its latest month or a later one:
    /// the scheduled value once `month` reaches its effective month, else the config's (the
    /// value of the latest month's points).
    function _valueFor(uint256 brand, BrandConfig cfg, uint256 month) internal view returns (uint256) {
        // slither-disable-next-line incorrect-equality month indexes are exact by design (not a balance)
        if (cfg.latestMonth() == month) return cfg.valueMicroUsd();
        uint256 next = _nextValue[brand];
        return next != 0 && next >> 32 <= month ? next & 0xffffffff : cfg.valueMicroUsd();
    }

    function _authorizeSigner(uint256 brand, address signer) internal {
        if (signer == address(0)) revert LedgerInvalidMember(signer);
        uint256 current = _brandOfSigner[signer];
        if (current != 0) revert LedgerSignerTaken(signer, current);
        _brandOfSigner[signer] = brand;
        emit BrandSignerChanged(brand, signer, true);
    }

    function _requireBrand(uint256 brand) internal view returns (BrandConfig cfg) {
        cfg = _brands[brand];
        if (!cfg.exists()) revert LedgerUnknownBrand(brand);
    }

    function _configured(TierRule memory r) internal pure returns (bool) {
        return r.spendCents != 0 || r.orders != 0 || r.engagements != 0;
    }

    function _ruleAtMost(TierRule memory lower, TierRule memory upper) internal pure returns (bool) {
        return lower.spendCents <= upper.spendCents && lower.orders <= upper.orders
            && lower.engagements <= upper.engagements;
    }

    function _pause() internal override whenNotPaused {
        _globals = _globals.setPaused(true);
        emit Paused(_msgSender());
    }

    function _unpause() internal override whenPaused {
        _globals = _globals.setPaused(false);
        emit Unpaused(_msgSender());
    }

    function _setSystem(address account, bool isSystem) internal {
        MemberSlot storage slot = _members[account];
        slot.word = slot.word.setSystem(isSystem);
        emit SystemAddressChanged(account, isSystem);
    }

    /// @inheritdoc IAllianceDirectory
    function brandOf(address signer) external view returns (uint256) {
        return _brandOfSigner[signer];
    }

    /// @inheritdoc IAllianceDirectory
    function isBrandActive(uint256 brand) public view returns (bool) {
        BrandConfig cfg = _brands[brand];
        return cfg.exists() && !cfg.suspended();
    }

    /// @inheritdoc IAllianceDirectory
    function tierOf(address member) external view returns (uint8) {
        return uint8(_members[member].word.tier());
    }


    /// @inheritdoc Pausable
    /// @dev The flag shares the tier-rule word that every earn reads anyway; Pausable's own
    /// storage stays unused ({_pause} and {_unpause} are overridden to match).
    function paused() public view override returns (bool) {
        return _globals.paused();
    }

    /// @inheritdoc AccessControl
    function supportsInterface(bytes4 interfaceId) public view override(ERC6909Metadata, AccessControl) returns (bool) {
        return ERC6909Metadata.supportsInterface(interfaceId) || AccessControl.supportsInterface(interfaceId);
    }
}
