"""The audit trail (DOMAIN.md, "Trust, privacy and security": "keep an audit trail").

`audit_log` holds one row per security-relevant action (a key created, rotated or revoked, a
brand onboarded or suspended, an admin setting changed, a webhook endpoint added or deleted):
who acted (the API key's prefix, and its brand for a brand key), what (a stable action name,
`access.audit.AuditAction`), on what (`brand_id`, `target`, the operation carrying it), when
(UTC) and small details, never a secret nor a whole key. A row is written in the transaction
of its action and never changed nor deleted (migration 0028).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger_api.db.models import Base
from ledger_api.db.types import PkInteger, utcnow


class AuditEntry(Base):
    """One action: `actor_key` the acting key's prefix (`settings` for the settings admin key,
    `cli` for the `ledger` command), `actor_brand_id` its brand (null: an admin key),
    `brand_id` the brand the action concerns (null: the alliance's own, such as an admin key
    or the pause), `target` what it acted on (a key prefix, an endpoint id, a tier)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_action", "action", "id"),
        Index("ix_audit_log_actor", "actor_key", "id"),
        Index("ix_audit_log_brand", "brand_id", "id"),
    )

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(48))
    actor_key: Mapped[str] = mapped_column(String(16))
    actor_brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    target: Mapped[str | None] = mapped_column(String(80))
    operation_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict[str, Any]]
