"""Campaign rules at acceptance, and referral credits once a first purchase is released.

`CampaignBook` (one per intake transaction): an earn drafted with a `CampaignClaim` is
evaluated under its brand's row lock (`_Batch.brand` reads it FOR UPDATE), so "the member's
first earn (purchase) at this brand" is decided once even when requests race or several
processes accept: the operations already stored, those accepted earlier in the same group,
and the index's earn lines (points earned on chain without the gateway) all count. The
evaluation (`domain.campaigns.evaluate`) sets the multiplier that goes on chain, the points
counted against the daily cap and the record kept in the payload (`campaign`). A first
purchase with a `referrer` under an active `referral` rule writes a `campaign_referrals` row
in the same transaction.

`ReferralCrediter` (the process holding the sender lock): a waiting referral whose purchase is
confirmed, indexed and past its release time (the index's clock, so it follows the chain's
calendar), with no reversal open and not reversed in full, gets two `earn` operations of kind
`referral` (the referrer's and the referred member's), queued in the same transaction that
marks it `credited`: a restart or a second process never credits it twice. The credit's
multiplier is the rule's, at most the chain's cap at the credit. A credit earn that fails
puts its referral back to `waiting`, that side alone credited again `CAP_RETRY_S` later
(`referral_earns_failed`, in the sender's settling transaction). A purchase that
failed, or whose order now credits another member, voids it. A referral whose purchase is in
its return window is not looked at again before its release (`check_after`), and each turn
goes on after the last referral the previous one looked at, so no referral waits behind others.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledger_api.background.indexer.cursor import (
    index_replaying,
    index_time,
    indexed_max_multiplier,
)
from ledger_api.background.webhooks.outbox import NewEvent, write_events
from ledger_api.db import Database
from ledger_api.db.campaign_models import CampaignReferral
from ledger_api.db.keys import NOT_FAILED
from ledger_api.db.models import Brand, IdxHistory, MintCounter, Operation
from ledger_api.db.types import utcnow
from ledger_api.domain import EarnKind, EarnRule, OpKind, OpStatus, utc_day
from ledger_api.domain import events as ev
from ledger_api.domain.campaigns import EarnFacts, RuleSnapshot, evaluate
from ledger_api.domain.ids import BrandRowId
from ledger_api.domain.refs import ZERO_REF
from ledger_api.errors import IndexNotReady, ZeroPoints
from ledger_api.model.payloads import EarnPayload
from ledger_api.process.threads import name_this_thread
from ledger_api.settings import Settings

if TYPE_CHECKING:
    from .drafts import Draft

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CampaignClaim:
    """What an earn's campaign evaluation needs; the member's past is read at acceptance."""

    base: EarnRule
    rules: tuple[RuleSnapshot, ...]
    cap_pct: int
    facts: EarnFacts
    ledger_brand_id: int | None


#: the rules that read the member's past at the brand (`member_past`): a first earn, a
#: first purchase (and its referral)
PAST_RULES = frozenset({"first_order", "welcome_pack", "referral"})


#: a stored earn of a purchase (`EarnPayload.earn_kind`)
_PURCHASE = Operation.payload["earn_kind"].as_integer() == int(EarnKind.PURCHASE)


def member_past(
    session: Session, brand_row_id: int, ledger_brand_id: int | None, member: str
) -> tuple[bool, bool]:
    """(has earned, has bought) at the brand: its stored operations, then the index's lines
    (points earned on chain without the gateway).

    Raises `IndexNotReady` (503, retry) when those lines are needed while a rebuild of the
    index replays the chain (`index_replaying`): a member who bought with the brand's own
    key read as a first buyer mid-replay, and got a first order's bonus again."""
    earns = select(Operation.id).where(
        Operation.brand_id == brand_row_id,
        Operation.member == member,
        Operation.kind == OpKind.EARN.value,
        NOT_FAILED,
    )
    earned = session.scalar(earns.limit(1)) is not None
    # a purchase, not an engagement's or a vote's key held as an order (`domain.refs`; a
    # review with a ref had made the member a buyer: its first purchase lost its bonus)
    purchases = earns.where(Operation.order_ref.is_not(None), _PURCHASE)
    bought = earned and session.scalar(purchases.limit(1))
    if bought or ledger_brand_id is None:
        return earned, bool(bought)
    if index_replaying(session):
        raise IndexNotReady(
            "the index is read again from the chain (it forgot a block); the brand's "
            "first-earn, first-order and referral rules wait until it has caught up"
        )
    lines = select(IdxHistory.source).where(
        IdxHistory.member == member,
        IdxHistory.brand == ledger_brand_id,
        IdxHistory.kind.in_(("earned", "pending")),
    )
    indexed = session.scalar(lines.limit(1)) is not None
    indexed_purchase = session.scalar(lines.where(IdxHistory.source == "purchase").limit(1))
    return earned or indexed, indexed_purchase is not None


@dataclass(frozen=True, slots=True)
class Evaluated:
    """What an evaluated draft holds in its group once the intake takes it
    (`CampaignBook.record`): the member's earn (and purchase) at the brand, and the referral
    its first purchase writes."""

    key: tuple[int, str]
    purchase: bool
    referral: tuple[EarnFacts, RuleSnapshot, str] | None  # the facts, the rule, the order


class CampaignBook:
    """Evaluates drafts' campaign claims inside one intake transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.earned: set[tuple[int, str]] = set()  # accepted in this group
        self.bought: set[tuple[int, str]] = set()

    def evaluate(self, draft: Draft) -> tuple[Draft, Evaluated]:
        """The draft with its evaluated multiplier, points and record (`ZeroPoints` if none),
        and what it holds once taken. Changes nothing: a draft the intake then refuses (the
        daily cap, a duplicate order) was neither the member's first earn nor its referral
        (a trial: a refused batch item took the next item's first-order bonus)."""
        claim = draft.campaign
        assert claim is not None and draft.brand_row_id is not None
        brand = int(draft.brand_row_id)
        key = (brand, claim.facts.member.lower())
        if any(rule.kind in PAST_RULES for rule in claim.rules):
            earned, bought = member_past(
                self.session, brand, claim.ledger_brand_id, claim.facts.member
            )
        else:  # no rule asks: no read, and no refusal while the index replays (a trial)
            earned = bought = True
        purchase = claim.facts.kind is EarnKind.PURCHASE
        facts = replace(
            claim.facts,
            first_earn=not earned and key not in self.earned,
            first_purchase=purchase and not bought and key not in self.bought,
        )
        evaluation = evaluate(claim.base, claim.rules, facts, claim.cap_pct)
        if evaluation.points == 0:
            raise ZeroPoints(
                earn_kind=facts.kind.name.lower(), multiplier_pct=evaluation.multiplier_pct
            )
        referral = None
        if evaluation.referral is not None and draft.order_ref is not None and facts.referrer:
            referral = (facts, evaluation.referral, draft.order_ref)
        record = evaluation.record()
        payload = draft.payload.model_copy(
            update={"multiplier_pct": evaluation.multiplier_pct, "campaign": record}
        )
        extra = {**draft.extra_body, "points": evaluation.points, "campaign": record}
        evaluated = replace(
            draft, payload=payload, points=evaluation.points, extra_body=extra, campaign=None
        )
        return evaluated, Evaluated(key, purchase, referral)

    def record(self, evaluated: Evaluated) -> None:
        """A taken draft's earn (and purchase) for the rest of the group, and its referral."""
        self.earned.add(evaluated.key)
        if evaluated.purchase:
            self.bought.add(evaluated.key)
        if evaluated.referral is not None:
            self._refer(evaluated.key[0], *evaluated.referral)

    def _refer(self, brand: int, facts: EarnFacts, rule: RuleSnapshot, order_ref: str) -> None:
        """The referral of the member's first purchase (a voided earlier one is replaced)."""
        row = self.session.scalar(
            select(CampaignReferral).where(
                CampaignReferral.brand_id == brand, CampaignReferral.referred == facts.member
            )
        )
        if row is not None and row.status == "credited":
            return
        if row is None:
            row = CampaignReferral(brand_id=brand, referred=facts.member, created_at=utcnow())
            self.session.add(row)
        row.referrer = str(facts.referrer)
        row.order_ref = order_ref
        row.rule_id, row.rule_version = rule.rule_id, rule.version
        row.multiplier_pct = int(rule.params["multiplier_pct"])
        row.status = "waiting"
        row.updated_at = utcnow()
        self.session.flush()


# --------------------------------------------------------------------------- referrals


def _verdict(session: Session, ref: CampaignReferral, now: int) -> str | None:
    """`credit`, `void`, or None (not yet) for a waiting referral at chain time `now`; a
    purchase still in its return window sets the referral's `check_after` to its release."""
    earn = session.execute(
        select(Operation.id, Operation.status, Operation.member, Operation.op_id)
        .where(
            Operation.brand_id == ref.brand_id,
            Operation.order_ref == ref.order_ref,
            Operation.kind == OpKind.EARN.value,
        )
        .order_by(Operation.id.desc())
    ).first()
    if earn is None or earn.status == OpStatus.FAILED.value or earn.member != ref.referred:
        return "void"
    if earn.status != OpStatus.CONFIRMED.value:
        return None
    ledger_id = session.scalar(select(Brand.ledger_id).where(Brand.id == ref.brand_id))
    line = session.execute(
        select(IdxHistory.amount, IdxHistory.release_at, IdxHistory.timestamp).where(
            IdxHistory.brand == ledger_id,
            IdxHistory.op_id == earn.op_id,
            IdxHistory.kind.in_(("pending", "earned")),
            IdxHistory.source == "purchase",
        )
    ).first()
    if line is None:
        return None  # not indexed yet
    released = int(line.release_at or line.timestamp)
    if now < released:
        ref.check_after = released  # in its return window: nothing to look at until then
        return None
    reversals = select(Operation.status, Operation.points).where(
        Operation.reverses_id == earn.id, Operation.kind == OpKind.REVERSAL.value
    )
    rows = session.execute(reversals).all()
    if any(r.status in (OpStatus.QUEUED.value, OpStatus.SUBMITTED.value) for r in rows):
        return None
    reversed_points = sum(int(r.points) for r in rows if r.status == OpStatus.CONFIRMED.value)
    return "void" if reversed_points >= int(line.amount) else "credit"


def _fits_today(session: Session, brand: Brand, points: int) -> bool:
    """Counts `points` in the brand's points accepted today (UTC, `mint_counters`, as the
    intake counts an earn) when they fit in the chain's daily mint cap (`Brand.daily_cap_points`,
    as the intake reads it); else counts nothing and returns False. The brand's row is locked:
    the intake waits. The day is the chain's, as the intake's: this machine's, or the last
    indexed block's when the chain's clock is ahead."""
    day = utc_day(max(time.time(), index_time(session)))
    counter = session.get(MintCounter, (brand.id, day), with_for_update=True)
    cap = brand.daily_cap_points
    counted = counter.points if counter is not None else 0
    if cap is not None and counted + points > cap:
        return False
    if counter is None:
        session.add(MintCounter(brand_id=brand.id, day=day, points=points))
    else:
        counter.points = counted + points
    return True


def _credit(session: Session, ref: CampaignReferral) -> bool:
    """Queues the referral earns not queued yet (both, or the one whose earn failed: `retry`)
    (op ids from the brand's counter, its row locked), counted in the brand's daily mint
    count; False, queueing nothing, when they do not fit today. The multiplier is the rule's,
    at most the chain's cap now (`indexed_max_multiplier`): the admin lowered the cap during
    the purchase's return window, and both earns of a trial's referral failed on chain."""
    brand = session.scalars(select(Brand).where(Brand.id == ref.brand_id).with_for_update()).one()
    rule = EarnRule(
        brand.points_per_usd,
        brand.points_per_review,
        brand.points_per_share,
        brand.points_per_event,
        brand.points_per_referral,
    )
    multiplier = min(ref.multiplier_pct, indexed_max_multiplier(session))
    points = rule.points(EarnKind.REFERRAL, multiplier, 0)
    sides = [
        (member, role)
        for member, role, uid in (
            (ref.referrer, "referrer", ref.referrer_operation_id),
            (ref.referred, "referred", ref.referred_operation_id),
        )
        if uid is None
    ]
    if not _fits_today(session, brand, len(sides) * points):
        return False
    for member, role in sides:
        record = {
            "multiplier_pct": multiplier,
            "points": points,
            "rules": [
                {
                    "rule": "referral",
                    "rule_id": ref.rule_id,
                    "version": ref.rule_version,
                    "role": role,
                    "why": f"the first purchase of {ref.referred}, referred by {ref.referrer}, "
                    "was confirmed and its return window closed",
                }
            ],
        }
        payload = EarnPayload(
            member=member,
            earn_kind=int(EarnKind.REFERRAL),
            multiplier_pct=multiplier,
            amount_cents=0,
            order_ref=ZERO_REF,
            campaign=record,
        )
        uid = str(uuid.uuid4())
        session.add(
            Operation(
                uid=uid,
                brand_id=brand.id,
                kind=OpKind.EARN.value,
                status=OpStatus.QUEUED.value,
                op_id=brand.next_op_id,
                member=member,
                beneficiary=member,
                points=points,
                payload=payload.stored(),
                attempts=0,
            )
        )
        brand.next_op_id += 1
        setattr(ref, f"{role}_operation_id", uid)
    ref.status = "credited"
    ref.updated_at = utcnow()
    return True


def referral_earns_failed(
    session: Session, failed: Iterable[tuple[str, int | None, Mapping[str, Any]]]
) -> None:
    """Failed operations (uid, brand row, payload) that are a campaign's referral earns: each
    one's referral is `waiting` again, that side's operation forgotten, and looked at after
    `CAP_RETRY_S` (chain seconds), when `_credit` queues that side alone. A trial's referral
    read `credited` for good while both its earns had failed, the referrer never paid. Called
    by the sender in the transaction that settles the earns; `referral.credited` is not sent
    again (one id per referral)."""
    for uid, brand_id, payload in failed:
        if payload.get("earn_kind") != int(EarnKind.REFERRAL) or not payload.get("campaign"):
            continue
        ref = session.scalars(
            select(CampaignReferral)
            .where(
                CampaignReferral.brand_id == brand_id,
                or_(
                    CampaignReferral.referrer_operation_id == uid,
                    CampaignReferral.referred_operation_id == uid,
                ),
            )
            .with_for_update()
        ).first()
        if ref is None:
            continue
        role = "referrer" if ref.referrer_operation_id == uid else "referred"
        setattr(ref, f"{role}_operation_id", None)
        ref.status = "waiting"
        ref.check_after = index_time(session) + CAP_RETRY_S
        ref.updated_at = utcnow()


def _referral_event(session: Session, ref: CampaignReferral, kind: str) -> None:
    """`referral.credited` or `referral.voided` to the brand's webhooks (same transaction)."""
    brand = session.scalar(select(Brand.ledger_id).where(Brand.id == ref.brand_id))
    data: dict[str, object] = {
        "referred": ref.referred,
        "referrer": ref.referrer,
        "brand_id": brand,
        "rule_id": ref.rule_id,
        "rule_version": ref.rule_version,
        "multiplier_pct": ref.multiplier_pct,
    }
    if kind == ev.REFERRAL_CREDITED:
        data["referrer_operation_id"] = ref.referrer_operation_id
        data["referred_operation_id"] = ref.referred_operation_id
    event_id = ev.event_id(kind, ref.brand_id, ref.referred)
    write_events(session, [NewEvent(event_id, kind, ref.updated_at, [brand], data)])


#: waiting referrals looked at per turn
CREDIT_PAGE = 200
#: a referral due while its brand's daily mint cap is reached is looked at again this much
#: later (chain seconds)
CAP_RETRY_S = 600


def credit_due(
    session: Session, after_id: int = 0, limit: int = CREDIT_PAGE
) -> tuple[set[BrandRowId | None], int]:
    """Settles the waiting referrals that may be due (`check_after` reached at the index's
    time) with an id above `after_id`, at most `limit` of them in id order. Returns the
    brands whose queue grew and the `after_id` of the next turn: the last id looked at when
    the page was full, else 0 (the next turn starts again from the first), so every referral
    that may be due is looked at within a few turns, whatever waits before it."""
    now = index_time(session)
    waiting = session.scalars(
        select(CampaignReferral)
        .where(
            CampaignReferral.status == "waiting",
            CampaignReferral.check_after <= now,
            CampaignReferral.id > after_id,
        )
        .order_by(CampaignReferral.id)
        .limit(limit)
        .with_for_update()  # two processes (PostgreSQL): the second sees them credited
    ).all()
    grown: set[BrandRowId | None] = set()
    for ref in waiting:
        verdict = _verdict(session, ref, now)
        if verdict == "void":
            ref.status, ref.updated_at = "void", utcnow()
            _referral_event(session, ref, ev.REFERRAL_VOIDED)
        elif verdict == "credit":
            if _credit(session, ref):
                grown.add(BrandRowId(ref.brand_id))
                _referral_event(session, ref, ev.REFERRAL_CREDITED)  # written once (its id)
            else:  # over the brand's daily mint cap today: waits, looked at again later
                log.warning(
                    "campaigns: referral %d waits: the brand's daily cap is reached", ref.id
                )
                ref.check_after = now + CAP_RETRY_S
    return grown, (waiting[-1].id if len(waiting) == limit else 0)


class ReferralCrediter(threading.Thread):
    """Credits due referrals (`credit_due`), looking every `poll_s` until `halt` is set (the
    runtime's stop)."""

    def __init__(
        self,
        *,
        db: Database,
        poll_s: float,
        queued: Callable[[set[BrandRowId | None]], None],
        halt: threading.Event,
    ) -> None:
        super().__init__(name="campaign-referrals", daemon=True)
        self.db = db
        self.poll_s = poll_s
        self.queued = queued
        self._halt = halt

    def run(self) -> None:
        name_this_thread("campaign-referrals")
        after_id = 0
        while not self._halt.wait(self.poll_s):
            try:
                if not self._any_due(after_id):
                    after_id = 0
                    continue  # a read, not a write lock, while no referral may be due
                with self.db.write() as session:
                    grown, after_id = credit_due(session, after_id)
            except Exception:  # the database away (or closing): the next turn tries again
                if not self._halt.is_set():
                    log.exception("campaigns: could not credit the due referrals")
                continue
            if grown:
                log.info("campaigns: queued referral credits for %d brand(s)", len(grown))
                self.queued(grown)

    def _any_due(self, after_id: int) -> bool:
        with self.db.read() as session:
            due = select(CampaignReferral.id).where(
                CampaignReferral.status == "waiting",
                CampaignReferral.check_after <= index_time(session),
                CampaignReferral.id > after_id,
            )
            return session.scalar(due.limit(1)) is not None


def start_referral_crediter(
    settings: Settings,
    db: Database,
    wake_sender: Callable[[set[BrandRowId | None]], None],
    halt: threading.Event,
) -> ReferralCrediter:
    """The crediter of the process holding the sender lock, started; it ends with `halt`."""
    crediter = ReferralCrediter(
        db=db, poll_s=settings.campaign_referral_poll_s, queued=wake_sender, halt=halt
    )
    crediter.start()
    return crediter
