// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A 6-decimals stand-in for a USD stablecoin on local chains and in tests,
/// also the anchor of the gas report (OpenZeppelin ERC-20 mint and transfer).
contract TestUSD is ERC20 {
    constructor() ERC20("Test USD", "tUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone may mint: this token exists only on test networks.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
