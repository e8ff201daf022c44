"""Holders of points that are no members: the auctions' bid escrows (`IdxEscrow`, learnt from
the bids' moves into them) and the charity pool (`idx_meta`). They hold lots and have history
lines like a member's wallet, so the member figures (`usecases.stats`) and the expiry
reminders (`webhooks.reminders`) leave them out (a trial: the dashboard counted four escrows
and the pool as members, and brands were told to contact the pool about its points' expiry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event
from ledger_api.chain.manifest import LEDGER
from ledger_api.db.auction_models import IdxEscrow
from ledger_api.db.models import IdxLot, IdxMeta

from .cursor import CHARITY_POOL


def a_member(address: Any) -> ColumnElement[bool]:
    """SQL: the `address` column holds a member's address, no escrow's nor the pool's."""
    pool = select(IdxMeta.value).where(IdxMeta.key == CHARITY_POOL).scalar_subquery()
    return and_(address.not_in(select(IdxEscrow.address)), address != func.coalesce(pool, ""))


def no_members(session: Session, addresses: set[str]) -> set[str]:
    """Which of `addresses` are no members: escrows, and the pool."""
    found = set(session.scalars(select(IdxEscrow.address).where(IdxEscrow.address.in_(addresses))))
    pool = session.get(IdxMeta, CHARITY_POOL)
    if pool is not None and pool.value in addresses:
        found.add(pool.value)
    return found


#: the ledger's tier events: their webhook events go to every brand whose points the member
#: holds or held (`ChainEvents._member_brands`)
TIER_EVENTS = frozenset({"TierUpgraded", "TierDowngradeWarned", "TierRetained", "TierDowngraded"})


def brands_held(
    session: Session, events: Sequence[Event], known: Mapping[str, set[int]]
) -> dict[str, set[int]]:
    """For each member of the chunk's tier events not in `known`: the brands of the lots the
    index holds for it (ledger brand ids), read with the chunk's other rows before the writer
    lock (a CI run: a catch-up chunk's tier events read them in the writer's turn)."""
    members = sorted(
        {e.args["member"] for e in events if e.contract == LEDGER and e.name in TIER_EVENTS}
        - known.keys()
    )
    held: dict[str, set[int]] = {member: set() for member in members}
    for start in range(0, len(members), 400):
        part = members[start : start + 400]
        rows = session.execute(
            select(IdxLot.member, IdxLot.brand).where(IdxLot.member.in_(part)).distinct()
        )
        for member, brand in rows:
            held[member].add(brand)
    return held
