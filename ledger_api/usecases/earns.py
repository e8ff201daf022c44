"""The earn path of `OperationsService` (a mixin, as `BulkEarns` and `Reversals`): a purchase
or an engagement becomes a draft priced by the chain's rule; with campaign rules (issue 16) the
draft carries a `CampaignClaim` the intake evaluates under the brand's lock."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from ledger_api.background.intake import Accepted, Draft
from ledger_api.domain import EarnKind, OpKind
from ledger_api.domain.campaigns import EarnFacts
from ledger_api.domain.refs import engagement_key
from ledger_api.errors import ZeroPoints
from ledger_api.model.payloads import EarnPayload

from .campaigns import CampaignRules
from .context import BrandInfo, RequestContext, draft

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

    from .checks import Checks


class Earns:
    """Mixed into `OperationsService`, which provides these."""

    rt: Runtime
    checks: Checks
    campaigns: CampaignRules

    async def _earn(
        self,
        ctx: RequestContext,
        brand: BrandInfo,
        member: str,
        kind: EarnKind,
        multiplier_pct: int,
        amount_cents: int,
        order_ref: str,
        **flags: Any,
    ) -> Accepted:
        if self.campaigns.cached(brand.row_id) is None:  # read off the event loop
            await run_in_threadpool(lambda: self.campaigns.snapshot(brand.row_id))
        return await self.rt.intake.submit(
            self._earn_draft(
                ctx, brand, member, kind, multiplier_pct, amount_cents, order_ref, **flags
            )
        )

    def _earn_draft(
        self,
        ctx: RequestContext,
        brand: BrandInfo,
        member: str,
        kind: EarnKind,
        multiplier_pct: int,
        amount_cents: int,
        order_ref: str,
        *,
        green: bool = False,
        birthday_week: bool = False,
        referrer: str | None = None,
    ) -> Draft:
        """An earn's draft; `ZeroPoints` when the brand's rule gives nothing for it. With
        campaign rules (issue 16) the draft carries a claim the intake evaluates.
        `InvalidMember` for a member, or a referrer, that can never hold points (a review of
        2026-12-06: a system contract taken as referrer was credited a referral on chain
        that the chain refused, the referral reported `credited`)."""
        self.checks.receiver(member)
        if referrer is not None:
            self.checks.receiver(referrer, role="referrer")
        facts = EarnFacts(
            kind,
            member,
            amount_cents,
            multiplier_pct,
            int(time.time()),
            green=green,
            birthday_week=birthday_week,
            referrer=referrer,
        )
        claim = self.campaigns.claim(brand, facts)
        points = brand.rule.points(kind, multiplier_pct, amount_cents)
        if points == 0 and claim is None:
            raise ZeroPoints(earn_kind=kind.name.lower(), multiplier_pct=multiplier_pct)
        payload = EarnPayload(
            member=member,
            earn_kind=int(kind),
            multiplier_pct=multiplier_pct,
            amount_cents=amount_cents,
            order_ref=order_ref,
        )
        return draft(
            ctx,
            OpKind.EARN,
            brand,
            payload,
            member=member,
            beneficiary=member,
            points=points,
            order_ref=order_ref
            if kind is EarnKind.PURCHASE
            else engagement_key(kind, member, order_ref),
            extra_body={"points": points},
            campaign=claim,
        )
