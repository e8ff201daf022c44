"""The projector: what each contract event does to the index (`idx_*` tables).

Lots mirror the ledger's `LotMath`: a mint credits the month of the block, a
spend or gift takes the oldest live months first and a gift hands the same
months to the receiver, so expiry never extends. A lot counts until the first
second of month earned + 13; what is left in it then is what expired.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledger_api.background.webhooks.chain_events import ChainEvents
from ledger_api.chain.abi import Event, checksum
from ledger_api.chain.manifest import (
    ALLIANCE_BADGES,
    ALLIANCE_POLLS,
    ENTERPRISE_ACCOUNTS,
    LEDGER,
    MEMBERSHIP_BADGE,
)
from ledger_api.db.models import (
    IdxBadgeType,
    IdxEnterpriseEmployee,
    IdxMeta,
    IdxPoll,
    IdxPollTally,
    IdxTierRule,
)
from ledger_api.db.tier_models import IdxTierName
from ledger_api.db.value_models import IdxBrandValue
from ledger_api.domain import EarnKind, month_of
from ledger_api.domain.ids import LedgerBrandId

from .auctions import AuctionsProjection, EscrowMoves
from .credits import Credit, earned_credit, record_foreign_credits
from .cursor import CHARITY_POOL, LEDGER_PAUSED, MAX_MULTIPLIER, ORDER_FLOOR
from .returns import ReturnsProjection
from .state import ZERO
from .vault import Handler, VaultProjection


class Projector(ReturnsProjection):
    """Applies decoded events to the index within one session (one chunk)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.events = ChainEvents(self)  # the outbox's events of this chunk (issue 12)
        self.credits: list[Credit] = []  # the chunk's credits, for `record_foreign_credits`
        self.ended_grace = False  # the last `TierRetained` ended a grace
        self._handlers: dict[tuple[str, str], Callable[[Event, dict[str, Any], int], None]] = {
            (LEDGER, "Transfer"): self._points_transfer,
            (LEDGER, "PointsEarned"): self._points_earned,
            (LEDGER, "PointsReversed"): self._points_reversed,
            (LEDGER, "TierUpgraded"): self._tier_upgraded,
            (LEDGER, "TierGiftPaid"): self._tier_gift_paid,
            (LEDGER, "TierRetained"): self._tier_retained,
            (LEDGER, "TierDowngradeWarned"): self._tier_downgrade_warned,
            (LEDGER, "TierDowngraded"): self._tier_downgraded,
            (LEDGER, "TierRuleChanged"): self._tier_rule_changed,
            (LEDGER, "BrandOnboarded"): self._brand_onboarded,
            (LEDGER, "BrandSuspensionChanged"): self._brand_suspension_changed,
            (LEDGER, "PointValueChanged"): self._point_value_changed,
            (LEDGER, "EarnRuleChanged"): self._earn_rule_changed,
            (LEDGER, "DailyMintCapChanged"): self._daily_mint_cap_changed,
            (LEDGER, "ReturnWindowChanged"): self._return_window_changed,
            (LEDGER, "CharityPoolChanged"): self._charity_pool_changed,
            (LEDGER, "PointsRedeemed"): self._points_redeemed,
            (LEDGER, "PositionSettled"): self._position_settled,
            (LEDGER, "TierGiftCancelled"): self._tier_gift_cancelled,
            (LEDGER, "TierGiftHoldExtended"): self._tier_gift_hold_extended,
            (LEDGER, "PendingPointsMoved"): self._pending_points_moved,
            (MEMBERSHIP_BADGE, "TierBadgeUpdated"): self._tier_badge_updated,
            (ALLIANCE_BADGES, "BadgeDefined"): self._badge_defined,
            (ALLIANCE_BADGES, "URI"): self._badge_uri,
            (ALLIANCE_BADGES, "TransferSingle"): self._badge_transfer_single,
            (ALLIANCE_BADGES, "TransferBatch"): self._badge_transfer_batch,
            (ALLIANCE_POLLS, "PollOpened"): self._poll_opened,
            (ALLIANCE_POLLS, "VoteCast"): self._vote_cast,
            (ENTERPRISE_ACCOUNTS, "EmployeeBound"): self._employee_bound,
            (ENTERPRISE_ACCOUNTS, "EmployeeUnbound"): self._employee_gone,
            (ENTERPRISE_ACCOUNTS, "EmployeeLeft"): self._employee_gone,
        }
        self.vault = VaultProjection(session)
        self._handlers.update(self.vault.handlers() | _more_handlers(self))
        self.escrow_moves = EscrowMoves(self._handlers)

    # ------------------------------------------------------------------- events

    def apply(self, event: Event, timestamp: int) -> None:
        self.settle_burn(event)
        handler = self._handlers.get((event.contract, event.name))
        if handler is not None:
            handler(event, event.args, timestamp)
        self.events.record(event, timestamp)

    def rebind(self, session: Session) -> None:
        """Writes through `session` from now on: a chunk applied in a read transaction
        (`Indexer._project_before_lock`, only events whose handlers keep to the preloaded
        rows) is then flushed in the writer's."""
        self.session = session

    def flush(self) -> None:
        """Writes the chunk's index changes, its outbox events and the credits no operation
        of this database stands for (same transaction)."""
        self.settle_burn(None)
        super().flush()
        self.events.flush()
        record_foreign_credits(self.session, self.credits)
        self.credits = []
        self.escrow_moves.flush(self.session)

    def _points_transfer(self, event: Event, a: dict[str, Any], ts: int) -> None:
        sender, receiver = a["sender"], a["receiver"]
        brand, amount, month = int(a["id"]), int(a["amount"]), month_of(ts)
        if sender == ZERO:
            self.credit(receiver, brand, month, amount)
            self.brand(brand).issued += amount
        elif receiver == ZERO:
            self.burn = (event, sender, brand, amount, month, ts)  # settled by the next event
        else:
            for lot_month, taken in self.consume(sender, brand, amount, month, ts):
                self.credit(receiver, brand, lot_month, taken)
            donated = self.charity_pool is not None and receiver == self.charity_pool
            sent, got = ("donated" if donated else "gifted"), "received"
            if self.escrow_moves.announced(event, "bid", sender, brand, amount):
                sent = "bid"  # into the bidder's auction escrow
                self.escrow_moves.escrows.add(receiver)
            elif self.escrow_moves.announced(event, "bid_returned", receiver, brand, amount):
                got = "bid_returned"  # back from it: outbid, cancelled or reclaimed
                self.escrow_moves.escrows.add(sender)
            history = {"brand": brand, "amount": amount}
            self.history(event, ts, member=sender, counterparty=receiver, kind=sent, **history)
            self.history(event, ts, member=receiver, counterparty=sender, kind=got, **history)

    def _points_earned(self, event: Event, a: dict[str, Any], ts: int) -> None:
        member, brand, kind = a["member"], LedgerBrandId(int(a["brand"])), EarnKind(a["kind"])
        op_id = int(a["opId"])
        self.used_op_id(brand, op_id)
        release_at = int(a.get("releaseAt", 0))
        ref = "0x" + bytes(a["orderRef"]).hex()
        credit = earned_credit(event, brand, op_id, kind, member, ref)
        if credit is not None:  # checked against the operations at flush
            self.credits.append(credit)
        self.history(
            event,
            ts,
            member=member,
            brand=brand,
            amount=int(a["points"]),
            kind="pending" if release_at else "earned",
            op_id=op_id,
            source=kind.name.lower(),
            order_ref=ref,
            release_at=release_at or None,
        )
        if release_at:
            month = month_of(ts)
            held = self.held_until(event, member, brand, month, release_at)
            self.add_pending(member, brand, held, int(a["points"]))
            # the purchase's position holds points of this month only (the ledger's PendingWord)
            self.hold(member, brand, held, month, False, int(a["points"]))
        status = self.member(member)
        quarter = month_of(ts) // 3
        if status.quarter != quarter:
            status.quarter, status.spend_cents, status.orders, status.engagements = quarter, 0, 0, 0
        if kind is EarnKind.PURCHASE:
            # the chain's own record of the spend (PointsEarned.spendCents), so the index
            # rebuilds from the chain alone
            status.spend_cents += int(a["spendCents"])
            if int(a["spendCents"]) >= self.order_floor_cents:  # the ledger's order floor
                status.orders += 1
        elif _full(getattr(self.brand(brand), f"points_per_{kind.name.lower()}"), a["points"]):
            status.engagements += 1

    def _tier_upgraded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        status = self.member(a["member"])
        status.tier = int(a["newTier"])
        status.grace_until_month = 0

    def _tier_retained(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """The member keeps its tier (a review, or met again during grace); grace ends."""
        status = self.member(a["member"])
        self.ended_grace = status.grace_until_month != 0  # `tier.grace_ended` says so
        status.grace_until_month = 0

    def _tier_downgrade_warned(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.member(a["member"]).grace_until_month = int(a["graceUntilMonth"])

    def _tier_downgraded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        status = self.member(a["member"])
        status.tier = int(a["newTier"])
        status.grace_until_month = 0

    def _tier_rule_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        spend, orders, engagements = a["rule"]
        self.session.merge(
            IdxTierRule(
                tier=int(a["tier"]),
                spend_cents=int(spend),
                orders=int(orders),
                engagements=int(engagements),
                gift_points=int(a["giftPoints"]),
            )
        )

    def _brand_onboarded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        _value_from(self, int(a["brand"]), 0, int(a["valueMicroUsd"]))
        self._earn_rule_changed(event, a, ts)

    def _brand_suspension_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """The index's brand; the gateway's follows once the index caught up (`Indexer`)."""
        self.brand(int(a["brand"])).suspended = bool(a["suspended"])

    def _point_value_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        _value_from(self, int(a["brand"]), int(a["effectiveMonth"]), int(a["newValueMicroUsd"]))

    def _earn_rule_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """Issue 10: a brand's earn rule changes only by the admin on chain (`setEarnRule`); the
        gateway's rule (what it prices earns with) follows the index's once it caught up
        (`Indexer`, `domain.brands.follow_indexed_brands`), never its own copy."""
        brand = self.brand(int(a["brand"]))
        usd, review, share, evt, referral = (int(v) for v in a["rule"])
        brand.points_per_usd, brand.points_per_review, brand.points_per_share = usd, review, share
        brand.points_per_event, brand.points_per_referral = evt, referral

    def _daily_mint_cap_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """Issue 10: the daily mint cap is the chain's (`setDailyMintCap`, admin only, and the
        default at onboarding). Kept on the index's brand row (the onboarding's event may be
        indexed before the gateway's brand row learns its ledger id); the gateway's brand row,
        whose cap the intake counts earns against, takes it once the indexer has caught up
        (`domain.brands.follow_indexed_brands`): a rebuild replays older caps."""
        self.brand(int(a["brand"])).daily_cap_points = int(a["cap"])

    def _return_window_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """Issue 11: the brand's return window in days (14 at onboarding, then the admin's)."""
        self.brand(int(a["brand"])).return_window_days = int(a["newDays"])

    def _charity_pool_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.charity_pool = str(a["pool"])
        self.session.merge(IdxMeta(key=CHARITY_POOL, value=self.charity_pool))

    def _points_redeemed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand, at_brand, value = int(a["brand"]), int(a["atBrand"]), int(a["valueMicroUsd"])
        self.history(
            event,
            ts,
            member=a["member"],
            brand=brand,
            amount=int(a["amount"]),
            kind="redeemed",
            at_brand=at_brand,
            value_micro_usd=value,
            order_ref="0x" + bytes(a["orderRef"]).hex(),
        )
        if brand != at_brand:
            self.add_debt(brand, at_brand, value)

    def _position_settled(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.add_debt(int(a["creditor"]), int(a["debtor"]), int(a["valueMicroUsd"]))
        if int(a["tokenAmount"]) == 0:  # cleared off chain: the vault's SettlementPaid is absent
            self.vault.settlement(event, a, ts)

    def _tier_badge_updated(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.member(a["member"]).badge_tier = int(a["newTier"])

    def _badge_defined(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.merge(
            IdxBadgeType(
                type_id=int(a["typeId"]),
                brand=int(a["brand"]),
                kind="achievement" if int(a["kind"]) == 0 else "collectible",
                max_supply=int(a["maxSupply"]),
                min_tier=int(a["minTier"]),
                has_benefit=bool(a["hasBenefit"]),
                self_mint=bool(a["selfMint"]),
            )
        )

    def _badge_uri(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.flush()
        row = self.session.get(IdxBadgeType, int(a["id"]))
        if row is not None:
            # any caller of the contract sets URIs; PostgreSQL text cannot hold NUL
            row.uri = str(a["value"]).replace("\x00", "")

    def _badge_transfer_single(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self._move_badge(a["from"], a["to"], int(a["id"]), int(a["value"]))

    def _badge_transfer_batch(self, event: Event, a: dict[str, Any], ts: int) -> None:
        for token_id, value in zip(a["ids"], a["values"], strict=True):
            self._move_badge(checksum(a["from"]), checksum(a["to"]), int(token_id), int(value))

    # ------------------------------------------------------ polls, enterprises

    def _poll_opened(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.merge(
            IdxPoll(
                poll_id=int(a["pollId"]),
                brand=int(a["brand"]),
                opener=checksum(a["opener"]),
                content_hash="0x" + bytes(a["contentHash"]).hex(),
                option_count=int(a["optionCount"]),
                opened_at=ts,
                starts_at=int(a["startsAt"]),
                ends_at=int(a["endsAt"]),
                eligibility="min_tier" if int(a["eligibility"]) == 0 else "badge",
                eligibility_ref=str(int(a["eligibilityRef"])),
                votes=0,
            )
        )

    def _vote_cast(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """The event carries the option's tally after the vote: the row takes it as is, so a
        replayed chunk cannot count a vote twice."""
        poll_id, option, tally = int(a["pollId"]), int(a["option"]), int(a["tally"])
        self.session.merge(IdxPollTally(poll_id=poll_id, option=option, count=tally))
        self.session.flush()
        poll = self.session.get(IdxPoll, poll_id)
        if poll is not None:
            total = self.session.scalar(
                select(func.sum(IdxPollTally.count)).where(IdxPollTally.poll_id == poll_id)
            )
            poll.votes = int(total or 0)

    def _employee_bound(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.merge(
            IdxEnterpriseEmployee(
                employee=checksum(a["employee"]), enterprise=checksum(a["enterprise"]), bound_at=ts
            )
        )

    def _employee_gone(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.flush()
        row = self.session.get(IdxEnterpriseEmployee, checksum(a["employee"]))
        if row is not None:
            self.session.delete(row)


def _value_from(projector: Projector, brand: int, month: int, value: int) -> None:
    """Issue 10, item 7: `value` prices the points `brand` issues from `month` on; earlier
    points keep their month's (`idx_brand_values`). The brand row shows the latest published."""
    projector.brand(brand).value_micro_usd = value
    projector.session.merge(IdxBrandValue(brand=brand, from_month=month, value_micro_usd=value))


def _more_handlers(projector: Projector) -> dict[tuple[str, str], Handler]:
    """The handlers kept outside `Projector`: auctions (issue 16) and the chain's rules."""
    return AuctionsProjection(projector.session).handlers() | _chain_rules(projector)


def _chain_rules(projector: Projector) -> dict[tuple[str, str], Handler]:
    """The chain's global rules kept in `idx_meta`."""
    session = projector.session

    def order_floor_changed(event: Event, a: dict[str, Any], ts: int) -> None:
        """A purchase counts as an order toward the tiers from `usd` whole USD of counted
        spend on (`setOrderFloor`); the orders counted before stay."""
        projector.order_floor_cents = int(a["usd"]) * 100
        projector.session.merge(IdxMeta(key=ORDER_FLOOR, value=str(int(a["usd"]))))

    def tier_display_name_updated(event: Event, a: dict[str, Any], ts: int) -> None:
        """A tier's name in a market's locale (DOMAIN.md "Tiers": the display name is
        metadata); an empty name puts back the English one, as the badge does."""
        locale, tier, name = str(a["locale"]), int(a["tier"]), str(a["name"])
        if name:
            projector.session.merge(IdxTierName(locale=locale, tier=tier, name=name))
        else:
            projector.session.execute(
                delete(IdxTierName).where(IdxTierName.locale == locale, IdxTierName.tier == tier)
            )

    def max_multiplier_changed(event: Event, a: dict[str, Any], ts: int) -> None:
        """Issue 16: the campaigns' cap on a combined multiplier is the chain's
        (`setMaxMultiplier`); campaign evaluation and the preview read this row."""
        session.merge(IdxMeta(key=MAX_MULTIPLIER, value=str(int(a["pct"]))))

    def pause_changed(event: Event, a: dict[str, Any], ts: int) -> None:
        """The alliance's one pause (`AllianceLedger.pause` / `unpause`, OpenZeppelin
        `Pausable`'s events); the intake follows it (`cursor.followed_ledger_paused`)."""
        session.merge(IdxMeta(key=LEDGER_PAUSED, value="1" if event.name == "Paused" else "0"))

    return {
        (LEDGER, "MaxMultiplierChanged"): max_multiplier_changed,
        (LEDGER, "OrderFloorChanged"): order_floor_changed,
        (MEMBERSHIP_BADGE, "TierDisplayNameUpdated"): tier_display_name_updated,
        (LEDGER, "Paused"): pause_changed,
        (LEDGER, "Unpaused"): pause_changed,
    }


def _full(rate: int | None, points: int) -> bool:
    """Whether an engagement of `points` counts toward the tier: its points reach the brand's
    rate for its kind (a multiplier of 100% or more), as the ledger's `_recordActivity` counts
    it (`full`). A review at 50% counted here and not on chain (a review: the member's
    progress and `missing` overstated). A rule the index has not seen (None) counts it."""
    return rate is None or int(points) >= rate
