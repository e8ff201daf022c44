"""Fixtures: one anvil with the contracts for the session, a fresh gateway and database per test."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from support import postgres
from support.chain import Anvil, deploy, start_anvil
from support.gateway import Brand, Gateway, gateway_env
from support.shared_rules import RulesReader


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    node = start_anvil()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def manifest(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("deployment") / "deployment.json"
    deploy(anvil, path, settlement=True)  # with TestUSD and the SettlementVault, as `make run`
    return path


@pytest.fixture
def closing() -> Iterator[Callable[[httpx.Client], httpx.Client]]:
    """`closing(httpx.Client(...))`: the client, closed when the test ends, passed or failed. A
    client a failed test left open (its frame kept by the traceback) warned of its unclosed
    socket at a later test's garbage collection, and failed that test too (a CI run)."""
    with ExitStack() as stack:
        yield stack.enter_context


@pytest.fixture(scope="session")
def shared_rules(anvil: Anvil, manifest: Path) -> RulesReader:
    """The shared deployment's alliance-wide rules: read as deployed, then after each test."""
    return RulesReader(anvil.web3(), manifest)


@pytest.fixture(autouse=True)
def shared_rules_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test on the shared anvil that changes an alliance-wide rule or moves the chain's
    clock (`support.shared_rules`), and the first test to see a change that landed after the
    test that made it had ended. Tests that need such changes use `own_chain`."""
    if "anvil" not in request.fixturenames:
        yield
        return
    rules: RulesReader = request.getfixturevalue("shared_rules")
    before = rules.read()
    earlier, rules.last = rules.last.differences(before), before
    if earlier:
        pytest.fail(f"an earlier test changed the shared chain's rules: {earlier}")
    yield
    after = rules.read()
    changed, rules.last = before.differences(after), after
    if changed:
        pytest.fail(f"this test changed the shared chain's rules (use own_chain): {changed}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server of the test's own (`support.postgres.require`: skipped
    where it cannot run, failed in CI)."""
    postgres.require()
    with postgres.server() as url:
        yield url


@pytest.fixture
def pg_env(anvil: Anvil, manifest: Path, postgres_url: str) -> dict[str, str]:
    """`LEDGER_*` variables for a test gateway on `postgres_url` (a fresh admin API key)."""
    return gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=postgres_url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )


@pytest.fixture
def env(anvil: Anvil, manifest: Path, tmp_path: Path) -> dict[str, str]:
    return gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )


@pytest.fixture
def gateway(env: dict[str, str]) -> Iterator[Gateway]:
    with Gateway(env) as running:
        yield running


@pytest.fixture
def brand(gateway: Gateway) -> Brand:
    return gateway.create_brand()


@pytest.fixture
def other_brand(gateway: Gateway) -> Brand:
    return gateway.create_brand()


@pytest.fixture
def own_chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Anvil, Path]]:
    """A private anvil with its own deployment, for tests that move time or set global rules.
    Its vault converts at 1,000,000 token units a USD, or at the test's indirect parameter
    (`@pytest.mark.parametrize("own_chain", [100], indirect=True)`)."""
    node = start_anvil()
    path = tmp_path / "own-deployment.json"
    deploy(node, path, settlement=True, units_per_usd=getattr(request, "param", 10**6))
    yield node, path
    node.stop()


@pytest.fixture
def own_env(own_chain: tuple[Anvil, Path], tmp_path: Path) -> dict[str, str]:
    node, path = own_chain
    return gateway_env(
        rpc_url=node.url,
        manifest=path,
        database_url=f"sqlite:///{tmp_path / 'own-ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
