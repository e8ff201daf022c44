"""A small local load on the single-operation earn path, for profiling (not `make bench`).

Starts anvil (automine), deploys, starts `ledger serve` (with `ledger work`, as `make run`),
creates a brand, then `--ops` POST /v1/earn/purchase from `--clients` concurrent clients.
Prints accepted/s (requests to 202) and confirmed/s (each operation's status read with
`?wait=true`; with `--bulk`, POST /v1/earn/batch of 1,000 items, until `/metrics` shows
nothing queued, in flight, pending or unindexed). With `--py-spy FILE`, py-spy records
every gateway process during the load (flame graph SVG, FILE.<pid>.svg; with
`--py-spy-format raw`, collapsed stacks in FILE.<pid>.txt).

With `--cost ROUTES` (comma-separated: earn, status, member, missing), it measures instead
what each request costs the HTTP process (`ledger serve` alone, user + system CPU from
/proc, its threads included): `--ops` requests per route from `--clients` clients, each
route `--rounds` times, interleaved, and prints the microseconds per request of each round.
With `--against DIR` (another checkout, e.g. a `git worktree` of the commit before a change)
it starts a second chain and gateway running DIR's `ledger_api` (this checkout's contracts)
and measures each route on both, one right after the other, the first alternating by round;
then prints each side's median per route. On a machine whose speed drifts by the minute,
pairs taken seconds apart compare a change where separate runs minutes apart do not.

    .venv/api/bin/python tools/earn_load.py --ops 3000 --py-spy build/earn
    .venv/api/bin/python tools/earn_load.py --cost earn,status,member --ops 3000 --rounds 3
    git worktree add /tmp/before HEAD~1
    .venv/api/bin/python tools/earn_load.py --cost earn,status --ops 2000 --rounds 8 \\
        --against /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "api"))

from bench_http import Pool  # noqa: E402
from bench_phases import leftover_work, process_stat, tree_pids  # noqa: E402
from support.chain import Anvil, start_anvil  # noqa: E402
from support.gateway import GatewayProcess, deployed_sqlite_env  # noqa: E402


async def load(port: int, key: str, ops: int, clients: int) -> tuple[float, list[str]]:
    pool = Pool("127.0.0.1", port)
    members = [Account.create().address for _ in range(100)]
    tag = secrets.token_hex(4)  # each load's orders are new orders (one credit per order)
    queue = list(range(ops))
    ids: list[str] = []

    async def client() -> None:
        while queue:
            i = queue.pop()
            status, body = await pool.request(
                "POST",
                "/v1/earn/purchase",
                {"Authorization": f"Bearer {key}", "Idempotency-Key": secrets.token_hex(16)},
                {"member": members[i % 100], "amount_cents": 1_000, "order_ref": f"load-{tag}-{i}"},
            )
            if status != 202:
                raise RuntimeError(f"{status}: {body}")
            ids.append(body["operation_id"])

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    pool.close()
    return elapsed, ids


async def load_bulk(port: int, key: str, ops: int, clients: int) -> tuple[float, list[str]]:
    """`ops` purchases in POST /v1/earn/batch requests of 1,000 items from `clients` senders."""
    pool = Pool("127.0.0.1", port)
    members = [Account.create().address for _ in range(100)]
    tag = secrets.token_hex(4)
    starts = list(range(0, ops, 1_000))
    ids: list[str] = []

    async def client() -> None:
        while starts:
            first = starts.pop()
            items = [
                {
                    "type": "purchase",
                    "key": f"bulk-{tag}-{i}",
                    "member": members[i % 100],
                    "amount_cents": 1_000,
                    "order_ref": f"bulk-{tag}-{i}",
                }
                for i in range(first, min(ops, first + 1_000))
            ]
            status, body = await pool.request(
                "POST",
                "/v1/earn/batch",
                {"Authorization": f"Bearer {key}", "Idempotency-Key": secrets.token_hex(16)},
                {"items": items},
            )
            if status != 202:
                raise RuntimeError(f"{status}: {str(body)[:300]}")
            ids.extend(item["operation_id"] for item in body["items"])

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    pool.close()
    return elapsed, ids


COST_ROUTES = ("earn", "status", "member", "missing")


async def cost(port: int, key: str, route: str, ops: int, clients: int, op_id: str) -> None:
    """`ops` requests of one kind; refuses any answer but the route's success."""
    pool = Pool("127.0.0.1", port)
    auth = {"Authorization": f"Bearer {key}"}
    members = [Account.create().address for _ in range(100)]
    tag = secrets.token_hex(4)
    requests: dict[str, Any] = {
        "earn": lambda i: (
            "POST",
            "/v1/earn/purchase",
            {**auth, "Idempotency-Key": secrets.token_hex(16)},
            {"member": members[i % 100], "amount_cents": 1_000, "order_ref": f"cost-{tag}-{i}"},
            202,
        ),
        "status": lambda i: ("GET", f"/v1/operations/{op_id}", auth, None, 200),
        "member": lambda i: ("GET", f"/v1/members/{members[i % 100]}", auth, None, 200),
        "missing": lambda i: ("GET", "/v1/no-such-route", auth, None, 404),
    }
    queue = list(range(ops))

    async def client() -> None:
        while queue:
            method, path, headers, body, expected = requests[route](queue.pop())
            status, answer = await pool.request(method, path, headers, body)
            if status != expected:
                raise RuntimeError(f"{route}: {status}: {answer}")

    await asyncio.gather(*(client() for _ in range(clients)))
    pool.close()


@dataclass
class Side:
    """A chain and a gateway running `root`'s code, with a brand's API key."""

    label: str
    anvil: Anvil
    gateway: GatewayProcess
    key: str
    first: str = ""  # an operation id for the status route

    def stop(self) -> None:
        self.gateway.stop()
        self.anvil.stop()


def start_side(label: str, root: Path, folder: Path, args: argparse.Namespace) -> Side:
    """Starts anvil, deploys this checkout's contracts, starts `root`'s `ledger serve` (with
    `ledger work`, as `make run`), creates a brand and warms the earn path up."""
    folder.mkdir(parents=True, exist_ok=True)
    anvil = start_anvil(
        extra=["--block-time", str(args.block_time)] if args.block_time is not None else None
    )
    try:
        env = deployed_sqlite_env(
            anvil,
            folder,
            LEDGER_SENDER_PROCESS=args.sender_process,
            LEDGER_ACCESS_LOG="false",
            LEDGER_SQLITE_SYNCHRONOUS="FULL",
        )
        gateway = GatewayProcess(env, folder / "gateway.log", root=root).start()
    except BaseException:
        anvil.stop()
        raise
    side = Side(label, anvil, gateway, "")
    try:
        created = httpx.post(
            f"{gateway.base_url}/v1/admin/brands",
            json={"name": "Load Brand", "symbol": "LOAD"},
            params={"wait": "true"},
            headers={**gateway.admin_headers, "Idempotency-Key": "load-brand"},
            timeout=60,
        ).json()
        side.key = created["api_key"]
        asyncio.run(load(gateway.port, side.key, 200, 16))  # warm-up
    except BaseException:
        side.stop()
        raise
    return side


def measure_costs(sides: list[Side], args: argparse.Namespace) -> None:
    """Each route's HTTP process CPU per request, `args.rounds` times, on every side in turn
    (the first side alternating by round); with two sides, each side's median per route."""
    for side in sides:
        side.first = httpx.post(
            f"{side.gateway.base_url}/v1/earn/purchase",
            json={"member": Account.create().address, "amount_cents": 1_000, "order_ref": "first"},
            headers={
                "Authorization": f"Bearer {side.key}",
                "Idempotency-Key": "first",
                "Prefer": "wait=10",
            },
            timeout=60,
        ).json()["operation_id"]
    routes = args.cost.split(",")
    spent_us: dict[tuple[str, str], list[float]] = {}
    for round_ in range(1, args.rounds + 1):
        for route in routes:
            order = sides if round_ % 2 else sides[::-1]
            for side in order:
                process = side.gateway.process
                assert process is not None
                time.sleep(1.0)  # the previous route's work settles (the sender, the indexer)
                before = process_stat(process.pid)[1]
                started = time.perf_counter()
                asyncio.run(
                    cost(side.gateway.port, side.key, route, args.ops, args.clients, side.first)
                )
                elapsed = time.perf_counter() - started
                per_request = 1e6 * (process_stat(process.pid)[1] - before) / args.ops
                spent_us.setdefault((route, side.label), []).append(per_request)
                label = f"{side.label} " if len(sides) > 1 else ""
                print(
                    f"round {round_} {label}{route:8s} {args.ops / elapsed:6.0f} requests/s, "
                    f"HTTP process {per_request:6.0f} us CPU per request",
                    flush=True,
                )
    if len(sides) > 1:
        for route in routes:
            medians = [
                f"{side.label} {statistics.median(spent_us[(route, side.label)]):6.0f} us"
                for side in sides
            ]
            print(f"median {route:8s} " + " / ".join(medians), flush=True)


def drained(gateway: GatewayProcess) -> None:
    """Until the gateway's `/metrics` shows nothing queued, in flight, pending or unindexed:
    a bulk load's end without a status read per operation (which would fill the HTTP
    process's profile with reads)."""
    while True:
        answer = httpx.get(f"{gateway.base_url}/metrics", headers=gateway.admin_headers, timeout=30)
        answer.raise_for_status()
        if not leftover_work(answer.text):
            return
        time.sleep(0.5)


async def confirm(port: int, key: str, ids: list[str], clients: int) -> None:
    """Until every operation is final (concurrent `?wait=true` reads)."""
    pool = Pool("127.0.0.1", port)
    pending = list(ids)

    async def client() -> None:
        while pending:
            uid = pending.pop()
            while True:
                _, body = await pool.request(
                    "GET", f"/v1/operations/{uid}?wait=true", {"Authorization": f"Bearer {key}"}
                )
                if body["status"] in ("confirmed", "failed"):
                    break

    await asyncio.gather(*(client() for _ in range(clients)))
    pool.close()


def usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, before anything starts (None: nothing)."""
    if args.against is not None and args.cost is None:
        return "--against needs --cost"
    if args.against is not None and not (args.against / "ledger_api").is_dir():
        return f"--against: {args.against} is not a checkout (no ledger_api folder)"
    unknown = set((args.cost or "").split(",")) - set(COST_ROUTES) - {""}
    if unknown:
        return f"--cost: {', '.join(sorted(unknown))}; known: {', '.join(COST_ROUTES)}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--sender-process", default="true")
    parser.add_argument("--bulk", action="store_true", help="POST /v1/earn/batch of 1,000 items")
    parser.add_argument("--block-time", type=float, default=None, help="anvil's interval (s)")
    parser.add_argument("--py-spy-idle", action="store_true", help="sample waiting threads too")
    parser.add_argument(
        "--py-spy-gil",
        action="store_true",
        help="sample only the thread holding the GIL: where the CPU goes, without the threads "
        "that wait for it",
    )
    parser.add_argument(
        "--cost", default=None, help="routes to measure: earn,status,member,missing"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --cost")
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        help="with --cost: another checkout, measured in pairs with this one",
    )
    parser.add_argument("--py-spy", type=Path, default=None)
    parser.add_argument(
        "--py-spy-format", default="flamegraph", help="flamegraph (SVG) or raw (collapsed stacks)"
    )
    args = parser.parse_args()
    problem = usage_problem(args)
    if problem:
        parser.error(problem)
    folder = Path(tempfile.mkdtemp(prefix="earn-load-"))
    sides: list[Side] = []
    spies: list[subprocess.Popen[bytes]] = []
    try:
        sides.append(start_side("this", ROOT, folder / "this", args))
        if args.against is not None:
            sides.append(start_side("against", args.against.resolve(), folder / "against", args))
        if args.cost is not None:
            measure_costs(sides, args)
            return
        gateway, key = sides[0].gateway, sides[0].key
        if args.py_spy is not None:
            assert gateway.process is not None
            suffix = "svg" if args.py_spy_format == "flamegraph" else "txt"
            for pid in tree_pids(gateway.process.pid):
                spies.append(
                    subprocess.Popen(
                        [
                            str(ROOT / ".venv/api/bin/py-spy"),
                            "record",
                            "--pid",
                            str(pid),
                            "--output",
                            f"{args.py_spy}.{pid}.{suffix}",
                            "--format",
                            args.py_spy_format,
                            "--rate",
                            "200",
                            "--nonblocking",
                            *(["--idle"] if args.py_spy_idle else []),
                            *(["--gil"] if args.py_spy_gil else []),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            time.sleep(1.0)
        sender = load_bulk if args.bulk else load
        elapsed, ids = asyncio.run(sender(gateway.port, key, args.ops, args.clients))
        started = time.perf_counter() - elapsed
        if args.bulk:
            drained(gateway)
        else:
            asyncio.run(confirm(gateway.port, key, ids, args.clients))
        confirmed = time.perf_counter() - started
        print(
            f"ops {args.ops} clients {args.clients}: accepted {args.ops / elapsed:.0f}/s, "
            f"confirmed {args.ops / confirmed:.0f}/s"
        )
    finally:
        for spy in spies:
            spy.send_signal(2)
        for spy in spies:
            spy.wait(30)
        for side in sides:
            side.stop()
        shutil.rmtree(folder, ignore_errors=True)  # its database and manifest


if __name__ == "__main__":
    main()
