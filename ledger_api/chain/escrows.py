"""Which addresses are AllianceAuctions' bid escrows, computed as the contract makes them.

A bid is the member's signed ledger `Gift` of points to its escrow for the auction
(`escrowOf(auctionId, bidder)`, an EIP-1167 clone made with CREATE2 at the first bid). The
same signature relayed as a plain gift (`POST /v1/gifts`) moves the points to the escrow
without the auction counting a bid: they stay there until `reclaim`, and the member's nonce
is spent, so the bid itself can no longer go through (a trial). The gateway refuses such a
gift (`Checks.gift_receiver`): a `to` that is an escrow already (its code is a clone of the
escrow implementation) or will be the member's escrow for an auction the index holds.

The implementation is the contract the AllianceAuctions constructor creates, the first
with its address as the creator (CREATE, nonce 1, EIP-161); its clones' addresses and code
follow OpenZeppelin 5's `Clones` (EIP-1167, EIP-1014).
"""

from __future__ import annotations

from functools import lru_cache

from eth_utils.crypto import keccak

# EIP-1167's minimal proxy around the implementation's 20 bytes: its creation code
# (OpenZeppelin `Clones`, 55 bytes) and the code it leaves (45 bytes)
_INIT_HEAD = bytes.fromhex("3d602d80600a3d3981f3363d3d373d3d3d363d73")
_CODE_HEAD = bytes.fromhex("363d3d373d3d3d363d73")
_TAIL = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


def _raw(address: str) -> bytes:
    return bytes.fromhex(address.removeprefix("0x"))


@lru_cache(maxsize=4)
def escrow_implementation(auctions: str) -> bytes:
    """The 20 bytes of the escrow implementation AllianceAuctions at `auctions` created:
    keccak256(rlp([auctions, 1]))[12:] (0xd6 0x94: a list of 22 bytes, a 20-byte string)."""
    return keccak(b"\xd6\x94" + _raw(auctions) + b"\x01")[12:]


@lru_cache(maxsize=4)
def _clone_code_hash(implementation: bytes) -> bytes:
    """keccak256 of a clone's creation code: one per deployment, not one per auction."""
    return keccak(_INIT_HEAD + implementation + _TAIL)


def predicted_escrow(auctions: str, implementation: bytes, auction_id: int, bidder: str) -> str:
    """`escrowOf(auction_id, bidder)`: CREATE2 by `auctions` with the salt
    keccak256(abi.encode(auction_id, bidder)) of the clone's creation code; lower-case hex."""
    salt = keccak(auction_id.to_bytes(32, "big") + bytes(12) + _raw(bidder))
    code_hash = _clone_code_hash(implementation)
    return "0x" + keccak(b"\xff" + _raw(auctions) + salt + code_hash)[12:].hex()


def is_escrow_code(code: bytes, implementation: bytes) -> bool:
    """Whether `code` is a clone of the escrow implementation (an escrow some bid made)."""
    return code == _CODE_HEAD + implementation + _TAIL
