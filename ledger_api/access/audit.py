"""The audit trail's writing side: which actions are audited and the row each one writes.

Every security-relevant action adds its `AuditEntry` in its own transaction (so no action
without its row, no row without its action): the key and webhook changes through `record`,
the admin's chain operations through their `Draft`'s `audit` note, which the intake writes
with the operation (its uid in `operation_id`) and never for a replay. A note names the
acting key by its prefix (`Principal.key_prefix`), never a key or a secret. Brand earns and
other member operations are not audited here: the operations table records them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ledger_api.db.audit_models import AuditEntry
from ledger_api.db.models import table_of
from ledger_api.db.types import utcnow
from ledger_api.domain.audit import AuditAction

__all__ = ["INSERT_AUDIT", "AuditAction", "AuditNote", "audit_row", "note", "record"]

if TYPE_CHECKING:
    from datetime import datetime

    from ledger_api.access.apikeys import Principal


@dataclass(frozen=True, slots=True)
class AuditNote:
    """An action to audit, as its use case knows it (`brand_id`: the brand's row)."""

    action: AuditAction
    actor_key: str
    actor_brand_id: int | None
    brand_id: int | None = None
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def note(
    who: Principal,
    action: AuditAction,
    *,
    brand_id: int | None = None,
    target: str | int | None = None,
    **details: Any,
) -> AuditNote:
    """What `who` did: `brand_id` the brand concerned (a brand key: its own by default)."""
    own = None if who.is_admin else who.brand_row_id
    return AuditNote(
        action=action,
        actor_key=who.key_prefix[:16],
        actor_brand_id=own,
        brand_id=brand_id if brand_id is not None else own,
        target=None if target is None else str(target)[:80],
        details=details,
    )


def audit_row(
    audit: AuditNote, operation_uid: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """The row's columns, for a Core insert (`INSERT_AUDIT`)."""
    return {
        "at": at or utcnow(),
        "action": audit.action.value,
        "actor_key": audit.actor_key,
        "actor_brand_id": audit.actor_brand_id,
        "brand_id": audit.brand_id,
        "target": audit.target,
        "operation_id": operation_uid,
        "details": audit.details,
    }


INSERT_AUDIT = insert(table_of(AuditEntry))


def record(session: Session, audit: AuditNote, operation_uid: str | None = None) -> None:
    """Adds the row in the caller's transaction."""
    session.add(AuditEntry(**audit_row(audit, operation_uid)))
