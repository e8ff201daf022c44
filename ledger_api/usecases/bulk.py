"""`POST /v1/earn/batch`: many earns, one durable write (`OperationsService.earn_batch`)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Awaitable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.access.sealing import bind_reference
from ledger_api.background.intake import Accepted, Bulk, Draft
from ledger_api.domain import EarnKind
from ledger_api.domain.refs import ZERO_REF
from ledger_api.errors import DuplicateItemKey, LedgerError
from ledger_api.model import bulk

from .campaigns import CampaignRules
from .context import BrandInfo, RequestContext

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime


class BulkEarns:
    """Mixed into `OperationsService`, which provides these."""

    rt: Runtime
    campaigns: CampaignRules

    def _own_brand(self, who: Principal) -> Awaitable[BrandInfo]:
        raise NotImplementedError

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
        raise NotImplementedError

    async def earn_batch(self, ctx: RequestContext, req: bulk.EarnBatchRequest) -> Accepted:
        """Many purchases and engagements, stored in one transaction (`Intake`, `Bulk`).

        Each item is a draft under its own key in the brand's item scope, fingerprinted by its
        content; an item refused before storing (zero points) is answered `refused`.
        `DuplicateItemKey` (422) when two items share a key."""
        twice = [key for key, n in Counter(item.key for item in req.items).items() if n > 1]
        if twice:
            raise DuplicateItemKey(keys=twice[:10])
        brand = await self._own_brand(ctx.principal)
        if self.campaigns.cached(brand.row_id) is None:  # the brand's campaign rules, read
            await run_in_threadpool(lambda: self.campaigns.snapshot(brand.row_id))  # off the loop
        secret = self.rt.refs.cached(brand.row_id)
        if secret is None:
            secret = await run_in_threadpool(lambda: self.rt.refs.secret(brand.row_id))
        scope = f"{ctx.principal.scope}/item"
        items: list[tuple[str, Draft | LedgerError]] = []
        for item in req.items:
            dumped = item.model_dump(mode="json")
            for flag in ("green", "birthday_week", "referrer"):  # campaigns: left out at their
                if dumped.get(flag) in (False, None):  # default, an item's fingerprint is as before
                    dumped.pop(flag, None)
            fingerprint = hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()
            item_ctx = RequestContext(ctx.principal, item.key, fingerprint)
            flags: dict[str, Any] = {"birthday_week": item.birthday_week}  # campaigns
            if isinstance(item, bulk.BulkPurchase):
                kind, cents = EarnKind.PURCHASE, item.amount_cents
                ref = bind_reference(secret, item.order_ref)
                flags |= {"green": item.green, "referrer": item.referrer}
            else:
                kind, cents = EarnKind[item.kind.upper()], 0
                ref = bind_reference(secret, item.ref) if item.ref is not None else ZERO_REF
            try:
                made = self._earn_draft(
                    item_ctx, brand, item.member, kind, item.multiplier_pct, cents, ref, **flags
                )
            except LedgerError as error:
                items.append((item.key, error))
                continue
            items.append((item.key, replace(made, scope=scope)))
        return await self.rt.intake.submit(
            Bulk(ctx.principal.scope, ctx.idempotency_key, ctx.request_hash, tuple(items))
        )
