"""Alliance administration: brands, their keys, point values and tier rules.

Creating a brand stores, in one transaction, the brand (status `onboarding`),
its new signing key (keystore, encrypted with the keystore passphrase), its
reference secret (sealed the same way, never shown; `access.sealing`), its
first API key (hash only) and the admin operations that fund the signer (dev
chains) and onboard the brand on chain. The API key's plaintext is returned
once; a replay of the same request returns the same brand without it. A brand
created with `daily_cap_points` gets that cap on chain (`setDailyMintCap`, an
admin operation queued when the onboarding lands, `domain.brands`) before it
turns active. The cap a brand view shows is the chain's, as indexed.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal, create_key
from ledger_api.access.audit import AuditAction, AuditNote, note, record
from ledger_api.access.sealing import SEALED, new_ref_secret
from ledger_api.background.indexer import followed_ledger_paused
from ledger_api.background.intake import Accepted, Draft, find_replay
from ledger_api.background.multisig import admin_transaction
from ledger_api.background.sender.pause import chain_paused
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.signing import new_keystore
from ledger_api.db.models import ApiKey, Brand, IdempotencyRecord, IdxBrand, Operation, Signer
from ledger_api.domain import MAX_TIER, BrandStatus, OpKind, OpStatus
from ledger_api.domain.brands import daily_cap_uid
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import (
    BrandExists,
    ChainUnavailable,
    InvalidTier,
    LedgerNotPaused,
    LedgerPaused,
)
from ledger_api.model import admin_schemas
from ledger_api.model.payloads import (
    DailyCapPayload,
    FundSignerPayload,
    OnboardBrandPayload,
    OperationPayload,
    OrderFloorPayload,
    PausePayload,
    PointValuePayload,
    ReturnWindowPayload,
    SuspendBrandPayload,
    TierRulePayload,
    payload_of,
)

from .brand_keys import BrandKeys
from .context import RequestContext, draft, refuse_while_paused
from .status import StatusService

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime


async def submit_admin(rt: Runtime, admin_draft: Draft) -> Accepted:
    """Queues an admin operation; without the admin key (a multisig admin) the answer
    carries the transaction to execute (`background.multisig`)."""
    accepted = await rt.intake.submit(admin_draft)
    if rt.settings.admin_signs:
        return accepted
    transaction = admin_transaction(rt.contracts(), admin_draft.payload)
    return replace(accepted, body={**accepted.body, "admin_transaction": transaction})


def _replayed(
    contracts: Contracts | None, session: Session, body: dict[str, Any]
) -> dict[str, Any]:
    """A brand creation's stored answer, with the onboarding's transaction again for a
    multisig admin (`contracts` given; a trial's replay dropped it, and nothing else hands it
    out)."""
    if contracts is None:
        return body
    stored = session.scalar(select(Operation).where(Operation.uid == body["operation_id"]))
    if stored is None:
        return body
    payload = payload_of(OpKind.ONBOARD_BRAND, stored.payload)
    return {**body, "admin_transaction": admin_transaction(contracts, payload)}


def _admin_op(kind: OpKind, payload: OperationPayload) -> Operation:
    """An admin operation stored with the brand (not through the intake)."""
    return Operation(
        uid=str(uuid.uuid4()),
        brand_id=None,
        kind=kind.value,
        status=OpStatus.QUEUED.value,
        payload=payload.stored(),
        points=0,
        attempts=0,
    )


def brand_view(session: Session, brand: Brand) -> admin_schemas.BrandView:
    signer = session.scalar(
        select(Signer.address).where(Signer.brand_id == brand.id, Signer.active.is_(True))
    )
    keys = session.scalars(
        select(ApiKey.prefix).where(ApiKey.brand_id == brand.id, ApiKey.revoked_at.is_(None))
    ).all()
    indexed = session.get(IdxBrand, brand.ledger_id) if brand.ledger_id is not None else None
    return admin_schemas.BrandView(
        brand_id=brand.ledger_id,
        name=brand.name,
        symbol=brand.symbol,
        status=brand.status,
        signer=signer,
        value_micro_usd=brand.value_micro_usd,
        earn_rule=admin_schemas.EarnRuleModel(
            points_per_usd=brand.points_per_usd,
            points_per_review=brand.points_per_review,
            points_per_share=brand.points_per_share,
            points_per_event=brand.points_per_event,
            points_per_referral=brand.points_per_referral,
        ),
        daily_cap_points=brand.daily_cap_points,  # the enforced one (a rebuild replays older)
        return_window_days=indexed.return_window_days if indexed is not None else None,
        api_keys=list(keys),
    )


def same_name(names: Iterable[str], name: str) -> str | None:
    """The stored brand name that is `name` but for letter case or Unicode's compatibility
    forms (NFKC, then case folding: fullwidth "Ａｃｍｅ" is "Acme"), if one: a dozen to a few
    dozen brands, compared here rather than by SQL's `lower`, which folds ASCII only on
    SQLite."""
    wanted = _folded(name)
    return next((known for known in names if _folded(known) == wanted), None)


def _folded(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


_PAUSE_ACTIONS = {True: AuditAction.LEDGER_PAUSED, False: AuditAction.LEDGER_UNPAUSED}


def _brand_draft(
    ctx: RequestContext,
    kind: OpKind,
    payload: OperationPayload,
    action: AuditAction,
    brand_row: int,
    ledger_brand_id: LedgerBrandId,
    **details: Any,
) -> Draft:
    """An admin operation on a brand, with its audit row (written with the operation)."""
    audit = note(ctx.principal, action, brand_id=brand_row, target=ledger_brand_id, **details)
    return draft(ctx, kind, None, payload, audit=audit)


def _onboarded(
    ctx: RequestContext, brand: Brand, key_prefix: str, signer: str, cap: int | None
) -> AuditNote:
    """The audit row of a brand's creation: its name, signer, first key's prefix, cap."""
    return note(
        ctx.principal,
        AuditAction.BRAND_ONBOARDED,
        brand_id=brand.id,
        target=brand.name,
        symbol=brand.symbol,
        signer=signer,
        api_key_prefix=key_prefix,
        daily_cap_points=cap,
    )


def _chain_paused(rt: Runtime, followed: bool) -> bool:
    """The ledger's `paused()`, or `followed` (the index's) while the node does not answer."""
    try:
        return chain_paused(rt.contracts(), rt.chain())
    except ChainUnavailable:
        return followed


class BrandsService(BrandKeys):
    def __init__(self, runtime: Runtime, status: StatusService) -> None:
        self.rt = runtime
        self.status = status

    # ----------------------------------------------------------------- create

    def create_sync(
        self, ctx: RequestContext, req: admin_schemas.BrandCreateRequest
    ) -> tuple[int, dict[str, Any]]:
        ctx.principal.require_admin()
        settings = self.rt.settings
        address, keystore = new_keystore(settings.passphrase(), settings.keystore_kdf_iterations)
        ref_secret = new_ref_secret(settings)
        contracts = None if settings.admin_signs else self.rt.contracts()  # before the lock
        with self.rt.db.write() as session:
            replay = find_replay(
                session, ctx.principal.scope, ctx.idempotency_key, ctx.request_hash
            )
            if replay is not None:
                return replay.status_code, _replayed(contracts, session, replay.body)
            if req.daily_cap_points is not None:  # else it would wait, onboarding, for its cap
                refuse_while_paused(session, "onboard without a daily cap, set it once unpaused")
            taken = same_name(session.scalars(select(Brand.name)), req.name)
            if taken is not None:  # in any case: "acme outdoor" was a second "Acme Outdoor"
                raise BrandExists(name=taken)
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
                next_op_id=1,
                ref_secret=ref_secret,
            )
            session.add(brand)
            session.flush()
            session.add(
                Signer(
                    brand_id=brand.id, address=address, keystore=keystore, keystore_sealing=SEALED
                )
            )
            key = create_key(
                session,
                brand_row_id=BrandRowId(brand.id),
                is_admin=False,
                label="created with the brand",
            )
            if settings.signer_funding_wei:
                session.add(
                    _admin_op(
                        OpKind.FUND_SIGNER,
                        FundSignerPayload(
                            address=address, value_wei=str(settings.signer_funding_wei)
                        ),
                    )
                )
            onboard = _admin_op(
                OpKind.ONBOARD_BRAND,
                OnboardBrandPayload(
                    brand_row_id=BrandRowId(brand.id),
                    signer=address,
                    value_micro_usd=req.value_micro_usd,
                    rule=(
                        rule.points_per_usd,
                        rule.points_per_review,
                        rule.points_per_share,
                        rule.points_per_event,
                        rule.points_per_referral,
                    ),
                    name=req.name,
                    symbol=req.symbol,
                    daily_cap_points=req.daily_cap_points,
                ),
            )
            session.add(onboard)
            session.flush()
            audit = _onboarded(ctx, brand, key.prefix, address, req.daily_cap_points)
            record(session, audit, onboard.uid)
            stored = {
                "brand": brand_view(session, brand).model_dump(mode="json"),
                "operation_id": onboard.uid,
                "daily_cap_operation_id": (
                    daily_cap_uid(onboard.uid) if req.daily_cap_points is not None else None
                ),
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
        answer = {**stored, "api_key": key.plaintext}
        if contracts is not None:  # a multisig admin executes the onboarding itself
            answer["admin_transaction"] = admin_transaction(
                contracts, payload_of(OpKind.ONBOARD_BRAND, onboard.payload)
            )
        return 202, answer

    async def create(
        self, ctx: RequestContext, req: admin_schemas.BrandCreateRequest, wait_s: float | None
    ) -> tuple[int, dict[str, Any]]:
        status, body = await run_in_threadpool(self.create_sync, ctx, req)
        self.rt.wake_sender({None})
        if wait_s and status == 202 and body.get("admin_transaction") is None:
            # (a multisig admin's onboarding lands only from the transaction in this answer)
            final = await self.status.status(ctx.principal, body["operation_id"], wait_s)
            follow_up = body.get("daily_cap_operation_id")
            if follow_up is not None and final.status == OpStatus.CONFIRMED.value:
                # the brand turns active once its cap holds on chain
                final = await self.status.status_once_queued(ctx.principal, follow_up, wait_s)
            if OpStatus(final.status).final:
                brand = await run_in_threadpool(self._view_by_signer, body["brand"]["signer"])
                return 200, {**body, "brand": brand.model_dump(mode="json")}
        reason = self.rt.queued_reason() if status == 202 else None
        return status, ({**body, "queued_reason": reason} if reason else body)

    def _view_by_signer(self, signer: str) -> admin_schemas.BrandView:
        """The brand made with `signer` (a failed onboarding renames it: `domain.brands`)."""
        with self.rt.db.read() as session:
            brand = session.scalar(
                select(Brand)
                .join(Signer, Signer.brand_id == Brand.id)
                .where(Signer.address == signer)
            )
            assert brand is not None
            return brand_view(session, brand)

    # ---------------------------------------------------------- admin actions

    def _brand_row_id(self, ledger_brand_id: LedgerBrandId) -> BrandRowId:
        with self.rt.db.read() as session:
            return BrandRowId(self._brand_row(session, ledger_brand_id).id)

    async def suspend(
        self, ctx: RequestContext, ledger_brand_id: LedgerBrandId, req: admin_schemas.SuspendRequest
    ) -> Accepted:
        ctx.principal.require_admin()

        def prepare() -> Draft:
            with self.rt.db.write() as session:
                brand = self._brand_row(session, ledger_brand_id)
                if req.suspended and brand.status == BrandStatus.ACTIVE:
                    # effective at the gateway at once; the chain follows
                    brand.status = BrandStatus.SUSPENDED
                payload = SuspendBrandPayload(
                    brand=ledger_brand_id,
                    suspended=req.suspended,
                    brand_row_id=BrandRowId(brand.id),
                )
                row = brand.id
            action = AuditAction.BRAND_SUSPENDED if req.suspended else AuditAction.BRAND_RESUMED
            return _brand_draft(ctx, OpKind.SUSPEND_BRAND, payload, action, row, ledger_brand_id)

        return await self._submit_admin(await run_in_threadpool(prepare))

    async def set_point_value(
        self,
        ctx: RequestContext,
        ledger_brand_id: LedgerBrandId,
        req: admin_schemas.PointValueRequest,
    ) -> Accepted:
        ctx.principal.require_admin()

        def prepare() -> Draft:
            with self.rt.db.read() as session:
                brand = self._brand_row(session, ledger_brand_id)
                payload = PointValuePayload(
                    brand=ledger_brand_id,
                    value_micro_usd=req.value_micro_usd,
                    brand_row_id=BrandRowId(brand.id),
                )
                row, old = brand.id, brand.value_micro_usd
            action, new = AuditAction.BRAND_POINT_VALUE_SET, req.value_micro_usd
            values = {"old_value_micro_usd": old, "value_micro_usd": new}
            return _brand_draft(
                ctx, OpKind.SET_POINT_VALUE, payload, action, row, ledger_brand_id, **values
            )

        return await self._submit_admin(await run_in_threadpool(prepare))

    async def set_return_window(
        self,
        ctx: RequestContext,
        ledger_brand_id: LedgerBrandId,
        req: admin_schemas.ReturnWindowRequest,
    ) -> Accepted:
        """The admin sets a brand's return window (`setReturnWindow`; applies to purchases
        from then on)."""
        ctx.principal.require_admin()

        def prepare() -> Draft:
            with self.rt.db.read() as session:
                row = self._brand_row(session, ledger_brand_id).id
            payload = ReturnWindowPayload(brand=ledger_brand_id, days=req.days)
            action = AuditAction.BRAND_RETURN_WINDOW_SET
            return _brand_draft(
                ctx, OpKind.SET_RETURN_WINDOW, payload, action, row, ledger_brand_id, days=req.days
            )

        return await self._submit_admin(await run_in_threadpool(prepare))

    async def set_daily_cap(
        self,
        ctx: RequestContext,
        ledger_brand_id: LedgerBrandId,
        req: admin_schemas.DailyCapRequest,
    ) -> Accepted:
        """The admin sets a brand's daily mint cap on chain (`setDailyMintCap`); the gateway
        enforces it once indexed (`DailyMintCapChanged`)."""
        ctx.principal.require_admin()
        row = await self.rt.read(lambda: self._brand_row_id(ledger_brand_id))
        payload = DailyCapPayload(
            brand=ledger_brand_id, daily_cap_points=req.daily_cap_points, brand_row_id=row
        )
        action, cap = AuditAction.BRAND_DAILY_CAP_SET, req.daily_cap_points
        queued = _brand_draft(
            ctx, OpKind.SET_DAILY_CAP, payload, action, row, ledger_brand_id, daily_cap_points=cap
        )
        return await self._submit_admin(queued)

    async def set_tier_rule(
        self, ctx: RequestContext, tier: int, req: admin_schemas.TierRuleRequest
    ) -> Accepted:
        ctx.principal.require_admin()
        if not 1 <= tier <= MAX_TIER:
            raise InvalidTier(tier=tier)
        payload = TierRulePayload(tier=tier, **req.model_dump())
        audit = note(ctx.principal, AuditAction.TIER_RULE_SET, target=tier, **req.model_dump())
        return await self._submit_admin(
            draft(ctx, OpKind.SET_TIER_RULE, None, payload, audit=audit)
        )

    async def set_order_floor(
        self, ctx: RequestContext, req: admin_schemas.OrderFloorRequest
    ) -> Accepted:
        """Queues `setOrderFloor(usd)`: the least counted spend (whole USD) of a tier order."""
        ctx.principal.require_admin()
        payload = OrderFloorPayload(order_floor_usd=req.order_floor_usd)
        audit = note(ctx.principal, AuditAction.TIER_ORDER_FLOOR_SET, **req.model_dump())
        return await self._submit_admin(
            draft(ctx, OpKind.SET_ORDER_FLOOR, None, payload, audit=audit)
        )

    async def set_paused(self, ctx: RequestContext, req: admin_schemas.PauseRequest) -> Accepted:
        """Queues `pause()` or `unpause()` on the admin's queue, which runs while the ledger
        is paused. Refused when the chain already is so (409 `ledger_paused`, 409
        `ledger_not_paused`; as the index last followed it while the node does not answer: the
        pause is queued for when it does), unless the request is a replay (its stored answer).
        One the chain then finds already done (two operators at once) is confirmed `already`."""
        ctx.principal.require_admin()

        def prepare() -> Draft:
            with self.rt.db.read() as session:
                stored = find_replay(
                    session, ctx.principal.scope, ctx.idempotency_key, ctx.request_hash
                )
                followed = followed_ledger_paused(session)
            if stored is None:
                paused = _chain_paused(self.rt, followed)
                if paused and req.paused:
                    raise LedgerPaused("the ledger is paused already")
                if not paused and not req.paused:
                    raise LedgerNotPaused()
            audit = note(ctx.principal, _PAUSE_ACTIONS[req.paused])
            return draft(ctx, OpKind.SET_PAUSE, None, PausePayload(paused=req.paused), audit=audit)

        return await self._submit_admin(await run_in_threadpool(prepare))

    async def _submit_admin(self, admin_draft: Draft) -> Accepted:
        return await submit_admin(self.rt, admin_draft)

    # ------------------------------------------------------------------ reads

    def list_brands(self, who: Principal) -> list[admin_schemas.BrandView]:
        """Every brand, onboarded or not, by creation order (`GET /v1/admin/brands`)."""
        who.require_admin()
        with self.rt.db.read() as session:
            return [
                brand_view(session, b) for b in session.scalars(select(Brand).order_by(Brand.id))
            ]

    def get_brand(self, who: Principal, ledger_brand_id: LedgerBrandId) -> admin_schemas.BrandView:
        """One brand by its ledger id, as the list shows it (`GET /v1/admin/brands/{brand_id}`;
        its `status` may still be `onboarding` while a daily cap asked at creation waits).
        Raises `UnknownBrand` (404 `unknown_brand`) when no brand has that id: one whose
        onboarding has not landed on chain has no ledger id yet."""
        who.require_admin()
        with self.rt.db.read() as session:
            return brand_view(session, self._brand_row(session, ledger_brand_id))
