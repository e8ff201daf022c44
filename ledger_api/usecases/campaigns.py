"""Earning campaigns (issue 16, item 1): a brand's rules, versioned and audited; the admin's
cap; the preview of an earn; the brand's referrals.

The cap on a combined multiplier is the chain's (`setMaxMultiplier`; the ledger refuses an earn
above it, whoever sends it): `PUT /v1/admin/campaigns/cap` queues that admin transaction (or,
with a multisig admin, answers it), and the evaluation reads the cap the indexer projected from
`MaxMultiplierChanged`, never a copy of its own. The gateway keeps only the audit (who asked
for which cap, when, and the operation that carries it).

Every change of a rule bumps its version and adds an audit row (who: the API key's scope and
prefix; when; the old and the new version) in the same transaction; a deleted rule stays,
inactive, with its history. Mutations take an Idempotency-Key (a replay answers the first
answer). `CampaignRules` caches each brand's rules in force and the cap for a second, as
`BrandDirectory` caches the brand (a change made in another process applies within it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.access.audit import AuditAction, note, record
from ledger_api.background.campaigns import CampaignClaim, member_past
from ledger_api.background.intake import Accepted, find_replay
from ledger_api.background.webhooks.outbox import NewEvent, write_events
from ledger_api.db import Database
from ledger_api.db.campaign_models import CampaignAudit, CampaignReferral, CampaignRule
from ledger_api.db.models import Brand, IdempotencyRecord
from ledger_api.db.types import utcnow
from ledger_api.domain import EarnKind
from ledger_api.domain import events as ev
from ledger_api.domain.campaigns import (
    SINGLE_KINDS,
    EarnFacts,
    RuleSnapshot,
    evaluate,
)
from ledger_api.errors import CampaignRuleConflict, UnknownCampaignRule
from ledger_api.model import campaigns as views
from ledger_api.model.admin_schemas import EarnRuleModel

from .campaign_cap import ChainCap, actor, read_cap
from .checks import Checks
from .context import BrandInfo, RequestContext

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

MAX_ACTIVE_RULES = 100
_RULE = TypeAdapter(views.CampaignRuleRequest)


@dataclass(frozen=True, slots=True)
class Snapshot:
    rules: tuple[RuleSnapshot, ...]
    cap_pct: int


class CampaignRules:
    """Each brand's active rules and the cap, cached for `TTL_S` (read on every earn)."""

    TTL_S = 1.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[int, tuple[float, Snapshot]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def cached(self, brand_row_id: int) -> Snapshot | None:
        with self._lock:
            hit = self._cache.get(brand_row_id)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def snapshot(self, brand_row_id: int) -> Snapshot:
        hit = self.cached(brand_row_id)
        if hit is not None:
            return hit
        with self.db.read() as session:
            rows = session.scalars(
                select(CampaignRule).where(
                    CampaignRule.brand_id == brand_row_id, CampaignRule.active.is_(True)
                )
            ).all()
            rules = tuple(
                RuleSnapshot(r.id, r.version, r.kind, r.name, dict(r.params)) for r in rows
            )
            snap = Snapshot(rules, read_cap(session))
        with self._lock:
            self._cache[brand_row_id] = (time.monotonic() + self.TTL_S, snap)
        return snap

    def claim(self, brand: BrandInfo, facts: EarnFacts) -> CampaignClaim | None:
        """The earn's claim, or None when nothing can change it (no rule, the explicit
        multiplier within the cap): the earn is then the plain one it always was."""
        snap = self.snapshot(brand.row_id)
        if not snap.rules and facts.multiplier_pct <= snap.cap_pct:
            return None
        return CampaignClaim(brand.rule, snap.rules, snap.cap_pct, facts, brand.ledger_brand_id)


def _view(rule: CampaignRule) -> views.CampaignRuleView:
    return views.CampaignRuleView(
        rule_id=rule.id,
        kind=rule.kind,
        name=rule.name,
        version=rule.version,
        active=rule.active,
        params=dict(rule.params),
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _version(rule: CampaignRule) -> dict[str, Any]:
    return {
        "kind": rule.kind,
        "name": rule.name,
        "params": dict(rule.params),
        "active": rule.active,
    }


class CampaignsService:
    def __init__(self, runtime: Runtime, rules: CampaignRules) -> None:
        self.rt = runtime
        self.rules = rules
        self.chain_cap = ChainCap(runtime)

    # ------------------------------------------------------------------ rules

    def list_rules(self, who: Principal) -> views.CampaignRulesView:
        brand_row = who.require_brand()
        with self.rt.db.read() as session:
            brand = session.get_one(Brand, brand_row)
            rows = session.scalars(
                select(CampaignRule)
                .where(CampaignRule.brand_id == brand_row)
                .order_by(CampaignRule.id)
            ).all()
            return views.CampaignRulesView(
                brand_id=brand.ledger_id,
                base_rule=EarnRuleModel(
                    points_per_usd=brand.points_per_usd,
                    points_per_review=brand.points_per_review,
                    points_per_share=brand.points_per_share,
                    points_per_event=brand.points_per_event,
                    points_per_referral=brand.points_per_referral,
                ),
                cap_pct=read_cap(session),
                rules=[_view(r) for r in rows],
            )

    def create_rule(self, ctx: RequestContext, body: Any) -> tuple[int, dict[str, Any], bool]:
        brand_row = ctx.principal.require_brand()

        def action(session: Session) -> dict[str, Any]:
            active = session.scalars(
                select(CampaignRule.kind).where(
                    CampaignRule.brand_id == brand_row, CampaignRule.active.is_(True)
                )
            ).all()
            if len(active) >= MAX_ACTIVE_RULES:
                raise CampaignRuleConflict(f"at most {MAX_ACTIVE_RULES} active rules a brand")
            if body.kind in SINGLE_KINDS and body.kind in active:
                raise CampaignRuleConflict(
                    f"the brand already has an active {body.kind} rule: update it", kind=body.kind
                )
            now = utcnow()
            rule = CampaignRule(
                brand_id=brand_row,
                kind=body.kind,
                name=body.name,
                params=body.params(),
                version=1,
                active=True,
                created_at=now,
                updated_at=now,
            )
            session.add(rule)
            session.flush()
            self._audit(session, ctx.principal, rule, "created", None)
            return _view(rule).model_dump(mode="json")

        return self._once(ctx, 201, action)

    def update_rule(
        self, ctx: RequestContext, rule_id: int, body: Any
    ) -> tuple[int, dict[str, Any], bool]:
        def action(session: Session) -> dict[str, Any]:
            rule = self._own_rule(session, ctx.principal, rule_id)
            if body.kind != rule.kind:
                raise CampaignRuleConflict(
                    "a rule's kind cannot change: delete it and create another", kind=rule.kind
                )
            old = _version(rule)
            rule.name, rule.params = body.name, body.params()
            rule.version += 1
            rule.updated_at = utcnow()
            self._audit(session, ctx.principal, rule, "updated", old)
            return _view(rule).model_dump(mode="json")

        return self._once(ctx, 200, action)

    def delete_rule(self, ctx: RequestContext, rule_id: int) -> tuple[int, dict[str, Any], bool]:
        def action(session: Session) -> dict[str, Any]:
            rule = self._own_rule(session, ctx.principal, rule_id)
            old = _version(rule)
            rule.active = False
            rule.version += 1
            rule.updated_at = utcnow()
            self._audit(session, ctx.principal, rule, "deleted", old)
            return _view(rule).model_dump(mode="json")

        return self._once(ctx, 200, action)

    def rule_versions(self, who: Principal, rule_id: int) -> views.CampaignAuditView:
        with self.rt.db.read() as session:
            rule = session.get(CampaignRule, rule_id)
            if rule is None or rule.brand_id != who.require_brand():
                raise UnknownCampaignRule(rule_id=rule_id)
            rows = session.scalars(
                select(CampaignAudit)
                .where(CampaignAudit.rule_id == rule_id)
                .order_by(CampaignAudit.version)
            ).all()
            return views.CampaignAuditView(
                rule_id=rule_id,
                entries=[
                    views.CampaignAuditEntry.model_validate(
                        {
                            k: getattr(a, k)
                            for k in ("version", "action", "actor", "at", "old", "new")
                        }
                    )
                    for a in rows
                ],
            )

    # -------------------------------------------------------------------- cap

    def cap(self) -> views.CampaignCapView:
        return self.chain_cap.view()

    async def set_cap(self, ctx: RequestContext, body: views.CampaignCapRequest) -> Accepted:
        return await self.chain_cap.set(ctx, body)

    def cap_history(self) -> views.CampaignAuditView:
        return self.chain_cap.history()

    # ------------------------------------------------------- preview, referrals

    def preview(
        self, who: Principal, brand: BrandInfo, req: views.PreviewPurchase | views.PreviewEngagement
    ) -> views.EarnPreviewAnswer:
        """What the earn would credit now and why; reads only, records nothing. A member, or a
        referrer, that can never hold points is 422 `invalid_member`, as the earn answers (a
        trial: the preview credited what the purchase then refused)."""
        checks = Checks(self.rt)
        checks.receiver(req.member)
        if isinstance(req, views.PreviewPurchase) and req.referrer is not None:
            checks.receiver(req.referrer, role="referrer")
        at = int(req.at.timestamp()) if req.at is not None else int(time.time())
        snap = self.rules.snapshot(brand.row_id)
        with self.rt.db.read() as session:
            earned, bought = member_past(session, brand.row_id, brand.ledger_brand_id, req.member)
        facts = EarnFacts(
            kind=EarnKind.REVIEW,
            member=req.member,
            amount_cents=0,
            multiplier_pct=req.multiplier_pct,
            at=at,
            birthday_week=req.birthday_week,
            first_earn=not earned,
        )
        if isinstance(req, views.PreviewPurchase):
            facts = replace(
                facts,
                kind=EarnKind.PURCHASE,
                amount_cents=req.amount_cents,
                green=req.green,
                referrer=req.referrer,
                first_purchase=not bought,
            )
        else:
            facts = replace(facts, kind=EarnKind[req.kind.upper()])
        result = evaluate(brand.rule, snap.rules, facts, snap.cap_pct)
        return views.EarnPreviewAnswer(
            points=result.points,
            multiplier_pct=result.multiplier_pct,
            base_points=result.base_points,
            cap_pct=result.cap_pct,
            capped=result.capped,
            rules=result.applied,
            first_earn=facts.first_earn,
            first_purchase=facts.first_purchase,
        )

    def referrals(self, who: Principal, member: str | None) -> views.ReferralsView:
        query = select(CampaignReferral).where(CampaignReferral.brand_id == who.require_brand())
        if member is not None:
            query = query.where(
                (CampaignReferral.referred == member) | (CampaignReferral.referrer == member)
            )
        with self.rt.db.read() as session:
            rows = session.scalars(query.order_by(CampaignReferral.id).limit(500)).all()
            return views.ReferralsView(
                referrals=[
                    views.ReferralView(
                        referred=r.referred,
                        referrer=r.referrer,
                        status=r.status,
                        rule_id=r.rule_id,
                        rule_version=r.rule_version,
                        multiplier_pct=r.multiplier_pct,
                        referrer_operation_id=r.referrer_operation_id,
                        referred_operation_id=r.referred_operation_id,
                        created_at=r.created_at,
                        updated_at=r.updated_at,
                    )
                    for r in rows
                ]
            )

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def _own_rule(session: Session, who: Principal, rule_id: int) -> CampaignRule:
        rule = session.get(CampaignRule, rule_id, with_for_update=True)
        if rule is None or rule.brand_id != who.require_brand() or not rule.active:
            raise UnknownCampaignRule(rule_id=rule_id)
        return rule

    @staticmethod
    def _audit(
        session: Session,
        who: Principal,
        rule: CampaignRule,
        action: str,
        old: dict[str, Any] | None,
    ) -> None:
        session.add(
            CampaignAudit(
                brand_id=rule.brand_id,
                rule_id=rule.id,
                version=rule.version,
                action=action,
                actor=actor(who),
                old=old,
                new=_version(rule),
            )
        )
        audited = AuditAction(f"campaign.rule_{action}")  # the alliance's trail (`access.audit`)
        record(session, note(who, audited, target=rule.id, version=rule.version, kind=rule.kind))
        # the brand's webhooks hear it in the same transaction (its other back-ends, its staff)
        cause = (ev.CAMPAIGN_RULE_CHANGED, rule.brand_id, rule.id, rule.version)
        change = {"rule_id": rule.id, "version": rule.version, "action": action, **_version(rule)}
        event = NewEvent(
            ev.event_id(*cause), cause[0], rule.updated_at, [who.ledger_brand_id], change
        )
        write_events(session, [event])

    def _once(
        self, ctx: RequestContext, status: int, action: Callable[[Session], dict[str, Any]]
    ) -> tuple[int, dict[str, Any], bool]:
        """Runs a change once per Idempotency-Key (a replay answers the stored answer)."""
        with self.rt.db.write() as session:
            replay = find_replay(
                session, ctx.principal.scope, ctx.idempotency_key, ctx.request_hash
            )
            if replay is not None:
                return replay.status_code, replay.body, True
            answer = action(session)
            session.add(
                IdempotencyRecord(
                    scope=ctx.principal.scope,
                    key=ctx.idempotency_key,
                    request_hash=ctx.request_hash,
                    operation_uid=None,
                    response_status=status,
                    response_body=answer,
                )
            )
        self.rules.forget()
        return status, answer, False
