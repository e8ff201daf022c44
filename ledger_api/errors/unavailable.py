"""The gateway's 503 family (and 507): refusals that last until something away comes back.
Part of the one tree in `ledger_api.errors`, which imports them."""

from __future__ import annotations

from .base import LedgerError

OPERATOR_ACTS_S = 60  # `retry_after_s` of a refusal that lasts until an operator acts


class Unavailable(LedgerError):
    code = "unavailable"
    status = 503
    default_message = "the service is temporarily unavailable"


class ChainUnavailable(Unavailable):
    code = "chain_unavailable"
    default_message = "the chain node did not answer, or refused the request; retry later"


class CreditNotIndexed(ChainUnavailable):
    """A signer's (never an HTTP answer's): an op id the chain reads used whose credit neither
    the index nor the node's logs hold yet (`background.sender.earlier`); nothing is settled
    until one does, and the signer asks again. Named for what it is: the admin's health said
    `ChainUnavailable` while the chain answered (a trial)."""

    code = "credit_not_indexed"
    default_message = "the chain's credit under an op id is not in the index yet"


class IndexNotReady(Unavailable):
    code = "index_not_ready"
    default_message = "the chain index is not available yet"


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"  # the server away (PostgreSQL stopped, restarting), or busy
    default_message = "the gateway's database does not answer; retry with the same key"


class DeploymentMismatch(IndexNotReady):
    code = "deployment_mismatch"  # `process.deployment.bind_database`: until an operator acts
    default_message = (
        "the gateway's database was made for another deployment than the manifest's on this node"
    )


class KeyPassphraseMismatch(Unavailable):
    code = "key_passphrase_mismatch"  # `access.sealing`: a key sealed with another passphrase
    default_message = "a sealed key does not open with this gateway's keystore passphrase"


class StorageFull(Unavailable):
    code = "storage_full"
    status = 507
    default_message = "the gateway's storage is full; retry with the same key later"
