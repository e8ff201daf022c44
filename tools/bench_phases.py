"""Phases of `make bench` beyond single-operation throughput and latency (tools/bench.py):
bulk throughput through POST /v1/earn/batch, a seeded read index, idle CPU with 20 brands,
and the gateway's peak resident memory."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from eth_utils import to_checksum_address
from prometheus_client.parser import text_string_to_metric_families

from ledger_api.domain import lot_expiry, month_of

PAGE = 4096


def tree_pids(root: int) -> list[int]:
    """A process and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        frontier.extend(child for child, parent in parents.items() if parent == pid)
    return found


def tree_rss_mb(root: int) -> float:
    total = 0
    for pid in tree_pids(root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError):
            continue
    return total * PAGE / 1e6


def process_stat(pid: int | str) -> tuple[int, float]:
    """(parent pid, CPU seconds: user + system) of one process, without its children, from
    /proc (`OSError` once it has gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the command: state, ppid, ..., utime (12th), stime (13th)
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats[int(entry.name)] = process_stat(entry.name)
        except OSError:
            continue
    total, frontier = 0.0, [root]
    while frontier:
        pid = frontier.pop()
        total += stats.get(pid, (0, 0.0))[1]
        frontier.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return total


class RssPeak:
    """Samples the resident memory of a process tree every 0.2 s; `peak_mb` the highest."""

    def __init__(self, root: int) -> None:
        self.root, self.peak_mb = root, 0.0
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._halt.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.root))
            self._halt.wait(0.2)


async def bulk_throughput(
    client: Any, key: str, members: list[str], total: int, clients: int, confirmed: Any
) -> dict[str, float]:
    """`total` purchases in requests of up to 1,000 items from `clients` concurrent senders,
    counted until `confirmed(count)` says every earn is on chain."""
    size = min(1_000, total)
    requests = [list(range(start, min(total, start + size))) for start in range(0, total, size)]
    run = secrets.token_hex(4)

    async def sender() -> None:
        while requests:
            numbers = requests.pop()
            items = [
                {
                    "type": "purchase",
                    "key": f"bulk-{run}-{i}",
                    "member": members[i % len(members)],
                    "amount_cents": 1_000,
                    "order_ref": f"bulk-{run}-{i}",
                }
                for i in numbers
            ]
            status, body = await client.request(
                "POST",
                "/v1/earn/batch",
                {"Authorization": f"Bearer {key}", "Idempotency-Key": secrets.token_hex(16)},
                {"items": items},
            )
            if status != 202 or body["accepted"] != len(items):
                raise RuntimeError(f"bulk earn answered {status}: {str(body)[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(clients)))
    accepted_at = time.perf_counter()
    while not confirmed(total):
        if time.perf_counter() - accepted_at > 300:
            raise RuntimeError("bulk operations not confirmed within 300 s")
        await asyncio.sleep(0.05)
    finished = time.perf_counter()
    return {
        "bulk_ops_per_s": total / (finished - started),
        "bulk_accept_ops_per_s": total / (accepted_at - started),
        "bulk_ops": total,
        "bulk_clients": clients,
    }


def seed_index(database: Path, brand: int, members: int, lots_per_member: int) -> list[str]:
    """Writes `members` x `lots_per_member` live lots of `brand` straight into the index
    tables (idx_lots, idx_members): a read index of the size the targets name, without
    minting a million lots on chain. Returns the seeded members' addresses. The lots are of
    this month and the ones before, each expiring at its month's instant (`lot_expiry`, every
    member's lot of a month at once) as the chain's do; with up to 10 months none is within
    the reminders' 30 days, so the seeded index adds no reminder work to the phases."""
    this_month = month_of(int(time.time()))
    addresses = [to_checksum_address(os.urandom(20)) for _ in range(members)]
    connection = sqlite3.connect(database, timeout=60)
    try:
        for start in range(0, members, 10_000):
            chunk = addresses[start : start + 10_000]
            with connection:
                connection.executemany(
                    "INSERT OR IGNORE INTO idx_lots (member, brand, month, amount, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        (
                            member,
                            brand,
                            this_month - month,
                            10 + month,
                            lot_expiry(this_month - month),
                        )
                        for member in chunk
                        for month in range(lots_per_member)
                    ),
                )
                connection.executemany(
                    "INSERT OR IGNORE INTO idx_members (member, tier, quarter, spend_cents,"
                    " orders, engagements, grace_until_month) VALUES (?, 0, 0, 0, 0, 0, 0)",
                    ((member,) for member in chunk),
                )
    finally:
        connection.close()
    return addresses


def onboarded_brand(database: Path) -> int:
    connection = sqlite3.connect(database, timeout=60)
    try:
        row = connection.execute(
            "SELECT ledger_id FROM brands WHERE ledger_id IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    if row is None:
        raise RuntimeError("no onboarded brand to seed lots for")
    return int(row[0])


async def add_brands(client: Any, admin_key: str, count: int) -> None:
    """`count` more brands through the admin API, each confirmed before the next."""
    for n in range(count):
        status, body = await client.request(
            "POST",
            "/v1/admin/brands",
            {
                "Authorization": f"Bearer {admin_key}",
                "Idempotency-Key": secrets.token_hex(16),
                "Prefer": "wait=60",
            },
            {"name": f"Idle Brand {n}", "symbol": f"IDL{n}"},
        )
        if status not in (200, 201):
            raise RuntimeError(f"brand {n} answered {status}: {str(body)[:300]}")


def leftover_work(metrics_text: str) -> dict[str, float]:
    """What the gateway still has to do, from its `/metrics`: operations queued or submitted,
    transactions in flight, webhook deliveries pending, blocks the index is behind (only the
    non-zero ones)."""
    left: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if (
                (name == "ledger_operations" and labels.get("status") in ("queued", "submitted"))
                or name in ("ledger_queue_depth", "ledger_signer_in_flight_transactions")
                or (
                    name.startswith("ledger_webhook_deliveries")
                    and labels.get("status") == "pending"
                )
            ):
                left[name] = left.get(name, 0) + sample.value
            elif name == "ledger_index_lag_blocks" and sample.value > 2:
                left[name] = sample.value
    return {name: value for name, value in left.items() if value}


def writer_lock_seconds(base_url: str, admin_key: str) -> dict[str, dict[str, float]]:
    """Per writer, the SQLite writer lock's seconds held and waited and its transactions so far
    (`/metrics`: `ledger_db_writer_lock_{hold,wait}_seconds`)."""
    answer = httpx.get(
        base_url + "/metrics", headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    )
    answer.raise_for_status()
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            for part in ("hold", "wait"):
                prefix = f"ledger_db_writer_lock_{part}_seconds"
                if sample.name in (prefix + "_sum", prefix + "_count"):
                    figure = part if sample.name.endswith("_sum") else f"{part}_count"
                    writer = found.setdefault(sample.labels["writer"], {})
                    writer[figure] = writer.get(figure, 0.0) + sample.value
    return found


#: the routes whose answer times the gateway itself records (`ledger_http_request_duration_seconds`)
#: during the latency phase, beside the load generator's own clock: (figure, method, route, status)
SERVER_TIMED = (
    ("balance_read", "GET", "/v1/members/{address}", "200"),
    ("status_read", "GET", "/v1/operations/{operation_id}", "200"),
    ("accept", "POST", "/v1/earn/purchase", "202"),
)


def answer_buckets(base_url: str, admin_key: str) -> dict[str, dict[str, float]]:
    """Per `SERVER_TIMED` figure, the gateway's count of answers within each histogram bucket
    (seconds, cumulative, as `/metrics` gives them) so far."""
    answer = httpx.get(
        base_url + "/metrics", headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    )
    answer.raise_for_status()
    wanted = {(method, route, status): name for name, method, route, status in SERVER_TIMED}
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name != "ledger_http_request_duration_seconds_bucket":
                continue
            labels = sample.labels
            name = wanted.get((labels["method"], labels["route"], labels["status"]))
            if name is not None:
                buckets = found.setdefault(name, {})
                buckets[labels["le"]] = buckets.get(labels["le"], 0.0) + sample.value
    return found


def server_shares(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, list[tuple[float, float]]]:
    """Between two `answer_buckets` reads, per figure: [(bound in ms, the share in % of the
    answers the gateway gave within it), ...] by bound, each from the request's arrival to its
    first byte out (what the load generator's clock adds on top is its own queueing and the
    network)."""
    shares: dict[str, list[tuple[float, float]]] = {}
    for name, buckets in after.items():
        then = before.get(name, {})
        counts = {le: value - then.get(le, 0.0) for le, value in buckets.items()}
        total = counts.get("+Inf", 0.0)
        if total <= 0:
            continue
        shares[name] = [
            (float(le) * 1000, round(100 * count / total, 1))
            for le, count in sorted(counts.items(), key=lambda kv: float(kv[0]))
            if le != "+Inf" and float(le) <= 0.25
        ]
    return shares


def writer_lock_figures(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], seconds: float
) -> dict[str, Any]:
    """The lock's share of `seconds` held by each writer and by all (%), and each writer's mean
    wait and mean hold per transaction (ms), between two `writer_lock_seconds` reads."""
    held: dict[str, float] = {}
    waited: dict[str, float] = {}
    turns: dict[str, float] = {}
    for writer, now in after.items():
        then = before.get(writer, {})
        count = now.get("hold_count", 0) - then.get("hold_count", 0)
        if count <= 0:
            continue
        held[writer] = round(100 * (now["hold"] - then.get("hold", 0)) / seconds, 1)
        waited[writer] = round(1000 * (now["wait"] - then.get("wait", 0)) / count, 2)
        turns[writer] = round(1000 * (now["hold"] - then.get("hold", 0)) / count, 2)
    return {
        "writer_lock_busy_pct": round(sum(held.values()), 1),
        "writer_lock_held_pct_by_writer": held,
        "writer_lock_mean_wait_ms_by_writer": waited,
        "writer_lock_mean_hold_ms_by_writer": turns,
    }


async def until_settled(base_url: str, admin_key: str, timeout_s: float = 300) -> float:
    """Waits until the gateway has nothing left to do (`leftover_work` empty on two reads in a
    row, a second apart), so the idle window measures idling, not the earlier phases' tail;
    the seconds it took. `RuntimeError` after `timeout_s`."""
    started, quiet_reads = time.perf_counter(), 0
    left: dict[str, float] = {}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while quiet_reads < 2:
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"the gateway still had work after {timeout_s:.0f} s: {left}")
            answer = await asyncio.to_thread(
                http.get, "/metrics", headers={"Authorization": f"Bearer {admin_key}"}
            )
            answer.raise_for_status()
            left = leftover_work(answer.text)
            quiet_reads = 0 if left else quiet_reads + 1
            await asyncio.sleep(1.0)
    return time.perf_counter() - started


async def idle_cpu_pct(root: int, cpu_seconds: Any, window_s: float) -> float:
    """CPU of the gateway's processes over `window_s` with no traffic, % of one core (after
    `until_settled`)."""
    await asyncio.sleep(3.0)  # the last status lines and the `/metrics` reads settle
    before, started = cpu_seconds(root), time.perf_counter()
    await asyncio.sleep(window_s)
    spent = cpu_seconds(root) - before
    return 100 * spent / (time.perf_counter() - started)
