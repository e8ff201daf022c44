"""Prometheus metrics (`/metrics`, prometheus-client), true across the gateway's processes.

Two sources, so that a scrape of any HTTP worker tells the same truth:

- Counted where it happens (prometheus-client metrics): HTTP requests and their latency by
  method, route template and status (`api.metrics.HttpMetrics`, in each HTTP process) and the
  confirmation latency of operations by kind (the sender, maybe in `ledger work`); on SQLite,
  each write transaction's wait for the one-writer lock and its hold, by writer thread. `ledger
  serve` gives every process it starts one folder (`PROMETHEUS_MULTIPROC_DIR`,
  prometheus-client's multiprocess mode: each process writes its own files, a scrape adds
  them up; `use_multiprocess`); a gateway run in one process without it counts in memory.
- Read from shared state at scrape time (`StateCollector`, from `usecases.monitoring`):
  operations by kind and status, queue depth per brand, the age of the oldest queued
  operation, transactions in flight and gas balance per signer, webhook deliveries by status,
  the index's height, the chain's head and the index lag in blocks.

Metric names start with `ledger_`; units are seconds, wei and blocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ledger_api.usecases.monitoring import Figures

MULTIPROCESS_VAR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "ledger_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "ledger_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response starts), by method and route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONFIRMATION_LATENCY = Histogram(
    "ledger_operation_confirmation_seconds",
    "From an operation's acceptance (202) to its final status, by kind and final status",
    ["kind", "status"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)

WEBHOOK_ATTEMPTS = Counter(
    "ledger_webhook_attempts",
    "Webhook delivery attempts by outcome: delivered, pending (failed, retried later), dead"
    " (failed, the retry schedule spent)",
    ["outcome"],
)


def start_delivery_attempts(outcomes: Iterable[str]) -> None:
    """Every outcome's series from zero, before the first attempt (the process that delivers):
    `increase(ledger_webhook_attempts_total{outcome="dead"}[5m])` then sees the first dead
    delivery, which a series born at 1 would hide (Prometheus's advice on labels known in
    advance)."""
    for outcome in outcomes:
        WEBHOOK_ATTEMPTS.labels(outcome)


def observe_delivery_attempt(outcome: str) -> None:
    """One delivery attempt written: the delivery's status after it."""
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


MEMBER_READS = Counter(
    "ledger_member_reads",
    "Members' records a brand key read (GET /v1/members/{address}), by brand and whether the"
    " member holds any of the brand's points, live or pending (served=no, many of them, is a"
    " scrape of other brands' members: DOMAIN.md, alert on anomalies)",
    ["brand", "served"],
)


def observe_member_read(brand: int | None, served: bool) -> None:
    """One member's record read by a brand key."""
    MEMBER_READS.labels(_brand(brand), "yes" if served else "no").inc()


LOCK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30)
WRITER_LOCK_WAIT = Histogram(
    "ledger_db_writer_lock_wait_seconds",
    "SQLite: time a write transaction waited for the one-writer lock (all processes), by writer"
    " (the thread's role: intake, sender, indexer, webhooks, ...)",
    ["writer"],
    buckets=LOCK_BUCKETS,
)
WRITER_LOCK_HOLD = Histogram(
    "ledger_db_writer_lock_hold_seconds",
    "SQLite: time a write transaction held the one-writer lock, by writer",
    ["writer"],
    buckets=LOCK_BUCKETS,
)


WAL_SYNC = Histogram(
    "ledger_db_wal_sync_seconds",
    "SQLite: time a sync of the WAL to disk took, by writer: after a durable write let go of"
    " the one-writer lock, and before a replay's stored answer (the indexer's writes are not"
    " synced: the chain rebuilds them)",
    ["writer"],
    buckets=LOCK_BUCKETS,
)


def observe_wal_sync(writer: str, seconds: float) -> None:
    """One sync of the WAL (seconds): after a durable write, or before a replay's answer."""
    WAL_SYNC.labels(writer).observe(seconds)


def observe_writer_lock(writer: str, waited_s: float, held_s: float) -> None:
    """One write transaction's wait for the SQLite writer lock and its hold (seconds)."""
    WRITER_LOCK_WAIT.labels(writer).observe(waited_s)
    WRITER_LOCK_HOLD.labels(writer).observe(held_s)


def use_multiprocess(folder: Path) -> None:
    """Counts of this process and of every process it starts go to files in one folder
    (`PROMETHEUS_MULTIPROC_DIR`: the operator's, else `folder`, which `ledger serve` makes in
    its temporary folder, `process.tempdirs`, and removes). Call before any metric counts."""
    if not os.environ.get(MULTIPROCESS_VAR):
        folder.mkdir(parents=True, exist_ok=True)
        os.environ[MULTIPROCESS_VAR] = str(folder)
    # prometheus-client picks its value class when first imported: pick again now
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def observe_settled(settled: Iterable[tuple[str, str, datetime, datetime]]) -> None:
    """Operations that became final: (kind, status, created_at, updated_at) each."""
    for kind, status, created_at, updated_at in settled:
        start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (created_at, updated_at))
        seconds = max(0.0, (end - start).total_seconds())
        CONFIRMATION_LATENCY.labels(kind, status).observe(seconds)


class StateCollector(Collector):
    """The gateway's shared state, read once per scrape (`Figures`)."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        operations = GaugeMetricFamily(
            "ledger_operations",
            "Operations not yet final, by kind and status (queued, submitted); final ones are"
            " counted by ledger_operation_confirmation_seconds",
            labels=["kind", "status"],
        )
        for (kind, status), count in sorted(f.operations.items()):
            operations.add_metric([kind, status], count)
        yield operations
        queue = GaugeMetricFamily(
            "ledger_queue_depth", "Operations queued, not yet sent, by brand", labels=["brand"]
        )
        for brand, count in sorted(f.queued_by_brand.items(), key=lambda i: i[0] or 0):
            queue.add_metric([_brand(brand)], count)
        yield queue
        yield GaugeMetricFamily(
            "ledger_oldest_queued_operation_seconds",
            "Age of the oldest queued operation (0: none): the sender's lag",
            value=f.oldest_queued_age_s,
        )
        yield from self._signers()
        deliveries = GaugeMetricFamily(
            "ledger_webhook_deliveries",
            "Webhook deliveries waiting (pending), held (pending for a disabled endpoint: not"
            " attempted until a retry) or given up (dead) now, a deleted endpoint's not counted;"
            " delivered ones are counted by ledger_webhook_attempts_total",
            labels=["status"],
        )
        for status, count in f.deliveries_shown.items():  # a sample for each, 0 when none
            deliveries.add_metric([status], count)
        yield deliveries
        yield GaugeMetricFamily(
            "ledger_index_block", "The last block the index applied", value=f.index_block
        )
        if f.chain_head is not None:
            yield GaugeMetricFamily("ledger_chain_head", "The chain's head", value=f.chain_head)
        if f.index_lag_blocks is not None:
            yield GaugeMetricFamily(
                "ledger_index_lag_blocks",
                "Blocks between the chain's head and the index",
                value=f.index_lag_blocks,
            )
        yield GaugeMetricFamily(
            "ledger_metrics_state_read_seconds",
            "Time the scrape took to read the gateway's state from the database",
            value=round(f.read_s, 6),
        )

    def _signers(self) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily(
            "ledger_signer_in_flight_transactions",
            "Transactions signed or sent, not yet final, by signer",
            labels=["signer", "brand"],
        )
        balance = GaugeMetricFamily(
            "ledger_signer_balance_wei", "Each signer's gas balance", labels=["signer", "brand"]
        )
        for s in self.figures.signers:
            in_flight.add_metric([s.address, _brand(s.brand_id)], s.in_flight)
            if s.balance_wei is not None:
                balance.add_metric([s.address, _brand(s.brand_id)], float(s.balance_wei))
        yield in_flight
        yield balance


def _brand(brand: int | None) -> str:
    return "admin" if brand is None else str(brand)


def render(figures: Figures) -> bytes:
    """The exposition text: the counted metrics (every process's, in multiprocess mode) and
    the state read for this scrape."""
    state = CollectorRegistry(auto_describe=True)
    state.register(StateCollector(figures))
    folder = os.environ.get(MULTIPROCESS_VAR)
    if folder:
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted, path=folder)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(state)
