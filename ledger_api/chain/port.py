"""The narrow port through which the gateway reaches the chain.

Implementations raise domain errors only: `ChainUnavailable` when the node
cannot be reached (time-outs included), the `LedgerError` a revert stands for
when a call or gas estimate reverts, and `BroadcastRejected` when the node
refuses a signed transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

from ledger_api.chain.abi import Log

BlockTag = int | Literal["latest", "pending"]


@dataclass(frozen=True, slots=True)
class Block:
    number: int
    hash: str
    timestamp: int
    base_fee_wei: int


@dataclass(frozen=True, slots=True)
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    logs: tuple[Log, ...]


@dataclass(frozen=True, slots=True)
class TxRef:
    """A transaction seen in a block: enough to recognise our own or a stranger's."""

    tx_hash: str
    sender: str
    nonce: int


class RejectReason(StrEnum):
    NONCE_TOO_LOW = "nonce_too_low"
    UNDERPRICED = (
        "underpriced"  # a replacement needs a higher fee, or the fee is under the base fee
    )
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID = "invalid"  # will never be accepted (gas limit, malformed, ...)


class BroadcastRejected(Exception):
    """The node refused a signed transaction."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class Chain(Protocol):
    """What the gateway needs from an EVM node."""

    @property
    def chain_id(self) -> int: ...

    def block(self, tag: BlockTag = "latest") -> Block | None: ...

    def blocks(self, tags: Sequence[BlockTag]) -> list[Block | None]:
        """Several blocks in one round trip (a JSON-RPC batch), in the order of `tags`;
        None for a block the node does not hold."""
        ...

    def block_number(self) -> int: ...

    def nonce(self, address: str, tag: BlockTag = "latest") -> int: ...

    def balance(self, address: str) -> int: ...

    def code_size(self, address: str) -> int: ...

    def code(self, address: str) -> bytes: ...

    def priority_fee(self) -> int: ...

    def call(
        self, to: str, data: bytes, *, sender: str | None = None, tag: BlockTag = "latest"
    ) -> bytes:
        """`eth_call`; raises the domain error of a revert."""
        ...

    def estimate_gas(self, sender: str, to: str, data: bytes, value: int = 0) -> int:
        """The gas (units) the transaction needs, before the sender's margin; raises the domain
        error of a revert."""
        ...

    def send_raw(self, raw: bytes) -> None:
        """Broadcasts; succeeds when the node accepted or already knew the transaction."""
        ...

    def receipts(self, tx_hashes: Sequence[str]) -> dict[str, Receipt | None]: ...

    def transaction_known(self, tx_hash: str) -> bool:
        """Whether the node knows the transaction (pending or mined)."""
        ...

    def block_transactions(self, number: int) -> list[TxRef]: ...

    def logs(self, addresses: Sequence[str], from_block: int, to_block: int) -> list[Log]: ...

    def block_timestamps(self, numbers: Sequence[int]) -> dict[int, int]: ...
