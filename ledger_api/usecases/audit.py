"""Reading the audit trail (`access.audit` writes it): the admin reads every row, a brand key
the rows about its own brand only (its own keys' acts, and the admin's on its brand, with the
admin key's prefix withheld). Pages newest first, by row id (`ix_audit_log_*`)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from ledger_api.access.apikeys import Principal
from ledger_api.db import Database
from ledger_api.db.audit_models import AuditEntry
from ledger_api.db.models import Brand
from ledger_api.errors import UnknownBrand
from ledger_api.model import audit as views

from .webhooks import parse_cursor

_ACTOR_BRAND, _BRAND = aliased(Brand), aliased(Brand)


class AuditService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def admin_page(self, who: Principal, query: views.AuditQuery) -> views.AuditPage:
        """Every row; `UnknownBrand` (404) for a `brand_id` no brand has, `InvalidCursor`
        (422) for a cursor no page handed out."""
        who.require_admin()
        with self.db.read() as session:
            brand_row = None
            if query.brand_id is not None:
                by_ledger_id = select(Brand.id).where(Brand.ledger_id == query.brand_id)
                brand_row = session.scalar(by_ledger_id)
                if brand_row is None:
                    raise UnknownBrand(brand_id=query.brand_id)
            return self._page(session, query, brand_row, show_admins=True)

    def brand_page(self, who: Principal, query: views.AuditQuery) -> views.AuditPage:
        """The rows about the calling key's brand (`Forbidden` for an admin key)."""
        own = who.require_brand()
        with self.db.read() as session:
            return self._page(session, query, own, show_admins=False)

    def _page(
        self, session: Session, query: views.AuditQuery, brand_row: int | None, show_admins: bool
    ) -> views.AuditPage:
        before = parse_cursor(query.before, lowest=1) if query.before else None
        rows = session.execute(_select(query, brand_row, before).limit(query.limit + 1)).all()
        more, rows = len(rows) > query.limit, rows[: query.limit]
        entries = [
            views.AuditEntryView(
                id=entry.id,
                at=entry.at,
                action=entry.action,
                actor=views.AuditActor(
                    scope="admin" if entry.actor_brand_id is None else "brand",
                    key_prefix=(
                        entry.actor_key if show_admins or entry.actor_brand_id is not None else None
                    ),
                    brand_id=actor_brand,
                ),
                brand_id=brand,
                target=entry.target,
                operation_id=entry.operation_id,
                details=entry.details,
            )
            for entry, actor_brand, brand in rows
        ]
        return views.AuditPage(entries=entries, next_cursor=str(entries[-1].id) if more else None)


def _select(
    query: views.AuditQuery, brand_row: int | None, before: int | None
) -> Select[AuditEntry, int | None, int | None]:
    statement = (
        select(AuditEntry, _ACTOR_BRAND.ledger_id, _BRAND.ledger_id)
        .outerjoin(_ACTOR_BRAND, _ACTOR_BRAND.id == AuditEntry.actor_brand_id)
        .outerjoin(_BRAND, _BRAND.id == AuditEntry.brand_id)
    )
    if brand_row is not None:
        statement = statement.where(AuditEntry.brand_id == brand_row)
    if query.action is not None:
        statement = statement.where(AuditEntry.action == query.action.value)
    if query.actor is not None:
        statement = statement.where(AuditEntry.actor_key == query.actor)
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    return statement.order_by(AuditEntry.id.desc())
