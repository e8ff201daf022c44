"""Erasure of a member's off-chain data (DOMAIN.md, "Trust, privacy and security": GDPR/CCPA,
"a member's off-chain profile must be erasable without breaking the ledger").

The chain knows a member by its address only: its points, lots, pending positions, tier,
badges, votes, bids, gifts and redemptions. The gateway's index (`idx_*`) is read from the
chain and rebuilt from it, and its operations, signed transactions, order references (bound
with the brand's secret) and webhook events about points and tiers state what is, or goes,
on chain: all of that is the ledger, and erasure keeps it (erasing it would not erase it from
the chain, and would break the ledger: exactly-once, the sender's replays, the history).

What the gateway holds about a member beyond the chain comes from the earning campaigns
(issue 16), and erasure takes it, in one transaction:

- **birthday**: an earn sent with `birthday_week: true` under a `birthday_week` rule keeps the
  rule's entry in its campaign record (`operations.payload.campaign.rules`, shown by the
  operation's status and the member's history) and in the stored answer of its
  Idempotency-Key. The entry becomes `{"rule": "erased", ...}`. The gateway holds no birthday
  (it stays with the brand): an earn accepted after the erasure with `birthday_week: true` is
  the brand's new statement, applied and recorded as any.
- **referrals** (who invited whom): the `campaign_referrals` rows naming the member, as the
  referred member or the referrer, are deleted; the `referral` entries of the campaign records
  (the referred member's first purchase, naming the referrer; both members' referral credits,
  naming each other) become `erased`, the stored answers with them; the `referral.credited` /
  `referral.voided` events lose both members and both operation ids (deliveries read the event
  when they send: a delivery not yet made carries the erased payload; one already made was
  the brand's). A referral still waiting is cancelled: it never pays either member, since
  paying it would need the relation kept. A credited one has paid: its points are the
  members' and stay.

What an erased entry leaves: the earn's multiplier and points (on chain: the operation goes,
or went, on chain with them, and a queued earn is sent unchanged), the other rules' entries
(first order, welcome pack, green, time-boxed, explicit: facts about the earn, derivable from
the ledger or the order, not about the person). An Idempotency-Key's request fingerprint is
kept (a SHA-256: a retry of the same request still replays, now the erased answer).

Not in the database, not erased here: the gateway's logs and database backups (they age out
on the operator's schedule), and what webhooks already delivered to a brand.

Erasing twice erases nothing more (zero counts): no route needs an Idempotency-Key for it, and
none is stored (a stored answer would keep the erased member's address and counts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from ledger_api.access import audit
from ledger_api.access.apikeys import Principal
from ledger_api.db import Database
from ledger_api.db.campaign_models import CampaignReferral
from ledger_api.db.models import IdempotencyRecord, Operation, table_of
from ledger_api.db.webhook_models import OutboxEvent
from ledger_api.domain import OpKind
from ledger_api.domain import events as ev
from ledger_api.domain.audit import AuditAction
from ledger_api.model.erasure import ErasedCounts, ErasureAnswer

#: the campaign rules whose entries say something about the person, not the earn
BIRTHDAY, REFERRAL = "birthday_week", "referral"
#: what an erased entry of a campaign record becomes
ERASED_ENTRY: dict[str, Any] = {
    "rule": "erased",
    "why": "erased at the member's request (off-chain profile)",
}
#: the fields of a referral event that name its members and their operations
_REFERRAL_EVENT_FIELDS = ("referred", "referrer", "referrer_operation_id", "referred_operation_id")
_OPERATIONS = table_of(Operation)


@dataclass(slots=True)
class _Tally:
    birthday_weeks: int = 0
    referrals: int = 0
    referrals_cancelled: int = 0
    referral_records: int = 0
    stored_answers: int = 0
    events: int = 0
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)  # op uid -> new record


def erase_member_profile(db: Database, member: str, by: Principal) -> ErasureAnswer:
    """Erases `member`'s off-chain data (a checksummed address) in one transaction, with its
    audit row (`member.erased`: who and the address, nothing of what was erased), and says what
    it erased; a member the gateway never saw, or already erased, gets zero counts."""
    with db.write() as session:
        tally = _erase(session, member)
        counts = ErasedCounts(
            birthday_weeks=tally.birthday_weeks,
            referrals=tally.referrals,
            referrals_cancelled=tally.referrals_cancelled,
            referral_records=tally.referral_records,
            stored_answers=tally.stored_answers,
            events=tally.events,
        )
        # who erased which member, not what its profile held (the counts would say it)
        audit.record(session, audit.note(by, AuditAction.MEMBER_ERASED, target=member))
    return ErasureAnswer(member=member, erased=counts)


def _erase(session: Session, member: str) -> _Tally:
    tally = _Tally()
    needle = member.lower()
    # the referrals first, locked: a crediter turn that holds them finishes first (PostgreSQL),
    # so the credits it queued are among the operations below, and none is queued after
    rows = session.scalars(
        select(CampaignReferral)
        .where(or_(CampaignReferral.referred == member, CampaignReferral.referrer == member))
        .with_for_update()
    ).all()
    credits = {
        uid for r in rows for uid in (r.referrer_operation_id, r.referred_operation_id) if uid
    }
    _redact_operations(session, member, needle, credits, tally)
    _redact_answers(session, tally)
    tally.events = _redact_events(session, needle)
    tally.referrals = len(rows)
    tally.referrals_cancelled = sum(1 for r in rows if r.status == "waiting")
    for row in rows:
        session.delete(row)
    return tally


def _text(column: Any) -> Any:
    """A JSON column as lower-case text, for a LIKE that finds the rows worth decoding."""
    return func.lower(cast(column, Text))


def _redact_operations(
    session: Session, member: str, needle: str, credits: set[str], tally: _Tally
) -> None:
    """The campaign records of the member's own earns (birthday and referral entries), and of
    other members' earns whose referral entry names the member: the referred member's first
    purchase (its member is one of the referrals' referred members, a row replaced after a
    void included) and the other member's referral credit (by the referral's operation ids)."""
    earns = (Operation.kind == OpKind.EARN.value, Operation.payload.is_not(None))
    own = select(Operation.id, Operation.uid, Operation.member, Operation.payload).where(
        *earns,
        Operation.member == member,
        or_(
            _text(Operation.payload).like(f"%{BIRTHDAY}%"),
            _text(Operation.payload).like(f"%{REFERRAL}%"),
        ),
    )
    others = select(Operation.id, Operation.uid, Operation.member, Operation.payload).where(
        *earns,
        Operation.member != member,
        or_(
            Operation.member.in_(select(CampaignReferral.referred)),
            Operation.uid.in_(sorted(credits)),
        ),
        _text(Operation.payload).like(f"%{needle}%"),
    )
    seen: set[int] = set()
    for query in (own, others):
        for row in session.execute(query).all():
            if row.id in seen:
                continue
            seen.add(row.id)
            redacted = _redacted(row.payload.get("campaign"), row.member == member, needle)
            if redacted is None:
                continue
            campaign, kinds = redacted
            tally.birthday_weeks += BIRTHDAY in kinds
            tally.referral_records += REFERRAL in kinds
            tally.campaigns[row.uid] = campaign
            # only the record changes: `updated_at` too would move the sender's clocks
            session.execute(
                update(_OPERATIONS)
                .where(_OPERATIONS.c.id == row.id)
                .values(
                    payload={**row.payload, "campaign": campaign},
                    updated_at=_OPERATIONS.c.updated_at,
                )
            )


def _redacted(
    campaign: Any, own: bool, needle: str
) -> tuple[dict[str, Any], frozenset[str]] | None:
    """The campaign record with its entries about the person erased, and their kinds; None
    when it has none. In the member's own earn every birthday and referral entry goes; in
    another member's, the referral entries that name the member."""
    if not isinstance(campaign, dict) or not isinstance(campaign.get("rules"), list):
        return None
    rules: list[Any] = []
    kinds: set[str] = set()
    for entry in campaign["rules"]:
        kind = entry.get("rule") if isinstance(entry, dict) else None
        if (kind == BIRTHDAY and own) or (kind == REFERRAL and (own or _names(entry, needle))):
            kinds.add(str(kind))
            rules.append(dict(ERASED_ENTRY))
        else:
            rules.append(entry)
    return ({**campaign, "rules": rules}, frozenset(kinds)) if kinds else None


def _names(value: Any, needle: str) -> bool:
    return needle in json.dumps(value).lower()


def _redact_answers(session: Session, tally: _Tally) -> None:
    """The stored answers (Idempotency-Key) of the redacted earns carry the same record."""
    uids: Sequence[str] = sorted(tally.campaigns)
    for start in range(0, len(uids), 500):
        records = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.operation_uid.in_(uids[start : start + 500])
            )
        ).all()
        for record in records:
            body = record.response_body
            if not isinstance(body, dict) or "campaign" not in body:
                continue
            assert record.operation_uid is not None
            record.response_body = {**body, "campaign": tally.campaigns[record.operation_uid]}
            tally.stored_answers += 1


def _redact_events(session: Session, needle: str) -> int:
    """The referral events naming the member lose both members and their operations."""
    events = session.scalars(
        select(OutboxEvent).where(
            OutboxEvent.type.in_((ev.REFERRAL_CREDITED, ev.REFERRAL_VOIDED)),
            _text(OutboxEvent.payload).like(f"%{needle}%"),
        )
    ).all()
    changed = 0
    for event in events:
        payload = dict(event.payload)
        if not any(_names(payload.get(f), needle) for f in _REFERRAL_EVENT_FIELDS[:2]):
            continue
        for name in _REFERRAL_EVENT_FIELDS:
            payload.pop(name, None)
        event.payload = {**payload, "erased": True}
        changed += 1
    return changed
