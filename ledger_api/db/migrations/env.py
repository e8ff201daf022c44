"""Alembic environment: runs on the connection `ledger_api.db.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ledger_api.db.metadata import METADATA

config = context.config
target_metadata = METADATA


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise TypeError("run migrations with `ledger db upgrade` (ledger_api.db.migrate)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported")
run_migrations_online()
