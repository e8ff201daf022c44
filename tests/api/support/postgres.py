"""A throwaway PostgreSQL server in a temporary folder (as `nobody` when run as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.chain import free_port


def _bin() -> Path:
    """`LEDGER_TEST_PG_BIN`, else /usr/local/bin, else Debian's /usr/lib/postgresql/<v>/bin."""
    if "LEDGER_TEST_PG_BIN" in os.environ:
        return Path(os.environ["LEDGER_TEST_PG_BIN"])
    if (Path("/usr/local/bin") / "initdb").exists():
        return Path("/usr/local/bin")
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return debian[-1].parent if debian else Path("/usr/local/bin")


BIN = _bin()


def available() -> str | None:
    """None when a server can be started here, else the reason why not."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (BIN / tool).exists() and shutil.which(tool) is None:
            return f"PostgreSQL's {tool} is not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop to an unprivileged user"
    return None


def _tool(name: str) -> str:
    return str(BIN / name) if (BIN / name).exists() else name


def _as_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *args] if os.geteuid() == 0 else args


class Server:
    """A throwaway server's handle: its URL, and `stop` / `start` for an outage."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.data, self.port = folder, folder / "data", port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/ledger"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "log")
        subprocess.run(
            _as_user(
                [_tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_user([_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            capture_output=True,
            check=False,
        )


@contextmanager
def server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of a fresh database; stops and deletes the server after."""
    with server_handle() as handle:
        yield handle.url


@contextmanager
def server_handle() -> Iterator[Server]:
    """A fresh database's server (`Server`); stopped and deleted after."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody")
    handle = Server(folder, free_port())
    try:
        subprocess.run(
            _as_user(
                [_tool("initdb"), "-D", str(handle.data), "-A", "trust", "-U", "postgres"]
                + ["--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        handle.start()
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={handle.port} user=postgres dbname=postgres",
                    autocommit=True,
                ) as c:
                    c.execute("CREATE DATABASE ledger")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield handle
    finally:
        handle.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def require() -> None:
    """Skips the calling test where PostgreSQL cannot run; never silently in CI (`CI` set,
    tools/setup.sh installs it): there it fails."""
    import pytest

    reason = available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (tools/setup.sh installs it)")
        pytest.skip(reason)
