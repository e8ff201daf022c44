"""`make bench`: earn throughput through the gateway against the node's own ceiling, in one
run on this machine. Prints a table and writes reports/bench.json.

1. A fresh anvil (as `make run` starts it, but with 100 ms blocks) and a fresh deployment.
2. raw_node_tx_per_s: pre-signed individual `earn` transactions sent straight to anvil.
3. A fresh gateway (uvicorn subprocess, SQLite) and a brand made with `ledger brand add`.
4. gateway_ops_per_s: many concurrent clients POST /v1/earn/purchase, each with its own
   Idempotency-Key; counted until every operation's PointsEarned is on chain. The median of
   `--rounds` rounds (this machine is shared; every round's figure is in the report).
5. Latency at an offered load of 200 operations/s (open loop, `Prefer: wait=N`, so each
   answer comes at confirmation), with member balance reads (GET /v1/members/{address})
   under the same load.
   Half the requests wait for confirmation (p50/p95/p99_ms), half answer at acceptance
   (accept_p99_ms); balance reads run against an index seeded with `--seed-members` x
   `--seed-lots` lots, the gateway restarted on it as one that has run on an index that size
   (status_read_p99_ms: GET /v1/operations/{id} likewise).
6. bulk_ops_per_s: the same purchases in POST /v1/earn/batch requests of 1,000 items.
7. gas_per_earn_batched: gas of the gateway's batch transactions per operation.
8. idle_cpu_pct: every gateway process over `--idle-seconds` with no traffic, 20 brands
   onboarded; gateway_rss_mb: their peak resident memory during the throughput phase.

`--quick` runs every phase with small counts (a check that the bench works, not figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvloop
from eth_account import Account
from web3 import Web3

from ledger_api.chain.earned import earned_op_ids

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

import bench_latency
import bench_phases as phases
import bench_raw
from bench_http import Pool

ROOT = Path(__file__).resolve().parent.parent
API_BIN = ROOT / ".venv" / "api" / "bin"


class CpuMeter:
    """CPU seconds spent by the gateway (all its processes, and `ledger work` alone), anvil and
    this load generator between two marks."""

    def __init__(self, gateway: int, anvil: int) -> None:
        self.gateway, self.anvil = gateway, anvil
        self.marks = self._now()

    def _now(self) -> tuple[float, float, float, float, float]:
        own = os.times()
        children = [pid for pid in phases.tree_pids(self.gateway) if pid != self.gateway]
        return (
            phases.cpu_seconds(self.gateway),
            sum(phases.cpu_seconds(pid) for pid in children),
            phases.cpu_seconds(self.anvil),
            own.user + own.system,
            time.perf_counter(),
        )

    def per_op(self, ops: int, phase: str) -> dict[str, float]:
        now = self._now()
        gateway, work, anvil, loadgen, wall = (b - a for a, b in zip(self.marks, now, strict=False))
        self.marks = now
        return {
            f"{phase}_gateway_cpu_ms_per_op": gateway * 1000 / ops,
            f"{phase}_work_process_cores": work / wall,
            f"{phase}_anvil_cpu_ms_per_op": anvil * 1000 / ops,
            f"{phase}_loadgen_cpu_ms_per_op": loadgen * 1000 / ops,
            f"{phase}_cpu_busy_cores": (gateway + anvil + loadgen) / wall,
        }


def median_round(rounds: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The round with the median `key`, plus every round's `key`."""
    ordered = sorted(rounds, key=lambda r: r[key])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen[f"{key}_rounds"] = [round(r[key], 1) for r in rounds]
    return chosen


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data = ROOT / "build" / "bench"
        self.chain_port = args.chain_port
        self.api_port = args.api_port
        self.rpc = f"http://127.0.0.1:{self.chain_port}"
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.admin_key = "bench-admin-" + secrets.token_hex(16)
        self.env = dict(os.environ)
        self.env.update(
            LEDGER_DATA_DIR=str(self.data),
            LEDGER_CHAIN_PORT=str(self.chain_port),
            LEDGER_RPC_URL=self.rpc,
            LEDGER_MANIFEST=str(self.data / "deployment.json"),
            LEDGER_DATABASE_URL=f"sqlite:///{self.data / 'gateway.db'}",
            LEDGER_PORT=str(self.api_port),
            LEDGER_BLOCK_TIME=str(args.block_time),
            LEDGER_CHAIN_SNAPSHOT_S="86400",  # throwaway chain: no snapshots during the rounds
            LEDGER_ACCESS_LOG="false",
            LEDGER_SENDER_PROCESS="true" if args.sender_process else "false",
            LEDGER_RATE_LIMIT_PER_S="1000000",
            # the index height is in the admin's health report only
            LEDGER_ADMIN_API_KEY=self.admin_key,
            LEDGER_RATE_LIMIT_BURST="1000000",
            LEDGER_ADDRESS_RATE_LIMIT_PER_S="1000000",
            LEDGER_ADDRESS_RATE_LIMIT_BURST="1000000",
        )
        self.gateway: subprocess.Popen[bytes] | None = None
        self.members = [Account.create().address for _ in range(args.members)]
        self.seeded: list[str] = []  # members with seeded index lots only
        self.op_ids: list[str] = []  # operations of the throughput phase (status reads)

    # ------------------------------------------------------------------ setup
    def start_chain(self) -> dict[str, Any]:
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        subprocess.run(
            ["bash", str(ROOT / "tools" / "chain.sh")],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return json.loads((self.data / "deployment.json").read_text())

    def stop_chain(self) -> None:
        pid_file = self.data / "chain.pid"  # anvil's supervisor (tools/chain_supervisor.py)
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)

    def ledger_cli(self, *argv: str) -> str:
        done = subprocess.run(
            [str(API_BIN / "ledger"), *argv],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        return done.stdout

    def start_gateway(self) -> str:
        """A fresh gateway and the bench's brand; the brand's API key."""
        self.ledger_cli("db", "upgrade")
        out = self.ledger_cli("brand", "add", "Bench Brand", "--json")
        try:
            key: str = json.loads(out)["api_key"]
        except (ValueError, KeyError):
            raise SystemExit(f"no API key in: {out}") from None
        self.launch_gateway()
        return key

    def launch_gateway(self) -> None:
        with open(self.data / "gateway.log", "ab") as log:  # the child keeps its own descriptor
            self.gateway = subprocess.Popen(
                [str(API_BIN / "ledger"), "serve"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for _ in range(300):
            try:
                if httpx.get(self.base + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit("the gateway did not start; see build/bench/gateway.log")

    def stop_gateway(self) -> None:
        if self.gateway and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGINT)
            try:
                self.gateway.wait(10)
            except subprocess.TimeoutExpired:
                self.gateway.kill()

    # ------------------------------------------------------------ chain views
    def earned_logs(
        self, w3: Web3, ledger: Any, from_block: int, to_block: int | str = "latest"
    ) -> list[Any]:
        """One entry per earn on chain in blocks `from_block`..`to_block`: a lone earn's
        `PointsEarned` log, or a batch's `PointsEarnedBatch` log once per record (issue 15)."""

        # the events' signatures from the deployed ABI: a new field must not silently empty this
        def topic(name: str) -> bytes:
            event = next(e for e in ledger.abi if e.get("type") == "event" and e["name"] == name)
            return bytes(w3.keccak(text=f"{name}({','.join(i['type'] for i in event['inputs'])})"))

        earned, batch = topic("PointsEarned"), topic("PointsEarnedBatch")
        logs = w3.eth.get_logs(
            {
                "address": ledger.address,
                "fromBlock": from_block,
                "toBlock": to_block,
                "topics": [[earned, batch]],
            }
        )
        return [lg for lg in logs for _ in earned_op_ids([lg], earned, batch)]

    def earned_counter(self, w3: Web3, ledger: Any, from_block: int) -> Callable[[], int]:
        """Counts the earns on chain since `from_block`, reading each mined block's logs once:
        the bench's own polling (every 20 ms until the last operation lands) must not take the
        CPU of the gateway it measures (a whole-range read decoded thousands of logs a poll)."""
        seen, following = 0, from_block

        def count() -> int:
            nonlocal seen, following
            head = w3.eth.block_number
            if head >= following:
                seen += len(self.earned_logs(w3, ledger, following, head))
                following = head + 1
            return seen

        return count

    # ---------------------------------------------------------------- phases
    async def throughput(self, client: Pool, w3: Web3, ledger: Any, key: str) -> dict[str, float]:
        total, clients = self.args.ops, self.args.clients
        tag = secrets.token_hex(4)  # each round's orders are new orders (one credit per order)
        start_block = w3.eth.block_number
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(total):
            queue.put_nowait(i)
        accepted = 0

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                i = queue.get_nowait()
                status, body = await client.request(
                    "POST",
                    "/v1/earn/purchase",
                    {"Authorization": f"Bearer {key}", "Idempotency-Key": secrets.token_hex(16)},
                    {
                        "member": self.members[i % len(self.members)],
                        "amount_cents": 1_000,
                        "order_ref": f"tp-{tag}-{i}",
                    },
                )
                if status != 202:
                    raise RuntimeError(f"earn answered {status}: {body}")
                accepted += 1
                if len(self.op_ids) < 1_000:
                    self.op_ids.append(body["operation_id"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        accepted_at = time.perf_counter()
        confirmed = self.earned_counter(w3, ledger, start_block)
        while True:
            seen = confirmed()
            if seen >= total:
                break
            if time.perf_counter() - accepted_at > 120:
                raise RuntimeError(f"only {seen} of {total} operations confirmed after 120 s")
            await asyncio.sleep(0.02)
        confirmed_at = time.perf_counter()
        return {
            "gateway_ops_per_s": total / (confirmed_at - started),
            "gateway_accept_per_s": accepted / (accepted_at - started),
            "gateway_ops": total,
            "gateway_clients": clients,
        }

    async def latency(self, client: Pool, key: str) -> dict[str, float]:
        return await bench_latency.latency(
            client, key, self.args, self.members, self.seeded, self.op_ids
        )

    def batched_gas(
        self, w3: Web3, ledger: Any, from_block: int, to_block: int | None = None
    ) -> tuple[float, float, int]:
        """(gas per operation, operations per transaction, transactions) of the gateway's
        batch transactions in the blocks from `from_block` (to `to_block`, excluded)."""
        logs = [
            lg
            for lg in self.earned_logs(w3, ledger, from_block)
            if to_block is None or lg["blockNumber"] < to_block
        ]
        per_tx: dict[bytes, int] = {}
        for log in logs:
            per_tx[bytes(log["transactionHash"])] = per_tx.get(bytes(log["transactionHash"]), 0) + 1
        gas = sum(w3.eth.get_transaction_receipt(tx)["gasUsed"] for tx in per_tx)
        ops = sum(per_tx.values())
        if not ops:
            return 0.0, 0.0, 0
        return gas / ops, ops / len(per_tx), len(per_tx)

    async def run(self) -> dict[str, Any]:
        chosen = set(self.args.phases.split(","))
        manifest = self.start_chain()
        result: dict[str, Any] = {}
        try:
            if "raw" in chosen:
                # The node's best of one and two concurrent senders.
                runs = [
                    await bench_raw.measure(self.rpc, manifest, self.args.raw_count, 200, senders)
                    for senders in (1, 2)
                ]
                raw = max(runs, key=lambda r: r["raw_node_tx_per_s"])
                print("raw node:", {k: round(v, 1) for k, v in raw.items()}, flush=True)
                result.update(raw)
            w3 = Web3(Web3.HTTPProvider(self.rpc, request_kwargs={"timeout": 60}))
            entry = manifest["contracts"]["AllianceLedger"]
            ledger = w3.eth.contract(address=entry["address"], abi=entry["abi"])
            key = self.start_gateway()
            first_block = w3.eth.block_number
            client = Pool("127.0.0.1", self.api_port)
            try:
                # Warm-up: every member gets a lot this month, as in the gas report's steady state.
                await self._warm_up(client, key)
                steady_block = w3.eth.block_number + 1
                if "throughput" in chosen:
                    result.update(await self._throughput_rounds(client, w3, ledger, key))
                if "latency" in chosen:
                    client = await self._seeded_gateway(client)
                    await self._signers_running(client, 2)  # the admin's and the brand's
                    locks = phases.writer_lock_seconds(self.base, self.admin_key)
                    lock_from = time.perf_counter()
                    answers = phases.answer_buckets(self.base, self.admin_key)
                    latency = await self.latency(client, key)
                    latency["server_answer_pct_within_ms"] = phases.server_shares(
                        answers, phases.answer_buckets(self.base, self.admin_key)
                    )
                    latency.update(
                        phases.writer_lock_figures(
                            locks,
                            phases.writer_lock_seconds(self.base, self.admin_key),
                            time.perf_counter() - lock_from,
                        )
                    )
                    shown = {
                        k: round(v, 1) if isinstance(v, float) else v for k, v in latency.items()
                    }
                    print("latency:", shown, flush=True)
                    result.update(latency, seeded_lots=self.args.seed_members * self.args.seed_lots)
                if "bulk" in chosen:
                    bulk_block = w3.eth.block_number + 1
                    assert self.gateway is not None
                    meter = CpuMeter(self.gateway.pid, int((self.data / "anvil.pid").read_text()))
                    confirmed = self.earned_counter(w3, ledger, bulk_block)
                    bulk = await phases.bulk_throughput(
                        client,
                        key,
                        self.members,
                        self.args.bulk_ops,
                        self.args.bulk_clients,
                        lambda n: confirmed() >= n,
                    )
                    bulk.update(meter.per_op(self.args.bulk_ops, "bulk"))
                    print("bulk:", {k: round(v, 1) for k, v in bulk.items()}, flush=True)
                    result.update(bulk)
                if "idle" in chosen:
                    await phases.add_brands(client, self.admin_key, 19)  # 20 with the bench's
                    await self._signers_running(client, 21)  # the admin's and 20 brands'
                    settled = await phases.until_settled(self.base, self.admin_key)
                    print(
                        f"20 brands onboarded, their signers running, nothing left to do after "
                        f"{settled:.1f} s; idle window",
                        flush=True,
                    )
                    assert self.gateway is not None
                    result["idle_cpu_pct"] = await phases.idle_cpu_pct(
                        self.gateway.pid, phases.cpu_seconds, self.args.idle_seconds
                    )
                    print(f"idle: {result['idle_cpu_pct']:.2f}% of a core", flush=True)
            finally:
                client.close()
            # gas_per_earn_batched counts the steady state (members who already hold a lot
            # this month); a member's first earn of a month also creates the lot's storage slot.
            per_op, per_tx, txs = self.batched_gas(w3, ledger, steady_block)
            first_per_op, _, _ = self.batched_gas(w3, ledger, first_block, steady_block)
            if txs:  # the phases run sent earns after the warm-up
                result.update(
                    gas_per_earn_batched=per_op,
                    ops_per_batch_tx_mean=per_tx,
                    batch_txs=txs,
                    gas_per_first_earn_of_month_batched=first_per_op,
                )
        finally:
            self.stop_gateway()
            self.stop_chain()
        raw_rate = result.get("raw_node_tx_per_s")
        for name, ratio in (("gateway_ops_per_s", "gateway"), ("bulk_ops_per_s", "bulk")):
            if raw_rate and name in result:
                result[f"ratio_{ratio}_to_raw"] = result[name] / raw_rate
        result["cores"] = os.cpu_count()
        result["quick"] = self.args.quick
        result["phases"] = sorted(chosen)
        result["machine"] = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
        result["gateway"] = {
            "sender_process": self.args.sender_process,
            "block_time_s": self.args.block_time,
        }
        return result

    async def _throughput_rounds(
        self, client: Pool, w3: Web3, ledger: Any, key: str
    ) -> dict[str, Any]:
        """`--rounds` single-operation rounds; the median round, with the peak memory."""
        assert self.gateway is not None
        anvil_pid = int((self.data / "anvil.pid").read_text())
        rounds = []
        rss = phases.RssPeak(self.gateway.pid)
        rss.start()
        for _ in range(self.args.rounds):  # this machine is shared: the median of a few
            meter = CpuMeter(self.gateway.pid, anvil_pid)
            one = await self.throughput(client, w3, ledger, key)
            one.update(meter.per_op(self.args.ops, "throughput"))
            print("throughput:", {k: round(v, 1) for k, v in one.items()}, flush=True)
            rounds.append(one)
            await self._index_caught_up(client, w3)
        rss.stop()
        throughput = median_round(rounds, "gateway_ops_per_s")
        throughput["gateway_rss_mb"] = rss.peak_mb
        return throughput

    async def _seeded_gateway(self, client: Pool) -> Pool:
        """Seeds the read index, restarts the gateway on it (as one that has run on an index
        that size: its table statistics); a new client pool."""
        database = self.data / "gateway.db"
        seeding = time.perf_counter()
        self.seeded = phases.seed_index(
            database, phases.onboarded_brand(database), self.args.seed_members, self.args.seed_lots
        )
        print(f"seeded in {time.perf_counter() - seeding:.1f} s", flush=True)
        client.close()
        self.stop_gateway()
        self.launch_gateway()
        return Pool("127.0.0.1", self.api_port)

    async def _signers_running(self, client: Pool, count: int) -> None:
        """Waits until the sender runs `count` healthy signers (a new brand's keystore is
        unlocked and its signer reconciled once, after its onboarding: not idle work)."""
        started = time.perf_counter()
        while time.perf_counter() - started < 300:
            _, health = await client.request(
                "GET", "/v1/health", {"Authorization": f"Bearer {self.admin_key}"}
            )
            signers = (health or {}).get("sender") or []
            if len(signers) >= count and all(s.get("healthy") for s in signers):
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"the sender did not run {count} healthy signers within 300 s")

    async def _index_caught_up(self, client: Pool, w3: Web3) -> None:
        """Waits until the gateway's index has every block mined so far, so the latency phase
        does not measure the backlog of the throughput phase."""
        head = w3.eth.block_number
        started = time.perf_counter()
        while time.perf_counter() - started < 120:
            _, health = await client.request(
                "GET", "/v1/health", {"Authorization": f"Bearer {self.admin_key}"}
            )
            if health and int(health.get("index_block") or 0) >= head:
                print(f"index caught up in {time.perf_counter() - started:.1f} s", flush=True)
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the index did not catch up within 120 s")

    async def _warm_up(self, client: Pool, key: str) -> None:
        async def one(member: str) -> None:
            code, body = await client.request(
                "POST",
                "/v1/earn/purchase",
                {
                    "Authorization": f"Bearer {key}",
                    "Idempotency-Key": secrets.token_hex(16),
                    "Prefer": "wait=30",
                },
                {"member": member, "amount_cents": 100, "order_ref": f"warm-{member}"},
            )
            if code not in (200, 202):
                raise RuntimeError(f"warm-up earn answered {code}: {body}")

        for start in range(0, len(self.members), 50):
            await asyncio.gather(*(one(m) for m in self.members[start : start + 50]))


PHASES = ("raw", "throughput", "latency", "bulk", "idle")
TARGETS = {  # issue 15
    "gateway_ops_per_s": (">=", 1_500),
    "ratio_bulk_to_raw": (">=", 1.5),
    "accept_p99_ms": ("<=", 40),
    "p99_ms": ("<=", 250),
    "status_read_p99_ms": ("<=", 10),
    "balance_read_p99_ms": ("<=", 10),
    "idle_cpu_pct": ("<=", 1),
    "gateway_rss_mb": ("<=", 300),
    "gas_per_earn_batched": ("<=", 15_000),
}
QUICK = {  # --quick: every phase, small counts
    "ops": 400,
    "rounds": 1,
    "clients": 16,
    "seconds": 3.0,
    "members": 60,
    "raw_count": 300,
    "bulk_ops": 2_000,
    "bulk_clients": 2,
    "seed_members": 2_000,
    "seed_lots": 10,
    "idle_seconds": 5.0,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=5_000, help="operations of a throughput round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="throughput rounds (the median counts)"
    )
    parser.add_argument(
        "--clients", type=int, default=128, help="concurrent clients of the throughput phase"
    )
    parser.add_argument(
        "--rate", type=float, default=200, help="offered operations/s of the latency phase"
    )
    parser.add_argument("--seconds", type=float, default=15, help="length of the latency phase")
    parser.add_argument(
        "--read-rate", type=float, default=50, help="balance reads/s during the latency phase"
    )
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument(
        "--sender-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sender and indexer in a process of their own (LEDGER_SENDER_PROCESS)",
    )
    parser.add_argument("--raw-count", type=int, default=3_000)
    parser.add_argument("--block-time", type=float, default=0.1, help="anvil's block interval (s)")
    parser.add_argument("--chain-port", type=int, default=8745)
    parser.add_argument("--api-port", type=int, default=8746)
    parser.add_argument("--bulk-ops", type=int, default=20_000, help="operations, bulk phase")
    parser.add_argument("--bulk-clients", type=int, default=4, help="concurrent bulk senders")
    parser.add_argument("--seed-members", type=int, default=100_000, help="seeded index members")
    parser.add_argument("--seed-lots", type=int, default=10, help="seeded lots per member")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="idle CPU window (s)")
    parser.add_argument("--quick", action="store_true", help="small counts: checks the bench")
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated phases to run (the gas figures come from whatever ran)",
    )
    args = parser.parse_args()
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    result = uvloop.run(Bench(args).run())
    # only a full run replaces the committed report; a quick or partial one goes to build/
    full = not args.quick and set(args.phases.split(",")) >= set(PHASES)
    report = ROOT / "reports" / "bench.json" if full else ROOT / "build" / "bench-partial.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"\n{'figure':28} {'value':>12}  target")
    for name in sorted(k for k in result if not isinstance(result[k], (dict, list))):
        value = result[name]
        target = TARGETS.get(name)
        verdict = ""
        if target:
            op, bound = target
            ok = value >= bound if op == ">=" else value <= bound
            verdict = f"{op} {bound:g}  {'ok' if ok else 'MISSED'}"
        if isinstance(value, float):
            shown = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"
        else:
            shown = f"{value:,}"
        print(f"{name:28} {shown:>12}  {verdict}")
    for name in sorted(k for k in result if isinstance(result[k], list)):
        print(f"{name:28} {result[name]}")
    print(f"\nwritten to {report}")


if __name__ == "__main__":
    main()
