"""Which earlier operations a member's debit waits for before its signer sends it.

A debit (a gift, a donation, a redemption, a badge's benefit, an auction bid: the member
signed it) spends points the member's earlier operations may credit, and carries a nonce the
chain takes in order, so it waits until every earlier open operation touching the member is
final. Except those queued at a brand whose signing key a sending process found shut
(`Signer.key_refused_at`, written by `Sender._account`): they wait for an operator, and had
held back the member's debits at every other brand meanwhile (a trial). The member's own
signed moves there still come first when they hold an earlier nonce of the same sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Select, exists, or_, select
from sqlalchemy.orm import Session, aliased

from ledger_api.db.keys import OPEN
from ledger_api.db.models import Operation, Signer
from ledger_api.domain import OpKind

from .txplan import OpRecord


def shut_brands(session: Session) -> list[int]:
    """The brands (row ids) whose active signer's key a sending process found shut to its
    passphrase: a few rows at most, none in a healthy alliance."""
    return [brand for brand in session.scalars(_shut_brand_ids()) if brand is not None]


def _shut_brand_ids() -> Select[int | None]:
    return select(Signer.brand_id).where(
        Signer.key_refused_at.is_not(None), Signer.active.is_(True)
    )


def _at_shut_brand() -> ColumnElement[bool]:
    """An operation at a brand whose active signer's key a sending process found shut."""
    return Operation.brand_id.in_(_shut_brand_ids())


def nonce_held(session: Session | Connection, member: str, domain: str) -> bool:
    """Whether an open operation of `member` holding a nonce of `domain` ("ledger" or
    "badges") waits at a brand whose signing key is shut: a move the member signs next, with
    the nonce after it, waits for it at any brand (the chain takes nonces in order), until an
    operator restores that key. Its typed data says so (`queued_reason`
    `earlier_nonce_held`)."""
    held = exists().where(
        Operation.member == member, Operation.nonce_domain == domain, OPEN, _at_shut_brand()
    )
    return bool(session.scalar(select(held)))


def waits_for_held_nonce(session: Session | Connection, uid: str) -> bool:
    """Whether the member-signed operation `uid` waits behind an earlier open operation of
    its member, of the same nonce sequence, at a brand whose signing key is shut (its
    `queued_reason` `earlier_nonce_held`; `debit_waits` holds it back for that one)."""
    this = aliased(Operation)
    held = select(this.id).where(
        this.uid == uid,  # unique: one row at most
        exists().where(
            Operation.member == this.member,
            Operation.nonce_domain == this.nonce_domain,
            Operation.id < this.id,
            OPEN,
            _at_shut_brand(),
        ),
    )
    return session.scalar(held) is not None


def debit_waits(session: Session, op: OpRecord, shut: Sequence[int]) -> bool:
    """Whether the member's debit `op` waits: an earlier open operation of the member (as
    member or beneficiary) at a brand not in `shut` (`shut_brands`), or at one in it holding
    an earlier nonce of the member's same sequence (ledger or badges). One EXISTS per column,
    each on its partial index of open operations (an OR of the two columns is not planned on
    partial indexes); a shut brand's rows are filtered on those indexes."""
    clauses = []
    for column in (Operation.member, Operation.beneficiary):
        earlier = [column == op.member, OPEN, Operation.id < op.id]
        if shut:
            movable = Operation.brand_id.is_(None) | Operation.brand_id.not_in(shut)
            if column is Operation.member:  # a nonce of the same sequence: the chain's order
                movable = movable | (Operation.nonce_domain == OpKind(op.kind).nonce_domain)
            earlier.append(movable)
        clauses.append(exists().where(*earlier))
    return bool(session.scalar(select(or_(*clauses))))
