"""`make run` (tools/run.sh) supervises: a dead gateway is started again while the chain keeps
running, and Ctrl-C stops every process it started, the chain after saving its state
(issue 9 item 1)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from networks import delete_network
from support.chain import ROOT, free_port, free_ports
from support.progress import files_progress, process_alive, wait_for


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat(entry)[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _group(pgid: int) -> set[int]:
    """The processes of process group `pgid` (what a terminal's Ctrl-C reaches)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and _stat(entry)[2] == str(pgid):
                found.add(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def _stat(entry: Path) -> list[str]:
    """/proc/PID/stat's fields after the command's name (state, ppid, pgrp, ...)."""
    return (entry / "stat").read_text().rsplit(")", 1)[1].split()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


ADMIN_KEY = "run-test-admin-" + secrets.token_hex(16)


def _health(url: str) -> dict[str, object] | None:
    """The admin's full health report once the sender has reported and the index has a height;
    None while the gateway is not answering yet."""
    try:
        answer = httpx.get(
            f"{url}/v1/health", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=5
        )
        body: dict[str, object] = answer.json()
    except (httpx.HTTPError, ValueError):  # not answering, or not a gateway (not JSON)
        return None
    # a liveness-only answer would never turn into a full one by waiting: fail now
    assert "index_block" in body or answer.status_code >= 500, body
    return body if body.get("sender") and int(str(body.get("index_block", -1))) >= 0 else None


def _block(rpc: str) -> int:
    answer = httpx.post(
        rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}, timeout=5
    ).json()
    return int(answer["result"], 16)


@dataclass
class _Run:
    """A `tools/run.sh` started in its own process group, its gateway answering."""

    process: subprocess.Popen[bytes]
    data: Path
    out: Path
    url: str
    rpc: str
    progress: Callable[[], object]


def _start_run(tmp_path: Path, *, ignore_sigint: bool = False) -> _Run:
    """`tools/run.sh` on fresh ports and data, until its gateway's full health report.
    `ignore_sigint`: started as a background job of a non-interactive shell is (`setsid make
    run &` from a script): SIGINT ignored from the start, which bash cannot trap. Ports are
    picked free, then bound by run.sh's processes: another process of the suite may take one
    in between, and run.sh then stops at once; it starts again on other ports (5 tries)."""
    for attempt in range(5):
        started = _start_run_once(tmp_path / f"try-{attempt}", ignore_sigint)
        if started is not None:
            return started
    raise AssertionError("make run: its ports were taken five times in a row")


def _start_run_once(folder: Path, ignore_sigint: bool) -> _Run | None:
    """One start; None when run.sh stopped at once because a port it was given was taken."""
    data = folder / "data"
    data.mkdir(parents=True)
    chain_port, port = free_ports(2)  # CI once drew one port twice: anvil answered /v1/health
    env = {**_run_env(folder, chain_port, port), "LEDGER_CHAIN_SNAPSHOT_S": "1"}
    out = folder / "run.log"
    url, rpc = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{chain_port}"
    with out.open("wb") as log:
        # its own process group, so that a SIGINT to the group is the terminal's Ctrl-C
        run = subprocess.Popen(
            ["bash", "tools/run.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
            if ignore_sigint
            else None,
        )
    progress = files_progress(out, data / "chain.log", data / "deploy.log", data / "ledger.db")
    try:
        wait_for(
            lambda: _health(url) or run.poll() is not None,
            what="make run's gateway",
            progress=progress,
        )
    except BaseException:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(300)
        raise
    if run.poll() is not None:
        text = out.read_text()
        assert "already in use" in text or "already serves a chain" in text, text
        return None
    return _Run(run, data, out, url, rpc, progress)


def _stopped_everything(run: _Run, everything: set[int]) -> None:
    """Every process of `run` ends, and the chain saved its state on the way."""
    delete_network(f"alliance-local-{urlsplit(run.rpc).port}")
    wait_for(
        lambda: not [p for p in everything if process_alive(p)],
        what="every process of make run gone",
        cap_s=120,
    )
    assert not [p for p in everything if process_alive(p)]
    log = (run.data / "chain.log").read_text()
    assert "state saved to" in log, log
    assert not (run.data / "chain.pid").exists()


@pytest.mark.slow
def test_make_run_restarts_a_killed_gateway_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    started_run = _start_run(tmp_path)
    run, data, out, progress = (
        started_run.process,
        started_run.data,
        started_run.out,
        started_run.progress,
    )
    url, rpc = started_run.url, started_run.rpc
    chain_port = urlsplit(rpc).port
    try:
        # issue 13 item 6: each step with its time, then the banner with the real URLs
        wait_for(
            lambda: "run: ready in" in out.read_text() and "admin-key create" in out.read_text(),
            what="make run's banner",
            alive=lambda: run.poll() is None,
            progress=progress,
        )
        text = out.read_text()
        for label in (
            f"start the chain (anvil on port {chain_port})",
            "deploy the contracts",
            "migrate the database",
            f"start the gateway on {url}",
        ):
            assert re.search(rf"✓ {re.escape(label)}.* \(\d+\.\d s\)", text), (label, text)
        assert f"gateway   {url}  (OpenAPI: {url}/docs" in text, text
        assert f"curl -s {url}/v1/health" in text and "localhost:8000" not in text, text
        assert "./ledger admin-key create" in text, text  # how to get the admin's key
        # with this run's own data folder and ports, which another terminal's ./ledger needs
        # (a trial's `./ledger info` looked at the defaults)
        same = f"LEDGER_PORT={urlsplit(url).port} LEDGER_CHAIN_PORT={chain_port}"
        assert f"{same} LEDGER_DATA_DIR={data} ./ledger admin-key create" in text, text
        chain = int((data / "chain.pid").read_text())
        gateway = int((data / "gateway.pid").read_text())
        assert "ledger serve" in _cmdline(gateway) or "ledger" in _cmdline(gateway)
        # the chain runs detached from tools/chain.sh (which started it) but in run.sh's group
        started = _descendants(run.pid) | {chain} | _descendants(chain)
        assert gateway in started and any("anvil" in _cmdline(p) for p in _descendants(chain))

        os.kill(gateway, signal.SIGKILL)
        wait_for(lambda: not process_alive(gateway), what="the gateway's end", cap_s=60)
        height = _block(rpc)

        def back() -> bool:
            pid_file = data / "gateway.pid"
            if not pid_file.exists() or int(pid_file.read_text() or 0) in (0, gateway):
                return False
            return _health(url) is not None

        wait_for(
            back,
            what="the gateway started again",
            alive=lambda: run.poll() is None,
            progress=progress,
        )
        assert process_alive(chain), "the chain stopped with the gateway"
        assert _block(rpc) >= height
        assert "the gateway exited" in out.read_text()
        everything = started | _descendants(run.pid) | _descendants(chain)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C
        run.wait(300)
    _stopped_everything(started_run, everything)


def _ended_by(started_run: _Run, send: Callable[[], object]) -> tuple[str, set[int]]:
    """Every process of `started_run`, then `send()` (a signal); make run must end, with status
    0. Its output, and those processes."""
    run = started_run.process
    chain = int((started_run.data / "chain.pid").read_text())
    everything = {chain} | _descendants(run.pid) | _descendants(chain)
    send()
    try:
        wait_for(lambda: run.poll() is not None, what="make run's end", cap_s=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
            run.wait(300)
    text = started_run.out.read_text()
    assert run.returncode == 0, text
    return text, everything


@pytest.mark.slow
def test_a_ctrl_c_while_make_run_waits_for_the_gateway_is_said_as_a_stop(tmp_path: Path) -> None:
    """A Ctrl-C while make run waited for the gateway's health said `✗ start the gateway ...
    failed (status 1)`, as if the gateway had crashed (a trial). It is a stop, said as one."""
    for attempt in range(5):  # a port taken between the pick and run.sh's bind: other ports
        folder = tmp_path / f"try-{attempt}"
        (folder / "data").mkdir(parents=True)
        chain_port, port = free_ports(2)
        out = folder / "run.log"
        with out.open("wb") as log:
            run = subprocess.Popen(
                ["bash", "tools/run.sh"],
                cwd=ROOT,
                env=_run_env(folder, chain_port, port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a SIGINT to it is a terminal's Ctrl-C
            )
        try:
            wait_for(
                lambda out=out, run=run: (
                    "… start the gateway" in out.read_text() or run.poll() is not None
                ),
                what="make run's gateway step",
                progress=files_progress(out, folder / "data" / "chain.log"),
            )
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGINT)  # Ctrl-C, while the step waits
            wait_for(lambda run=run: run.poll() is not None, what="make run's end", cap_s=120)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGTERM)
                run.wait(300)
            delete_network(f"alliance-local-{chain_port}")
        text = out.read_text()
        if "already in use" in text or "already serves a chain" in text:
            continue
        assert "✓ start the gateway" not in text, text  # the Ctrl-C came while it waited
        assert "✗ start the gateway" in text and "stopped by SIGINT" in text, text
        assert "failed (status 1" not in text, text
        return
    raise AssertionError("make run: its ports were taken five times in a row")


@pytest.mark.slow
def test_a_ctrl_c_that_only_the_gateway_sees_stops_make_run(tmp_path: Path) -> None:
    """`setsid make run &` from a script, then SIGINT to its process group (session 23's trial):
    the chain and the gateway stopped, but run.sh, which ignores SIGINT as a background job,
    took the gateway's clean exit for a crash and started it again on a stopped chain. A clean
    exit (status 0) now stops make run."""
    started_run = _start_run(tmp_path, ignore_sigint=True)
    group = started_run.process.pid
    text, everything = _ended_by(started_run, lambda: os.killpg(group, signal.SIGINT))
    assert "the gateway stopped (status 0); stopping the chain" in text, text
    assert "starting it again" not in text, text
    # the sender process (`ledger work`) got the SIGINT too: no exit to report on the way out
    assert "the sender process exited" not in text, text
    _stopped_everything(started_run, everything)


@pytest.mark.slow
def test_a_ctrl_c_that_only_the_chain_sees_stops_make_run(tmp_path: Path) -> None:
    """A Ctrl-C reaches the whole group, but bash acts on it only if its foreground program died
    of it; one that handled it (a Python step) made run.sh discard it (session 24's trial: SIGINT
    to the group during the migration): the chain's supervisor saved and stopped, the gateway
    started on the stopped chain and run.sh waited for its health forever. The chain stopping
    now stops make run: here the SIGINT reaches every process of the group but run.sh and the
    gateway's (which would stop on it: the test above), the watcher of the chain included (a
    subshell resets the trapped SIGINT to its default: a trial's group SIGINT ended the watcher
    with the chain)."""
    started_run = _start_run(tmp_path)
    run = started_run.process
    gateway = int((started_run.data / "gateway.pid").read_text())
    spared = {run.pid, gateway} | _descendants(gateway)

    def ctrl_c_that_run_sh_discarded() -> None:
        for pid in _group(run.pid) - spared:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)

    text, everything = _ended_by(started_run, ctrl_c_that_run_sh_discarded)
    assert "run: the chain stopped; stopping the gateway" in text, text
    assert "starting it again" not in text, text
    assert not process_alive(gateway)
    _stopped_everything(started_run, everything)


@pytest.mark.slow
def test_make_run_stops_only_the_chain_it_started(tmp_path: Path) -> None:
    """run.sh's exit stopped whatever `chain.pid` named and removed the file: when its own
    chain had stopped and another run's supervisor had written the file since, it stopped
    that one. It now stops the supervisor it started, and leaves a file naming another."""
    started_run = _start_run(tmp_path)
    pid_file = started_run.data / "chain.pid"
    own_chain = int(pid_file.read_text())
    other = subprocess.Popen(["sleep", "600"])  # the supervisor of another run, as run.sh sees it

    def another_run_took_the_file_and_the_chain_stopped() -> None:
        pid_file.write_text(f"{other.pid}\n")
        os.kill(own_chain, signal.SIGTERM)

    try:
        text, everything = _ended_by(started_run, another_run_took_the_file_and_the_chain_stopped)
        assert "run: the chain stopped; stopping the gateway" in text, text
        assert other.poll() is None, "run.sh stopped a chain it did not start"
        assert pid_file.read_text().strip() == str(other.pid)
        delete_network(f"alliance-local-{urlsplit(started_run.rpc).port}")
        wait_for(
            lambda: not [p for p in everything if process_alive(p)],
            what="every process of make run gone",
            cap_s=120,
        )
    finally:
        other.kill()
        other.wait()


def _run_env(tmp_path: Path, chain_port: int, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "LEDGER_DATA_DIR": str(tmp_path / "data"),
        "LEDGER_CHAIN_PORT": str(chain_port),
        "LEDGER_PORT": str(port),
        "LEDGER_ADMIN_API_KEY": ADMIN_KEY,
    }
    for name in ("LEDGER_RPC_URL", "LEDGER_MANIFEST", "LEDGER_DATABASE_URL"):
        env.pop(name, None)
    return env


class _FakeNode(BaseHTTPRequestHandler):
    """Answers every JSON-RPC call as a node would its chain id: another system's chain."""

    calls: list[str] = []

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeNode.calls.append(request.get("method", ""))
        body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": "0x7a69"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


def test_make_run_stops_at_once_when_its_gateway_port_is_taken(tmp_path: Path) -> None:
    """A second `make run` on the first one's ports said "ready" (its health check reached the
    first gateway) while its own gateway failed to bind (new-user trial)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            ["bash", "tools/run.sh"],
            cwd=ROOT,
            env=_run_env(tmp_path, free_port(), port),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in done.stderr and "LEDGER_PORT" in done.stderr
    assert "run: ready in" not in done.stderr and not (tmp_path / "data").exists()


def test_make_run_names_a_setting_it_refuses_before_anything_starts(tmp_path: Path) -> None:
    """A value the settings refuse surfaced as "migrate the database failed", after the chain
    had started and the contracts were deployed (a trial); it is now named first."""
    chain_port, port = free_ports(2)
    done = subprocess.run(
        ["bash", "tools/run.sh"],
        cwd=ROOT,
        env={**_run_env(tmp_path, chain_port, port), "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": "5,-1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done
    assert "error: invalid_settings: LEDGER_WEBHOOK_RETRY_SCHEDULE_S (item 2)" in done.stderr
    assert "migrate" not in done.stderr and "chain" not in done.stderr, done.stderr
    # nothing left behind: not even the data folder (a trial found it made, empty)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEDGER_CHAIN_SNAPSHOT_S", "inf"),  # no snapshot ever: a restart lost the chain
        ("LEDGER_CHAIN_SNAPSHOT_S", "0"),  # one every 0.2 s
        ("LEDGER_CHAIN_SNAPSHOTS", "0"),
        ("LEDGER_CHAIN_SNAPSHOTS", "2.5"),
        ("LEDGER_BLOCK_TIME", "-1"),
        ("LEDGER_BLOCK_TIME", "1s"),
        ("LEDGER_CHAIN_PORT", "70000"),
        # a deploy's node left exported: the gateway ran against it, the banner named it, and
        # the embedded chain got the contracts (a new user's trial)
        ("LEDGER_RPC_URL", "http://127.0.0.1:8765"),
        ("LEDGER_DATABASE_URL", "mysql://x"),  # a traceback, after the chain had started
        # the vault's constructor refused it after 8 contracts were deployed (a trial)
        ("LEDGER_SETTLEMENT_UNITS_PER_USD", "0"),
        ("LEDGER_SETTLEMENT_UNITS_PER_USD", "1.5"),
    ],
)
def test_make_run_names_a_chain_setting_it_refuses_before_anything_starts(
    tmp_path: Path, name: str, value: str
) -> None:
    """The embedded chain's settings, read by tools/chain.sh and not by the gateway's
    settings, were not checked: `inf` seconds between snapshots meant none at all (a
    restart lost the chain), 0 one every 0.2 s. Each is now refused by name first."""
    chain_port, port = free_ports(2)
    done = subprocess.run(
        ["bash", "tools/run.sh"],
        cwd=ROOT,
        env={**_run_env(tmp_path, chain_port, port), name: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done
    assert f"error: invalid_settings: {name}: " in done.stderr, done.stderr
    assert "migrate" not in done.stderr, done.stderr
    assert not (tmp_path / "data").exists()  # nothing left behind, not even the data folder


def test_a_block_time_of_zero_however_spelled_mines_each_transaction(tmp_path: Path) -> None:
    """`LEDGER_BLOCK_TIME=0.0` passed the settings check, but tools/chain.sh only knew the
    spelling `0`: anvil got `--block-time 0.0` and refused it (a trial). Every spelling of
    zero now means no interval: a transaction is mined as it arrives."""
    (chain_port,) = free_ports(1)
    data = tmp_path / "data"
    env = {**_run_env(tmp_path, chain_port, 1), "LEDGER_BLOCK_TIME": "0.0"}
    try:
        done = subprocess.run(
            ["bash", "tools/chain.sh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, done.stderr
        rpc = f"http://127.0.0.1:{chain_port}"
        mining = httpx.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_getAutomine"})
        assert mining.json()["result"] is True, mining.text
    finally:
        pid = data / "chain.pid"
        if pid.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid.read_text()), signal.SIGTERM)
            wait_for(lambda: not process_alive(int(pid.read_text())), what="the chain stopped")
        delete_network(f"alliance-local-{chain_port}")


def test_make_run_refuses_one_port_for_the_gateway_and_the_chain(tmp_path: Path) -> None:
    """One port for both (CI once drew it twice): anvil took it and answered the health
    check; now it is refused before anything starts."""
    (port,) = free_ports(1)
    done = subprocess.run(
        ["bash", "tools/run.sh"],
        cwd=ROOT,
        env=_run_env(tmp_path, port, port),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done
    assert f"LEDGER_PORT and LEDGER_CHAIN_PORT are both {port}" in done.stderr, done.stderr
    assert not (tmp_path / "data").exists()  # nothing left behind (a trial: an empty folder)


def test_make_run_stops_when_its_gateway_cannot_start(tmp_path: Path) -> None:
    """A port taken after run.sh's check (here bound and not listening, so the check's
    connection is refused): the gateway exited (uvicorn's status 3) and run.sh started it
    again and again, for ever (session 24's trial). A gateway that never answered its first
    health check is a setting or a port, which a restart does not change: run.sh stops, the
    chain too, and says so."""
    chain_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        run = subprocess.Popen(
            ["bash", "tools/run.sh"],
            cwd=ROOT,
            env=_run_env(tmp_path, chain_port, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = run.communicate(timeout=300)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGTERM)
                run.wait(300)
            delete_network(f"alliance-local-{chain_port}")
    assert run.returncode == 1, output
    assert "run: the gateway did not start (status" in output, output
    assert "address already in use" in output.lower() and "starting it again" not in output
    assert not (tmp_path / "data" / "chain.pid").exists(), "the chain was left running"
    assert "state saved to" in (tmp_path / "data" / "chain.log").read_text()


def test_make_run_stops_the_chain_it_started_when_the_deploy_fails(tmp_path: Path) -> None:
    """A deploy refused after the chain started (here a settlement token with no code):
    run.sh exited with the chain still running, its parent gone, for good (a trial's
    `LEDGER_SETTLEMENT_UNITS_PER_USD=0 make run`). The chain it started now stops with it,
    after saving its state."""
    chain_port, port = free_ports(2)
    token = "0x" + "00" * 19 + "01"
    done = subprocess.run(
        ["bash", "tools/run.sh"],
        cwd=ROOT,
        env={**_run_env(tmp_path, chain_port, port), "LEDGER_SETTLEMENT_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=900,
    )
    delete_network(f"alliance-local-{chain_port}")
    assert done.returncode != 0, done
    assert "is not a contract on this chain; nothing deployed" in done.stdout + done.stderr
    assert not (tmp_path / "data" / "chain.pid").exists(), "the chain was left running"
    assert "state saved to" in (tmp_path / "data" / "chain.log").read_text()
    data = str(tmp_path / "data")
    assert not [
        pid
        for pid in (int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit())
        if "chain_supervisor" in _cmdline(pid) and data in _cmdline(pid)
    ]


def test_make_run_does_not_deploy_onto_a_chain_it_did_not_start(tmp_path: Path) -> None:
    """A node on the chain port that this data folder's supervisor does not run (another
    `make run`'s) is refused before anything is deployed onto it."""
    node = ThreadingHTTPServer(("127.0.0.1", 0), _FakeNode)
    serving = threading.Thread(target=node.serve_forever, daemon=True)
    serving.start()
    try:
        chain_port = node.server_address[1]
        done = subprocess.run(
            ["bash", "tools/run.sh"],
            cwd=ROOT,
            env=_run_env(tmp_path, chain_port, free_port()),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        node.shutdown()
        node.server_close()
    assert done.returncode != 0
    assert f"port {chain_port} already serves a chain" in done.stderr, done.stderr
    assert "LEDGER_CHAIN_PORT" in done.stderr
    assert set(_FakeNode.calls) == {"eth_chainId"}  # asked who it is, sent nothing
    assert not (tmp_path / "data" / "deployment.json").exists()


def test_run_sh_on_a_clone_without_its_toolchain_says_to_run_setup(tmp_path: Path) -> None:
    """`tools/run.sh` alone on a fresh clone (before `make setup`) failed with
    `chain: [Errno 13] Permission denied: ''` (the supervisor ran an empty program: no anvil yet).
    It now stops at once and names the step that is missing."""
    import shutil

    clone, data = tmp_path / "clone", tmp_path / "d"
    shutil.copytree(ROOT / "tools", clone / "tools")  # no node_modules, no .venv
    answer = subprocess.run(
        ["bash", "tools/run.sh"],
        cwd=clone,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LEDGER_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 1, answer
    assert "make setup" in answer.stderr, answer.stderr
    assert not data.exists(), "it started before finding the toolchain missing"


def test_the_supervisor_refuses_an_empty_anvil_program(tmp_path: Path) -> None:
    answer = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "chain_supervisor.py")]
        + ["--data", str(tmp_path), "--port", str(free_port()), "--anvil", ""],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 2, answer
    assert "anvil is not installed" in answer.stderr, answer.stderr


def test_a_second_chain_of_one_data_folder_is_refused(tmp_path: Path) -> None:
    """A new user's trial: a second `make run` beside the first with only another chain port
    started a second anvil from the same snapshots, and both supervisors wrote them. While the
    data folder's supervisor runs (here a stand-in, its port recorded as the first run's), a
    chain on another port is refused, naming the port that runs and LEDGER_DATA_DIR."""
    running_port, asked_port = free_ports(2)
    data = tmp_path / "data"
    data.mkdir()
    stand_in = subprocess.Popen(["sleep", "120"])
    try:
        (data / "chain.pid").write_text(f"{stand_in.pid}\n")
        (data / "chain.port").write_text(f"{running_port}\n")
        done = subprocess.run(
            ["bash", "tools/chain.sh"],
            cwd=ROOT,
            env=_run_env(tmp_path, asked_port, free_port()),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stand_in.kill()
        stand_in.wait()
    assert done.returncode == 1, done
    assert f"already runs (on port {running_port})" in done.stderr, done.stderr
    assert "LEDGER_DATA_DIR" in done.stderr, done.stderr
    assert not (data / "chain-state").exists() and not (data / "deployment.json").exists()


def test_a_second_gateway_of_one_data_folder_is_refused(tmp_path: Path) -> None:
    """A trial: a second `make run` of the same data folder and chain port, on another
    LEDGER_PORT, served a second gateway on the same database. While the folder's gateway
    runs (here a stand-in named `ledger serve`, its pid in `gateway.pid`), another run stops
    before anything starts, naming the pid and LEDGER_DATA_DIR."""
    data = tmp_path / "data"
    data.mkdir()
    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "ledger serve"]
    )
    run = None
    try:
        (data / "gateway.pid").write_text(f"{stand_in.pid}\n")
        # in a session of its own: a run that is not refused starts a chain and a gateway,
        # stopped with it whatever happens
        run = subprocess.Popen(
            ["bash", "tools/run.sh"],
            cwd=ROOT,
            env=_run_env(tmp_path, free_port(), free_port()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        _, said = run.communicate(timeout=300)
    finally:
        if run is not None and run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
            run.wait(60)
        stand_in.kill()
        stand_in.wait()
    assert run.returncode == 1, said
    assert f"already runs (pid {stand_in.pid}" in said, said
    assert "LEDGER_DATA_DIR" in said, said
    assert not (data / "chain.pid").exists() and not (data / "deployment.json").exists()


def test_a_second_run_of_one_data_folder_is_refused_while_the_first_starts(
    tmp_path: Path,
) -> None:
    """A re-run trial: two `make run`s of one folder started a second apart both came up on
    one database (the gateway's pid file is written only once it starts). A run holds the
    folder's `run.lock` from its first step; while another holds it (here this test), a run
    stops before anything starts."""
    data = tmp_path / "data"
    data.mkdir()
    with (data / "run.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            ["bash", "tools/run.sh"],
            cwd=ROOT,
            env=_run_env(tmp_path, free_port(), free_port()),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 1, done
    assert "is starting or running" in done.stderr and "LEDGER_DATA_DIR" in done.stderr, done
    assert not (data / "chain.pid").exists() and not (data / "deployment.json").exists()


def test_the_project_env_file_counts_before_the_run_defaults(tmp_path: Path) -> None:
    """`make run` and `./ledger` export their defaults (`tools/defaults.sh`) before the
    gateway's settings read `.env`, and an exported variable wins over the file: a new
    user's trial put LEDGER_DATABASE_URL and LEDGER_CHAIN_PORT in `.env`, and `./ledger info`
    showed the defaults. The file's LEDGER_* lines now count first; the environment's own
    still win."""
    (tmp_path / ".env").write_text(
        "# the trial's\nLEDGER_PORT=8107\nexport LEDGER_CHAIN_PORT='8747'\n"
        'LEDGER_DATABASE_URL="sqlite:////tmp/other.db"\n'
        "LEDGER_MANIFEST=/tmp/m.json   # a comment\nOTHER=1\n"
        "ledger_block_time=0.5\n"  # any letter case, as the settings read it (a trial)
    )
    script = f"source {ROOT / 'tools' / 'defaults.sh'}; env | grep ^LEDGER_ | sort"
    shown = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "ROOT": str(ROOT),
            "LEDGER_PORT": "9000",
            "ledger_data_dir": "/tmp/lower",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    settings = dict(line.split("=", 1) for line in shown)
    assert settings["LEDGER_PORT"] == "9000", settings  # the environment's
    assert settings["LEDGER_CHAIN_PORT"] == "8747", settings
    assert settings["LEDGER_RPC_URL"] == "http://127.0.0.1:8747", settings
    assert settings["LEDGER_DATABASE_URL"] == "sqlite:////tmp/other.db", settings
    assert settings["LEDGER_MANIFEST"] == "/tmp/m.json", settings
    assert settings["LEDGER_BLOCK_TIME"] == "0.5", settings
    assert settings["LEDGER_DATA_DIR"] == "/tmp/lower", settings  # not the default data/
