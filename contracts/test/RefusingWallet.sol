// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/// @title RefusingWallet
/// @notice TEST HELPER ONLY, never deployed outside tests: a member's smart-contract wallet that forwards
/// its owner's calls and accepts ERC-1155 units (OpenZeppelin's {ERC1155Holder}) until its owner changes its
/// mind: then its `onERC1155Received` reverts ({Mode.Revert}) or burns all the gas it is given ({Mode.Burn}).
/// Used to check that a winner's wallet cannot block an auction's settlement.
contract RefusingWallet is ERC1155Holder {
    /// @notice What the wallet does with an ERC-1155 unit sent to it.
    enum Mode {
        Accept,
        Revert,
        Burn
    }

    /// @notice The caller is not the wallet's owner.
    error RefusingWalletNotOwner(address caller);
    /// @notice The wallet refuses ERC-1155 units.
    error RefusingWalletRefused();

    address private immutable _owner;
    Mode private _mode;

    constructor() {
        _owner = msg.sender;
    }

    /// @notice Sets what the wallet does with ERC-1155 units from now on. Only its owner.
    function setMode(Mode mode) external {
        _checkOwner();
        _mode = mode;
    }

    /// @notice Calls `target` with `data` as the wallet and returns its answer (its revert bubbles up).
    function exec(address target, bytes calldata data) external returns (bytes memory) {
        _checkOwner();
        return Address.functionCall(target, data);
    }

    /// @inheritdoc ERC1155Holder
    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes memory data)
        public
        override
        returns (bytes4)
    {
        _refuseUnlessAccepting();
        return super.onERC1155Received(operator, from, id, value, data);
    }

    /// @inheritdoc ERC1155Holder
    function onERC1155BatchReceived(
        address operator,
        address from,
        uint256[] memory ids,
        uint256[] memory values,
        bytes memory data
    ) public override returns (bytes4) {
        _refuseUnlessAccepting();
        return super.onERC1155BatchReceived(operator, from, ids, values, data);
    }

    function _refuseUnlessAccepting() private {
        Mode mode = _mode;
        if (mode == Mode.Revert) revert RefusingWalletRefused();
        if (mode == Mode.Burn) {
            // burns every gas unit it was given, as a hostile hook would
            while (true) {
                _mode = Mode.Burn;
            }
        }
    }

    function _checkOwner() private view {
        if (msg.sender != _owner) revert RefusingWalletNotOwner(msg.sender);
    }
}
