"""Which earlier operations a member's debit waits for (`SlotStore.next_groups`), on SQLite and
PostgreSQL: every earlier open operation touching the member, except those queued at a brand
whose signing key a sending process found shut (`Signer.key_refused_at`), unless they hold an
earlier nonce of the same sequence (the chain takes a member's nonces in order).

A trial found the gap: a brand whose keys stopped opening kept its stored earns queued until
an operator restored the passphrase, and meanwhile those members' redemptions at every other
brand waited behind them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eth_account import Account
from sqlalchemy import update
from support.rows import add_brand, queued_earn

from ledger_api.background.sender.debit_order import nonce_held, shut_brands, waits_for_held_nonce
from ledger_api.background.sender.slots import SlotStore
from ledger_api.db import Database
from ledger_api.db.models import Operation, Signer
from ledger_api.domain import OpKind, OpStatus
from ledger_api.domain.ids import BrandRowId

STAMP = datetime(2026, 12, 5, tzinfo=UTC)
ALICE, BOB, CAROL, DAVE = ("0x" + c * 40 for c in "abcd")


def _signed(brand_id: int, n: int, kind: OpKind, member: str, nonce: int, **extra: Any) -> Any:
    """A queued member-signed move `op_{n}` of `member` at nonce `nonce` of its sequence."""
    return queued_earn(
        brand_id,
        n,
        STAMP,
        kind=kind,
        member=member,
        member_nonce=nonce,
        nonce_domain=kind.nonce_domain,
        **extra,
    )


def _alliance(db: Database) -> tuple[SlotStore, int]:
    """Brands "Fine" and "Shut" with a signer each; the row id of Shut's signer."""
    with db.write() as session:
        fine = add_brand(session, "Fine", "FIN", ledger_id=1)
        shut = add_brand(session, "Shut", "SHT", ledger_id=2)
        signers = [Signer(brand_id=b.id, address=Account.create().address) for b in (fine, shut)]
        session.add_all(signers)
        session.flush()
        session.add_all(
            [
                # stored at Shut before its key stopped opening: an earn to Alice, a gift
                # Bob signed to Carol (his ledger nonce 0), a donation Dave signed
                queued_earn(shut.id, 0, STAMP, member=ALICE),
                _signed(shut.id, 1, OpKind.GIFT, BOB, 0, beneficiary=CAROL),
                _signed(shut.id, 2, OpKind.DONATION, DAVE, 0),
                # then each one's debit at Fine; Dave's is a badge's benefit, signed with
                # the badge contract's own nonces
                _signed(fine.id, 3, OpKind.REDEMPTION, ALICE, 0),
                _signed(fine.id, 4, OpKind.REDEMPTION, BOB, 1),
                _signed(fine.id, 5, OpKind.REDEMPTION, CAROL, 0),
                _signed(fine.id, 6, OpKind.BADGE_REDEEM, DAVE, 0),
            ]
        )
        store = SlotStore(
            db,
            signer_id=signers[0].id,
            brand_row_id=BrandRowId(fine.id),
            account=Account.create(),
            chain_id=31337,
        )
        return store, signers[1].id


def _sendable(store: SlotStore) -> set[str]:
    """The uids of the operations Fine's signer would send now."""
    return {op.uid for group in store.next_groups(room=8, batch_max_ops=10) for op in group}


def _refuse(db: Database, signer_id: int, when: datetime | None) -> None:
    with db.write() as session:
        session.execute(update(Signer).where(Signer.id == signer_id).values(key_refused_at=when))


def test_a_shut_brands_queue_holds_back_only_the_debits_the_chain_orders_after_it(
    db: Database,
) -> None:
    store, shut_signer = _alliance(db)
    # both brands' keys open: every debit waits for the member's earlier operations
    assert _sendable(store) == set()
    with db.read() as session:
        assert shut_brands(session) == []

    _refuse(db, shut_signer, STAMP)
    with db.read() as session:
        (shut_brand,) = shut_brands(session)
    # Alice's earn at Shut and Bob's gift to Carol hold back nothing at Fine, nor Dave's
    # donation his badge benefit; Bob's signed gift holds his ledger nonce before the one
    # his redemption carries, so that one waits
    assert _sendable(store) == {"op_3", "op_5", "op_6"}

    # a shut key of a deactivated signer says nothing of the brand's signer now
    with db.write() as session:
        session.execute(update(Signer).where(Signer.id == shut_signer).values(active=False))
    assert _sendable(store) == set()
    with db.write() as session:
        session.execute(update(Signer).where(Signer.id == shut_signer).values(active=True))

    # the key opens again: the order is the member's again
    _refuse(db, shut_signer, None)
    assert _sendable(store) == set()
    with db.write() as session:
        session.execute(
            update(Operation)
            .where(Operation.brand_id == shut_brand)
            .values(status=OpStatus.CONFIRMED)
        )
    assert _sendable(store) == {"op_3", "op_4", "op_5", "op_6"}


def _reasons(db: Database) -> tuple[set[str], set[tuple[str, str]]]:
    """The uids of the moves that wait for a held nonce (`waits_for_held_nonce`), and the
    (member, sequence) pairs whose next signed move would (`nonce_held`)."""
    with db.read() as session:
        moves = {f"op_{n}" for n in range(7) if waits_for_held_nonce(session, f"op_{n}")}
        pairs = {
            (member, domain)
            for member in (ALICE, BOB, CAROL, DAVE)
            for domain in ("ledger", "badges")
            if nonce_held(session, member, domain)
        }
    return moves, pairs


def test_what_says_a_move_waits_for_a_nonce_held_at_a_shut_brand(db: Database) -> None:
    """The `queued_reason` `earlier_nonce_held` of a move's 202 and status, and of its typed
    data: only a nonce of the same member and sequence held by an open operation at a brand
    whose active signer's key is shut, and for a move only an earlier one."""
    _, shut_signer = _alliance(db)
    assert _reasons(db) == (set(), set())

    _refuse(db, shut_signer, STAMP)
    # Bob's gift holds his ledger nonce 0 (his redemption, op_4, waits for it), Dave's
    # donation his ledger nonce 0 (his badge benefit takes the badges' nonces); Alice's earn
    # and Bob's gift to Carol hold none of Alice's or Carol's
    assert _reasons(db) == ({"op_4"}, {(BOB, "ledger"), (DAVE, "ledger")})

    with db.write() as session:  # a deactivated signer's shut key says nothing
        session.execute(update(Signer).where(Signer.id == shut_signer).values(active=False))
    assert _reasons(db) == (set(), set())
    with db.write() as session:
        session.execute(update(Signer).where(Signer.id == shut_signer).values(active=True))
    _refuse(db, shut_signer, None)  # nor a key that opens again
    assert _reasons(db) == (set(), set())
