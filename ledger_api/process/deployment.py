"""The deployment the gateway works on: its manifest checked against the node before anything
is signed (`check_deployment`), and the starter's wait for it (`contracts_when_ready`)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ledger_api.background.deployment_guard import DEPLOYMENT, deployment_mark
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.port import Chain
from ledger_api.db.campaign_models import ChainRule
from ledger_api.db.disk import first_line
from ledger_api.errors import (
    OPERATOR_ACTS_S,
    ChainUnavailable,
    DatabaseUnavailable,
    DeploymentMismatch,
    IndexNotReady,
)
from ledger_api.process.health import sender_reports

if TYPE_CHECKING:
    from ledger_api.db import Database
    from ledger_api.process.runtime import Runtime

log = logging.getLogger(__name__)


def check_deployment(contracts: Contracts, chain: Chain, db: Database | None = None) -> bool:
    """`IndexNotReady` unless the manifest's deployment is on the node: its chain id, and code
    at its ledger's address; and the database's (`bind_database`, given `db`). A manifest of
    another chain signed every transaction for that chain: a signer stalled for good on a
    cancel the node refused (a trial). False when the node does not answer (the sender waits
    for an answer: `contracts_when_ready`)."""
    try:
        node_chain = chain.chain_id
        code = chain.code_size(contracts.manifest.ledger.address)
        if node_chain == contracts.chain_id and code != 0 and db is not None:
            bind_database(db, contracts, chain)
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


def bind_database(db: Database, contracts: Contracts, chain: Chain) -> None:
    """The database belongs to one deployment: its chain id, ledger address and deployment
    block (number and hash), recorded by the first check and compared by every later one.
    `DeploymentMismatch` (503 `deployment_mismatch`) for another (a trial: a copy of a
    database started against another chain with the same chain id and addresses took that
    chain's blocks as forgotten ones, reopened and failed 46 confirmed operations and sent
    their brands signed `operation.failed` events).
    Raises `ChainUnavailable` when the node does not answer."""
    here = deployment_mark(contracts, chain)
    try:
        with db.write() as session:
            stored = session.get(ChainRule, DEPLOYMENT)
            if stored is None:
                session.add(ChainRule(key=DEPLOYMENT, value=here))
                return
            made_for = stored.value
    except IntegrityError:  # another process recorded it first (PostgreSQL): compare with it
        with db.read() as session:
            made_for = session.get_one(ChainRule, DEPLOYMENT).value
    if made_for != here:
        raise DeploymentMismatch(
            "the database (LEDGER_DATABASE_URL) was made for another deployment (chain id, "
            f"ledger, deployment block and its hash: {made_for}) than the manifest's on this "
            f"node ({here}): point LEDGER_DATABASE_URL at this deployment's database, or at a "
            "new one",
            retry_after_s=OPERATOR_ACTS_S,
        )


def refuse_another_deployments_database(runtime: Runtime) -> None:
    """`DeploymentMismatch` (503 `deployment_mismatch`, `Retry-After` 60 s) while this process,
    or the one that sends for it (`ledger work`, the sending HTTP worker), found the database
    made for another deployment (`bind_database`). Every authenticated route asks: a trial
    found a gateway on another deployment's database still accepting operations it could never
    send (202, queued for good) and answering reads from that deployment's index."""
    error = runtime.start_error
    if error is None and not runtime.is_sender and sender_reports(runtime.settings):
        report = runtime.cached_work_status()
        error = report.get("start_error") if report is not None else None
    prefix = f"{DeploymentMismatch.code}: "
    if error is not None and error.startswith(prefix):
        raise DeploymentMismatch(error[len(prefix) :], retry_after_s=OPERATOR_ACTS_S)


def contracts_when_ready(runtime: Runtime, stopping: threading.Event) -> Contracts | None:
    """The deployment, once its manifest exists and reads; None when the process stops first.
    While it waits, `runtime.start_error` says why (`/v1/health`: `degraded`, where a
    gateway with no manifest said `ok` with no sender and no indexer)."""
    while not stopping.is_set():
        try:
            contracts = runtime.contracts()
            if not runtime.contracts_checked:  # a trial's stopped node let another chain's in
                raise ChainUnavailable(
                    f"the node at {node_address(runtime.settings.rpc_url)} (LEDGER_RPC_URL) does "
                    "not answer, and the deployment manifest is checked against it before "
                    "anything is signed"
                )
        except (IndexNotReady, ChainUnavailable) as exc:
            if runtime.start_error is None:
                log.warning("%s; retrying every 2 s", exc.message)
            runtime.start_error = f"{exc.code}: {exc.message}"
            stopping.wait(2.0)
            continue
        except SQLAlchemyError as exc:  # the database away (a restart): asked again, not given up
            said = first_line(exc)
            if runtime.start_error is None:
                log.warning("the database does not answer (%s); retrying every 2 s", said)
            runtime.start_error = f"{DatabaseUnavailable.code}: {said}"
            stopping.wait(2.0)
            continue
        runtime.start_error = None
        return contracts
    return None


def node_address(url: str) -> str:
    """`scheme://host:port` of a node's URL: what an operator needs to find it, without the
    path or credentials a provider's URL may carry (an API key)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def start_reason(start_error: str) -> str:
    """The `queued_reason` of a sender that waits to start: `chain_unavailable` while the node
    does not answer, else `sender_unavailable`."""
    away = start_error.startswith(f"{ChainUnavailable.code}:")  # as `contracts_when_ready` says
    return ChainUnavailable.code if away else "sender_unavailable"
