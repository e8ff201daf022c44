// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

import {IAllianceAuctions} from "./interfaces/IAllianceAuctions.sol";
import {IAuctionLedger} from "./interfaces/IAuctionLedger.sol";

/// @title AuctionEscrow
/// @notice Holds one bidder's points for one auction: an ordinary ledger holder, so lots keep their earn month.
/// @dev Deployed once by {AllianceAuctions} as the implementation of its OpenZeppelin `Clones` minimal proxies
/// (one per auction and bidder); the immutables live in this code, so every clone shares them. Only the
/// auctions contract moves what a clone holds; a clone consents to a ledger `redeemWithSig` through ERC-1271
/// exactly when the auctions contract approves that redemption ({IAllianceAuctions-approvesRedemption}).
contract AuctionEscrow is IERC1271 {
    IAllianceAuctions private immutable _auctions;
    IAuctionLedger private immutable _ledger;

    /// @param auctions The auctions contract, the only caller of {transfer} and {redeem}.
    /// @param ledger_ The alliance ledger.
    constructor(IAllianceAuctions auctions, IAuctionLedger ledger_) {
        _auctions = auctions;
        _ledger = ledger_;
    }

    modifier onlyAuctions() {
        _checkAuctions();
        _;
    }

    /// @notice Sends `amount` points of `brand` to `to` (an outbid, cancelled or reclaimed bid returning).
    /// @dev Requirements: the caller is the auctions contract ({IAllianceAuctions-AuctionsEscrowUnauthorized}).
    function transfer(address to, uint256 brand, uint256 amount) external onlyAuctions {
        // slither-disable-next-line unused-return ERC-6909 transfer returns true or reverts
        _ledger.transfer(to, brand, amount);
    }

    /// @notice Redeems `amount` points of `brand` at `brand` (a winning bid in the auctioning brand's points).
    /// @dev Requirements: the caller is the auctions contract.
    function redeem(uint256 brand, uint256 amount, bytes32 orderRef) external onlyAuctions {
        // slither-disable-next-line unused-return the redeemed value is in the ledger's PointsRedeemed event
        _ledger.redeem(brand, brand, amount, orderRef);
    }

    /// @inheritdoc IERC1271
    /// @dev Valid exactly when the auctions contract approves the redemption `hash` for this escrow.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        return _auctions.approvesRedemption(hash, signature) ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    function _checkAuctions() private view {
        if (msg.sender != address(_auctions)) revert IAllianceAuctions.AuctionsEscrowUnauthorized(msg.sender);
    }
}
