// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IExtsload} from "./interfaces/IExtsload.sol";

/// @title Exposes the contract's storage words to lens contracts (read-only).
/// @dev Every slot is public on chain anyway (`eth_getStorageAt`); this makes it readable from
/// other contracts' views, so read-only views live outside the size-bounded core.
abstract contract Extsload is IExtsload {
    /// @inheritdoc IExtsload
    function extsload(bytes32 slot) external view returns (bytes32 value) {
        assembly ("memory-safe") {
            value := sload(slot)
        }
    }

    /// @inheritdoc IExtsload
    function extsload(bytes32 startSlot, uint256 nSlots) external view returns (bytes32[] memory values) {
        values = new bytes32[](nSlots);
        for (uint256 i; i < nSlots; ++i) {
            bytes32 value;
            assembly ("memory-safe") {
                value := sload(add(startSlot, i))
            }
            values[i] = value;
        }
    }
}
