"""Reads served from the index: balances with lots, tiers, history, badges, liability, positions.

"Now", for expiry, is the later of the wall clock and the last indexed block's
time, so a development chain moved forward in time shows the same expiries
the ledger applies.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.background.indexer import read_cursor
from ledger_api.db.keys import exact, superset_of
from ledger_api.db.models import (
    Brand,
    IdxBadgeBalance,
    IdxBadgeType,
    IdxBrand,
    IdxHistory,
    IdxLot,
    IdxMember,
    IdxPending,
    IdxPosition,
    IdxTierRule,
    Operation,
)
from ledger_api.db.value_models import lot_value, outstanding_value
from ledger_api.domain import (
    MAX_TIER,
    TIER_NAMES,
    OpKind,
    month_label,
    month_of,
    month_start,
    quarter_label,
)
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import Forbidden, IndexNotReady, UnknownBrand
from ledger_api.model import schemas

HISTORY_KINDS = (
    "earned",
    "pending",
    "released",
    "reversed",
    "gifted",
    "received",
    "bid",
    "bid_returned",
    "donated",
    "redeemed",
    "expired",
)


def _dt(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _pending_of(session: Session, address: str, now: int) -> dict[int, list[schemas.PendingView]]:
    """The member's pending positions still in their return window, by brand (issue 11)."""
    found: dict[int, list[schemas.PendingView]] = {}
    for row in session.scalars(
        select(IdxPending)
        .where(IdxPending.member == address, IdxPending.amount > 0, IdxPending.release_at > now)
        .order_by(IdxPending.brand, IdxPending.release_at)
    ):
        view = schemas.PendingView(amount=row.amount, release_at=_dt(row.release_at))
        found.setdefault(row.brand, []).append(view)
    return found


def _total(pending: dict[int, list[schemas.PendingView]], brand: int) -> int:
    return sum(p.amount for p in pending.get(brand, []))


def _spendable(
    session: Session,
    live: tuple[ColumnElement[bool], ...],
    pending: dict[int, list[schemas.PendingView]],
) -> list[schemas.SpendableView]:
    """Per brand not suspended, the member's live points less its pending ones, and their value:
    each lot at the value of its earn month (issue 10, item 7), the pending points (the newest)
    taken off the newest lots first."""
    lots: dict[int, list[tuple[int, int]]] = {}
    for brand, amount, value in session.execute(
        select(IdxLot.brand, IdxLot.amount, lot_value())
        .join(IdxBrand, IdxBrand.brand == IdxLot.brand)
        .where(*live, IdxBrand.suspended.is_(False))
        .order_by(IdxLot.brand, IdxLot.month.desc())
    ):
        lots.setdefault(int(brand), []).append((int(amount), int(value or 0)))
    views = []
    for brand, rows in lots.items():
        waiting = _total(pending, brand)
        points, worth = sum(a for a, _ in rows) - waiting, 0
        for amount, value in rows:  # newest first: the pending points come off these
            held = min(amount, waiting)
            waiting -= held
            worth += (amount - held) * value
        views.append(schemas.SpendableView(brand_id=brand, points=points, value_micro_usd=worth))
    return views


class ReadsService:
    """Stateless; every method takes the request's read session."""

    @staticmethod
    def _as_of(session: Session) -> tuple[schemas.AsOf, int]:
        cursor = read_cursor(session)
        if cursor is None or cursor.last_block_hash is None:
            raise IndexNotReady("the index has not applied any block yet")
        now = max(int(time.time()), cursor.last_block_timestamp)
        return schemas.AsOf(
            block=cursor.next_block - 1, timestamp=_dt(cursor.last_block_timestamp)
        ), now

    # ---------------------------------------------------------------- member

    def member(self, session: Session, who: Principal, address: str) -> schemas.MemberView:
        """What a key may see of a member (docs/gateway.md, "Reads scoped by need"): a brand
        key, its own brand's lots and, per brand, the totals the member may spend at it (any
        brand's points that are not suspended: a redemption converts them); the admin, all."""
        as_of, now = self._as_of(session)
        live = (IdxLot.member == address, IdxLot.amount > 0, IdxLot.expires_at > now)
        pending = _pending_of(session, address, now)
        spendable = _spendable(session, live, pending)
        lots_query = select(IdxLot).where(*live).order_by(IdxLot.brand, IdxLot.month)
        if not who.is_admin:
            lots_query = lots_query.where(IdxLot.brand == (who.ledger_brand_id or -1))
        balances: dict[int, schemas.BalanceView] = {}
        for lot in session.scalars(lots_query):
            view = schemas.LotView(
                amount=lot.amount,
                earned_month=month_label(lot.month),
                expires_at=_dt(lot.expires_at),
            )
            current = balances.get(lot.brand)
            if current is None:
                balances[lot.brand] = schemas.BalanceView(
                    brand_id=lot.brand, balance=lot.amount, lots=[view], next_expiry=view
                )
            else:
                balances[lot.brand] = current.model_copy(
                    update={"balance": current.balance + lot.amount, "lots": [*current.lots, view]}
                )
        for brand, shown in balances.items():
            waiting = _total(pending, brand)
            balances[brand] = shown.model_copy(
                update={
                    "balance": shown.balance - waiting,
                    "pending": waiting,
                    "pending_releases": pending.get(brand, []),
                }
            )
        return schemas.MemberView(
            address=address,
            as_of=as_of,
            balances=list(balances.values()),
            spendable=spendable,
            tier=self._tier(session, address, now),
        )

    @staticmethod
    def _tier(session: Session, address: str, now: int) -> schemas.TierProgress:
        status = session.get(IdxMember, address)
        quarter = month_of(now) // 3
        tier = status.tier if status else 0
        same_quarter = status is not None and status.quarter == quarter
        spend = status.spend_cents if status and same_quarter else 0
        orders = status.orders if status and same_quarter else 0
        engagements = status.engagements if status and same_quarter else 0
        next_rule: schemas.TierRuleView | None = None
        missing: dict[str, int] | None = None
        if tier < MAX_TIER:
            rule = session.get(IdxTierRule, tier + 1)
            if rule is not None:
                next_rule = schemas.TierRuleView(
                    tier=rule.tier,
                    name=TIER_NAMES[rule.tier],
                    spend_cents=rule.spend_cents,
                    orders=rule.orders,
                    engagements=rule.engagements,
                    gift_points=rule.gift_points,
                )
                missing = {
                    "spend_cents": max(0, rule.spend_cents - spend),
                    "orders": max(0, rule.orders - orders),
                    "engagements": max(0, rule.engagements - engagements),
                }
        grace = status.grace_until_month if status else 0
        return schemas.TierProgress(
            tier=tier,
            name=TIER_NAMES[tier],
            quarter=quarter_label(quarter),
            spend_cents=spend,
            orders=orders,
            engagements=engagements,
            grace_until=_dt(month_start(grace)) if grace else None,
            badge_tier=status.badge_tier if status else None,
            next_tier=next_rule,
            missing=missing,
        )

    # --------------------------------------------------------------- history

    def history(
        self, session: Session, who: Principal, address: str, limit: int
    ) -> schemas.HistoryView:
        """The points growth report; a brand key sees the lines about its own brand."""
        as_of, now = self._as_of(session)
        query = select(IdxHistory).where(IdxHistory.member == address)
        expired_query = select(IdxLot).where(
            IdxLot.member == address, IdxLot.amount > 0, IdxLot.expires_at <= now
        )
        if not who.is_admin:
            brand = who.ledger_brand_id or -1
            query = query.where(or_(IdxHistory.brand == brand, IdxHistory.at_brand == brand))
            expired_query = expired_query.where(IdxLot.brand == brand)
        rows = session.scalars(
            query.order_by(IdxHistory.block_number.desc(), IdxHistory.log_index.desc()).limit(limit)
        ).all()
        campaigns = _campaigns_of(session, rows)
        entries = [
            schemas.HistoryEntry(
                kind=row.kind,
                brand_id=row.brand,
                amount=row.amount,
                at=_dt(row.timestamp),
                counterparty=row.counterparty,
                at_brand_id=row.at_brand,
                value_micro_usd=row.value_micro_usd,
                op_id=row.op_id,
                source=row.source,
                order_ref=row.order_ref,
                tx_hash=row.tx_hash,
                block_number=row.block_number,
                release_at=_dt(row.release_at) if row.release_at else None,
                campaign=campaigns.get((row.brand, row.op_id)),
            )
            for row in rows
        ]
        released = select(IdxPending).where(
            IdxPending.member == address, IdxPending.amount > 0, IdxPending.release_at <= now
        )
        if not who.is_admin:
            released = released.where(IdxPending.brand == (who.ledger_brand_id or -1))
        for position in session.scalars(released):  # what the return window left the member
            entries.append(
                schemas.HistoryEntry(
                    kind="released",
                    brand_id=position.brand,
                    amount=position.amount,
                    at=_dt(position.release_at),
                    source="purchase",
                )
            )
        for lot in session.scalars(expired_query):
            entries.append(
                schemas.HistoryEntry(
                    kind="expired",
                    brand_id=lot.brand,
                    amount=lot.amount,
                    at=_dt(lot.expires_at),
                    source=f"earned {month_label(lot.month)}",
                )
            )
        entries.sort(key=lambda e: e.at, reverse=True)
        totals = {kind: 0 for kind in HISTORY_KINDS}
        for entry in entries:
            totals[entry.kind] += entry.amount
        return schemas.HistoryView(
            address=address, as_of=as_of, entries=entries[:limit], totals=totals
        )

    # ----------------------------------------------------------------- badges

    def badges(self, session: Session, who: Principal, address: str) -> schemas.BadgesView:
        """The membership tier badge and the badges; a brand key sees its own brand's badges."""
        status = session.get(IdxMember, address)
        query = (
            select(IdxBadgeBalance, IdxBadgeType)
            .outerjoin(IdxBadgeType, IdxBadgeType.type_id == IdxBadgeBalance.type_id)
            .where(IdxBadgeBalance.holder == address, IdxBadgeBalance.amount > 0)
            .order_by(IdxBadgeBalance.type_id)
        )
        if not who.is_admin:
            query = query.where(IdxBadgeType.brand == (who.ledger_brand_id or -1))
        rows = session.execute(query)
        badges = [
            schemas.BadgeView(
                token_id=balance.token_id,
                type_id=balance.type_id,
                brand_id=kind.brand if kind else None,
                kind=kind.kind if kind else None,
                amount=balance.amount,
                redeemed=balance.redeemed,
                uri=kind.uri if kind else None,
            )
            for balance, kind in rows
        ]
        tier = status.badge_tier if status else None
        return schemas.BadgesView(
            address=address,
            membership_tier=tier,
            membership_tier_name=TIER_NAMES[tier] if tier is not None else None,
            badges=badges,
        )

    # ------------------------------------------------------- brands, positions

    def liability(
        self, session: Session, who: Principal, brand: LedgerBrandId
    ) -> schemas.LiabilityView:
        if not who.is_admin and who.ledger_brand_id != brand:
            raise Forbidden("a brand key reads its own liability only")
        as_of, now = self._as_of(session)
        account = session.get(IdxBrand, brand)
        if account is None:
            raise UnknownBrand(brand_id=brand)
        expired = session.scalar(
            select(func.coalesce(func.sum(IdxLot.amount), 0)).where(
                IdxLot.brand == brand, IdxLot.expires_at <= now
            )
        )
        pending = session.scalar(
            select(func.coalesce(func.sum(IdxPending.amount), 0)).where(
                IdxPending.brand == brand, IdxPending.release_at > now
            )
        )
        # issued = redeemed + expired + reversed + outstanding; pending is part of outstanding
        outstanding = account.issued - account.redeemed - int(expired or 0) - account.reversed
        return schemas.LiabilityView(
            brand_id=brand,
            as_of=as_of,
            issued=account.issued,
            redeemed=account.redeemed,
            expired=int(expired or 0),
            reversed=account.reversed,
            outstanding=outstanding,
            pending=int(pending or 0),
            value_micro_usd_per_point=account.value_micro_usd,
            outstanding_value_micro_usd=outstanding_value(session, brand, now),
        )

    def positions(self, session: Session, who: Principal) -> schemas.PositionsView:
        """Net positions between brands; a brand key sees the pairs it is part of."""
        as_of, _ = self._as_of(session)
        query = select(IdxPosition).where(IdxPosition.amount_micro_usd != "0")
        if not who.is_admin:
            brand = who.ledger_brand_id or -1
            query = query.where(or_(IdxPosition.brand_lo == brand, IdxPosition.brand_hi == brand))
        positions = []
        for row in session.scalars(query.order_by(IdxPosition.brand_lo, IdxPosition.brand_hi)):
            amount = row.amount_micro_usd
            if amount == 0:
                continue
            debtor, creditor = (
                (row.brand_lo, row.brand_hi) if amount > 0 else (row.brand_hi, row.brand_lo)
            )
            positions.append(
                schemas.PositionView(
                    debtor_brand_id=debtor, creditor_brand_id=creditor, amount_micro_usd=abs(amount)
                )
            )
        return schemas.PositionsView(as_of=as_of, positions=positions)


def _campaigns_of(
    session: Session, rows: Sequence[IdxHistory]
) -> dict[tuple[int, int | None], Any]:
    """The campaign record (issue 16) of each earn line's operation, by (brand, op id)."""
    pairs = {(r.brand, r.op_id) for r in rows if r.kind in ("earned", "pending") and r.op_id}
    if not pairs:
        return {}
    found = session.execute(
        select(Brand.ledger_id, Operation.op_id, Operation.payload)
        .join(Brand, Brand.id == Operation.brand_id)
        .where(
            superset_of((Brand.ledger_id, Operation.op_id), list(pairs)),
            Operation.kind == OpKind.EARN.value,
        )
    )
    return {
        (int(brand), int(op_id)): payload["campaign"]
        for brand, op_id, payload in exact(found, pairs)
        if payload.get("campaign")
    }
