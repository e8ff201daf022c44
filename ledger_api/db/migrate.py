"""Applies the Alembic migrations that ship inside the package.

Every gateway process runs `upgrade` when it starts. A database already at the
packaged head is recognised with one query, without importing Alembic (and Mako):
they would stay resident in every long-lived process for nothing (about 10 MB each,
issue 15's memory figure).
"""

from __future__ import annotations

import re
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


def upgrade(database: Database, revision: str = "head") -> None:
    """Brings the schema to `revision` (the newest by default). Safe to run concurrently."""
    if revision == "head" and stored_revision(database) == packaged_head():
        return
    from alembic import command

    config = alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def revision(database: Database, message: str) -> None:
    """Autogenerates a migration from the models (a developer tool)."""
    from alembic import command

    config = alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
