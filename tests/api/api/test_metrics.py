"""Prometheus metrics at `/metrics` (issue 13 item 2): the admin key only; HTTP requests by
route template and status, operations, queue, signers, index lag, webhook deliveries; true
across `ledger serve` + `ledger work` (prometheus-client's multiprocess mode); JSON logs with
`LEDGER_LOG_FORMAT=json`."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.chain import Anvil
from support.flows import earn
from support.gateway import Brand, Gateway, GatewayProcess, Member, gateway_env
from support.progress import wait_for
from support.receiver import Receiver


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def test_metrics_need_the_admin_key(gateway: Gateway, brand: Brand) -> None:
    anonymous = gateway.api(None).get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    as_brand = brand.api.get("/metrics")
    assert as_brand.status_code == 403
    assert as_brand.json()["error"]["code"] == "forbidden"


def test_metrics_count_requests_by_route_and_show_the_gateways_state(
    gateway: Gateway, brand: Brand
) -> None:
    before = _samples(gateway.admin.get("/metrics").text)
    member = Member()
    earn(brand, member, 2_000)
    assert brand.api.get(f"/v1/members/{member.address}").status_code == 200
    assert brand.api.get("/v1/nowhere").status_code == 404
    for method in ("PROPFIND", "MKCOL", "LOCK"):  # methods the API serves none of
        assert brand.api.http.request(method, "/v1/nowhere").status_code == 404
    # refused before routing: under the route the request was for (were all "unmatched")
    refusals = [
        ({"content": b" " * 2_000_000, "headers": {"Content-Type": "application/json"}}, 413),
        ({"content": b"amount=1", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"content": b"[" * 40 + b"]" * 40, "headers": {"Content-Type": "application/json"}}, 400),
    ]
    for sent, status in refusals:
        refused = brand.api.http.post("/v1/earn/engagement", **sent)
        assert refused.status_code == status, refused.text
    wrong_method = brand.api.http.put("/v1/earn/engagement", **refusals[1][0])
    assert wrong_method.status_code == 415  # refused before routing would answer 405
    # a plain route and a mount under their templates (a trial: both counted "unmatched")
    anonymous = gateway.api(None)
    assert anonymous.get("/openapi.json").status_code == 200
    assert anonymous.get("/docs/assets/favicon.png").status_code == 200
    assert anonymous.http.head("/openapi.json").status_code == 200
    assert anonymous.http.head("/docs/assets/favicon.png").status_code == 200

    scrape = gateway.admin.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    after = _samples(scrape.text)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = {"method": "GET", "route": "/v1/members/{address}", "status": "200"}
    assert grew("ledger_http_requests_total", **route) == 1
    assert grew("ledger_http_request_duration_seconds_count", **route) == 1
    assert grew("ledger_http_requests_total", method="GET", route="unmatched", status="404") == 1
    # one series for every method the API serves none of: a client cannot multiply them
    assert grew("ledger_http_requests_total", method="other", route="unmatched") == 3
    assert 'method="PROPFIND"' not in scrape.text
    assert grew("ledger_http_requests_total", route="/v1/earn/purchase", status="200") == 1
    for _, status in refusals:
        engagement = {"method": "POST", "route": "/v1/earn/engagement", "status": str(status)}
        assert grew("ledger_http_requests_total", **engagement) == 1
    assert grew("ledger_http_requests_total", route="unmatched", status="413") == 0
    for method in ("GET", "HEAD"):
        for template in ("/openapi.json", "/docs/assets/{path}"):
            served = {"method": method, "route": template, "status": "200"}
            assert grew("ledger_http_requests_total", **served) == 1, served
    put = {"method": "PUT", "route": "/v1/earn/engagement", "status": "415"}
    assert grew("ledger_http_requests_total", **put) == 1  # as routing labels its 405
    assert grew("ledger_operation_confirmation_seconds_count", kind="earn") >= 1
    # the gauge holds what is in progress (issue 15: a scrape reads no history); the final
    # operations are the confirmation histogram's count
    final = [ls for (n, ls) in after if n == "ledger_operations" and ("status", "confirmed") in ls]
    assert final == []
    labels = {"signer": brand.signer, "brand": str(brand.brand_id)}
    assert _value(after, "ledger_signer_balance_wei", **labels) > 0
    assert ("ledger_signer_in_flight_transactions", frozenset(labels.items())) in after
    assert _value(after, "ledger_index_lag_blocks") >= 0
    assert ("ledger_oldest_queued_operation_seconds", frozenset()) in after
    documented = _documented_metrics()
    exported = {  # a counter's samples (the name the docs give) end in _total
        family.name + ("_total" if family.type == "counter" else ""): family.type
        for family in text_string_to_metric_families(scrape.text)
        if family.name.startswith("ledger_") and not family.name.endswith("_created")
    }
    assert {name: documented.get(name) for name in exported} == exported


def _documented_metrics() -> dict[str, str]:
    """docs/gateway.md's metrics table: each `ledger_*` name in a row's first cell, its type."""
    docs = Path(__file__).resolve().parents[3] / "docs" / "gateway.md"
    found: dict[str, str] = {}
    for line in docs.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`ledger_"):
            for name in re.findall(r"`(ledger_[a-z_]+)`", cells[0]):
                found[name] = cells[1]
    return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def served(anvil: Anvil, manifest: Path, tmp_path: Path) -> Iterator[GatewayProcess]:
    """`ledger serve` with the sender in `ledger work`, as `make run` runs it, logging JSON."""
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SENDER_PROCESS="true",
        LEDGER_LOG_FORMAT="json",
        LEDGER_SQLITE_SYNCHRONOUS="FULL",  # the default (the suite's other gateways: NORMAL)
    )
    gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
    yield gateway
    gateway.stop()


def test_member_reads_count_by_brand_and_whether_the_member_holds_its_points(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    """DOMAIN.md's lesson from a leak of 5 million members' records: "alert on anomalies". A
    brand key reading one member after another that it never served is what that leak looked
    like, and nothing showed it: `/metrics` counted reads by route and status only (a review
    of 2026-12-06). `ledger_member_reads_total` counts them by brand and `served` (the member
    holds some of the brand's points), so an alert can watch `served="no"` per brand."""
    served = [Member() for _ in range(2)]
    for member in served:
        earn(brand, member, 1_000)

    def reads() -> dict[tuple[str, str], float]:
        samples = _samples(gateway.admin.get("/metrics").text)
        return {
            (str(b.brand_id), flag): _value(
                samples, "ledger_member_reads_total", brand=str(b.brand_id), served=flag
            )
            for b in (brand, other_brand)
            for flag in ("yes", "no")
        }

    before = reads()
    for member in served:  # its own members
        assert brand.api.get(f"/v1/members/{member.address}").status_code == 200
    for member in served + [Member() for _ in range(5)]:  # members it never served
        assert other_brand.api.get(f"/v1/members/{member.address}").status_code == 200
    assert gateway.admin.get(f"/v1/members/{served[0].address}").status_code == 200  # not counted
    after = reads()
    grown = {key: after[key] - before[key] for key in after}
    assert grown == {
        (str(brand.brand_id), "yes"): 2,
        (str(brand.brand_id), "no"): 0,
        (str(other_brand.brand_id), "yes"): 0,
        (str(other_brand.brand_id), "no"): 7,
    }


def test_a_scrape_adds_up_the_http_process_and_the_sender_process(
    served: GatewayProcess, receiver: Receiver, closing: Callable[[httpx.Client], httpx.Client]
) -> None:
    admin = closing(
        httpx.Client(base_url=served.base_url, headers=served.admin_headers, timeout=60)
    )
    created = admin.post(
        "/v1/admin/brands",
        json={"name": f"Metrics {secrets.token_hex(3)}", "symbol": "MTR"},
        headers={"Idempotency-Key": secrets.token_hex(8)},
        params={"wait": "true"},
    )
    assert created.status_code == 200, created.text
    key = created.json()["api_key"]
    brand = closing(
        httpx.Client(
            base_url=served.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
    )
    subscribed = brand.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["operation.confirmed"]}
    )
    assert subscribed.status_code == 201, subscribed.text
    earned = brand.post(
        "/v1/earn/purchase",
        json={"member": Member().address, "amount_cents": 1_000, "order_ref": "metrics-1"},
        headers={"Idempotency-Key": secrets.token_hex(8)},
        params={"wait": "true"},
    )
    assert earned.status_code == 200 and earned.json()["status"] == "confirmed", earned.text
    secret = subscribed.json()["secret"]
    wait_for(lambda: receiver.of_type(secret, "operation.confirmed"), what="the webhook")

    def delivery_counted() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        scraped = _samples(admin.get("/metrics").text)
        delivered = _value(scraped, "ledger_webhook_attempts_total", outcome="delivered")
        # a scrape reads the database's deliveries before the deliverer's counters: one that
        # landed in between shows as pending and as delivered at once (a CI run under load),
        # so the reading waited for shows it delivered and none pending (the series present)
        waiting = scraped.get(("ledger_webhook_deliveries", frozenset({("status", "pending")})))
        return scraped if delivered >= 1 and waiting == 0 else None

    # the deliverer in `ledger work` counts its attempts by outcome (delivered webhooks are
    # counted as they go: a scrape no longer counts every delivery ever stored)
    samples = wait_for(delivery_counted, what="the delivery counted")
    # every outcome and status has its series, 0 when none: an alert on the increase of dead
    # deliveries sees the first one, a dashboard shows 0 rather than no data
    for outcome in ("pending", "dead"):
        series = ("ledger_webhook_attempts_total", frozenset({("outcome", outcome)}))
        assert samples.get(series) == 0, (outcome, samples.get(series))
    for status in ("pending", "held", "dead"):
        series = ("ledger_webhook_deliveries", frozenset({("status", status)}))
        assert samples.get(series) == 0, (status, samples.get(series))
    # counted in the HTTP process (uvicorn) ...
    assert _value(samples, "ledger_http_requests_total", route="/v1/earn/purchase") == 1
    # ... and in `ledger work`, which confirmed the operations: one scrape shows both
    assert _value(samples, "ledger_operation_confirmation_seconds_count", kind="earn") == 1
    assert _value(samples, "ledger_operation_confirmation_seconds_count", kind="onboard_brand") == 1
    # the SQLite writer lock, by writer: the intake stored the requests (HTTP process), the
    # signer and the indexer wrote in `ledger work`; each hold and each wait was counted
    for writer in ("intake", "sender", "indexer"):
        held = _value(samples, "ledger_db_writer_lock_hold_seconds_count", writer=writer)
        waited = _value(samples, "ledger_db_writer_lock_wait_seconds_count", writer=writer)
        assert held >= 1 and waited == held, (writer, held, waited)
        assert _value(samples, "ledger_db_writer_lock_hold_seconds_sum", writer=writer) > 0
    # the writes synced the WAL after letting go of the lock (issue 15): each of the intake's
    # (both requests were answered: it writes no more), the signer's as they end; never the
    # indexer's, whose rows the chain rebuilds
    synced = {
        writer: _value(samples, "ledger_db_wal_sync_seconds_count", writer=writer)
        for writer in ("intake", "sender", "indexer")
    }
    intake_held = _value(samples, "ledger_db_writer_lock_hold_seconds_count", writer="intake")
    sender_held = _value(samples, "ledger_db_writer_lock_hold_seconds_count", writer="sender")
    assert synced["intake"] == intake_held, (synced, intake_held)
    assert 1 <= synced["sender"] <= sender_held, (synced, sender_held)
    assert synced["indexer"] == 0, synced

    # JSON logs: whatever the gateway and its sender process logged is one object a line
    lines = [line for line in served.log.read_text().splitlines() if line.strip()]
    assert all(json.loads(line)["level"] for line in lines), lines[:5]


def test_json_logs_are_one_object_a_line() -> None:
    program = (
        "import logging; from ledger_api.process import logs; logs.configure('json'); "
        "logging.getLogger('ledger.test').warning('queue %s', 'full', extra={'brand_id': 7})"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    line = json.loads(done.stderr.strip())
    assert line["level"] == "WARNING"
    assert line["logger"] == "ledger.test"
    assert line["message"] == "queue full"
    assert line["brand_id"] == 7
    assert line["time"].endswith("Z") and "T" in line["time"]
