// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Raw storage reads, for lens contracts that decode a contract's state off its hot path.
/// @dev As Uniswap v4-core's `IExtsload`: the slot layout is read with {LedgerState}'s
/// constants, and each packed word with its value type's library.
interface IExtsload {
    /// @notice The word stored at `slot`.
    function extsload(bytes32 slot) external view returns (bytes32 value);

    /// @notice `nSlots` consecutive words starting at `startSlot`.
    function extsload(bytes32 startSlot, uint256 nSlots) external view returns (bytes32[] memory values);
}
