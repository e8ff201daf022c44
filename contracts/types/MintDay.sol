// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A brand's daily mint cap and what it minted on its latest UTC day, one storage word
/// read once per earn call.
/// @dev Layout, from the low-order bits: day 32 (days since 1970-01-01 UTC) | minted 112 | cap 112.
/// `minted` counts the points the brand issued on `day`: its operations' points and the tier
/// gifts it paid. A word whose `day` is not today counts as nothing minted today.
type MintDay is uint256;

using MintDayLibrary for MintDay global;

/// @title Named fields of a {MintDay} word.
library MintDayLibrary {
    uint256 internal constant DAY_OFFSET = 0;
    uint256 internal constant MINTED_OFFSET = 32;
    uint256 internal constant CAP_OFFSET = 144;
    uint256 internal constant MASK_32 = 0xffffffff;
    uint256 internal constant MASK_112 = (uint256(1) << 112) - 1;

    function day(MintDay self) internal pure returns (uint256) {
        return MintDay.unwrap(self) & MASK_32;
    }

    function minted(MintDay self) internal pure returns (uint256) {
        return (MintDay.unwrap(self) >> MINTED_OFFSET) & MASK_112;
    }

    function cap(MintDay self) internal pure returns (uint256) {
        return (MintDay.unwrap(self) >> CAP_OFFSET) & MASK_112;
    }

    /// @notice Points minted on `today` (0 when the word is of an earlier day).
    function mintedOn(MintDay self, uint256 today) internal pure returns (uint256) {
        return day(self) == today ? minted(self) : 0;
    }

    /// @notice The word for `today` with `mintedToday` minted; the cap is kept.
    /// @dev `mintedToday` must fit 112 bits (callers use SafeCast).
    function setMinted(MintDay self, uint256 today, uint256 mintedToday) internal pure returns (MintDay) {
        return MintDay.wrap(
            (MintDay.unwrap(self) & (MASK_112 << CAP_OFFSET)) | (today & MASK_32) | (mintedToday << MINTED_OFFSET)
        );
    }

    function setCap(MintDay self, uint256 value) internal pure returns (MintDay) {
        return MintDay.wrap((MintDay.unwrap(self) & ~(MASK_112 << CAP_OFFSET)) | ((value & MASK_112) << CAP_OFFSET));
    }
}
