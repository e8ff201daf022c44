"""What the intake takes and answers: drafts of operations, bulk requests, answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ledger_api.access.audit import AuditNote
from ledger_api.db.models import IdempotencyRecord
from ledger_api.domain import OpKind, OpStatus
from ledger_api.domain.ids import BrandRowId
from ledger_api.errors import (
    DuplicateEngagement,
    DuplicateOrder,
    IdempotencyConflict,
    LedgerError,
    PollAlreadyVoted,
)
from ledger_api.model.payloads import OperationPayload

from .campaigns import CampaignClaim
from .deposit_flow import DepositClaim
from .reversals import ReversalClaim

_CHAIN_CREDIT = "chain-credit"


def chain_credit(tx_hash: str, op_id: int) -> str:
    """How the intake's look-ups name a credit the chain made with no operation of this
    database behind it (`ChainCredit`), where they name an operation by its uid."""
    return f"{_CHAIN_CREDIT} {tx_hash} {op_id}"


@dataclass(frozen=True, slots=True)
class Draft:
    """An operation waiting to be accepted."""

    scope: str
    idempotency_key: str
    request_hash: str
    kind: OpKind
    brand_row_id: BrandRowId | None  # the queue: a brand's, or None for the alliance admin's
    payload: OperationPayload
    member: str | None = None
    beneficiary: str | None = None
    member_nonce: int | None = None
    points: int = 0  # expected mint, counted against the brand's daily cap
    # one live credit per order: a purchase's bound order reference, an engagement's key
    # (`domain.refs.engagement_key`: its kind, member and bound ref)
    order_ref: str | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    reversal: ReversalClaim | None = None  # a reversal's claim on its order (issue 11)
    campaign: CampaignClaim | None = None  # an earn's campaign rules, evaluated at acceptance
    deposit: DepositClaim | None = None  # a deposit step's read of the funds (`deposit_flow`)
    audit: AuditNote | None = None  # an admin action's audit row, stored with the operation

    def duplicate(self, first: str) -> DuplicateOrder | PollAlreadyVoted:
        """The refusal of a second live credit of the draft's order: `first` credits it, an
        operation's uid or a credit the chain made without one (`chain_credit`)."""
        if self.kind is OpKind.POLL_VOTE:  # a vote holds its member and poll (`vote_key`)
            poll, voter = getattr(self.payload, "poll_id", None), self.member
            return PollAlreadyVoted(poll_id=poll, voter=voter, operation_id=first)
        engagement = getattr(self.payload, "earn_kind", 0) != 0
        error = DuplicateEngagement if engagement else DuplicateOrder
        if first.startswith(_CHAIN_CREDIT):
            _, tx_hash, op_id = first.split(" ")
            return error(operation_id=None, tx_hash=tx_hash, op_id=int(op_id))
        return error(operation_id=first)


@dataclass(frozen=True, slots=True)
class Bulk:
    """A bulk request (`POST /v1/earn/batch`): its own Idempotency-Key, and per item its key
    and its draft, or the error that refused it before storing. Stored in one transaction."""

    scope: str
    idempotency_key: str
    request_hash: str
    items: tuple[tuple[str, Draft | LedgerError], ...]


@dataclass(frozen=True, slots=True)
class Accepted:
    status_code: int
    body: dict[str, Any]
    replayed: bool
    operation_uid: str | None


def find_replay(session: Session, scope: str, key: str, fingerprint: str) -> Accepted | None:
    """The stored answer for (scope, key); `IdempotencyConflict` if the request differs."""
    record = session.get(IdempotencyRecord, (scope, key))
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyConflict(idempotency_key=key)
    return Accepted(record.response_status, record.response_body, True, record.operation_uid)


def accepted_body(uid: str, kind: OpKind, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "operation_id": uid,
        "status": OpStatus.QUEUED.value,
        "kind": kind.value,
        **extra,
        "links": {"self": f"/v1/operations/{uid}"},
    }


def queue_of(draft: Draft | Bulk) -> BrandRowId | None:
    """The brand queue a draft (or a bulk request's first draft) goes to; None: the admin's."""
    if isinstance(draft, Draft):
        return draft.brand_row_id
    return next((d.brand_row_id for _, d in draft.items if isinstance(d, Draft)), None)
