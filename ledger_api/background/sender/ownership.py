"""Which signers this process sends for: one lock per signer, shared out among processes.

SQLite: one process per database sends (the sender lock, `process.lock`), so it owns every
signer. PostgreSQL: every gateway process runs a sender; a signer belongs to the process
holding its session advisory lock `(SIGNER_SPACE, signer id)`, taken on one dedicated
connection. Each process also holds `(MEMBER_SPACE, backend pid)` while it sends, so a process
counts the senders alive (`pg_locks`) and claims at most its fair share,
`ceil(active signers / senders)`, giving back what it holds beyond it. The server drops a dead
process's locks with its session (even after SIGKILL), so the others take its signers at their
next `plan` (the sender's supervisor runs it every `signer_claim_s`).

A signer's state (slots, attempts, nonces) lives in the database, so a signer moving to
another process is a worker restart there: it reconciles with the chain before sending.
If the lock connection fails, the locks may be gone: `plan` then tells the sender to stop every
worker at once (`LocksLost`), and the process claims its signers again on a new connection.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from ledger_api.db import Database

log = logging.getLogger(__name__)

#: the first key of the two-key advisory locks ("LEDG", "LEDH"); the one-key sender lock of
#: `process.lock` cannot collide with them (PostgreSQL keeps the two forms apart)
SIGNER_SPACE = 0x4C454447
MEMBER_SPACE = 0x4C454448


class LocksLost(Exception):
    """The lock connection failed: the process may no longer own its signers."""


@dataclass(slots=True)
class Plan:
    """What the sender does next: start workers for `take`, stop and give back `give`."""

    take: list[int] = field(default_factory=list)
    give: list[int] = field(default_factory=list)


class SignerOwnership:
    """The signer locks of one process (all signers, without locks, on SQLite)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._shared = not db.is_sqlite
        self._connection: Connection | None = None
        self.owned: set[int] = set()

    @property
    def shared(self) -> bool:
        """True when several processes share the signers (PostgreSQL)."""
        return self._shared

    def plan(self, active: list[int]) -> Plan:
        """Claims signers among `active` up to this process's share; `LocksLost` on a failed
        lock connection (every owned signer must then stop before `reset`)."""
        if not self._shared:
            take = [signer for signer in active if signer not in self.owned]
            self.owned.update(take)
            return Plan(take=take)
        try:
            connection = self._connect()
            senders = int(
                connection.execute(
                    text(
                        "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND classid = :space AND objsubid = 2 AND granted"
                    ),
                    {"space": MEMBER_SPACE},
                ).scalar_one()
            )
            connection.commit()
            share = math.ceil(len(active) / max(senders, 1))
            plan = Plan()
            # a signer deactivated while this process sent for it stays here (its worker
            # follows what it sent), as it would without other processes
            kept = sorted(self.owned)
            plan.give = kept[share:]
            room = share - min(len(kept), share)
            # start from a different place in every process, so that processes seldom race
            # for the same free signer
            free = [signer for signer in active if signer not in self.owned]
            start = os.getpid() % len(free) if free else 0
            for signer in free[start:] + free[:start]:
                if room <= 0:
                    break
                if self._try_lock(connection, signer):
                    self.owned.add(signer)
                    plan.take.append(signer)
                    room -= 1
            return plan
        except SQLAlchemyError as exc:
            raise LocksLost(str(exc)) from exc

    def give(self, signer: int) -> None:
        """Releases a signer whose worker has stopped."""
        self.owned.discard(signer)
        if self._shared and self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:space, :signer)"),
                    {"space": SIGNER_SPACE, "signer": signer},
                )
                self._connection.commit()
            except SQLAlchemyError:
                log.warning("sender: could not release signer %s; closing the lock session", signer)
                self.reset()

    def reset(self) -> None:
        """Ends the lock session (the server releases every lock); nothing is owned after."""
        self.owned.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                # the session must end, not go back to the pool still holding the locks
                connection.invalidate()
                connection.close()
            except SQLAlchemyError:
                pass

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._db.engine.connect()
            connection.execute(
                text("SELECT pg_advisory_lock(:space, pg_backend_pid())"),
                {"space": MEMBER_SPACE},
            )
            connection.commit()
            self._connection = connection
        return self._connection

    @staticmethod
    def _try_lock(connection: Connection, signer: int) -> bool:
        acquired = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:space, :signer)"),
                {"space": SIGNER_SPACE, "signer": signer},
            ).scalar()
        )
        connection.commit()
        return acquired
