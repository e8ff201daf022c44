"""Dashboard and /metrics timings on a seeded program (issue 13): `make bench-dashboard`.

Seeds the index tables of a fresh SQLite database directly (10,000 members and 5 brands by
default, plus 50,000 confirmed operations for /metrics to count), serves it with a gateway
that neither sends nor indexes, then measures:

- the page load in headless Chromium (navigation start to the page's `dashboard-ready` mark:
  scripts, the four /v1/stats calls and every chart drawn), the first load and the median;
- each /v1/stats endpoint and a /metrics scrape over HTTP (median and worst of N).

Prints a table and writes reports/dashboard-bench.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))

import httpx  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from sqlalchemy import create_engine, insert  # noqa: E402
from support.dashboard import ServingGateway, chromium, seed_program  # noqa: E402

from ledger_api.db.models import Operation, table_of  # noqa: E402


def seed_operations(database_url: str, count: int) -> None:
    rows = [
        {
            "uid": str(uuid.uuid4()),
            "brand_id": None,
            "kind": "earn",
            "status": "confirmed",
            "points": 100,
            "payload": {},
        }
        for _ in range(count)
    ]
    with create_engine(database_url).begin() as connection:
        for start in range(0, count, 5_000):
            connection.execute(insert(table_of(Operation)), rows[start : start + 5_000])


def timed(client: httpx.Client, path: str, times: int) -> dict[str, float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        answer = client.get(path)
        spent.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text[:300]
    return {"median_ms": round(statistics.median(spent), 1), "max_ms": round(max(spent), 1)}


def page_loads(gateway: ServingGateway, times: int) -> list[float]:
    driver = chromium()
    try:
        driver.get(f"{gateway.base_url}/dashboard")
        driver.execute_script(
            "sessionStorage.setItem('ledger.dashboard.apiKey', arguments[0])",
            gateway.env["LEDGER_ADMIN_API_KEY"],
        )
        loads = []
        for _ in range(times):
            driver.refresh()
            WebDriverWait(driver, 300, poll_frequency=0.05).until(
                lambda d: (
                    d.execute_script("return document.body.dataset.state") in ("ready", "failed")
                )
            )
            state = driver.execute_script("return document.body.dataset.state")
            assert state == "ready", driver.find_element("id", "message").text
            ready = driver.execute_script(
                "return performance.getEntriesByName('dashboard-ready')[0].startTime"
            )
            loads.append(round(float(ready), 1))
        return loads
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--brands", type=int, default=5)
    parser.add_argument("--operations", type=int, default=50_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "dashboard-bench.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as folder:
        gateway = ServingGateway(Path(folder))
        with gateway:
            started = time.perf_counter()
            seed_program(gateway.database_url, members=args.members, brands=args.brands)
            seed_operations(gateway.database_url, args.operations)
            seeded_s = time.perf_counter() - started
            loads = page_loads(gateway, args.loads)
            client = httpx.Client(
                base_url=gateway.base_url, headers=gateway.admin_headers, timeout=120
            )
            endpoints = {
                path: timed(client, path, args.requests)
                for path in (
                    "/v1/stats/overview",
                    "/v1/stats/series?days=30",
                    "/v1/stats/flows",
                    "/v1/stats/gateway",
                    "/metrics",
                )
            }
            client.close()
    report: dict[str, Any] = {
        "members": args.members,
        "brands": args.brands,
        "operations": args.operations,
        "seed_s": round(seeded_s, 1),
        "page_load_first_ms": loads[0],
        "page_load_median_ms": statistics.median(loads),
        "page_loads_ms": loads,
        "endpoints": endpoints,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{args.members} members, {args.brands} brands, {args.operations} operations")
    print(
        f"page load (navigation to all charts drawn): first {loads[0]} ms, median "
        f"{report['page_load_median_ms']} ms over {len(loads)}"
    )
    for path, figures in endpoints.items():
        print(f"{path:28} median {figures['median_ms']:8.1f} ms   max {figures['max_ms']:8.1f} ms")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
