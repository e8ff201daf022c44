"""The deployment the gateway works on: its manifest checked against the node before anything
is signed (`check_deployment`), and the starter's wait for it (`contracts_when_ready`)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ledger_api.chain.contracts import Contracts
from ledger_api.chain.port import Chain
from ledger_api.errors import OPERATOR_ACTS_S, ChainUnavailable, IndexNotReady

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

log = logging.getLogger(__name__)


def check_deployment(contracts: Contracts, chain: Chain) -> bool:
    """`IndexNotReady` unless the manifest's deployment is on the node: its chain id, and code
    at its ledger's address. A manifest of another chain signed every transaction for that
    chain: a signer stalled for good on a cancel the node refused (a trial). False when the
    node does not answer (the sender waits for an answer: `contracts_when_ready`)."""
    try:
        node_chain = chain.chain_id
        code = chain.code_size(contracts.manifest.ledger.address)
    except ChainUnavailable:
        return False
    if node_chain != contracts.chain_id:
        raise IndexNotReady(
            f"the deployment manifest is of chain {contracts.chain_id}, the node at "
            f"LEDGER_RPC_URL of chain {node_chain}: deploy to this node, or point at the other",
            retry_after_s=OPERATOR_ACTS_S,
        )
    if code == 0:
        raise IndexNotReady(
            f"no contract at the manifest's {contracts.manifest.ledger.name} address on the "
            "node (a chain started afresh?): deploy the contracts again",
            retry_after_s=OPERATOR_ACTS_S,
        )
    return True


def contracts_when_ready(runtime: Runtime, stopping: threading.Event) -> Contracts | None:
    """The deployment, once its manifest exists and reads; None when the process stops first.
    While it waits, `runtime.start_error` says why (`/v1/health`: `degraded`, where a
    gateway with no manifest said `ok` with no sender and no indexer)."""
    while not stopping.is_set():
        try:
            contracts = runtime.contracts()
            if not runtime.contracts_checked:  # a trial's stopped node let another chain's in
                raise ChainUnavailable(
                    "the node does not answer, and the deployment manifest is checked against "
                    "it before anything is signed"
                )
        except (IndexNotReady, ChainUnavailable) as exc:
            if runtime.start_error is None:
                log.warning("%s; retrying every 2 s", exc.message)
            runtime.start_error = f"{exc.code}: {exc.message}"
            stopping.wait(2.0)
            continue
        runtime.start_error = None
        return contracts
    return None


def start_reason(start_error: str) -> str:
    """The `queued_reason` of a sender that waits to start: `chain_unavailable` while the node
    does not answer, else `sender_unavailable`."""
    away = start_error.startswith(f"{ChainUnavailable.code}:")  # as `contracts_when_ready` says
    return ChainUnavailable.code if away else "sender_unavailable"
