// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {IERC6909} from "@openzeppelin/contracts/interfaces/IERC6909.sol";

import {IAllianceDirectory} from "./IAllianceDirectory.sol";
import {IAllianceLedger} from "./IAllianceLedger.sol";
import {IAllianceTierReviews} from "./IAllianceTierReviews.sol";

/// @title What the auctions and their escrows use of the alliance ledger.
/// @notice The ledger's ERC-6909 moves (lots keep their earn month), its EIP-712 domain (EIP-5267), its
/// signed gift and its redemption, the signature nonces, the directory (brands, signers, tiers) and the tier
/// reviews (a bidder's tier is judged after applying its due reviews, see {IAllianceTierReviews}).
interface IAuctionLedger is IERC6909, IERC5267, IAllianceDirectory, IAllianceTierReviews {
    /// @notice Gifts points on the member's EIP-712 signature (see AllianceLedger.giftWithSig).
    function giftWithSig(IAllianceLedger.Gift calldata gift, bytes calldata signature) external;

    /// @notice Redeems the caller's `brand` points at `brand` itself (see AllianceLedger.redeem).
    function redeem(uint256 brand, uint256 atBrand, uint256 amount, bytes32 orderRef)
        external
        returns (uint256 valueMicroUsd);

    /// @notice The next signature nonce of `owner`.
    function nonces(address owner) external view returns (uint256);
}
