"""The chain supervisor outlives whatever its node does to a snapshot request.

A CI run saw the supervisor itself exit when anvil was SIGKILLed while it sent the answer to
`anvil_dumpState`: the cut body raised `http.client.IncompleteRead`, which is not an `OSError`,
and nothing caught it. Here the node is a small stand-in that speaks just enough JSON-RPC
(`eth_chainId`, `anvil_dumpState`) and answers each dump with one fault, so that every kind of
broken answer is met on every run, not by the luck of a kill's timing. The supervisor under test
is the real one, run as its own process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.chain import free_port
from support.progress import files_progress, wait_for
from test_chain_snapshots import SUPERVISOR, completed

# A node that answers eth_chainId, and anvil_dumpState with the fault named by NODE_FAULT.
# Faults ending in "_then_die" SIGKILL the node in the middle of its answer, as a kill of
# anvil does. Each start appends the node's pid to NODE_STARTS.
STAND_IN = r"""
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[sys.argv.index("--port") + 1])
fault = os.environ["NODE_FAULT"]
with open(os.environ["NODE_STARTS"], "a") as starts:
    starts.write(f"{os.getpid()}\n")


class Node(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        call = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if call["method"] == "eth_chainId":
            return self.answer(b'{"jsonrpc":"2.0","id":1,"result":"0x7a69"}')
        if fault == "cut_body_then_die":
            self.send_response(200)
            self.send_header("content-length", "100000")
            self.end_headers()
            self.wfile.write(b'{"jsonrpc":"2.0","id":1,"result":"0x1f8b')
            self.wfile.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "cut_status_then_die":
            self.wfile.write(b"HTTP/1.1 2")
            self.wfile.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "not_json":
            return self.answer(b"<html>busy</html>")
        if fault == "not_hex":
            return self.answer(b'{"jsonrpc":"2.0","id":1,"result":"0xnothex"}')
        if fault == "not_a_string":
            return self.answer(b'{"jsonrpc":"2.0","id":1,"result":5}')
        if fault == "error":
            return self.answer(b'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}}')
        raise SystemExit(f"unknown fault {fault}")


ThreadingHTTPServer(("127.0.0.1", port), Node).serve_forever()
"""

DYING = ["cut_body_then_die", "cut_status_then_die"]
ANSWERING = ["not_json", "not_hex", "not_a_string", "error"]


class Supervised:
    """The real supervisor over the stand-in node, snapshots every 0.2 s."""

    def __init__(self, folder: Path, fault: str) -> None:
        self.data = folder / "data"
        self.data.mkdir(parents=True)
        self.starts = folder / "starts"
        self.log = folder / "chain.log"
        node = folder / "node.py"
        node.write_text(STAND_IN)
        anvil = folder / "anvil"  # the supervisor runs `--anvil` as a program
        anvil.write_text(f'#!/bin/sh\nexec {sys.executable} {node} "$@"\n')
        anvil.chmod(0o755)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(SUPERVISOR), "--data", str(self.data)]
                + ["--port", str(free_port()), "--interval", "0.2", "--anvil", str(anvil)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NODE_FAULT": fault, "NODE_STARTS": str(self.starts)},
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def node_starts(self) -> int:
        return len(self.starts.read_text().split()) if self.starts.exists() else 0

    def text(self) -> str:
        return self.log.read_text()

    def wait(self, condition: object, what: str) -> None:
        wait_for(
            condition,  # type: ignore[arg-type]
            what=what,
            alive=self.alive,
            progress=files_progress(self.log, self.starts),
        )

    def stop(self) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(120)


@pytest.fixture
def supervised(tmp_path: Path, request: pytest.FixtureRequest) -> object:
    running = Supervised(tmp_path, request.param)
    yield running
    if running.alive():
        running.process.kill()
        running.process.wait()
    for pid in running.starts.read_text().split() if running.starts.exists() else []:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


@pytest.mark.parametrize("supervised", DYING, indirect=True)
def test_a_node_killed_in_the_middle_of_its_answer_is_started_again(
    supervised: Supervised,
) -> None:
    supervised.wait(lambda: supervised.node_starts() >= 3, "the node started again twice")
    assert supervised.alive(), supervised.text()
    log = supervised.text()
    assert log.count("snapshot failed: anvil_dumpState") >= 2, log
    assert "starting it again" in log, log
    assert not completed(supervised.data / "chain-state"), "a broken answer was stored"
    assert not list((supervised.data / "chain-state").glob(".snapshot-*.tmp"))


@pytest.mark.parametrize("supervised", ANSWERING, indirect=True)
def test_a_dump_answer_that_is_not_a_state_is_refused_and_the_supervisor_goes_on(
    supervised: Supervised,
) -> None:
    supervised.wait(
        lambda: supervised.text().count("snapshot failed: anvil_dumpState") >= 3,
        "three refused snapshots",
    )
    assert supervised.node_starts() == 1, "the node was restarted, though it ran"
    assert not completed(supervised.data / "chain-state"), "a broken answer was stored"
    # the stop's own last snapshot fails too: the supervisor says so in its exit status
    assert supervised.stop() == 1
    assert "the last snapshot was not written" in supervised.text()
