"""The events the index projection records: one per contract event that a brand should
hear of, written in the projection's transaction (the chunk's), so an event exists exactly
when its state change is in the index.

Ids come from the chain position (`tx_hash`, `log_index`): a chunk applied again after a
crash or a rebuild writes nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event, checksum, snake_case
from ledger_api.chain.manifest import ALLIANCE_AUCTIONS, ALLIANCE_BADGES, LEDGER
from ledger_api.db.auction_models import IdxAuction, IdxAuctionBid
from ledger_api.db.models import IdxBrand, IdxLot, IdxTierRule
from ledger_api.domain import (
    TIER_NAMES,
    EarnKind,
    iso_utc,
    lot_expiry,
    month_label,
    month_of,
    month_start,
    quarter_label,
    utc_datetime,
)
from ledger_api.domain import events as ev
from ledger_api.domain.tier_names import tier_display_names

from .outbox import NewEvent, write_events

if TYPE_CHECKING:
    from ledger_api.background.indexer.projector import Projector


#: AllianceAuctions' events -> webhook types; the data is the event's arguments (snake_case)
_AUCTION_TYPES = {
    "AuctionCreated": ev.AUCTION_CREATED,
    "BidPlaced": ev.AUCTION_BID_PLACED,
    "BidOutbid": ev.AUCTION_OUTBID,
    "AuctionExtended": ev.AUCTION_EXTENDED,
    "BidRecounted": ev.AUCTION_BID_RECOUNTED,
    "BidSettled": ev.AUCTION_SETTLED,
    "BidCancelled": ev.AUCTION_CANCELLED,
    "EscrowReclaimed": ev.AUCTION_RECLAIMED,
    "BadgeUnissued": ev.AUCTION_BADGE_UNISSUED,
    "WonBadgeIssued": ev.AUCTION_BADGE_ISSUED,
}


#: `BidRecounted.liveUntil` when no lot counted expires (`type(uint40).max`)
_NO_EXPIRY = 2**40 - 1


def _bid_brand(session: Session, a: dict[str, Any]) -> int | None:
    """The brand whose points an auction event concerns: its own `brand`, or for the events
    that name none (`BidRecounted`, `BadgeUnissued`, `WonBadgeIssued`) the bid's (the index's
    row, applied before this event is recorded; a review: only the auctioning brand heard)."""
    if "brand" in a or "bidder" not in a:
        return a.get("brand")
    bid = session.get(IdxAuctionBid, (int(a["auctionId"]), checksum(a["bidder"])))
    return bid.brand if bid is not None else None


def _auction_data(a: dict[str, Any]) -> dict[str, Any]:
    """An auction event's arguments in snake_case, its times ISO 8601 UTC, as everywhere (a
    `BidRecounted` of lots none of which expires: `live_until` null)."""
    data = {snake_case(key): _plain(value) for key, value in a.items()}
    for key in ("starts_at", "ends_at", "live_until"):
        if key in data:
            at = int(data[key])
            data[key] = iso_utc(at) if at < _NO_EXPIRY else None
    return data


def _gift_event(a: dict[str, Any], tier: int, **lower: int) -> dict[str, Any]:
    """The payload of a tier event that pays a gift (its shares added by `TierGiftPaid`)."""
    return {
        "member": a["member"],
        "brand_id": int(a["brand"]),
        **lower,
        "tier": tier,
        "tier_name": TIER_NAMES.get(tier),
        "gift": {"points": int(a["giftPoints"]), "shares": []},
    }


def _plain(value: Any) -> Any:
    """JSON-safe: bytes as 0x hex, integers beyond 2^53 as decimal strings."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)
    return value


class ChainEvents:
    """Collects a chunk's events while the projector applies it; `flush` writes them."""

    def __init__(self, projector: Projector) -> None:
        self.p = projector
        self.pending: list[NewEvent] = []
        self._handlers: dict[tuple[str, str], Callable[[Event, dict[str, Any], int], None]] = {
            (LEDGER, "PointsEarned"): self._points_earned,
            (LEDGER, "PointsReversed"): self._points_reversed,
            (LEDGER, "TierUpgraded"): self._tier_upgraded,
            (LEDGER, "TierGiftPaid"): self._tier_gift_paid,
            (LEDGER, "TierGiftRestored"): self._tier_gift_restored,
            (LEDGER, "TierDowngradeWarned"): self._grace_started,
            (LEDGER, "TierRetained"): self._grace_ended,
            (LEDGER, "TierDowngraded"): self._tier_downgraded,
            (LEDGER, "TierGiftCancelled"): self._tier_gift_cancelled,
            (LEDGER, "PointsRedeemed"): self._position_changed,
            (LEDGER, "PositionSettled"): self._settled,
            (ALLIANCE_BADGES, "BadgeIssued"): self._badge_issued,
            (ALLIANCE_BADGES, "BadgeClaimed"): self._badge_issued,
            (ALLIANCE_BADGES, "BenefitRedeemed"): self._benefit_redeemed,
            (LEDGER, "Paused"): self._pause_changed,
            (LEDGER, "Unpaused"): self._pause_changed,
        }
        for name in _AUCTION_TYPES:
            self._handlers[(ALLIANCE_AUCTIONS, name)] = self._auction

    def record(self, event: Event, timestamp: int) -> None:
        """After the projector applied `event` (so the state read here includes it)."""
        handler = self._handlers.get((event.contract, event.name))
        if handler is not None:
            handler(event, event.args, timestamp)

    def flush(self) -> None:
        write_events(self.p.session, self.pending)
        self.pending = []

    # ------------------------------------------------------------------ helpers

    def _add(
        self, type_: str, event: Event, ts: int, brands: list[int | None], **payload: Any
    ) -> None:
        lg = event.log
        if "tier_name" in payload:  # the tier's name in each market's locale (the badge's)
            payload["tier_display_names"] = tier_display_names(self.p.session, payload["tier"])
        payload["chain"] = {
            "tx_hash": lg.tx_hash,
            "block_number": lg.block_number,
            "log_index": lg.log_index,
            "block_time": iso_utc(ts),
        }
        eid = ev.event_id(type_, lg.tx_hash, lg.log_index)
        self.pending.append(NewEvent(eid, type_, utc_datetime(ts), brands, payload))

    def _member_brands(self, member: str) -> list[int | None]:
        """The brands whose points the member holds or held (index and this chunk): the
        chunk's preload read the index's (`holders.brands_held`, for every member of a tier
        event), so the writer's turn reads none."""
        stored = self.p.held_brands.get(member)
        if stored is None:  # a member no tier event of the chunk named: never in the flow
            stored = set(
                self.p.session.scalars(
                    select(IdxLot.brand).where(IdxLot.member == member).distinct()
                )
            )
        in_chunk = {brand for (holder, brand) in self.p.lot_keys() if holder == member}
        brands: list[int | None] = [*sorted({*stored, *in_chunk})]
        return brands

    # ------------------------------------------------------------------- events

    def _points_earned(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand, month = int(a["brand"]), month_of(ts)
        self._add(
            ev.POINTS_EARNED,
            event,
            ts,
            [brand],
            member=a["member"],
            brand_id=brand,
            points=int(a["points"]),
            source=EarnKind(a["kind"]).name.lower(),
            ledger_op_id=int(a["opId"]),
            spend_cents=int(a["spendCents"]),
            order_ref="0x" + bytes(a["orderRef"]).hex(),
            lot_month=month_label(month),
            expires_at=iso_utc(lot_expiry(month)),
            # a pending purchase: the end of its brand's right to return it (docs/gateway.md)
            release_at=iso_utc(int(a["releaseAt"])) if int(a.get("releaseAt", 0)) else None,
        )

    def _points_reversed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand = int(a["brand"])
        self._add(
            ev.POINTS_REVERSED,
            event,
            ts,
            [brand],
            member=a["member"],
            brand_id=brand,
            points=int(a["points"]),
            spend_cents=int(a["spendCents"]),
            ledger_op_id=int(a["opId"]),
            order_ref="0x" + bytes(a["orderRef"]).hex(),
            was_pending_until=iso_utc(int(a["releaseAt"])),
            closed_order=bool(a.get("closedOrders", a.get("closedOrder", False))),
            closed_orders=int(a.get("closedOrders", a.get("closedOrder", False))),
        )

    def _tier_gift_cancelled(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand = int(a["brand"])
        self._add(
            ev.TIER_GIFT_CANCELLED,
            event,
            ts,
            [brand],
            member=a["member"],
            brand_id=brand,
            points=int(a["points"]),
            was_pending_until=iso_utc(int(a["releaseAt"])),
        )

    def _tier_upgraded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """`tier.upgraded`: `brand_id` is the brand whose operation completed the upgrade;
        `gift.shares` who paid the gift (`_tier_gift_paid`, the ledger's next events)."""
        brands = [int(a["brand"]), *self._member_brands(a["member"])]
        payload = _gift_event(a, int(a["newTier"]), previous_tier=int(a["previousTier"]))
        self._add(ev.TIER_UPGRADED, event, ts, brands, **payload)

    def _tier_gift_restored(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """`tier.gift_restored`: the member met again a tier whose gift a return had cancelled
        in its quarter (the tier stood), so that gift is paid again, once per tier and quarter;
        the fields as in `tier.upgraded` (to the brand that met it and the paying brands)."""
        payload = _gift_event(a, int(a["tier"]))
        self._add(ev.TIER_GIFT_RESTORED, event, ts, [int(a["brand"])], **payload)

    def _tier_gift_paid(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """A brand's share of an upgrade's gift (`TierGiftPaid`, right after its `TierUpgraded`
        or `TierGiftRestored` in the same transaction, so in the same chunk): added to the
        latest such event's `gift.shares` (`brand_id`, `points`, `locked_until`: ISO 8601 UTC,
        or null when the points were the member's at once), and the paying brand hears of it. A
        trial: the event named the completing brand as paying the whole gift, where three
        brands paid it in proportion to the value each issued (DOMAIN.md, Tiers)."""
        brand, tx_hash = int(a["brand"]), event.log.tx_hash
        release = int(a["releaseAt"])
        share = {
            "brand_id": brand,
            "points": int(a["points"]),
            "locked_until": iso_utc(release) if release else None,
        }
        for pending in reversed(self.pending):
            data = pending.payload
            if (
                pending.type in (ev.TIER_UPGRADED, ev.TIER_GIFT_RESTORED)
                and data["member"] == a["member"]
                and data["chain"]["tx_hash"] == tx_hash
            ):
                data["gift"]["shares"].append(share)
                if brand not in pending.brands:
                    pending.brands = [*pending.brands, brand]
                return

    def _grace_started(self, event: Event, a: dict[str, Any], ts: int) -> None:
        tier, grace_month = int(a["tier"]), int(a["graceUntilMonth"])
        status = self.p.member(a["member"])
        quarter = month_of(ts) // 3
        current = status.quarter == quarter
        progress = {
            "spend_cents": status.spend_cents if current else 0,
            "orders": status.orders if current else 0,
            "engagements": status.engagements if current else 0,
        }
        rule = self.p.session.get(IdxTierRule, tier)
        required = {
            "spend_cents": rule.spend_cents if rule else None,
            "orders": rule.orders if rule else None,
            "engagements": rule.engagements if rule else None,
        }
        missing = {
            k: (max(0, v - progress[k]) if v is not None else None) for k, v in required.items()
        }
        self._tier_event(
            ev.TIER_GRACE_STARTED,
            event,
            ts,
            a["member"],
            tier,
            quarter,
            required=required,
            progress=progress,
            missing=missing,
            grace_until_month=month_label(grace_month),
            downgrade_at=iso_utc(month_start(grace_month)),
        )

    def _grace_ended(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """`tier.grace_ended`: a member in grace kept its tier (an earn's `TierRetained` or a
        review's); one kept while not in grace says nothing (a review keeps most members)."""
        if not self.p.ended_grace:
            return
        self._tier_event(ev.TIER_GRACE_ENDED, event, ts, a["member"], a["tier"], a["quarter"])

    def _tier_event(
        self, type_: str, event: Event, ts: int, member: str, tier: int, quarter: int, **more: Any
    ) -> None:
        """A member's tier event, to the brands whose points it holds or held."""
        payload = {"member": member, "tier": int(tier), "tier_name": TIER_NAMES.get(int(tier))}
        payload["quarter"] = quarter_label(int(quarter))
        self._add(type_, event, ts, self._member_brands(member), **payload, **more)

    def _tier_downgraded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        new = int(a["newTier"])
        self._add(
            ev.TIER_DOWNGRADED,
            event,
            ts,
            self._member_brands(a["member"]),
            member=a["member"],
            previous_tier=int(a["previousTier"]),
            tier=new,
            tier_name=TIER_NAMES.get(new),
        )

    def _position_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand, at_brand = int(a["brand"]), int(a["atBrand"])
        if brand == at_brand:
            return
        self._add(
            ev.SETTLEMENT_POSITION_CHANGED,
            event,
            ts,
            [brand, at_brand],
            member=a["member"],
            debtor_brand_id=brand,
            creditor_brand_id=at_brand,
            points=int(a["amount"]),
            value_micro_usd=str(int(a["valueMicroUsd"])),
            position=self._position(brand, at_brand),
        )

    def _settled(self, event: Event, a: dict[str, Any], ts: int) -> None:
        debtor, creditor = int(a["debtor"]), int(a["creditor"])
        self._add(
            ev.SETTLEMENT_SETTLED,
            event,
            ts,
            [debtor, creditor],
            debtor_brand_id=debtor,
            creditor_brand_id=creditor,
            value_micro_usd=str(int(a["valueMicroUsd"])),
            token_amount=str(int(a["tokenAmount"])),
            position=self._position(debtor, creditor),
        )

    def _position(self, debtor: int, creditor: int) -> dict[str, Any]:
        """What `debtor` owes `creditor` net after the event (micro-USD, decimal string)."""
        owed = self.p.position_of(debtor, creditor)
        return {"debtor_owes_creditor_micro_usd": str(owed)}

    def _pause_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """`ledger.paused` / `ledger.unpaused`, to every brand the index knows and the admin."""
        type_ = ev.LEDGER_PAUSED if event.name == "Paused" else ev.LEDGER_UNPAUSED
        brands: list[int | None] = list(self.p.session.scalars(select(IdxBrand.brand)))
        self._add(type_, event, ts, brands, account=a["account"])

    def _badge_issued(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand = int(a["brand"])
        self._add(
            ev.BADGE_ISSUED,
            event,
            ts,
            [brand],
            member=a["member"],
            brand_id=brand,
            badge_type_id=int(a["typeId"]),
            amount=int(a.get("amount", 1)),
            self_minted=event.name == "BadgeClaimed",
        )

    def _benefit_redeemed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand = int(a["brand"])
        self._add(
            ev.BADGE_BENEFIT_REDEEMED,
            event,
            ts,
            [brand],
            member=a["holder"],
            brand_id=brand,
            badge_type_id=int(a["typeId"]),
            claim_ref="0x" + bytes(a["claimRef"]).hex(),
        )

    def _auction(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """An auction's step, to the auctioning brand and the brand whose points are bid."""
        self.p.session.flush()  # an auction created earlier in this chunk
        auction = self.p.session.get(IdxAuction, int(a["auctionId"]))
        brands = [auction.brand if auction is not None else None, _bid_brand(self.p.session, a)]
        self._add(_AUCTION_TYPES[event.name], event, ts, brands, **_auction_data(a))
