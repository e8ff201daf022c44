"""`make run` (tools/run.sh) supervises: a dead gateway is started again while the chain keeps
running, and Ctrl-C stops every process it started, the chain after saving its state
(issue 9 item 1)."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from networks import delete_network
from support.chain import ROOT, free_port
from support.progress import files_progress, process_alive, wait_for


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
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
    except httpx.HTTPError:
        return None
    body: dict[str, object] = answer.json()
    # a liveness-only answer would never turn into a full one by waiting: fail now
    assert "index_block" in body or answer.status_code >= 500, body
    return body if body.get("sender") and int(str(body.get("index_block", -1))) >= 0 else None


def _block(rpc: str) -> int:
    answer = httpx.post(
        rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}, timeout=5
    ).json()
    return int(answer["result"], 16)


@pytest.mark.slow
def test_make_run_restarts_a_killed_gateway_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    chain_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "LEDGER_DATA_DIR": str(data),
        "LEDGER_CHAIN_PORT": str(chain_port),
        "LEDGER_PORT": str(port),
        "LEDGER_CHAIN_SNAPSHOT_S": "1",
        "LEDGER_ADMIN_API_KEY": ADMIN_KEY,
    }
    for name in ("LEDGER_RPC_URL", "LEDGER_MANIFEST", "LEDGER_DATABASE_URL"):
        env.pop(name, None)
    out = tmp_path / "run.log"
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
        )
    progress = files_progress(out, data / "chain.log", data / "deploy.log", data / "ledger.db")
    try:
        wait_for(
            lambda: _health(url),
            what="make run's gateway",
            alive=lambda: run.poll() is None,
            progress=progress,
        )
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
    delete_network(f"alliance-local-{chain_port}")
    wait_for(
        lambda: not [p for p in everything if process_alive(p)],
        what="every process of make run gone",
        cap_s=120,
    )
    assert not [p for p in everything if process_alive(p)]
    log = (data / "chain.log").read_text()
    assert "state saved to" in log, log
    assert not (data / "chain.pid").exists()


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
    assert "run: ready in" not in done.stderr and not (tmp_path / "data" / "chain.pid").exists()


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
