// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAllianceDirectory} from "../interfaces/IAllianceDirectory.sol";
import {IAlliancePause} from "../interfaces/IAlliancePause.sol";
import {IAllianceTierReviews} from "../interfaces/IAllianceTierReviews.sol";

/// @title DirectoryStub
/// @notice TEST HELPER ONLY, never deployed outside tests: an {IAllianceDirectory} whose answers are set by
/// anyone, so the badge contracts can be tested without the ledger; it also stands in for the ledger's pause
/// and its tier reviews (none is ever due: a tier is what {setTierOf} set).
contract DirectoryStub is IAllianceDirectory, IAlliancePause, IAllianceTierReviews {
    /// @notice OpenZeppelin's pause error, as the ledger's `reviewTiers` reverts while paused.
    error EnforcedPause();

    bool private _paused;
    mapping(address signer => uint256 brand) private _brands;
    mapping(uint256 brand => bool) private _active;
    mapping(address member => uint8 tier) private _tiers;

    /// @notice Makes `signer` a key of `brand` (0 removes it).
    function setBrandOf(address signer, uint256 brand) external {
        _brands[signer] = brand;
    }

    /// @notice Activates or suspends `brand`.
    function setBrandActive(uint256 brand, bool active) external {
        _active[brand] = active;
    }

    /// @notice Sets the tier of `member`.
    function setTierOf(address member, uint8 tier) external {
        _tiers[member] = tier;
    }

    /// @notice Sets what {paused} answers (the ledger's pause, in the real system).
    function setPaused(bool paused_) external {
        _paused = paused_;
    }

    /// @inheritdoc IAlliancePause
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IAllianceTierReviews
    /// @dev Nothing is due; reverts while paused, as the ledger does.
    function reviewTiers(address[] calldata) external view {
        if (_paused) revert EnforcedPause();
    }

    /// @inheritdoc IAllianceDirectory
    function brandOf(address signer) external view returns (uint256) {
        return _brands[signer];
    }

    /// @inheritdoc IAllianceDirectory
    function isBrandActive(uint256 brand) external view returns (bool) {
        return _active[brand];
    }

    /// @inheritdoc IAllianceDirectory
    function tierOf(address member) external view returns (uint8) {
        return _tiers[member];
    }
}
