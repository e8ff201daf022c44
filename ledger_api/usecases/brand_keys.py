"""A brand's API keys and the admin's keys: rotate, revoke, create (`BrandsService`'s part
that stays in the gateway's database; each action once per Idempotency-Key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal, check_key_cap, create_key
from ledger_api.access.audit import AuditAction, note, record
from ledger_api.background.intake import find_replay
from ledger_api.db.models import ApiKey, Brand, IdempotencyRecord
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import Forbidden, UnknownBrand
from ledger_api.model import admin_schemas

from .context import RequestContext

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime


class BrandKeys:
    """Mixed into `BrandsService`, which sets `rt`."""

    rt: Runtime

    @staticmethod
    def _brand_row(session: Session, ledger_brand_id: LedgerBrandId) -> Brand:
        brand = session.scalar(select(Brand).where(Brand.ledger_id == ledger_brand_id))
        if brand is None:
            raise UnknownBrand(brand_id=ledger_brand_id)
        return brand

    def _idempotent_local(
        self,
        ctx: RequestContext,
        action: Callable[[Session], tuple[dict[str, Any], dict[str, Any]]],
    ) -> tuple[int, dict[str, Any]]:
        """Runs a local action once per Idempotency-Key.

        `action` returns (the answer, the answer stored for replays)."""
        with self.rt.db.write() as session:
            replay = find_replay(
                session, ctx.principal.scope, ctx.idempotency_key, ctx.request_hash
            )
            if replay is not None:
                return replay.status_code, replay.body
            answer, stored = action(session)
            session.add(
                IdempotencyRecord(
                    scope=ctx.principal.scope,
                    key=ctx.idempotency_key,
                    request_hash=ctx.request_hash,
                    operation_uid=None,
                    response_status=201,
                    response_body=stored,
                )
            )
        return 201, answer

    def rotate_key_sync(
        self,
        ctx: RequestContext,
        ledger_brand_id: LedgerBrandId | None,
        req: admin_schemas.RotateKeyRequest,
    ) -> tuple[int, dict[str, Any]]:
        """A new API key for a brand (admin: any brand; a brand: itself).

        Unless `keep_old`, the admin's rotation revokes every key of the brand, a brand key's
        rotation revokes the calling key only. `TooManyApiKeys` beyond
        `LEDGER_MAX_ACTIVE_KEYS_PER_BRAND` active keys."""
        who = ctx.principal
        cap = self.rt.settings.max_active_keys_per_brand

        def action(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            if who.is_admin:
                if ledger_brand_id is None:
                    raise UnknownBrand()
                brand = self._brand_row(session, ledger_brand_id)
            else:
                if who.brand_row_id is None:
                    raise Forbidden()
                brand = session.get_one(Brand, who.brand_row_id)
                if ledger_brand_id is not None and ledger_brand_id != brand.ledger_id:
                    raise Forbidden("a brand rotates its own keys only")
            revoked: list[str] = []
            if not req.keep_old:
                replaced = select(ApiKey).where(
                    ApiKey.brand_id == brand.id, ApiKey.revoked_at.is_(None)
                )
                if not who.is_admin:
                    replaced = replaced.where(ApiKey.prefix == who.key_prefix)
                old = session.scalars(replaced).all()
                self.rt.api_keys.revoke_in(session, old)
                revoked = sorted(key.prefix for key in old)
                session.flush()
            check_key_cap(session, BrandRowId(brand.id), cap)
            new = create_key(
                session, brand_row_id=BrandRowId(brand.id), is_admin=False, label=req.label
            )
            audited = note(
                who,
                AuditAction.API_KEY_ROTATED,
                brand_id=brand.id,
                target=new.prefix,
                revoked=revoked,
                keep_old=req.keep_old,
                label=req.label,
            )
            record(session, audited)
            stored = {"prefix": new.prefix, "api_key": None, "brand_id": brand.ledger_id}
            return {**stored, "api_key": new.plaintext}, stored

        return self._idempotent_local(ctx, action)

    def revoke_key(self, who: Principal, prefix: str) -> None:
        """Revokes a key: the admin any key, a brand key itself only (`Forbidden` else)."""
        if not who.is_admin and prefix != who.key_prefix:
            raise Forbidden("a brand key revokes itself only")
        self.rt.api_keys.revoke(prefix, by=who)

    def create_admin_key_sync(self, ctx: RequestContext) -> tuple[int, dict[str, Any]]:
        ctx.principal.require_admin()

        def action(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            label = "created over the API"
            new = create_key(session, brand_row_id=None, is_admin=True, label=label)
            who = ctx.principal
            record(
                session, note(who, AuditAction.ADMIN_KEY_CREATED, target=new.prefix, label=label)
            )
            stored = {"prefix": new.prefix, "api_key": None, "brand_id": None}
            return {**stored, "api_key": new.plaintext}, stored

        return self._idempotent_local(ctx, action)
