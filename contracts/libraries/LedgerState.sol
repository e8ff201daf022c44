// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IExtsload} from "../interfaces/IExtsload.sol";
import {BrandConfig} from "../types/BrandConfig.sol";
import {LedgerGlobals} from "../types/LedgerGlobals.sol";
import {MemberWord} from "../types/MemberWord.sol";
import {MintDay} from "../types/MintDay.sol";
import {PendingWord} from "../types/PendingWord.sol";

/// @title Reads {AllianceLedger}'s storage through {IExtsload}, as v4-core's `StateLibrary`.
/// @dev The slot constants are the ledger's storage layout (inherited OpenZeppelin state
/// first, then the ledger's own variables in declaration order). `tests/contracts/test_storage_layout.py`
/// compares them with the compiler's layout, so a moved variable fails a test instead of
/// silently misreading state. Packed words come back as their value types; their libraries
/// name the fields.
library LedgerState {
    uint256 internal constant BRAND_COUNT_SLOT = 9;
    uint256 internal constant BRANDS_SLOT = 10;
    uint256 internal constant REDEEMED_SLOT = 11;
    uint256 internal constant BRAND_LIVE_SLOT = 12;
    uint256 internal constant BRAND_OF_SIGNER_SLOT = 13;
    uint256 internal constant USED_OPS_SLOT = 14;
    uint256 internal constant LOTS_SLOT = 15;
    uint256 internal constant MEMBERS_SLOT = 16;
    uint256 internal constant GLOBALS_SLOT = 17;
    uint256 internal constant TIER_GIFT_SLOT = 18;
    uint256 internal constant POSITIONS_SLOT = 19;
    uint256 internal constant CHARITY_POOL_SLOT = 20;
    uint256 internal constant MINT_DAYS_SLOT = 21;
    uint256 internal constant GIFT_SHARES_SLOT = 22;
    uint256 internal constant PENDING_SLOT = 23;
    uint256 internal constant REVERSED_SLOT = 24;
    uint256 internal constant NEXT_VALUE_SLOT = 25;
    uint256 internal constant MONTH_VALUES_SLOT = 26;
    uint256 internal constant GIFT_LOCK_MONTHS_SLOT = 27;

    /// @notice How many brands were onboarded.
    function brandCount(IExtsload ledger) internal view returns (uint256) {
        return _load(ledger, bytes32(BRAND_COUNT_SLOT));
    }

    /// @notice The brand's configuration word (zero for an unknown brand).
    function brand(IExtsload ledger, uint256 id) internal view returns (BrandConfig) {
        return BrandConfig.wrap(_load(ledger, _mappingSlot(bytes32(id), BRANDS_SLOT)));
    }

    /// @notice Points of `id` redeemed so far.
    function redeemed(IExtsload ledger, uint256 id) internal view returns (uint256) {
        return _load(ledger, _mappingSlot(bytes32(id), REDEEMED_SLOT));
    }

    /// @notice The brand's liability ring: 4 words of 16 monthly 64-bit positions (see {LotMath}).
    function brandLive(IExtsload ledger, uint256 id) internal view returns (uint256[4] memory ring) {
        bytes32[] memory words = ledger.extsload(_mappingSlot(bytes32(id), BRAND_LIVE_SLOT), 4);
        for (uint256 i; i < 4; ++i) {
            ring[i] = uint256(words[i]);
        }
    }

    /// @notice The member's 7 lot words of brand `id` (see {LotMath}).
    function lots(IExtsload ledger, address member, uint256 id) internal view returns (uint256[7] memory slots) {
        bytes32 outer = _mappingSlot(bytes32(uint256(uint160(member))), LOTS_SLOT);
        bytes32[] memory words = ledger.extsload(keccak256(abi.encode(id, outer)), 7);
        for (uint256 i; i < 7; ++i) {
            slots[i] = uint256(words[i]);
        }
    }

    /// @notice The member's tier and counters word.
    function member(IExtsload ledger, address account) internal view returns (MemberWord) {
        return MemberWord.wrap(_load(ledger, _mappingSlot(bytes32(uint256(uint160(account))), MEMBERS_SLOT)));
    }

    /// @notice The tier rules and pause flag word.
    function globals(IExtsload ledger) internal view returns (LedgerGlobals) {
        return LedgerGlobals.wrap(_load(ledger, bytes32(GLOBALS_SLOT)));
    }

    /// @notice Tier `tier`'s upgrade gift points.
    function tierGift(IExtsload ledger, uint256 tier) internal view returns (uint256) {
        return _load(ledger, _mappingSlot(bytes32(tier), TIER_GIFT_SLOT));
    }

    /// @notice What `brandA` owes `brandB` net, in micro-USD (negative: B owes A).
    function position(IExtsload ledger, uint256 brandA, uint256 brandB) internal view returns (int256) {
        if (brandA == brandB) return 0;
        (uint256 lo, uint256 hi) = brandA < brandB ? (brandA, brandB) : (brandB, brandA);
        int256 stored = int256(_load(ledger, _mappingSlot(bytes32((lo << 128) | hi), POSITIONS_SLOT)));
        return brandA < brandB ? stored : -stored;
    }

    /// @notice The brand's daily mint cap and what it minted on its latest UTC day.
    function mintDay(IExtsload ledger, uint256 id) internal view returns (MintDay) {
        return MintDay.wrap(_load(ledger, _mappingSlot(bytes32(id), MINT_DAYS_SLOT)));
    }

    /// @notice The member's pending positions of brand `id` (see {PendingWord}).
    function pending(IExtsload ledger, address account, uint256 id) internal view returns (PendingWord) {
        bytes32 outer = _mappingSlot(bytes32(uint256(uint160(account))), PENDING_SLOT);
        return PendingWord.wrap(_load(ledger, keccak256(abi.encode(id, outer))));
    }

    /// @notice Points of `id` reversed so far (returned orders).
    function reversed(IExtsload ledger, uint256 id) internal view returns (uint256) {
        return _load(ledger, _mappingSlot(bytes32(id), REVERSED_SLOT));
    }

    /// @notice The brand's scheduled point value, `effectiveMonth << 32 | valueMicroUsd` (0: none).
    function nextValue(IExtsload ledger, uint256 id) internal view returns (uint256) {
        return _load(ledger, _mappingSlot(bytes32(id), NEXT_VALUE_SLOT));
    }

    /// @notice The brand's value ring: 2 words of 16 monthly 32-bit values (see {LotMath}).
    function monthValues(IExtsload ledger, uint256 id) internal view returns (uint256[2] memory ring) {
        bytes32[] memory words = ledger.extsload(_mappingSlot(bytes32(id), MONTH_VALUES_SLOT), 2);
        ring[0] = uint256(words[0]);
        ring[1] = uint256(words[1]);
    }

    function _load(IExtsload ledger, bytes32 slot) private view returns (uint256) {
        return uint256(ledger.extsload(slot));
    }

    /// @dev Solidity's slot of `mapping[key]` for a mapping at `slot`.
    function _mappingSlot(bytes32 key, uint256 slot) private pure returns (bytes32) {
        return keccak256(abi.encode(key, slot));
    }
}
