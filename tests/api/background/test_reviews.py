"""Issue 10, reproduction 8: no one reviewed tiers unless a brand asked. The gateway now
queues every due member's review at each quarter start (UTC, chain time), in `reviewTiers`
batches, once per quarter across restarts (`background.reviews`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from support.chain import Anvil
from support.flows import earn
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for

from ledger_api.background.reviews import TierReviewer, quarter_of, queue_round
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import IdxMember, Operation, TierReviewRound
from ledger_api.domain import OpKind
from ledger_api.model.payloads import TierReviewsPayload

ON = {
    "LEDGER_TIER_REVIEWS": "true",
    "LEDGER_TIER_REVIEW_POLL_S": "0.2",
    "LEDGER_TIER_REVIEW_BATCH": "2",
}


def quarter_start(quarter: int) -> int:
    month = quarter * 3
    return int(datetime(1970 + month // 12, month % 12 + 1, 1, tzinfo=UTC).timestamp())


def chain_time(anvil: Anvil) -> int:
    return int(anvil.web3().eth.get_block("latest")["timestamp"])


def tier_of(brand: Brand, member: Member) -> dict[str, Any]:
    tier: dict[str, Any] = brand.api.get(f"/v1/members/{member.address}").json()["tier"]
    return tier


def reviewer(gateway: Gateway) -> TierReviewer:
    found = gateway.app.state.runtime.tier_reviewer
    assert isinstance(found, TierReviewer)
    return found


def round_batches(gateway: Gateway) -> list[TierReviewsPayload]:
    with gateway.app.state.runtime.db.read() as session:
        stored = session.scalars(
            select(Operation.payload)
            .where(Operation.kind == OpKind.TIER_REVIEW_BATCH.value)
            .order_by(Operation.id)
        )
        return [TierReviewsPayload.model_validate(p) for p in stored]


def test_every_member_with_a_tier_is_reviewed_at_the_quarter_start_once(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    env = {**own_env, **ON}
    silver = [Member() for _ in range(3)]
    short = Member()  # earns, reaches no tier: nothing to review
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        rule = {"spend_cents": 1_000, "orders": 1, "engagements": 0, "gift_points": 0}
        ruled = gateway.admin.put("/v1/admin/tiers/1", rule, params={"wait": "true"})
        assert ruled.json()["status"] == "confirmed", ruled.text
        for member in silver:
            earn(brand, member, 1_500)
        earn(brand, short, 500)
        assert [tier_of(brand, m)["tier"] for m in [*silver, short]] == [1, 1, 1, 0]
        upgraded_in = quarter_of(chain_time(anvil))
        # the round of the quarter the gateway started in: nobody was due (the upgrades were
        # this quarter's)
        assert round_batches(gateway) == []

        # two quarter starts later, with nothing done in between: judged at the first
        # (retained, the upgrade quarter met) and warned at the second, by the gateway alone
        anvil.rpc("evm_setNextBlockTimestamp", quarter_start(upgraded_in + 2) + 60)
        anvil.rpc("evm_mine")
        for member in silver:
            wait_for(
                lambda m=member: tier_of(brand, m)["grace_until"] is not None or None,
                what="the quarterly review's warning",
            )
            assert tier_of(brand, member)["tier"] == 1
        assert tier_of(brand, short) == {**tier_of(brand, short), "tier": 0, "grace_until": None}
        batches = round_batches(gateway)
        assert [b.quarter for b in batches] == [upgraded_in + 2] * 2
        reviewed = sorted(m for b in batches for m in b.members)
        assert reviewed == sorted(m.address for m in silver)

    # a restart in the same quarter queues nothing again
    with Gateway(env) as again:
        turns = reviewer(again).turns
        wait_for(lambda: reviewer(again).turns >= turns + 3 or None, what="the reviewer's looks")
        assert len(round_batches(again)) == 2


def test_a_quarters_round_is_queued_once(tmp_path: Path) -> None:
    """The marker and the batches are one transaction: a second look (a restart, another
    process) finds the marker and queues nothing."""
    db = Database(f"sqlite:///{tmp_path / 'rounds.db'}")
    upgrade(db)
    now = quarter_start(229) + 3_600  # 2027-04-01T01:00:00Z
    with db.write() as session:
        for i, (tier, quarter) in enumerate([(1, 228), (2, 227), (3, 229), (0, 228), (1, 200)]):
            session.add(IdxMember(member=f"0x{i:040x}", tier=tier, quarter=quarter))
    with db.write() as session:
        assert queue_round(session, now, batch_size=2) == 2
    with db.write() as session:
        assert queue_round(session, now + 86_400, batch_size=2) is None
        assert queue_round(session, 0, batch_size=2) is None  # nothing indexed yet
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Operation)) == 2
        (marker,) = session.scalars(select(TierReviewRound)).all()
        assert (marker.quarter, marker.members, marker.operations) == (229, 3, 2)
        members = [
            m
            for p in session.scalars(select(Operation.payload).order_by(Operation.id))
            for m in TierReviewsPayload.model_validate(p).members
        ]
    # due: a tier, and no earn yet this quarter (the member of quarter 229 was reviewed by it)
    assert members == [f"0x{i:040x}" for i in (0, 1, 4)]
    db.dispose()
