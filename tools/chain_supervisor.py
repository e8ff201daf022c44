"""Runs the embedded chain of `make run` (anvil) and keeps its state safe on disk.

    python3 tools/chain_supervisor.py --data DIR --port PORT [--interval S] [--keep N] \
        -- ANVIL ARGS...

anvil's own `--state FILE --state-interval` rewrites FILE in place: a kill during that write
leaves a cut file, and anvil then refuses to start (`EOF while parsing`). Here anvil never
writes a file. This supervisor asks it for its state (`anvil_dumpState`, gzip-compressed JSON)
every `--interval` seconds and writes each snapshot atomically: to a temporary file, fsync,
rename to `DIR/chain-state/snapshot-<sequence>.json.gz`, fsync of the folder. The newest `--keep`
generations are kept. A kill at any moment leaves the previous snapshots whole.

On start, the newest READABLE snapshot is loaded (its gzip checksum and its JSON are checked
first; a cut or corrupt file is skipped with a message naming it). A state file of the old
layout (`DIR/chain-state.json`, written by anvil itself) is the last candidate. anvil starts
with `--load-state` and only listens once the state is loaded, so a client never sees a chain
without it. A restart therefore resumes from at most `--interval` seconds (plus the time one
snapshot takes) before the kill.

If anvil dies, it is started again from the newest snapshot. `DIR/anvil.pid` holds the pid of
the anvil running now (for tools that measure it; removed at a clean stop); stop the chain
through the supervisor.
Nothing anvil answers or fails to answer stops the supervisor: a dump cut by anvil's death, or
an answer that is not a state, is logged ("snapshot failed: ...") and nothing is stored.
SIGTERM or SIGINT: one last snapshot, then anvil is stopped; the supervisor exits 0, or 1 when
that last snapshot could not be written (the newest stored one is older). Stdlib only.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

SNAPSHOT = re.compile(r"^snapshot-(\d{12})\.json\.gz$")


def _die_with_parent() -> None:
    """In the child: SIGKILL when the supervisor dies (prctl PR_SET_PDEATHSIG), where available."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class RpcFailed(RuntimeError):
    """A JSON-RPC call to anvil that gave no result: no connection, a cut or malformed answer
    (anvil killed while it sent it), or an error object."""


def log(message: str) -> None:
    print(f"chain: {message}", file=sys.stderr, flush=True)


class Snapshots:
    """The generations of the chain's state in one folder, newest first."""

    def __init__(self, folder: Path, keep: int, legacy: Path | None) -> None:
        self.folder = folder
        self.keep = keep
        self.legacy = legacy
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob(".snapshot-*.tmp"):  # a write cut by a kill
            leftover.unlink(missing_ok=True)
        self.prune()

    def prune(self) -> None:
        """Drops the generations beyond `keep` (a kill may have come between write and prune)."""
        for _, old in self.generations()[self.keep :]:
            old.unlink(missing_ok=True)

    def generations(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.folder.iterdir():
            match = SNAPSHOT.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found, reverse=True)

    def write(self, compressed: bytes) -> Path:
        """Stores one snapshot atomically; drops the generations beyond `keep`."""
        generations = self.generations()
        sequence = generations[0][0] + 1 if generations else 1
        final = self.folder / f"snapshot-{sequence:012d}.json.gz"
        tmp = self.folder / f".snapshot-{sequence:012d}.tmp"
        try:
            with tmp.open("wb") as out:
                out.write(compressed)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(final)
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk: no half file left for the next start
            raise
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.prune()
        return final

    def newest_readable(self) -> tuple[Path, bytes] | None:
        """(path, the state's JSON) of the newest snapshot that reads whole, or None."""
        for _, path in self.generations():
            try:
                text = gzip.decompress(path.read_bytes())
                json.loads(text)
            except (OSError, EOFError, ValueError) as error:
                log(f"skipping unreadable snapshot {path} ({type(error).__name__}: {error})")
                continue
            return path, text
        if self.legacy is not None and self.legacy.exists():
            try:
                text = self.legacy.read_bytes()
                json.loads(text)
            except (OSError, ValueError) as error:
                reason = f"{type(error).__name__}: {error}"
                log(f"skipping unreadable state file {self.legacy} ({reason})")
                return None
            return self.legacy, text
        return None


class Chain:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.url = f"http://127.0.0.1:{options.port}"
        data = Path(options.data)
        self.snapshots = Snapshots(data / "chain-state", options.keep, data / "chain-state.json")
        self.load_file = data / "chain-state" / ".loading.json"
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # one dump at a time

    def rpc(self, method: str, params: list[object], timeout: float) -> object:
        """The call's result. Raises RpcFailed for every way it can have none."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(
            self.url, body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.loads(response.read())
        # OSError: refused, reset, timed out; HTTPException: a cut body or status line (not an
        # OSError); ValueError: a body that is not JSON
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise RpcFailed(f"{method}: {type(error).__name__}: {error}") from error
        if not isinstance(answer, dict) or "result" not in answer:
            detail = answer.get("error") if isinstance(answer, dict) else answer
            raise RpcFailed(f"{method}: {detail}")
        return answer["result"]

    def start(self) -> None:
        # --prune-history: the gateway reads recent states only; by default anvil writes each
        # older block's state under ~/.foundry/anvil/tmp, and a killed anvil leaves them there
        # (73 GB on this machine after a few days of benches and tests). The last 64 stay in
        # memory: with none, a read at "latest" fails when a block lands while it runs.
        args = [
            self.options.anvil,
            *self.options.anvil_args,
            "--prune-history",
            "64",
            "--port",
            str(self.options.port),
        ]
        newest = self.snapshots.newest_readable()
        if newest is not None:
            path, text = newest
            tmp = self.load_file.with_suffix(".tmp")
            tmp.write_bytes(text)
            tmp.replace(self.load_file)
            args += ["--load-state", str(self.load_file)]
            log(f"loading state from {path}")
        else:
            log("no snapshot yet: a new chain")
        with open(Path(self.options.data) / "anvil.log", "ab") as out:
            # its own session: a Ctrl-C in the terminal reaches the supervisor only, which takes
            # the last snapshot before it stops anvil; anvil dies with the supervisor (Linux)
            self.process = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        (Path(self.options.data) / "anvil.pid").write_text(f"{self.process.pid}\n")
        deadline = time.monotonic() + 600  # a large state takes a while to load
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.process.returncode}, see anvil.log")
            try:
                self.rpc("eth_chainId", [], timeout=2)
                break
            except RpcFailed:
                time.sleep(0.1)
        else:
            raise RuntimeError("anvil did not answer")
        self.load_file.unlink(missing_ok=True)
        if newest is not None:
            self.keep_clock()

    def keep_clock(self) -> None:
        """A clock moved forward stays forward: anvil loads a state's blocks but stamps the
        next one with this machine's time, so a chain moved ahead (`evm_increaseTime`, a
        quarter's review) went back on a restart (a trial: 2026-12-07 to 2026-12-05, a
        member's tier view back in the earlier quarter). Its time is set to the newest loaded
        block's when that is ahead; a block an interval mines in the instant before is empty.
        Best effort: a node that cannot say is logged and left as it is."""
        try:
            block = self.rpc("eth_getBlockByNumber", ["latest", False], timeout=10)
            stamp = int(block["timestamp"], 16)
            ahead = stamp - int(time.time())
            if ahead > 0:
                self.rpc("evm_setTime", [stamp], timeout=10)
                log(f"the chain's clock is {ahead} s ahead of this machine's: kept")
        except (RpcFailed, KeyError, TypeError, ValueError) as error:
            log(f"could not keep the chain's clock: {error}")

    def snapshot(self) -> Path | None:
        """The snapshot written, or None (anvil not running, its answer not a state, or the
        disk refused the write: each logged)."""
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                return None
            try:
                state = self.rpc("anvil_dumpState", [], timeout=120)
                if not isinstance(state, str):
                    raise RpcFailed(f"anvil_dumpState: a {type(state).__name__}, not a hex string")
                try:
                    compressed = bytes.fromhex(state.removeprefix("0x"))
                except ValueError as error:
                    raise RpcFailed(f"anvil_dumpState: not hex ({error})") from error
                return self.snapshots.write(compressed)
            except (RpcFailed, OSError) as error:
                log(f"snapshot failed: {error}")
                return None

    def stop_anvil(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Starts anvil again until it answers or the supervisor stops: a start can fail for a
        moment (the killed node's port not yet free), and a supervisor that gave up would
        leave the gateway without a chain."""
        delay = 0.5
        while not self.stopping.is_set():
            time.sleep(delay)
            try:
                self.start()
                return
            except (RuntimeError, OSError) as error:  # OSError: anvil's program could not run
                log(f"anvil did not start again ({error}); retrying in {delay:.1f} s")
                delay = min(delay * 2, 5.0)

    def run(self) -> int:
        self.start()
        next_snapshot = time.monotonic() + self.options.interval
        while not self.stopping.is_set():
            self.stopping.wait(0.2)
            assert self.process is not None
            if self.process.poll() is not None and not self.stopping.is_set():
                log(f"anvil exited ({self.process.returncode}); starting it again")
                self.restart()
                continue
            if time.monotonic() >= next_snapshot:
                self.snapshot()
                next_snapshot = time.monotonic() + self.options.interval
        written = self.snapshot()
        self.stop_anvil()
        (Path(self.options.data) / "anvil.pid").unlink(missing_ok=True)
        if written is None:
            newest = self.snapshots.generations()
            log(
                "the last snapshot was not written; the newest stored is "
                + (str(newest[0][1]) if newest else "none")
            )
            return 1
        log(f"state saved to {written}")
        return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="the data folder (snapshots in chain-state/)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between snapshots")
    parser.add_argument("--keep", type=int, default=3, help="snapshot generations kept")
    parser.add_argument("--anvil", default="anvil")
    parser.add_argument("anvil_args", nargs="*", help="after --: further anvil arguments")
    options = parser.parse_args(argv)
    if not options.anvil:
        parser.error("--anvil is empty: anvil is not installed (make setup installs it)")
    chain = Chain(options)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: chain.stopping.set())
    try:
        return chain.run()
    except (RuntimeError, OSError) as error:  # the first start failed: nothing to keep running
        log(str(error))
        chain.stop_anvil()
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
