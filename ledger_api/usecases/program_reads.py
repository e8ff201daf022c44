"""Reads of the polls and the enterprise accounts, served from the index (`idx_polls`,
`idx_poll_tallies`, `idx_enterprise_employees`), projected from AlliancePolls' and
EnterpriseAccounts' events by the indexer.

Polls and bindings are public on chain (addresses and counts only), so any brand key and the
admin read them alike.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.background.indexer import read_cursor
from ledger_api.db.models import IdxEnterpriseEmployee, IdxMember, IdxPoll, IdxPollTally
from ledger_api.domain import utc_datetime
from ledger_api.errors import IndexNotReady, UnknownPoll
from ledger_api.model.program import EnterpriseView, PollView
from ledger_api.model.schemas import AsOf

#: An enterprise's employees listed in one answer at most (the contract allows 10,000).
MAX_EMPLOYEES_LISTED = 10_000


def _as_of(session: Session) -> tuple[AsOf, int]:
    """The index's last block, and "now": the later of the wall clock and that block's time."""
    cursor = read_cursor(session)
    if cursor is None or cursor.last_block_hash is None:
        raise IndexNotReady("the index has not applied any block yet")
    now = max(int(time.time()), cursor.last_block_timestamp)
    return AsOf(
        block=cursor.next_block - 1, timestamp=utc_datetime(cursor.last_block_timestamp)
    ), now


class ProgramReads:
    """Stateless; every method takes the request's read session."""

    def poll(self, session: Session, who: Principal, poll_id: int) -> PollView:
        """Raises `UnknownPoll` when the index holds no such poll."""
        as_of, now = _as_of(session)
        poll = session.get(IdxPoll, poll_id)
        if poll is None:
            raise UnknownPoll(poll_id=poll_id)
        counts = {
            int(option): int(count)
            for option, count in session.execute(
                select(IdxPollTally.option, IdxPollTally.count).where(
                    IdxPollTally.poll_id == poll_id
                )
            )
        }
        status = "scheduled" if now < poll.starts_at else "open" if now < poll.ends_at else "closed"
        return PollView(
            poll_id=poll.poll_id,
            brand_id=poll.brand,
            opener=poll.opener,
            content_hash=poll.content_hash,
            option_count=poll.option_count,
            opened_at=utc_datetime(poll.opened_at),
            starts_at=utc_datetime(poll.starts_at),
            ends_at=utc_datetime(poll.ends_at),
            eligibility="badge" if poll.eligibility == "badge" else "min_tier",
            eligibility_ref=poll.eligibility_ref,
            status=status,
            final=status == "closed",
            tallies=[counts.get(option, 0) for option in range(poll.option_count)],
            votes=poll.votes,
            as_of=as_of,
        )

    def enterprise(self, session: Session, who: Principal, address: str) -> EnterpriseView:
        as_of, _ = _as_of(session)
        employees = list(
            session.execute(
                select(IdxEnterpriseEmployee.employee)
                .where(IdxEnterpriseEmployee.enterprise == address)
                .order_by(IdxEnterpriseEmployee.bound_at, IdxEnterpriseEmployee.employee)
                .limit(MAX_EMPLOYEES_LISTED)
            ).scalars()
        )
        binding = session.get(IdxEnterpriseEmployee, address)
        member = session.get(IdxMember, address)
        tier = member.tier if member is not None and member.tier else None
        return EnterpriseView(
            address=address,
            employees=employees,
            employee_count=len(employees),
            tier=tier,
            enterprise_of=binding.enterprise if binding is not None else None,
            as_of=as_of,
        )
