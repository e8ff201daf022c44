"""Brand lifecycle rules that follow the chain.

A brand's local state changes when an admin operation about it settles:

- `onboard_brand` confirmed: the brand takes the ledger's id and turns `active`;
  failed: it turns `failed`. When the brand was created with a daily mint cap, it
  stays `onboarding` and a `set_daily_cap` admin operation is queued (its uid is
  `daily_cap_uid(onboarding uid)`): the chain's default cap (100,000,000 points)
  is not the one the admin asked for.
- `set_daily_cap` confirmed for a brand still `onboarding`: it turns `active`
  (failed: it stays `onboarding`; a later `PUT /v1/admin/brands/{id}/daily-cap`
  that lands activates it).
- The daily mint cap the intake counts earns against (`Brand.daily_cap_points`) is the
  index's, taken once the indexer has caught up with the chain (`follow_indexed_brands`,
  after each `DailyMintCapChanged`, whoever sent it); a confirmed onboarding takes the cap
  the index may already hold (the chain's default), since the indexer may have applied its
  block before the row had a ledger id to follow; a confirmed `set_daily_cap` takes its cap
  at once (the index's if it has applied that block already).
- `suspend_brand` confirmed: `suspended` or `active` again, as the operation asked. A
  suspension sent to the chain by other means (the admin's key or multisig straight to the
  ledger) moves an active or suspended brand once the indexer has its `BrandSuspensionChanged`
  and has caught up with the chain (`follow_indexed_brands`, which also carries the earn rule
  and the daily cap sent that way); a brand activated by its daily cap takes the suspension
  the index has seen.
- `set_point_value` confirmed: the brand takes its new published point value.
- `set_max_multiplier` confirmed: the campaigns' cap (`chain_rules`) takes it at once, the
  index's when the index has applied that block already (`indexer.cursor`).

The sender calls `after_admin_operation` in the same database transaction that
settles the operation.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.db.models import ApiKey, Brand, IdxBrand, Operation
from ledger_api.db.types import utcnow
from ledger_api.domain import BrandStatus, OpKind, OpStatus
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.model.payloads import (
    DailyCapPayload,
    MaxMultiplierPayload,
    OnboardBrandPayload,
    OperationPayload,
    PointValuePayload,
    SuspendBrandPayload,
)


def daily_cap_uid(onboarding_uid: str) -> str:
    """The uid of the `set_daily_cap` operation that follows an onboarding (fixed, so the
    creation's answer names it before it exists)."""
    return str(uuid.uuid5(uuid.UUID(onboarding_uid), "set_daily_cap"))


def after_admin_operation(
    session: Session,
    payload: OperationPayload,
    *,
    confirmed: bool,
    onboarded_as: LedgerBrandId | None,
    uid: str | None = None,
    indexed: bool = False,
) -> bool:
    """Applies the rule above to the brand row; True when a brand's status changed.

    `onboarded_as`: the ledger's brand id from the `BrandOnboarded` event (confirmed
    onboarding only); `uid`: the settled operation's (an onboarding's names the follow-up);
    `indexed`: the index has already applied the block that holds the operation."""
    if isinstance(payload, OnboardBrandPayload):
        return _after_onboarding(session, payload, confirmed, onboarded_as, uid)
    if not confirmed:
        return False
    if isinstance(payload, DailyCapPayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        brand.daily_cap_points = _confirmed_cap(session, payload, indexed)
        if brand.status == BrandStatus.ONBOARDING:
            # suspended on chain meanwhile (the indexer leaves an onboarding brand's status)
            found = session.get(IdxBrand, int(payload.brand))
            suspended = found is not None and found.suspended
            brand.status = BrandStatus.SUSPENDED if suspended else BrandStatus.ACTIVE
            return True
    if isinstance(payload, SuspendBrandPayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        brand.status = BrandStatus.SUSPENDED if payload.suspended else BrandStatus.ACTIVE
    elif isinstance(payload, PointValuePayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        brand.value_micro_usd = payload.value_micro_usd
    elif isinstance(payload, MaxMultiplierPayload):  # a chain rule, by the same token
        # imported here: the indexer's package imports this module
        from ledger_api.background.indexer.cursor import confirm_max_multiplier

        confirm_max_multiplier(session, payload.max_multiplier_pct, indexed=indexed)
    return False


def _confirmed_cap(session: Session, payload: DailyCapPayload, indexed: bool) -> int | None:
    """The brand's cap once its `setDailyMintCap` is confirmed: the one it set, at once (a
    brand activated by it took earns above it until the indexer applied the block: a new
    user's trial), unless the index has applied that block already; then the index's, which
    a later change sent straight to the chain may have moved."""
    if indexed:
        found = session.get(IdxBrand, int(payload.brand))
        if found is not None and found.daily_cap_points is not None:
            return found.daily_cap_points
    return payload.daily_cap_points


def _onboarding_failed(session: Session, brand: Brand) -> None:
    """A brand the ledger refused to onboard will never take an operation: `failed`, its name
    freed for the brand created again (`BrandExists` compares names) and its API keys revoked
    (a trial: the name was taken for good, and the failed brand's key still read members'
    data, its earns answered "not onboarded yet")."""
    # imported here: the access layer imports this module's vocabulary
    from ledger_api.access.apikeys import INTERNAL
    from ledger_api.access.audit import AuditAction, note, record

    brand.status = BrandStatus.FAILED
    suffix = f" (onboarding {brand.id} failed)"  # unique by the row id, within the 100 chars
    brand.name = brand.name[: 100 - len(suffix)] + suffix
    keys = session.scalars(
        select(ApiKey).where(ApiKey.brand_id == brand.id, ApiKey.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for key in keys:  # never cached: a brand without a ledger id is looked up every time
        key.revoked_at = now
        revoked = note(INTERNAL, AuditAction.API_KEY_REVOKED, brand_id=brand.id, target=key.prefix)
        record(session, revoked)


def _after_onboarding(
    session: Session,
    payload: OnboardBrandPayload,
    confirmed: bool,
    onboarded_as: LedgerBrandId | None,
    uid: str | None,
) -> bool:
    """An onboarding settled: `failed`, or the ledger's id and `active`, or the follow-up
    `set_daily_cap` queued (the brand stays `onboarding`)."""
    brand = session.get_one(Brand, payload.brand_row_id)
    if not confirmed:
        _onboarding_failed(session, brand)
        return True
    assert onboarded_as is not None, "a confirmed onboarding names the ledger's brand id"
    brand.ledger_id = onboarded_as
    # the index may have applied the onboarding's block first, when this row had no ledger
    # id to follow it by: its cap (the chain's default) is this brand's
    found = session.get(IdxBrand, int(onboarded_as))
    if found is not None and found.daily_cap_points is not None:
        brand.daily_cap_points = found.daily_cap_points
    if payload.daily_cap_points is None or uid is None:
        brand.status = BrandStatus.ACTIVE
        return True
    follow_up = DailyCapPayload(
        brand=onboarded_as,
        daily_cap_points=payload.daily_cap_points,
        brand_row_id=BrandRowId(brand.id),
    )
    queued = select(Operation.id).where(Operation.uid == daily_cap_uid(uid))
    if session.scalar(queued) is None:
        session.add(
            Operation(
                uid=daily_cap_uid(uid),
                brand_id=None,
                kind=OpKind.SET_DAILY_CAP.value,
                status=OpStatus.QUEUED.value,
                payload=follow_up.stored(),
                points=0,
                attempts=0,
            )
        )
    return False


#: the gateway's brand statuses a suspension on chain moves (onboarding and failed stay)
FOLLOWS_SUSPENSION = (BrandStatus.ACTIVE.value, BrandStatus.SUSPENDED.value)


RULE_COLUMNS = (
    "points_per_usd",
    "points_per_review",
    "points_per_share",
    "points_per_event",
    "points_per_referral",
)


def follow_indexed_brands(session: Session, ledger_brand_ids: set[int] | None) -> None:
    """The gateway's brands (those ids, or all when None) take the index's view of the chain:

    - the suspension, whoever sent it (the admin's own key or multisig straight to the ledger,
      as well as the gateway's `suspend_brand`), so that the intake refuses a suspended brand's
      operations with `brand_suspended` rather than accepting earns the chain refuses. Only an
      active or suspended brand moves; one still onboarding takes the index's suspension when
      its daily cap activates it (`after_admin_operation`);
    - the earn rule (issue 10: only the admin changes it, on chain), which the gateway prices
      earns with and counts against the daily cap;
    - the daily mint cap (issue 10), which the intake counts earns against: a rebuild that
      reached only an older, lower cap refused earns the chain takes (`daily_cap_exceeded`).

    The indexer calls this once it has caught up with the chain, never while it replays
    history: a rebuild after a forgotten block applies old suspensions, lifts and rules in
    turn (a new user's trial saw a live brand's earns refused)."""
    rule = [getattr(IdxBrand, c) for c in RULE_COLUMNS]
    query = select(Brand, IdxBrand.suspended, IdxBrand.daily_cap_points, *rule).join(
        IdxBrand, IdxBrand.brand == Brand.ledger_id
    )
    if ledger_brand_ids is not None:
        query = query.where(Brand.ledger_id.in_(sorted(ledger_brand_ids)))
    for brand, suspended, cap, *indexed in session.execute(query):
        if brand.status in FOLLOWS_SUSPENSION:  # the ORM writes only what changed
            brand.status = BrandStatus.SUSPENDED if suspended else BrandStatus.ACTIVE
        if cap is not None:
            brand.daily_cap_points = cap
        if None not in indexed:
            for column, value in zip(RULE_COLUMNS, indexed, strict=True):
                setattr(brand, column, value)
