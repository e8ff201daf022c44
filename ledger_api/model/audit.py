"""The audit trail as the routes answer it (`GET /v1/admin/audit`, `GET /v1/audit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ledger_api.domain.audit import AuditAction
from ledger_api.model.schemas import Model


class AuditActor(Model):
    scope: Literal["admin", "brand"] = Field(description="an admin key, or a brand's key")
    key_prefix: str | None = Field(
        description="the acting key's prefix (`settings`: the settings admin key, `cli`: the "
        "`ledger` command); null when a brand reads an admin's act"
    )
    brand_id: int | None = Field(description="a brand key's brand (null: an admin key)")


class AuditEntryView(Model):
    id: int = Field(description="the row's id, increasing with time")
    at: datetime = Field(description="when the action was committed (UTC)")
    action: AuditAction
    actor: AuditActor
    brand_id: int | None = Field(
        description="the brand the action concerns (null: the alliance's own, or a brand not "
        "yet onboarded on the ledger)"
    )
    target: str | None = Field(description="what it acted on: a key prefix, an endpoint id...")
    operation_id: str | None = Field(description="the operation that carries it to the chain")
    details: dict[str, Any] = Field(description="small facts of the action, never a secret")


class AuditPage(Model):
    entries: list[AuditEntryView]
    next_cursor: str | None = Field(
        default=None, description="pass as `before` for the next (older) page; null: the last"
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """A page of the trail, newest first: older than `before` (a page's `next_cursor`), of
    `action`, by the key `actor`, about the brand `brand_id` (a ledger id), `limit` rows."""

    before: str | None = None
    limit: int = 100
    action: AuditAction | None = None
    actor: str | None = None
    brand_id: int | None = None
