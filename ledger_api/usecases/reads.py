"""Reads served from the index: balances with lots, tiers, history, badges, liability, positions.

"Now", for expiry, is the later of the wall clock and the last indexed block's
time, so a development chain moved forward in time shows the same expiries
the ledger applies.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, Row, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.background.indexer import read_cursor
from ledger_api.background.indexer.cursor import AT_CURSOR, CURSOR, CURSOR_COLUMNS, Cursor
from ledger_api.db.models import (
    IdxBadgeBalance,
    IdxBadgeType,
    IdxBrand,
    IdxLot,
    IdxMember,
    IdxPending,
    IdxPosition,
    IdxTierRule,
    table_of,
)
from ledger_api.db.value_models import IdxBrandValue, IdxPendingMonth, lot_value, outstanding_value
from ledger_api.domain import (
    MAX_TIER,
    TIER_NAMES,
    month_label,
    month_of,
    month_start,
    quarter_label,
    utc_datetime,
)
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.domain.tier_names import tier_display_name
from ledger_api.errors import BrandForbidden, IndexNotReady, UnknownBrand
from ledger_api.model import schemas
from ledger_api.process.metrics import observe_member_read
from ledger_api.usecases.history import member_history

_Row = Row[*tuple[Any, ...]]  # a plain row of one of the statements below

# The member read's three statements, prebuilt (issue 15: built per call, SQLAlchemy's
# statement building and ORM loading cost the read several times its SQL): plain rows.
_LOTS, _BRANDS, _PENDING = table_of(IdxLot), table_of(IdxBrand), table_of(IdxPending)
_HELD = table_of(IdxPendingMonth)
_MEMBERS, _RULES = table_of(IdxMember), table_of(IdxTierRule)
_ADDRESS: BindParameter[str] = bindparam("address")
_NOW: BindParameter[int] = bindparam("now")  # unix seconds

#: the cursor, the member's tier row (NULLs: none) and the rule of the tier after it (NULLs:
#: none); no row before the index has a cursor
_CURSOR_AND_TIER = (
    select(
        *CURSOR_COLUMNS,
        _MEMBERS.c.member,
        _MEMBERS.c.tier,
        _MEMBERS.c.quarter,
        _MEMBERS.c.spend_cents,
        _MEMBERS.c.orders,
        _MEMBERS.c.engagements,
        _MEMBERS.c.grace_until_month,
        _MEMBERS.c.badge_tier,
        _RULES.c.tier.label("rule_tier"),
        _RULES.c.spend_cents.label("rule_spend_cents"),
        _RULES.c.orders.label("rule_orders"),
        _RULES.c.engagements.label("rule_engagements"),
        _RULES.c.gift_points.label("rule_gift_points"),
    )
    .select_from(
        CURSOR.outerjoin(_MEMBERS, _MEMBERS.c.member == _ADDRESS).outerjoin(
            _RULES, _RULES.c.tier == func.coalesce(_MEMBERS.c.tier, 0) + 1
        )
    )
    .where(AT_CURSOR)
)
#: the member's pending positions still in their return window (issue 11)
_PENDING_ROWS = (
    select(_PENDING.c.brand, _PENDING.c.release_at, _PENDING.c.amount)
    .where(_PENDING.c.member == _ADDRESS, _PENDING.c.amount > 0, _PENDING.c.release_at > _NOW)
    .order_by(_PENDING.c.brand, _PENDING.c.release_at)
)
#: the points of a lot still pending (in their return window or a gift's lock), which sit in
#: the lot of their earn month (`idx_pending_months`)
_HELD_IN_LOT = (
    select(func.coalesce(func.sum(_HELD.c.amount), 0))
    .where(
        _HELD.c.member == _ADDRESS,
        _HELD.c.brand == _LOTS.c.brand,
        _HELD.c.release_at > _NOW,
        _HELD.c.month == _LOTS.c.month,
    )
    .scalar_subquery()
)
#: the member's live lots of every brand, oldest first, with the brand's suspended flag (NULL:
#: a brand the index does not know), the lot's value per point (`lot_value`) and its points
#: still pending (`held`)
_LIVE_LOTS = (
    select(
        _LOTS.c.brand,
        _LOTS.c.month,
        _LOTS.c.amount,
        _LOTS.c.expires_at,
        _BRANDS.c.suspended,
        lot_value().label("value"),
        _HELD_IN_LOT.label("held"),
    )
    .select_from(_LOTS.outerjoin(_BRANDS, _BRANDS.c.brand == _LOTS.c.brand))
    .where(_LOTS.c.member == _ADDRESS, _LOTS.c.amount > 0, _LOTS.c.expires_at > _NOW)
    .order_by(_LOTS.c.brand, _LOTS.c.month)
)


_NOT_READY = "the index has not applied any block yet"


def _as_of_cursor(cursor: Cursor | None) -> tuple[schemas.AsOf, int]:
    """The block the reads are as of and "now" for expiry (unix seconds); `IndexNotReady`
    before the index has applied a block."""
    if cursor is None or cursor.last_block_hash is None:
        raise IndexNotReady(_NOT_READY)
    now = max(int(time.time()), cursor.last_block_timestamp)
    return schemas.AsOf(
        block=cursor.next_block - 1, timestamp=utc_datetime(cursor.last_block_timestamp)
    ), now


def _pending_of(
    connection: Connection, address: str, now: int
) -> dict[int, list[schemas.PendingView]]:
    """The member's pending positions still in their return window, by brand (issue 11)."""
    found: dict[int, list[schemas.PendingView]] = {}
    for brand, release_at, amount in connection.execute(
        _PENDING_ROWS, {"address": address, "now": now}
    ):
        view = schemas.PendingView(amount=amount, release_at=utc_datetime(release_at))
        found.setdefault(brand, []).append(view)
    return found


def _total(pending: dict[int, list[schemas.PendingView]], brand: int) -> int:
    return sum(p.amount for p in pending.get(brand, []))


def _spendable(
    lots: Sequence[_Row], pending: dict[int, list[schemas.PendingView]]
) -> list[schemas.SpendableView]:
    """Per brand not suspended, the member's live points less its pending ones, and their value:
    each lot at the value of its earn month (issue 10, item 7), less the pending points of its
    month (`held`: they sit in the lot of the month they were earned, as on the ledger; pending
    points the index has no month for, indexed before migration 0029, come off the newest lots).
    `lots`: `_LIVE_LOTS`'s rows."""
    by_brand: dict[int, list[tuple[int, int, int]]] = {}
    for lot in lots:
        if lot.suspended is False:  # None: the index knows no such brand
            held = min(lot.amount, int(lot.held or 0))
            by_brand.setdefault(lot.brand, []).append(
                (lot.amount - held, int(lot.value or 0), held)
            )
    views = []
    for brand, rows in by_brand.items():
        total = _total(pending, brand)
        points, worth = sum(a + h for a, _, h in rows) - total, 0
        waiting = max(0, total - sum(h for _, _, h in rows))
        for amount, value, _ in reversed(rows):  # newest first: pending points of no month
            held = min(amount, waiting)
            waiting -= held
            worth += (amount - held) * value
        views.append(schemas.SpendableView(brand_id=brand, points=points, value_micro_usd=worth))
    return views


def _balances(
    lots: Sequence[_Row], pending: dict[int, list[schemas.PendingView]], who: Principal
) -> list[schemas.BalanceView]:
    """The lots `who` may see (a brand key, its own brand's; the admin, all), per brand, with
    the balance less the pending points. `lots`: `_LIVE_LOTS`'s rows."""
    own = who.ledger_brand_id or -1
    shown: dict[int, list[schemas.LotView]] = {}
    for lot in lots:
        if who.is_admin or lot.brand == own:
            view = schemas.LotView(
                amount=lot.amount,
                earned_month=month_label(lot.month),
                expires_at=utc_datetime(lot.expires_at),
            )
            shown.setdefault(lot.brand, []).append(view)
    balances = []
    for brand, views in shown.items():
        waiting = _total(pending, brand)
        balances.append(
            schemas.BalanceView(
                brand_id=brand,
                balance=sum(view.amount for view in views) - waiting,
                lots=views,
                next_expiry=views[0],
                pending=waiting,
                pending_releases=pending.get(brand, []),
            )
        )
    return balances


def _tier(row: _Row, now: int) -> schemas.TierProgress:
    """The member's tier and its progress this quarter, from `_CURSOR_AND_TIER`'s row."""
    known = row.member is not None
    quarter = month_of(now) // 3
    tier = row.tier if known else 0
    same_quarter = known and row.quarter == quarter
    spend = row.spend_cents if same_quarter else 0
    orders = row.orders if same_quarter else 0
    engagements = row.engagements if same_quarter else 0
    next_rule: schemas.TierRuleView | None = None
    missing: dict[str, int] | None = None
    if tier < MAX_TIER and row.rule_tier is not None:
        next_rule = schemas.TierRuleView(
            tier=row.rule_tier,
            name=TIER_NAMES[row.rule_tier],
            spend_cents=row.rule_spend_cents,
            orders=row.rule_orders,
            engagements=row.rule_engagements,
            gift_points=row.rule_gift_points,
        )
        missing = {
            "spend_cents": max(0, row.rule_spend_cents - spend),
            "orders": max(0, row.rule_orders - orders),
            "engagements": max(0, row.rule_engagements - engagements),
        }
    grace = row.grace_until_month if known else 0
    return schemas.TierProgress(
        tier=tier,
        name=TIER_NAMES[tier],
        quarter=quarter_label(quarter),
        spend_cents=spend,
        orders=orders,
        engagements=engagements,
        grace_until=utc_datetime(month_start(grace)) if grace else None,
        badge_tier=row.badge_tier if known else None,
        next_tier=next_rule,
        missing=missing,
    )


def _localized(session: Session, tier: schemas.TierProgress, locale: str) -> schemas.TierProgress:
    """`tier` with the tier names of `locale` (the membership badge's, `domain.tier_names`)."""
    following = tier.next_tier
    if following is not None:
        name = tier_display_name(session, following.tier, locale)
        following = following.model_copy(update={"display_name": name})
    return tier.model_copy(
        update={
            "locale": locale,
            "display_name": tier_display_name(session, tier.tier, locale),
            "next_tier": following,
        }
    )


class ReadsService:
    """Stateless; every method takes the request's read session."""

    @staticmethod
    def _as_of(session: Session) -> tuple[schemas.AsOf, int]:
        return _as_of_cursor(read_cursor(session))

    # ---------------------------------------------------------------- member

    def member(
        self, session: Session, who: Principal, address: str, locale: str | None = None
    ) -> schemas.MemberView:
        """What a key may see of a member (docs/gateway.md, "Reads scoped by need"): a brand
        key, its own brand's lots and, per brand, the totals the member may spend at it (any
        brand's points that are not suspended: a redemption converts them); the admin, all.

        Three statements, prebuilt, on the session's connection (a hot read, issue 15); with a
        `locale`, the tier names in it too (`domain.tier_names`)."""
        connection = session.connection()
        row = connection.execute(_CURSOR_AND_TIER, {"address": address}).first()
        if row is None:  # no cursor yet
            raise IndexNotReady(_NOT_READY)
        as_of, now = _as_of_cursor(Cursor(*row[: len(CURSOR_COLUMNS)]))
        pending = _pending_of(connection, address, now)
        lots = connection.execute(_LIVE_LOTS, {"address": address, "now": now}).all()
        balances = _balances(lots, pending, who)
        if not who.is_admin:  # reads of members the brand never served stand out (a scrape)
            observe_member_read(
                who.ledger_brand_id, bool(balances) or bool(pending.get(who.ledger_brand_id or -1))
            )
        tier = _tier(row, now)
        if locale is not None:
            tier = _localized(session, tier, locale)
        return schemas.MemberView(
            address=address,
            as_of=as_of,
            balances=balances,
            spendable=_spendable(lots, pending),
            tier=tier,
        )

    # --------------------------------------------------------------- history

    def history(
        self, session: Session, who: Principal, address: str, limit: int, before: str | None
    ) -> schemas.HistoryView:
        """The points growth report, a page of it (`usecases.history`)."""
        as_of, now = self._as_of(session)
        return member_history(
            session, who, address, limit=limit, before=before, as_of=as_of, now=now
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
            # another brand's data, as a deposit's read answers (a trial: `forbidden`, the
            # code of a brand key on an admin route)
            raise BrandForbidden("a brand key reads its own liability only")
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
        published, in_force = _values(session, brand, month_of(now), account.value_micro_usd)
        return schemas.LiabilityView(
            brand_id=brand,
            as_of=as_of,
            issued=account.issued,
            redeemed=account.redeemed,
            expired=int(expired or 0),
            reversed=account.reversed,
            outstanding=outstanding,
            pending=int(pending or 0),
            value_micro_usd_per_point=published[1],
            value_from=utc_datetime(month_start(published[0])) if published[0] else None,
            value_in_force_micro_usd_per_point=in_force[1],
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


def _values(
    session: Session, brand: int, month: int, indexed: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The brand's published value and the one in force this month, each as (from month,
    micro-USD per point) (`idx_brand_values`: a value applies from the month after its change,
    DOMAIN.md "Value of issued points"; a trial read the new value as what points issued that
    month were worth); `indexed`, the brand's indexed value, when no row has it."""
    rows = session.execute(
        select(IdxBrandValue.from_month, IdxBrandValue.value_micro_usd)
        .where(IdxBrandValue.brand == brand)
        .order_by(IdxBrandValue.from_month)
    ).all()
    steps = [(int(m), int(v)) for m, v in rows] or [(0, indexed)]
    in_force = next((step for step in reversed(steps) if step[0] <= month), steps[0])
    return steps[-1], in_force
