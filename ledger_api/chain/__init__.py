"""The chain boundary: the `Chain` port, its web3 adapter, ABI codecs and signing."""

from ledger_api.chain.contracts import Call, Contracts, EarnOpArgs
from ledger_api.chain.manifest import Manifest, load_manifest
from ledger_api.chain.port import BroadcastRejected, Chain, Receipt, RejectReason
from ledger_api.chain.web3_adapter import Web3Chain

__all__ = [
    "BroadcastRejected",
    "Call",
    "Chain",
    "Contracts",
    "EarnOpArgs",
    "Manifest",
    "Receipt",
    "RejectReason",
    "Web3Chain",
    "load_manifest",
]
