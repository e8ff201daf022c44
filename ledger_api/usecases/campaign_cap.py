"""The campaigns' cap on a combined multiplier (issue 16, item 1): a chain rule.

The ledger refuses an earn above the cap whoever sends it (`setMaxMultiplier`, admin only).
`PUT /v1/admin/campaigns/cap` queues that admin transaction (or, with a multisig admin, answers
it); the cap in force is the one the indexer projected from `MaxMultiplierChanged`, never a copy
of the gateway's own. The gateway keeps the audit only: who asked for which cap, when, the cap in
force then, and the operation that carries it (one entry per operation, replays included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.access.audit import AuditAction, note
from ledger_api.background.indexer.cursor import followed_max_multiplier
from ledger_api.background.intake import Accepted
from ledger_api.db.campaign_models import CampaignAudit
from ledger_api.db.models import Operation
from ledger_api.domain import OPEN_OP_STATUSES, OpKind
from ledger_api.model import campaigns as views
from ledger_api.model.payloads import MaxMultiplierPayload

from .brands import submit_admin
from .context import RequestContext, draft

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime


def read_cap(session: Session) -> int:
    """The chain's cap on a combined multiplier (percent), as the index had it when it last
    caught up with the chain (a rebuild replays older caps); the chain's `MAX_MULTIPLIER_PCT`
    (1000) until the admin sets one."""
    return followed_max_multiplier(session)


def actor(who: Principal) -> str:
    return f"{who.scope} key {who.key_prefix}"[:64]


def _cap_entries(session: Session) -> list[CampaignAudit]:
    return list(
        session.scalars(
            select(CampaignAudit)
            .where(CampaignAudit.action == "cap", CampaignAudit.rule_id.is_(None))
            .order_by(CampaignAudit.version)
        )
    )


class ChainCap:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def view(self) -> views.CampaignCapView:
        """The chain's cap as indexed, the number of changes asked for, and the latest change
        not yet landed (queued or submitted), if any."""
        with self.rt.db.read() as session:
            version = session.scalar(
                select(func.max(CampaignAudit.version)).where(
                    CampaignAudit.action == "cap", CampaignAudit.rule_id.is_(None)
                )
            )
            open_op = session.execute(
                select(Operation.uid, Operation.status, Operation.payload)
                .where(
                    Operation.kind == OpKind.SET_MAX_MULTIPLIER.value,
                    Operation.status.in_(OPEN_OP_STATUSES),
                )
                .order_by(Operation.id.desc())
                .limit(1)
            ).first()
            pending = (
                views.CampaignCapPending(
                    operation_id=open_op.uid,
                    status=open_op.status,
                    max_multiplier_pct=MaxMultiplierPayload.model_validate(
                        open_op.payload
                    ).max_multiplier_pct,
                )
                if open_op is not None
                else None
            )
            return views.CampaignCapView(
                max_multiplier_pct=read_cap(session), version=version or 0, pending=pending
            )

    async def set(self, ctx: RequestContext, body: views.CampaignCapRequest) -> Accepted:
        """Queues `setMaxMultiplier(pct)` as an admin operation (a multisig admin gets the
        transaction in the answer); the cap applies once the chain has it (and the gateway's
        evaluation once indexed). Audited once per operation: who asked, when, the cap in
        force then and the cap asked for."""
        ctx.principal.require_admin()
        payload = MaxMultiplierPayload(max_multiplier_pct=body.max_multiplier_pct)
        pct = body.max_multiplier_pct
        audit = note(ctx.principal, AuditAction.CAMPAIGN_CAP_SET, max_multiplier_pct=pct)
        queued = draft(ctx, OpKind.SET_MAX_MULTIPLIER, None, payload, audit=audit)
        accepted = await submit_admin(self.rt, queued)
        if accepted.operation_uid is not None:
            uid = accepted.operation_uid
            await run_in_threadpool(self._audit, ctx.principal, uid, body.max_multiplier_pct)
        return accepted

    def _audit(self, who: Principal, uid: str, pct: int) -> None:
        with self.rt.db.write() as session:
            entries = _cap_entries(session)
            if any((a.new or {}).get("operation_id") == uid for a in entries):
                return  # a replay: audited with the first answer
            session.add(
                CampaignAudit(
                    brand_id=None,
                    rule_id=None,
                    version=(entries[-1].version if entries else 0) + 1,
                    action="cap",
                    actor=actor(who),
                    old={"max_multiplier_pct": read_cap(session)},
                    new={"max_multiplier_pct": pct, "operation_id": uid},
                )
            )

    def history(self) -> views.CampaignAuditView:
        with self.rt.db.read() as session:
            return views.CampaignAuditView(
                rule_id=None,
                entries=[
                    views.CampaignAuditEntry(
                        version=a.version,
                        action="cap",
                        actor=a.actor,
                        at=a.at,
                        old=a.old,
                        new=a.new,
                    )
                    for a in _cap_entries(session)
                ],
            )
