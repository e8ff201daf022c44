"""Fixtures of the webhook tests: a throwaway PostgreSQL server, a gateway environment on it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import postgres
from support.chain import Anvil
from support.gateway import gateway_env


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway server; missing PostgreSQL fails in CI (`CI` set) instead of skipping."""
    reason = postgres.available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (tools/setup.sh installs it)")
        pytest.skip(reason)
    with postgres.server() as url:
        yield url


@pytest.fixture
def pg_env(anvil: Anvil, manifest: Path, postgres_url: str) -> dict[str, str]:
    """`LEDGER_*` variables for a test gateway on `postgres_url`."""
    return gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=postgres_url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
