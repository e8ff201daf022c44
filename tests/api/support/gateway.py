"""A real gateway for tests: uvicorn in a thread (or a subprocess), real HTTP with httpx."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from prometheus_client.parser import text_string_to_metric_families

from ledger_api.app import create_app
from ledger_api.process.http_protocol import SERVER_PROTOCOLS
from ledger_api.settings import Settings
from ledger_client import LedgerClient, eip712
from support.chain import ADMIN_KEY, ROOT, Anvil, deploy, free_port
from support.progress import files_progress, wait_for


def gateway_env(
    *, rpc_url: str, manifest: Path, database_url: str, admin_api_key: str, **extra: str
) -> dict[str, str]:
    """`LEDGER_*` variables for a test gateway (development mode, fast keystores)."""
    env = {
        "LEDGER_ENV": "development",
        "LEDGER_RPC_URL": rpc_url,
        "LEDGER_MANIFEST": str(manifest),
        "LEDGER_DATABASE_URL": database_url,
        "LEDGER_ADMIN_PRIVATE_KEY": ADMIN_KEY,
        "LEDGER_ADMIN_API_KEY": admin_api_key,
        "LEDGER_KEY_PASSPHRASE": "test-passphrase-not-secret",
        "LEDGER_KEYSTORE_KDF_ITERATIONS": "1000",
        "LEDGER_RATE_LIMIT_PER_S": "100000",
        "LEDGER_RATE_LIMIT_BURST": "100000",
        "LEDGER_ADDRESS_RATE_LIMIT_PER_S": "100000",
        "LEDGER_ADDRESS_RATE_LIMIT_BURST": "100000",
        "LEDGER_SQLITE_SYNCHRONOUS": "NORMAL",
        "LEDGER_STUCK_AFTER_S": "3",
        "LEDGER_BACKOFF_MAX_S": "0.5",
        # the quarterly review round would race the tests that move time and review by hand;
        # tests/api/background/test_reviews.py turns it on
        "LEDGER_TIER_REVIEWS": "false",
    }
    env.update(extra)
    return env


def sqlite_gateway_env(rpc_url: str, manifest: Path, folder: Path, **extra: str) -> dict[str, str]:
    """`gateway_env` with a SQLite database in `folder` and a fresh admin API key."""
    return gateway_env(
        rpc_url=rpc_url,
        manifest=manifest,
        database_url=f"sqlite:///{folder / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        **extra,
    )


def deployed_sqlite_env(anvil: Anvil, folder: Path, **extra: str) -> dict[str, str]:
    """Deploys the contracts on `anvil` (manifest `folder/deployment.json`) and returns
    `sqlite_gateway_env` for them (the profiling loads' gateways)."""
    manifest = folder / "deployment.json"
    deploy(anvil, manifest)
    return sqlite_gateway_env(anvil.url, manifest, folder, **extra)


def settings_from(env: Mapping[str, str]) -> Settings:
    values = {
        k.removeprefix("LEDGER_").lower(): v for k, v in env.items() if k.startswith("LEDGER_")
    }
    return Settings.model_validate(values)


@dataclass
class Member:
    account: LocalAccount = field(default_factory=Account.create)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def sign(self, typed_data: dict[str, Any]) -> str:
        """As the member's app would sign: `ledger_client.eip712`."""
        return eip712.sign(typed_data, self.account.key)


class Api:
    """An httpx client with a key; `post` adds a fresh Idempotency-Key unless given."""

    def __init__(self, base_url: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)

    def post(
        self, path: str, body: Any = None, *, key: str | None = "auto", **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key == "auto":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        elif key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post(path, json=body, headers=headers, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"Idempotency-Key": str(uuid.uuid4()), **kwargs.pop("headers", {})}
        return self.http.put(path, json=body, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def wait(self, operation_id: str, timeout: float = 30) -> dict[str, Any]:
        """Follows an operation until it is final and indexed."""
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.get(
                f"/v1/operations/{operation_id}", params={"wait": "true"}
            ).json()
            if body["status"] in ("confirmed", "failed") and body["indexed"]:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"operation {operation_id} still {body}")

    def close(self) -> None:
        self.http.close()


@dataclass
class Brand:
    brand_id: int
    api_key: str
    api: Api
    signer: str


class Gateway:
    """A gateway served by uvicorn in a background thread of the test process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.settings = settings_from(env)
        # bound here and handed to uvicorn: a port picked free and bound later could be taken
        # meanwhile (another process's outgoing connections use the same range of ports)
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            **SERVER_PROTOCOLS,  # as `ledger serve`
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="uvicorn", daemon=True
        )
        self.admin = Api(self.base_url, env["LEDGER_ADMIN_API_KEY"])
        self._apis: list[Api] = [self.admin]
        self._clients: list[LedgerClient] = []

    def start(self) -> Self:
        """Serves, then waits until the gateway is ready; fails when the server's thread ends
        first (a start that failed) or does not start within 120 s (a busy machine is slow,
        not stuck)."""
        self.thread.start()
        wait_for(
            lambda: self.server.started,
            what="the gateway's start",
            alive=self.thread.is_alive,
            idle_s=120.0,
            poll_s=0.02,
        )
        self.wait_until_ready()
        return self

    def wait_until_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                health = self.get_health(timeout=5)
            except httpx.HTTPError:
                health = {}
            if ready(health, sends=self.settings.sender_enabled):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the gateway is not ready: {health}")

    def get_health(self, timeout: float = 10) -> dict[str, Any]:
        """The admin's full health report."""
        health: dict[str, Any] = httpx.get(
            f"{self.base_url}/v1/health", headers=self.admin_headers, timeout=timeout
        ).json()
        return health

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['LEDGER_ADMIN_API_KEY']}"}

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def writer_turns(self, writer: str) -> float:
        """Write transactions of one writer (`sender`, `indexer`, `webhooks`...) so far: the
        SQLite writer lock's holds, from `/metrics`."""
        scrape = self.admin.get("/metrics")
        assert scrape.status_code == 200, scrape.text
        return sum(
            sample.value
            for family in text_string_to_metric_families(scrape.text)
            for sample in family.samples
            if sample.name == "ledger_db_writer_lock_hold_seconds_count"
            and sample.labels.get("writer") == writer
        )

    def api(self, key: str | None) -> Api:
        api = Api(self.base_url, key)
        self._apis.append(api)
        return api

    def client(self, key: str | None) -> LedgerClient:
        """A `ledger_client.LedgerClient` with `key`, closed with the gateway."""
        client = LedgerClient(self.base_url, key, timeout=60)
        self._clients.append(client)
        return client

    def create_brand(
        self, name: str | None = None, *, return_window_days: int | None = 0, **fields: Any
    ) -> Brand:
        """A new active brand. Its purchases are live at once (`return_window_days=0`) unless
        a window is given (None keeps the ledger's default, 14 days), so the suites of moves
        need not wait out a return window."""
        name = name or f"Brand {secrets.token_hex(3)}"
        body = {"name": name, "symbol": fields.pop("symbol", "PTS"), **fields}
        response = self.admin.post("/v1/admin/brands", body, params={"wait": "true"})
        assert response.status_code == 200, response.text
        answer = response.json()
        brand = answer["brand"]
        assert brand["status"] == "active", answer
        if return_window_days is not None:
            window = self.admin.put(
                f"/v1/admin/brands/{brand['brand_id']}/return-window",
                {"days": return_window_days},
                params={"wait": "true"},
            )
            assert window.status_code == 200 and window.json()["status"] == "confirmed", window.text
        return Brand(
            brand["brand_id"], answer["api_key"], self.api(answer["api_key"]), brand["signer"]
        )

    def stop(self) -> None:
        for api in self._apis:
            api.close()
        for client in self._clients:
            client.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class GatewayProcess:
    """A gateway in its own process (`ledger serve`), for the crash test. `root`: the checkout
    whose `ledger_api` it runs (another one's for `tools/earn_load.py --against`). Without
    `port` it picks a free one, and another if that one was taken before the process bound it
    (a busy machine's other processes use the same range); with `port` (a restart on a known
    one) it fails if the port is taken."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        port: int | None = None,
        root: Path = ROOT,
        log_level: str = "warning",
    ) -> None:
        self.env = {**os.environ, **env}
        self.log_level = log_level
        if root != ROOT:
            self.env["PYTHONPATH"] = str(root)
        self.root = root
        self.log = log
        self.chosen_port = port is None
        self._use_port(port if port is not None else free_port())
        self.process: subprocess.Popen[bytes] | None = None

    def _use_port(self, port: int) -> None:
        self.port = port
        self.env["LEDGER_PORT"] = str(port)
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self) -> Self:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            failure = self._start_once()
            if failure is None:
                return self
            error, said = failure
            if not (self.chosen_port and attempt < PORT_ATTEMPTS and _port_taken(said)):
                raise RuntimeError(f"{error}: {said[-2000:]}")
            self._use_port(free_port())
        raise AssertionError("unreachable")

    def _start_once(self) -> tuple[AssertionError, str] | None:
        """Starts the process and waits until it is ready: None, or why not and what it
        logged meanwhile (it is stopped then)."""
        written = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            process = self.process = subprocess.Popen(
                [sys.executable, "-m", "ledger_api.cli", "serve", "--log-level", self.log_level],
                env=self.env,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(
                lambda: self.ready_health(),
                what="the gateway's readiness",
                alive=lambda: process.poll() is None,
                progress=self.progress,
            )
        except AssertionError as error:
            self.stop()  # with its sender process, if it runs one
            with self.log.open("rb") as log:
                log.seek(written)
                return error, log.read().decode(errors="replace")
        return None

    def health(self) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = httpx.get(
                f"{self.base_url}/v1/health", headers=self.admin_headers, timeout=5
            ).json()
        except (httpx.HTTPError, ValueError):
            return None
        return body

    def ready_health(self) -> dict[str, Any] | None:
        """The health once the gateway indexes and sends (the readiness it reports)."""
        health = self.health()
        return health if health and ready(health) else None

    def progress(self) -> object:
        """What changes while the gateway works its way up: its log and its health report
        (an indexer catching up moves index_block). A wait on it ends only when the gateway
        exits or stops making progress, so a slow machine is not taken for a stuck gateway."""
        health = self.health() or {}
        # without the database probe's timing, which differs on every call: with it, a
        # gateway that never became ready counted as progress for good (a run hung)
        return (files_progress(self.log)(), {k: v for k, v in health.items() if k != "database"})

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['LEDGER_ADMIN_API_KEY']}"}

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ServingGatewayProcess(GatewayProcess):
    """One of several gateway processes on a database: ready once it answers with an index
    height (it may hold no signer while the others hold them all)."""

    def ready_health(self) -> dict[str, Any] | None:
        health = self.health()
        if health and isinstance(health.get("index_block"), int) and health["index_block"] >= 0:
            return health
        return None


#: how many ports a `GatewayProcess` tries when the one it picked is taken before it binds it
PORT_ATTEMPTS = 5


def _port_taken(log: str) -> bool:
    """The server's log says its port was taken (uvicorn: "[Errno 98] error while attempting
    to bind on address ...: address already in use")."""
    return "address already in use" in log.lower()


def ready(health: dict[str, Any], *, sends: bool = True) -> bool:
    """The admin's health report shows the index started and sender workers (unless the
    gateway `sends` nothing: `LEDGER_SENDER_ENABLED=false`), none of them still on its first
    cycle (`starting: ...`; a CI run read the admin's signer unhealthy, with no reason, right
    after the start)."""
    index_block = health.get("index_block")
    signers = health.get("sender") or []
    starting = any(str(s.get("last_error") or "").startswith("starting") for s in signers)
    started = isinstance(index_block, int) and index_block >= 0
    return started and (bool(signers) or not sends) and not starting


def iter_pages(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def live_purchases(http: httpx.Client, admin_key: str, brand_id: int) -> None:
    """Sets a brand's return window to 0 days and waits for the chain, so its purchases are
    live at once: for tests that give, redeem or compare live points of a brand they onboard
    by hand (a new brand's window is 14 days, issue 11)."""
    answer = http.put(
        f"/v1/admin/brands/{brand_id}/return-window",
        json={"days": 0},
        params={"wait": "true"},
        headers={"Authorization": f"Bearer {admin_key}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "confirmed", answer.text
