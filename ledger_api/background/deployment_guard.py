"""Whether the node still holds the deployment the gateway works on, asked while it runs.

At start the manifest is checked against the node, and the database bound to the deployment
(`process.deployment.check_deployment`, `bind_database`). A node can change under a running
gateway: restarted without its state, or another node behind the same URL. A trial of
2026-12-07 did that: the indexer took the missing blocks for a reorganisation and rebuilt the
index (`chain.rewound`), the signers reopened every confirmed operation and sent them again to
addresses with no code, and 53 earns the real chain holds failed `not_applied`, each announced
to its brand (`operation.failed`); they turned confirmed again once the real node was back.

A reorganisation forgets blocks after the deployment; a node without the deployment forgets
the deployment itself. So before the steps that act on forgotten blocks (the indexer's
rebuild, a signer's reconciliation) and before a successful receipt without a single log is
read as "nothing applied", the guard asks the node for the deployment block's hash and the
ledger's code, and raises `ChainUnavailable` unless both are the deployment's: the indexer and
the signers then wait, as for a node that does not answer, and the health says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger_api.chain.contracts import Contracts
from ledger_api.chain.port import Chain
from ledger_api.db.campaign_models import ChainRule
from ledger_api.errors import ChainUnavailable

if TYPE_CHECKING:
    from ledger_api.db import Database

#: the `chain_rules` key of the deployment the database was made for (`bind_database`)
DEPLOYMENT = "deployment"


def deployment_mark(contracts: Contracts, chain: Chain) -> str:
    """`chain id:ledger address:deployment block:its hash` as the node has them (`none` for a
    block the node does not have). Raises `ChainUnavailable` when the node does not answer."""
    number = contracts.manifest.deployed_block
    (block,) = chain.blocks([number])
    ledger = contracts.manifest.ledger.address.lower()
    return f"{contracts.chain_id}:{ledger}:{number}:{block.hash if block else 'none'}"


class DeploymentGuard:
    """One per indexer and per signer; `verify` costs two reads of the node."""

    def __init__(self, contracts: Contracts, db: Database) -> None:
        self.contracts = contracts
        self.db = db
        self._expected: str | None = None  # the database's record, read once

    def verify(self, chain: Chain) -> None:
        """Raises `ChainUnavailable` unless the node holds the deployment: the deployment
        block the database was bound to (its hash) and code at the ledger's address."""
        here = deployment_mark(self.contracts, chain)
        expected = self._recorded() or here
        code = chain.code_size(self.contracts.manifest.ledger.address)
        if here == expected and code != 0:
            return
        raise ChainUnavailable(
            "the node at LEDGER_RPC_URL no longer holds this deployment (the deployment block "
            f"and its hash, as the database recorded them: {expected}; on the node: {here}; "
            f"code at the ledger's address: {code} bytes): nothing is sent, settled or "
            "re-indexed until it does (a node restarted without its state, or another node "
            "behind the URL?)"
        )

    def _recorded(self) -> str | None:
        if self._expected is None:
            with self.db.read() as session:
                row = session.get(ChainRule, DEPLOYMENT)
            self._expected = row.value if row is not None else None
        return self._expected
