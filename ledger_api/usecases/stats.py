"""Program health statistics from the index (the dashboard's twelve indicators and more).

What each key sees: the admin key, the whole alliance; a brand key, its own brand's points,
the members who hold or held its points, the events that name it and the pairs it is in
(`scope` "brand"). "Now", for expiry, is the later of the wall clock and the last indexed
block's time, as for every read (`usecases.reads`).

Sources: tiers (`idx_members`), tier movements (the `tier.*` events of the outbox),
points per brand (`idx_brands`, expired from `idx_lots`), activity and earn volume
(`idx_history`), cross-brand flows (`idx_history` redemptions), positions (`idx_positions`),
settlements (`settlement.settled` events), badges (`idx_badge_types`,
`idx_badge_balances`). Points "reversed": pending points brands cancelled (issue 11).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, or_, select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.background.indexer.holders import a_member
from ledger_api.db.models import (
    IdxBadgeBalance,
    IdxBadgeType,
    IdxBrand,
    IdxHistory,
    IdxLot,
    IdxMember,
    IdxVaultBrand,
)
from ledger_api.db.value_models import lot_value, value_in_month
from ledger_api.db.webhook_models import OutboxEvent
from ledger_api.domain import TIER_NAMES, month_label, month_of, quarter_label, utc_day
from ledger_api.domain import events as ev
from ledger_api.model import stats
from ledger_api.usecases.reads import ReadsService

DAY_S = 86_400
EXPIRING_WINDOW_S = 30 * DAY_S
QUARTERS_SHOWN = 8
SETTLEMENTS_SHOWN = 100
_MOVES = {ev.TIER_UPGRADED: "upgrades", ev.TIER_GRACE_STARTED: "grace_started"}
_MOVES[ev.TIER_DOWNGRADED] = "downgrades"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class StatsService:
    """Stateless; every method takes the request's read session and the caller."""

    @staticmethod
    def _brand(who: Principal) -> int | None:
        """None for the admin (everything), else the caller's ledger brand id (-1: none yet)."""
        return None if who.is_admin else int(who.ledger_brand_id or -1)

    @staticmethod
    def _scope(who: Principal) -> stats.Scope:
        return "alliance" if who.is_admin else "brand"

    @staticmethod
    def _names_brand(brand: int) -> ColumnElement[bool]:
        return OutboxEvent.brands.like(f"%,{brand},%")

    # --------------------------------------------------------------- overview

    def overview(self, session: Session, who: Principal) -> stats.Overview:
        as_of, now = ReadsService._as_of(session)
        brand = self._brand(who)
        brands = self._brand_points(session, brand, now)
        return stats.Overview(
            scope=self._scope(who),
            as_of=as_of,
            tiers=self._tiers(session, brand),
            tier_movements=self._tier_movements(session, brand),
            brands=brands,
            totals=_total(brands),
            activity=self._activity(session, brand, now),
            badges=_badges(session, brand),
        )

    @staticmethod
    def _members(brand: int | None) -> Select[Any]:
        """Members who hold or held points (of `brand`), once each: no auction escrow, nor
        the charity pool (`a_member`)."""
        query = select(IdxLot.member).distinct().where(a_member(IdxLot.member))
        return query if brand is None else query.where(IdxLot.brand == brand)

    def _tiers(self, session: Session, brand: int | None) -> list[stats.TierCount]:
        members = self._members(brand).subquery()
        tier = func.coalesce(IdxMember.tier, 0)
        grace = func.coalesce(IdxMember.grace_until_month, 0) > 0
        rows = session.execute(
            select(tier, grace, func.count())
            .select_from(members)
            .outerjoin(IdxMember, IdxMember.member == members.c.member)
            .group_by(tier, grace)
        )
        counts: dict[int, list[int]] = {t: [0, 0] for t in TIER_NAMES}
        for level, in_grace, count in rows:
            counts.setdefault(int(level), [0, 0])
            counts[int(level)][0] += int(count)
            if in_grace:
                counts[int(level)][1] += int(count)
        return [
            stats.TierCount(tier=t, name=TIER_NAMES.get(t, str(t)), members=c[0], in_grace=c[1])
            for t, c in sorted(counts.items())
        ]

    def _tier_movements(self, session: Session, brand: int | None) -> list[stats.TierMovements]:
        query = select(OutboxEvent.type, OutboxEvent.occurred_at).where(
            OutboxEvent.type.in_(tuple(_MOVES))
        )
        if brand is not None:
            query = query.where(self._names_brand(brand))
        per_quarter: dict[int, dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(_MOVES.values(), 0)
        )
        for kind, occurred_at in session.execute(query):
            q = month_of(int(occurred_at.timestamp())) // 3
            per_quarter[q][_MOVES[kind]] += 1
        return [
            stats.TierMovements(quarter=quarter_label(q), **per_quarter[q])
            for q in sorted(per_quarter)[-QUARTERS_SHOWN:]
        ]

    @staticmethod
    def _lot_sums(
        session: Session, brand: int | None, *where: ColumnElement[bool]
    ) -> dict[int, int]:
        query = select(IdxLot.brand, func.sum(IdxLot.amount)).where(*where).group_by(IdxLot.brand)
        if brand is not None:
            query = query.where(IdxLot.brand == brand)
        return {int(b): int(total or 0) for b, total in session.execute(query)}

    def _brand_points(
        self, session: Session, brand: int | None, now: int
    ) -> list[stats.BrandPoints]:
        expired = self._lot_sums(session, brand, IdxLot.expires_at <= now)
        expiring = self._lot_sums(
            session,
            brand,
            IdxLot.expires_at > now,
            IdxLot.expires_at <= now + EXPIRING_WINDOW_S,
            IdxLot.amount > 0,
        )
        live_value = self._lot_values(session, brand, IdxLot.expires_at > now, IdxLot.amount > 0)
        expired_value = self._lot_values(session, brand, IdxLot.expires_at <= now)
        redeemed_value: dict[int, int] = defaultdict(int)
        redemptions = select(IdxHistory.brand, IdxHistory.value_micro_usd).where(
            IdxHistory.kind == "redeemed"
        )
        if brand is not None:
            redemptions = redemptions.where(IdxHistory.brand == brand)
        for b, value in session.execute(redemptions):
            redeemed_value[int(b)] += int(value or 0)
        reversed_value = _reversed_values(session, brand)
        query = select(IdxBrand).order_by(IdxBrand.brand)
        if brand is not None:
            query = query.where(IdxBrand.brand == brand)
        return [
            _points(
                row.brand,
                row.suspended,
                row.value_micro_usd,
                row.issued,
                row.redeemed,
                expired.get(row.brand, 0),
                expiring.get(row.brand, 0),
                reversed_=row.reversed,
                # each lot at its earn month's value (issue 10, item 7); redemptions and
                # reversals at the value they recorded
                values=_values(
                    redeemed_value[row.brand],
                    expired_value.get(row.brand, 0),
                    live_value.get(row.brand, 0),
                    reversed_value.get(row.brand, 0),
                ),
            )
            for row in session.scalars(query)
        ]

    @staticmethod
    def _lot_values(
        session: Session, brand: int | None, *where: ColumnElement[bool]
    ) -> dict[int, int]:
        """Per brand, the value of the lots matching `where`, each at its month's value."""
        query = (
            select(IdxLot.brand, func.sum(IdxLot.amount * lot_value()))
            .where(*where)
            .group_by(IdxLot.brand)
        )
        if brand is not None:
            query = query.where(IdxLot.brand == brand)
        return {int(b): int(total or 0) for b, total in session.execute(query)}

    def _activity(self, session: Session, brand: int | None, now: int) -> stats.ActiveMembers:
        def active(days: int) -> int:
            query = select(func.count(distinct(IdxHistory.member))).where(
                IdxHistory.timestamp >= now - days * DAY_S, a_member(IdxHistory.member)
            )
            if brand is not None:
                query = query.where(or_(IdxHistory.brand == brand, IdxHistory.at_brand == brand))
            return int(session.scalar(query) or 0)

        expiring = select(func.count(distinct(IdxLot.member)), func.sum(IdxLot.amount)).where(
            IdxLot.expires_at > now,
            IdxLot.expires_at <= now + EXPIRING_WINDOW_S,
            IdxLot.amount > 0,
            a_member(IdxLot.member),
        )
        if brand is not None:
            expiring = expiring.where(IdxLot.brand == brand)
        members, points = session.execute(expiring).one()
        total = session.scalar(select(func.count()).select_from(self._members(brand).subquery()))
        return stats.ActiveMembers(
            members=int(total or 0),
            active_30d=active(30),
            active_90d=active(90),
            expiring_30d_members=int(members or 0),
            expiring_30d_points=int(points or 0),
        )

    # ----------------------------------------------------------------- series

    def series(self, session: Session, who: Principal, days: int) -> stats.Series:
        """Points issued, redeemed and expired per UTC month (with the cumulative usage and
        expiry rates), and earned points per UTC day over the last `days` days."""
        as_of, now = ReadsService._as_of(session)
        brand = self._brand(who)
        day = IdxHistory.timestamp / DAY_S
        query = (
            select(IdxHistory.kind, day, func.sum(IdxHistory.amount), func.count())
            .where(IdxHistory.kind.in_(("earned", "pending", "redeemed")))
            .group_by(IdxHistory.kind, day)
        )
        if brand is not None:
            query = query.where(IdxHistory.brand == brand)
        months: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        first_day = now // DAY_S - days + 1
        per_day: dict[int, tuple[int, int]] = {}
        for kind, day_number, points, count in session.execute(query):
            number = int(day_number)
            earned = kind != "redeemed"  # a pending purchase is issued too (issue 11)
            months[month_of(number * DAY_S)][0 if earned else 1] += int(points)
            if earned and number >= first_day:
                was = per_day.get(number, (0, 0))
                per_day[number] = (was[0] + int(points), was[1] + int(count))
        expired = select(IdxLot.expires_at, func.sum(IdxLot.amount)).where(
            IdxLot.expires_at <= now, IdxLot.amount > 0
        )
        if brand is not None:
            expired = expired.where(IdxLot.brand == brand)
        for expires_at, points in session.execute(expired.group_by(IdxLot.expires_at)):
            months[month_of(int(expires_at))][2] += int(points or 0)
        return stats.Series(
            scope=self._scope(who),
            as_of=as_of,
            months=list(_months(months)),
            days=[
                stats.DayEarn(
                    day=utc_day(d * DAY_S),
                    points=per_day.get(d, (0, 0))[0],
                    earns=per_day.get(d, (0, 0))[1],
                )
                for d in range(first_day, now // DAY_S + 1)
            ],
        )

    # ------------------------------------------------------------------ flows

    def flows(self, session: Session, who: Principal) -> stats.Flows:
        """Points spent where (brand x brand), net positions and settlements."""
        as_of, _ = ReadsService._as_of(session)
        brand = self._brand(who)
        query = select(
            IdxHistory.brand, IdxHistory.at_brand, IdxHistory.amount, IdxHistory.value_micro_usd
        ).where(IdxHistory.kind == "redeemed")
        if brand is not None:
            query = query.where(or_(IdxHistory.brand == brand, IdxHistory.at_brand == brand))
        cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for issuer, at_brand, amount, value in session.execute(query):
            cell = cells[(int(issuer), int(at_brand if at_brand is not None else issuer))]
            cell[0] += int(amount)
            cell[1] += int(value or 0)
        brands = select(IdxBrand.brand).order_by(IdxBrand.brand)
        if brand is not None:
            pairs = {b for pair in cells for b in pair} | {brand}
            brands = brands.where(IdxBrand.brand.in_(pairs))
        positions = ReadsService().positions(session, who).positions
        settlements, settled = self._settlements(session, brand)
        return stats.Flows(
            scope=self._scope(who),
            as_of=as_of,
            brands=list(session.scalars(brands)),
            flows=[
                stats.Flow(brand_id=b, at_brand_id=a, points=c[0], value_micro_usd=c[1])
                for (b, a), c in sorted(cells.items())
            ],
            positions=[stats.PositionStats(**p.model_dump()) for p in positions],
            settlements=settlements,
            settled_total_micro_usd=settled,
            deposits=self._deposits(session, brand),
        )

    @staticmethod
    def _deposits(session: Session, brand: int | None) -> list[stats.DepositStats]:
        """Each brand's SettlementVault deposit (a brand key: its own)."""
        query = select(IdxVaultBrand.brand, IdxVaultBrand.deposit).order_by(IdxVaultBrand.brand)
        if brand is not None:
            query = query.where(IdxVaultBrand.brand == brand)
        return [
            stats.DepositStats(brand_id=b, deposit_units=str(units))
            for b, units in session.execute(query)
        ]

    def _settlements(
        self, session: Session, brand: int | None
    ) -> tuple[list[stats.SettlementStats], int]:
        query = select(OutboxEvent.payload).where(OutboxEvent.type == ev.SETTLEMENT_SETTLED)
        if brand is not None:
            query = query.where(self._names_brand(brand))
        shown: list[stats.SettlementStats] = []
        total = 0
        for (payload,) in session.execute(query.order_by(OutboxEvent.seq.desc())):
            value = int(payload.get("value_micro_usd", 0))
            total += value
            if len(shown) < SETTLEMENTS_SHOWN:
                shown.append(
                    stats.SettlementStats(
                        debtor_brand_id=int(payload["debtor_brand_id"]),
                        creditor_brand_id=int(payload["creditor_brand_id"]),
                        value_micro_usd=value,
                        token_amount=str(payload.get("token_amount", "0")),
                        at=str(payload.get("chain", {}).get("block_time", "")),
                    )
                )
        return shown, total


def _reversed_values(session: Session, brand: int | None) -> dict[int, int]:
    """Per brand, the value of its reversed points (micro-USD): each reversal's line at the
    value of the months its points left, as the index recorded it; a line indexed before it
    did, at the value in force in the month of the reversal. A hostile review of 2026-12-07:
    every reversed point was valued at the brand's newest value, one announced for a later
    month included, so a brand's issued value moved with no point issued."""
    query = select(
        IdxHistory.brand, IdxHistory.amount, IdxHistory.value_micro_usd, IdxHistory.timestamp
    ).where(IdxHistory.kind == "reversed")
    if brand is not None:
        query = query.where(IdxHistory.brand == brand)
    totals: dict[int, int] = defaultdict(int)
    values: dict[tuple[int, int], int] = {}  # (brand, month): a value read once
    for b, amount, value, at in session.execute(query).all():
        if value is None:
            key = (int(b), month_of(int(at)))
            if key not in values:
                values[key] = value_in_month(session, *key) or 0
            value = int(amount) * values[key]
        totals[int(b)] += int(value)
    return totals


def _points(
    brand: int,
    suspended: bool,
    value: int,
    issued: int,
    redeemed: int,
    expired: int,
    expiring: int,
    *,
    reversed_: int = 0,
    values: tuple[int, int, int, int] | None = None,
) -> stats.BrandPoints:
    outstanding = issued - redeemed - expired - reversed_
    iv, rv, ev_, ov = values or (
        issued * value,
        redeemed * value,
        expired * value,
        outstanding * value,
    )
    return stats.BrandPoints(
        brand_id=brand,
        suspended=suspended,
        value_micro_usd_per_point=value,
        issued=issued,
        redeemed=redeemed,
        expired=expired,
        reversed=reversed_,
        outstanding=outstanding,
        issued_value_micro_usd=iv,
        redeemed_value_micro_usd=rv,
        expired_value_micro_usd=ev_,
        outstanding_value_micro_usd=ov,
        usage_rate=_rate(redeemed, issued),
        expiry_rate=_rate(expired, issued),
        expiring_30d=expiring,
    )


def _values(
    redeemed: int, expired: int, outstanding: int, reversed_: int
) -> tuple[int, int, int, int]:
    """(issued, redeemed, expired, outstanding) values: what was issued is what went each way."""
    return (redeemed + expired + outstanding + reversed_, redeemed, expired, outstanding)


def _total(brands: list[stats.BrandPoints]) -> stats.BrandPoints:
    def add(field: str) -> int:
        return sum(int(getattr(b, field)) for b in brands)

    return _points(
        0,
        False,
        0,
        add("issued"),
        add("redeemed"),
        add("expired"),
        add("expiring_30d"),
        reversed_=add("reversed"),
        values=(
            add("issued_value_micro_usd"),
            add("redeemed_value_micro_usd"),
            add("expired_value_micro_usd"),
            add("outstanding_value_micro_usd"),
        ),
    )


def _badges(session: Session, brand: int | None) -> list[stats.BadgeTypeStats]:
    units: dict[str, dict[int, int]] = {"issued": {}, "redeemed": {}}
    units_held = func.sum(IdxBadgeBalance.amount)
    for type_id, redeemed, amount in session.execute(
        select(IdxBadgeBalance.type_id, IdxBadgeBalance.redeemed, units_held)
        .where(IdxBadgeBalance.amount > 0)
        .group_by(IdxBadgeBalance.type_id, IdxBadgeBalance.redeemed)
    ):
        units["issued"][int(type_id)] = units["issued"].get(int(type_id), 0) + int(amount)
        if redeemed:
            units["redeemed"][int(type_id)] = int(amount)
    query = select(IdxBadgeType).order_by(IdxBadgeType.type_id)
    if brand is not None:
        query = query.where(IdxBadgeType.brand == brand)
    return [
        stats.BadgeTypeStats(
            type_id=t.type_id,
            brand_id=t.brand,
            kind=t.kind,
            issued=units["issued"].get(t.type_id, 0),
            benefits_redeemed=units["redeemed"].get(t.type_id, 0),
        )
        for t in session.scalars(query)
    ]


def _months(months: dict[int, list[int]]) -> Iterable[stats.MonthPoints]:
    issued = redeemed = expired = 0
    for month in range(min(months, default=0), max(months, default=-1) + 1):
        i, r, e = months.get(month, [0, 0, 0])
        issued, redeemed, expired = issued + i, redeemed + r, expired + e
        yield stats.MonthPoints(
            month=month_label(month),
            issued=i,
            redeemed=r,
            expired=e,
            usage_rate=_rate(redeemed, issued),
            expiry_rate=_rate(expired, issued),
        )
