"""Alliance administration: brands, their keys, point values and tier rules.

Creating a brand stores, in one transaction, the brand (status `onboarding`),
its new signing key (keystore, encrypted with `LEDGER_KEY_PASSPHRASE`), its
first API key (hash only) and the admin operations that fund the signer (dev
chains) and onboard the brand on chain. The API key's plaintext is returned
once; a replay of the same request returns the same brand without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ledger_api.api import schemas
from ledger_api.chain.signing import new_keystore
from ledger_api.db.models import ApiKey, Brand, IdempotencyRecord, Operation, Signer
from ledger_api.db.types import utcnow
from ledger_api.domain import MAX_TIER, BrandStatus, OpKind, OpStatus
from ledger_api.errors import BrandExists, Forbidden, InvalidTier, UnknownBrand
from ledger_api.services.apikeys import Principal, create_key
from ledger_api.services.intake import Accepted, Draft, find_replay
from ledger_api.services.operations import OperationsService, RequestContext
from ledger_api.services.runtime import Runtime


def _require_admin(who: Principal) -> None:
    if not who.is_admin:
        raise Forbidden("this call needs the admin API key")


def brand_view(session: Session, brand: Brand) -> schemas.BrandView:
    signer = session.scalar(
        select(Signer.address).where(Signer.brand_id == brand.id, Signer.active.is_(True))
    )
    keys = session.scalars(
        select(ApiKey.prefix).where(ApiKey.brand_id == brand.id, ApiKey.revoked_at.is_(None))
    ).all()
    return schemas.BrandView(
        brand_id=brand.ledger_id,
        name=brand.name,
        symbol=brand.symbol,
        status=brand.status,
        signer=signer,
        value_micro_usd=brand.value_micro_usd,
        earn_rule=schemas.EarnRuleModel(
            points_per_usd=brand.points_per_usd,
            points_per_review=brand.points_per_review,
            points_per_share=brand.points_per_share,
            points_per_event=brand.points_per_event,
            points_per_referral=brand.points_per_referral,
        ),
        daily_cap_points=brand.daily_cap_points,
        api_keys=list(keys),
    )


class BrandsService:
    def __init__(self, runtime: Runtime, operations: OperationsService) -> None:
        self.rt = runtime
        self.operations = operations

    # ----------------------------------------------------------------- create

    def create_sync(
        self, ctx: RequestContext, req: schemas.BrandCreateRequest
    ) -> tuple[int, dict[str, Any]]:
        _require_admin(ctx.principal)
        settings = self.rt.settings
        address, keystore = new_keystore(settings.passphrase(), settings.keystore_kdf_iterations)
        with self.rt.db.write() as session:
            replay = find_replay(
                session, ctx.principal.scope, ctx.idempotency_key, ctx.request_hash
            )
            if replay is not None:
                return replay.status_code, replay.body
            if session.scalar(select(Brand.id).where(Brand.name == req.name)) is not None:
                raise BrandExists(name=req.name)
            rule = req.earn_rule
            brand = Brand(
                name=req.name,
                symbol=req.symbol,
                status=BrandStatus.ONBOARDING,
                value_micro_usd=req.value_micro_usd,
                points_per_usd=rule.points_per_usd,
                points_per_review=rule.points_per_review,
                points_per_share=rule.points_per_share,
                points_per_event=rule.points_per_event,
                points_per_referral=rule.points_per_referral,
                daily_cap_points=req.daily_cap_points,
                next_op_id=1,
            )
            session.add(brand)
            session.flush()
            session.add(Signer(brand_id=brand.id, address=address, keystore=keystore))
            key = create_key(
                session, brand_id=brand.id, is_admin=False, label="created with the brand"
            )
            if settings.signer_funding_wei:
                session.add(
                    self._admin_op(
                        OpKind.FUND_SIGNER,
                        {"address": address, "value_wei": str(settings.signer_funding_wei)},
                    )
                )
            onboard = self._admin_op(
                OpKind.ONBOARD_BRAND,
                {
                    "brand_row_id": brand.id,
                    "signer": address,
                    "value_micro_usd": req.value_micro_usd,
                    "rule": [
                        rule.points_per_usd,
                        rule.points_per_review,
                        rule.points_per_share,
                        rule.points_per_event,
                        rule.points_per_referral,
                    ],
                    "name": req.name,
                    "symbol": req.symbol,
                },
            )
            session.add(onboard)
            session.flush()
            stored = {
                "brand": brand_view(session, brand).model_dump(mode="json"),
                "operation_id": onboard.uid,
                "api_key": None,
            }
            session.add(
                IdempotencyRecord(
                    scope=ctx.principal.scope,
                    key=ctx.idempotency_key,
                    request_hash=ctx.request_hash,
                    operation_uid=onboard.uid,
                    response_status=202,
                    response_body=stored,
                )
            )
        return 202, {**stored, "api_key": key.plaintext}

    @staticmethod
    def _admin_op(kind: OpKind, payload: dict[str, Any]) -> Operation:
        return Operation(
            uid=str(uuid.uuid4()),
            brand_id=None,
            kind=kind.value,
            status=OpStatus.QUEUED.value,
            payload=payload,
            points=0,
            attempts=0,
        )

    async def create(
        self, ctx: RequestContext, req: schemas.BrandCreateRequest, wait_s: float | None
    ) -> tuple[int, dict[str, Any]]:
        status, body = await run_in_threadpool(self.create_sync, ctx, req)
        self.rt.wake_sender({None})
        if wait_s and status == 202:
            final = await self.operations.status(ctx.principal, body["operation_id"], wait_s)
            if final.status in ("confirmed", "failed"):
                brand = await run_in_threadpool(self._view_by_name, body["brand"]["name"])
                return 200, {**body, "brand": brand.model_dump(mode="json")}
        return status, body

    def _view_by_name(self, name: str) -> schemas.BrandView:
        with self.rt.db.read() as session:
            brand = session.scalar(select(Brand).where(Brand.name == name))
            assert brand is not None
            return brand_view(session, brand)

    # ---------------------------------------------------------- admin actions

    def _brand_row(self, session: Session, ledger_id: int) -> Brand:
        brand = session.scalar(select(Brand).where(Brand.ledger_id == ledger_id))
        if brand is None:
            raise UnknownBrand(brand_id=ledger_id)
        return brand

    def _admin_draft(self, ctx: RequestContext, kind: OpKind, payload: dict[str, Any]) -> Draft:
        return Draft(
            scope=ctx.principal.scope,
            idempotency_key=ctx.idempotency_key,
            request_hash=ctx.request_hash,
            kind=kind,
            brand_id=None,
            payload=payload,
        )

    async def suspend(
        self, ctx: RequestContext, ledger_id: int, req: schemas.SuspendRequest
    ) -> Accepted:
        _require_admin(ctx.principal)

        def prepare() -> Draft:
            with self.rt.db.write() as session:
                brand = self._brand_row(session, ledger_id)
                if req.suspended and brand.status == BrandStatus.ACTIVE:
                    # effective at the gateway at once; the chain follows
                    brand.status = BrandStatus.SUSPENDED
                payload = {"brand": ledger_id, "suspended": req.suspended, "brand_row_id": brand.id}
            return self._admin_draft(ctx, OpKind.SUSPEND_BRAND, payload)

        return await self.rt.intake.submit(await run_in_threadpool(prepare))

    async def set_point_value(
        self, ctx: RequestContext, ledger_id: int, req: schemas.PointValueRequest
    ) -> Accepted:
        _require_admin(ctx.principal)

        def prepare() -> Draft:
            with self.rt.db.read() as session:
                brand = self._brand_row(session, ledger_id)
                payload = {
                    "brand": ledger_id,
                    "value_micro_usd": req.value_micro_usd,
                    "brand_row_id": brand.id,
                }
            return self._admin_draft(ctx, OpKind.SET_POINT_VALUE, payload)

        return await self.rt.intake.submit(await run_in_threadpool(prepare))

    async def set_tier_rule(
        self, ctx: RequestContext, tier: int, req: schemas.TierRuleRequest
    ) -> Accepted:
        _require_admin(ctx.principal)
        if not 1 <= tier <= MAX_TIER:
            raise InvalidTier(tier=tier)
        payload = {"tier": tier, **req.model_dump()}
        return await self.rt.intake.submit(self._admin_draft(ctx, OpKind.SET_TIER_RULE, payload))

    # ------------------------------------------------------------------- keys

    def _idempotent_local(
        self,
        ctx: RequestContext,
        action: Callable[[Session], tuple[dict[str, Any], dict[str, Any]]],
    ) -> tuple[int, dict[str, Any]]:
        """Runs a local action once per Idempotency-Key; `action` returns (answer, stored answer)."""
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
        self.rt.api_keys.forget()
        return 201, answer

    def rotate_key_sync(
        self, ctx: RequestContext, ledger_id: int | None, req: schemas.RotateKeyRequest
    ) -> tuple[int, dict[str, Any]]:
        """A new API key for a brand (admin: any brand; a brand: itself)."""
        who = ctx.principal

        def action(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            if who.is_admin:
                if ledger_id is None:
                    raise UnknownBrand()
                brand = self._brand_row(session, ledger_id)
            else:
                if who.brand_id is None:
                    raise Forbidden()
                brand = session.get_one(Brand, who.brand_id)
                if ledger_id is not None and ledger_id != brand.ledger_id:
                    raise Forbidden("a brand rotates its own keys only")
            if not req.keep_old:
                for key in session.scalars(
                    select(ApiKey).where(ApiKey.brand_id == brand.id, ApiKey.revoked_at.is_(None))
                ):
                    key.revoked_at = utcnow()
            new = create_key(session, brand_id=brand.id, is_admin=False, label=req.label)
            stored = {"prefix": new.prefix, "api_key": None, "brand_id": brand.ledger_id}
            return {**stored, "api_key": new.plaintext}, stored

        return self._idempotent_local(ctx, action)

    def revoke_key(self, who: Principal, prefix: str) -> None:
        _require_admin(who)
        self.rt.api_keys.revoke(prefix)

    def create_admin_key_sync(self, ctx: RequestContext) -> tuple[int, dict[str, Any]]:
        _require_admin(ctx.principal)

        def action(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            new = create_key(session, brand_id=None, is_admin=True, label="created over the API")
            stored = {"prefix": new.prefix, "api_key": None, "brand_id": None}
            return {**stored, "api_key": new.plaintext}, stored

        return self._idempotent_local(ctx, action)

    # ------------------------------------------------------------------ reads

    def list_brands(self, who: Principal) -> list[schemas.BrandView]:
        _require_admin(who)
        with self.rt.db.read() as session:
            return [
                brand_view(session, b) for b in session.scalars(select(Brand).order_by(Brand.id))
            ]
