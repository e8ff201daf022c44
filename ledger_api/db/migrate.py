"""Applies the Alembic migrations that ship inside the package.

Every gateway process runs `upgrade` when it starts. A database already at the
packaged head is recognised with one query, without importing Alembic (and Mako):
they would stay resident in every long-lived process for nothing (about 10 MB each,
issue 15's memory figure).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger_api.db.session import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision(?:\s*:\s*str)?\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision(?:\s*:\s*[^=]+)?\s*=\s*"([^"]+)"', re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def packaged_head() -> str:
    """The revision no packaged migration builds on (read from the scripts' text)."""
    revisions, parents = set(), set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text()
        found = _REVISION.search(source)
        if found is None:
            raise RuntimeError(f"{script.name} declares no revision")
        revisions.add(found.group(1))
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the packaged migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def stored_revision(database: Database) -> str | None:
    """The schema's revision as Alembic recorded it; None for a database without one."""
    try:
        with database.read_engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no alembic_version table yet
        return None


#: PostgreSQL's transaction advisory lock around a migration ("LEDGER" + 2)
MIGRATION_LOCK = 0x4C45444745520002


def upgrade(database: Database, revision: str = "head") -> None:
    """Brings the schema to `revision` (the newest by default). Safe to run concurrently: on
    PostgreSQL one process migrates at a time (`MIGRATION_LOCK`, held until its commit), and
    the next finds the schema done (a trial: three `ledger serve` started at once on a new
    database, two died on `alembic_version` already existing); a file lock beside a SQLite
    database orders them there (`_sqlite_turn`)."""
    if revision == "head" and stored_revision(database) == packaged_head():
        return
    from alembic import command

    config = alembic_config()
    with _sqlite_turn(database), database.engine.connect() as connection:
        if not database.is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


@contextlib.contextmanager
def _sqlite_turn(database: Database) -> Iterator[None]:
    """On a SQLite file, an exclusive `flock` beside it while migrating (one process at a
    time: two at once had one fail with `database is locked`); elsewhere nothing."""
    path = database.companion(".migrate.lock") if database.is_sqlite else None
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it


def revision(database: Database, message: str) -> None:
    """Autogenerates a migration from the models (a developer tool)."""
    from alembic import command

    config = alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
