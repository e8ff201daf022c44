"""The latency phase of `make bench` (tools/bench.py): an open loop of single earns at
`--rate` operations/s, half waiting for confirmation (`Prefer: wait=10`: p50/p95/p99_ms),
half answered at acceptance (202: accept_p99_ms), with balance reads (GET /v1/members/{a},
most of them members of the seeded index) and status reads (GET /v1/operations/{id}) at
`--read-rate` under the same load."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Samples:
    confirmed: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)
    balance_reads: list[float] = field(default_factory=list)
    status_reads: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def _earn(client: Any, key: str, member: str, i: int, samples: Samples) -> None:
    wait = i % 2 == 0
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": secrets.token_hex(16)}
    if wait:
        headers["Prefer"] = "wait=10"
    body = {"member": member, "amount_cents": 1_000, "order_ref": f"lat-{i}"}
    sent = time.perf_counter()
    try:
        code, answer = await client.request("POST", "/v1/earn/purchase", headers, body)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        samples.failures.append(type(exc).__name__)
        return
    elapsed = (time.perf_counter() - sent) * 1000
    status = answer.get("status") if code in (200, 202) and answer else None
    if wait and status == "confirmed":
        samples.confirmed.append(elapsed)
    elif not wait and code == 202:
        samples.accepted.append(elapsed)
    else:
        samples.failures.append(f"{code} {status}")


async def _reader(
    client: Any,
    key: str,
    members: list[str],
    seeded: list[str],
    op_ids: list[str],
    read_rate: float,
    stop: asyncio.Event,
    samples: Samples,
) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    pool = seeded or members
    i = 0
    while not stop.is_set():
        sent = time.perf_counter()
        if i % 2 and op_ids:
            code, _ = await client.request("GET", f"/v1/operations/{op_ids[i % len(op_ids)]}", auth)
            into = samples.status_reads
        else:
            member = pool[i % len(pool)] if i % 4 else members[i % len(members)]
            code, _ = await client.request("GET", f"/v1/members/{member}", auth)
            into = samples.balance_reads
        if code == 200:
            into.append((time.perf_counter() - sent) * 1000)
        i += 1
        await asyncio.sleep(1 / read_rate)


async def latency(
    client: Any,
    key: str,
    args: argparse.Namespace,
    members: list[str],
    seeded: list[str],
    op_ids: list[str],
) -> dict[str, float]:
    samples = Samples()
    stop = asyncio.Event()
    read_task = asyncio.create_task(
        _reader(client, key, members, seeded, op_ids, args.read_rate, stop, samples)
    )
    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for i in range(int(args.rate * args.seconds)):
        delay = started + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_earn(client, key, members[i % len(members)], i, samples)))
    await asyncio.gather(*tasks)
    stop.set()
    await read_task
    return {
        "offered_ops_per_s": args.rate,
        "p50_ms": percentile(samples.confirmed, 50),
        "p95_ms": percentile(samples.confirmed, 95),
        "p99_ms": percentile(samples.confirmed, 99),
        "accept_p99_ms": percentile(samples.accepted, 99),
        "latency_ops_confirmed": len(samples.confirmed),
        "latency_ops_accepted": len(samples.accepted),
        "latency_ops_not_confirmed": len(samples.failures),
        "balance_read_p50_ms": percentile(samples.balance_reads, 50),
        "balance_read_p99_ms": percentile(samples.balance_reads, 99),
        "balance_reads": len(samples.balance_reads),
        "status_read_p99_ms": percentile(samples.status_reads, 99),
        "status_reads": len(samples.status_reads),
    }
