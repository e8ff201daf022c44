"""Contract wallets (ERC-1271) for tests: runtime code installed at a fresh address with
`anvil_setCode`, no deployment. A member whose address has code is asked
`isValidSignature(bytes32 hash, bytes signature)` by the contracts (OpenZeppelin's
`SignatureChecker`), which approve only the magic value `0x1626ba7e` left-aligned in the first
32-byte word of the answer."""

from __future__ import annotations

from eth_account import Account

from support.chain import Anvil
from support.gateway import Member

MAGIC = "1626ba7e"

#: answers every call with 32 zero bytes: approves nothing
REFUSES = "0x60206000f3"
#: reverts every call (revert(0, 0))
REVERTS = "0x60006000fd"
#: answers the magic value in 4 bytes only, short of the 32-byte word the checker reads
SHORT_MAGIC = f"0x63{MAGIC}60e01b60005260046000f3"
#: answers the magic value followed by a non-zero byte in the same word
DIRTY_MAGIC = f"0x7f{MAGIC}{'00' * 27}0160005260206000f3"


def owned_wallet_code(owner: str) -> str:
    """A wallet that approves a 65-byte signature (r, s, v) exactly when `ecrecover` of the
    hash gives `owner`, hand-assembled (no selector or length check: a test wallet):

        mem[0x00..0x80] = hash, v, r, s       calldata 0x04, byte 0 of 0xa4, 0x64, 0x84
        staticcall(gas, ecrecover (0x01), 0x00, 0x80, 0x80, 0x20)
        return (mload(0x80) == owner) * (0x1626ba7e << 224), 32 bytes
    """
    return (
        "0x"
        "600435600052"  # mstore(0x00, calldataload(0x04))  hash
        "60a43560001a602052"  # mstore(0x20, byte(0, calldataload(0xa4)))  v
        "606435604052"  # mstore(0x40, calldataload(0x64))  r
        "608435606052"  # mstore(0x60, calldataload(0x84))  s
        "602060806080600060015afa50"  # pop(staticcall(gas(), 1, 0x00, 0x80, 0x80, 0x20))
        "608051"  # mload(0x80): the recovered address, 0 when recovery failed
        f"73{owner[2:].lower()}14"  # eq(owner, recovered)
        f"63{MAGIC}60e01b02"  # mul(that, shl(224, magic))
        "60005260206000f3"  # mstore(0x00, that); return(0x00, 0x20)
    )


def install(anvil: Anvil, code: str) -> str:
    """A fresh address with `code` as its runtime code: a contract member."""
    wallet = str(Account.create().address)
    anvil.rpc("anvil_setCode", wallet, code)
    return wallet


def owned_wallet(anvil: Anvil) -> tuple[str, Member]:
    """A wallet (`owned_wallet_code`) and the owner whose signatures it approves."""
    owner = Member()
    return install(anvil, owned_wallet_code(owner.address)), owner
