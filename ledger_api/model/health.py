"""The bodies of `/v1/health`: liveness for anyone, each dependency for the admin."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ledger_api.model.schemas import Model


class Liveness(Model):
    """`/v1/health` without the admin key: the overall status only."""

    status: Literal["ok", "degraded", "failing"] = Field(
        description="failing (HTTP 503): the database takes no write; degraded: the chain is "
        "unreachable or the sender or the indexer is not healthy (operations still queue)"
    )


class Health(Liveness):
    """`/v1/health` with the admin key: each dependency on its own."""

    role: Literal["sender", "api"] | None = Field(
        default=None,
        description="sender: this process sends and indexes; api: an HTTP worker process",
    )
    chain_id: int | None = None
    index_block: int | None = None
    database: dict[str, Any] | None = Field(
        default=None, description='the write probe: {"status", "write_ms" | "error"}'
    )
    chain: dict[str, Any] | None = Field(
        default=None, description='{"status": "ok" | "unavailable" | "unknown", "head", "error"}'
    )
    sender: list[dict[str, Any]] | None = Field(
        default=None,
        description='one per signer: {"brand_row_id", "healthy", "last_error", '
        '"held_by_pause"}; a signer whose key does not unseal with this passphrase is unhealthy '
        'with "key_passphrase_mismatch: ..." and its brand\'s operations wait (the other '
        "brands send); held_by_pause: operations its last turn kept queued because the chain "
        "refused them as paused (`EnforcedPause`), sent once the ledger is unpaused; a "
        "signer one of whose nonces a transaction the gateway did not make used is unhealthy "
        'for 10 minutes with "foreign_sender: ..." (another sender holds its key: the brand '
        "itself, or a second database of this deployment; its operations still go); a "
        'signer that has not finished its first cycle is unhealthy with "starting: ..."; one '
        'whose node is behind its blocks (a lagging node) with "node_behind: ..."',
    )
    ledger_paused: bool | None = Field(
        default=None,
        description="the alliance's one pause (`AllianceLedger.pause`) as the index last "
        "followed the chain: while true, a write the chain would refuse answers 409 "
        "`ledger_paused` (a brand's suspension, a return window, onboarding still run) and "
        "what was accepted before waits in the queue",
    )
    indexer: dict[str, Any] | None = Field(
        default=None, description='{"running", "healthy", "last_error", "lag_blocks"}'
    )
    start_error: str | None = Field(
        default=None,
        description="why the sender and the indexer do not run (status degraded): a start "
        "that failed, the deployment manifest they wait for (index_not_ready: ...), or no "
        "report from the process that runs them (sender_unavailable: ...); null when they run",
    )
