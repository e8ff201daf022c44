// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferUSD
/// @notice TEST HELPER ONLY, never deployed outside tests: a 6-decimals token that burns 1% of
/// every transfer between two holders (mints and burns pay no fee), so the receiver gets less
/// than the amount sent. Used to check that the settlement vault credits what it received.
contract FeeOnTransferUSD is ERC20 {
    /// @notice The fee, in basis points of each transfer.
    uint256 public constant FEE_BPS = 100;

    constructor() ERC20("Fee-on-transfer USD", "fUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone may mint: this token exists only in tests.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * FEE_BPS / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
