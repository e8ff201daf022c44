"""`ledger db copy`: from the embedded SQLite default to PostgreSQL (issue 14 item 5)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from support.chain import ROOT, Anvil
from support.flows import earn
from support.gateway import Brand, Gateway, Member

from ledger_api.db import Database
from ledger_api.db.copy import TargetNotEmpty, copy_database
from ledger_api.db.migrate import upgrade


def _copy(env: dict[str, str], target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_api.cli", "db", "copy", "--to", target],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_a_sqlite_gateway_moves_to_postgresql_with_its_brands_keys_and_points(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path], postgres_url: str
) -> None:
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    alice = Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand("Moving Brand")
        earn(brand, alice, 10_000)

    copied = _copy(own_env, postgres_url)
    assert copied.returncode == 0, copied.stderr
    said = copied.stdout.strip().splitlines()
    assert said[-2].startswith("copied ") and "LEDGER_KEY_PASSPHRASE" in said[-1], said
    again = _copy(own_env, postgres_url)  # never over data
    assert again.returncode == 1 and "already holds rows" in again.stderr
    assert again.stderr.splitlines()[-1].startswith("error: target_not_empty: "), again.stderr

    with Gateway({**own_env, "LEDGER_DATABASE_URL": postgres_url}) as moved:
        api = moved.api(brand.api_key)
        view = api.get(f"/v1/members/{alice.address}").json()
        assert [(b["brand_id"], b["balance"]) for b in view["balances"]] == [
            (brand.brand_id, 1_000)
        ]
        same = Brand(brand.brand_id, brand.api_key, api, brand.signer)
        earn(same, alice, 5_000)  # new rows take ids after the copied ones
        other = moved.create_brand("Brand After The Move")
        assert other.brand_id == brand.brand_id + 1
    gc.collect()  # a connection the stopped gateway left open shows here, not in a later test


def test_copy_refuses_a_target_with_rows(tmp_path: Path) -> None:
    source = Database(f"sqlite:///{tmp_path / 'a.db'}")
    target = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        upgrade(source)
        assert sum(copy_database(source, target).values()) == 0
        with target.write() as session:
            session.execute(text("INSERT INTO idx_meta (key, value) VALUES ('x', '1')"))
        try:
            copy_database(source, target)
        except TargetNotEmpty as exc:
            assert "idx_meta" in str(exc)
        else:
            raise AssertionError("the copy went over existing rows")
    finally:
        source.dispose()
        target.dispose()


def test_the_copy_knows_every_table_the_migrations_make(tmp_path: Path) -> None:
    """`copy_database` copies the tables of its metadata: imported on its own (as a script or
    a library would), it knew only `db.models`' tables and left out the chain's credits, the
    campaigns, the webhooks and the audit trail, with no error. It knows every table the
    migrations make (Alembic's own aside)."""
    database = Database(f"sqlite:///{tmp_path / 'made.db'}")
    try:
        upgrade(database)
        made = set(inspect(database.engine).get_table_names()) - {"alembic_version"}
    finally:
        database.dispose()
    known = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ledger_api.db.copy as c; print(' '.join(c.METADATA.tables))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert made - set(known) == set(), made - set(known)
