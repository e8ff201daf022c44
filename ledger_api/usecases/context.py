"""Who calls, and what a use case knows of the caller's brand."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.background.indexer import followed_ledger_paused
from ledger_api.background.intake import Draft
from ledger_api.db import Database
from ledger_api.db.models import Brand
from ledger_api.domain import EarnRule, OpKind
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import BrandNotReady, LedgerPaused, UnknownBrand
from ledger_api.model.payloads import OperationPayload


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who calls, with which Idempotency-Key, and the request's fingerprint (`api.deps`)."""

    principal: Principal
    idempotency_key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class BrandInfo:
    row_id: BrandRowId
    ledger_brand_id: LedgerBrandId | None  # None until the onboarding is confirmed
    status: str
    rule: EarnRule

    def onboarded(self) -> LedgerBrandId:
        """The ledger's id; `BrandNotReady` while the onboarding is not confirmed."""
        if self.ledger_brand_id is None:
            raise BrandNotReady()
        return self.ledger_brand_id


class BrandDirectory:
    """The calling brand's row, cached for a second (read on every brand call)."""

    TTL_S = 1.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._brands: dict[BrandRowId, tuple[float, BrandInfo]] = {}
        self._lock = threading.Lock()

    def cached(self, brand_row_id: BrandRowId) -> BrandInfo | None:
        with self._lock:
            cached = self._brands.get(brand_row_id)
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def get(self, brand_row_id: BrandRowId) -> BrandInfo:
        cached = self.cached(brand_row_id)
        if cached is not None:
            return cached
        with self.db.read() as session:
            brand = session.get(Brand, brand_row_id)
            if brand is None:
                raise UnknownBrand()
            info = BrandInfo(
                BrandRowId(brand.id),
                LedgerBrandId(brand.ledger_id) if brand.ledger_id is not None else None,
                brand.status,
                EarnRule(
                    brand.points_per_usd,
                    brand.points_per_review,
                    brand.points_per_share,
                    brand.points_per_event,
                    brand.points_per_referral,
                ),
            )
        with self._lock:
            self._brands[brand_row_id] = (time.monotonic() + self.TTL_S, info)
        return info

    def own(self, who: Principal) -> BrandInfo:
        """The caller's brand (`Forbidden` for an admin key)."""
        return self.get(who.require_brand())


def draft(
    ctx: RequestContext,
    kind: OpKind,
    brand: BrandInfo | None,
    payload: OperationPayload,
    **kw: Any,
) -> Draft:
    """The draft of an operation in the queue of `brand` (None: the alliance admin's)."""
    return Draft(
        scope=ctx.principal.scope,
        idempotency_key=ctx.idempotency_key,
        request_hash=ctx.request_hash,
        kind=kind,
        brand_row_id=brand.row_id if brand else None,
        payload=payload,
        **kw,
    )


def refuse_while_paused(session: Session, what: str) -> None:
    """`LedgerPaused` (409) while the ledger is paused as the index last followed it, for a
    request whose paused step the intake would refuse only after others ran, or never sees
    (`what`: that step, as the answer's message says it)."""
    if followed_ledger_paused(session):
        raise LedgerPaused(f"the ledger is paused: {what}")
