"""Python function calls per request in the gateway, by thread: a figure that does not drift.

CPU time on this shared machine drifts by the minute (`tools/earn_load.py --cost` varies by
±15% from one run to the next), so a change worth a few percent hides in it. The number of
Python calls (and calls into C) a request makes is the same from run to run, so it shows such
a change at once. It is a proxy: a call into SQLite or a socket counts as one, however long it
takes; confirm a change with `tools/earn_load.py --cost ... --against`.

It starts anvil (100 ms blocks), deploys, serves the gateway in this process (uvicorn, the
sender and the indexer in their threads, as the test suite does), creates a brand (14-day
return window, as `make bench`), and counts with `threading.setprofile`:

- `--routes`: requests one after the other, per route (earn, status, missing), and prints the
  calls per request of the server thread;
- `--load N`: N earns from 32 concurrent clients (100 members) until the last is confirmed
  and indexed, and prints the calls per earn of each gateway thread.

    .venv/api/bin/python tools/call_count.py --routes earn,status,missing
    .venv/api/bin/python tools/call_count.py --load 2000 --top sender
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "api"))

from support.chain import start_anvil  # noqa: E402
from support.gateway import Brand, Gateway, Member, deployed_sqlite_env  # noqa: E402


class Counter:
    """Counts calls (Python and C) per thread while on; by function for the `top` threads."""

    def __init__(self) -> None:
        self.on = False
        self.skip: set[int] = set()  # the load's own threads
        self.top: set[int] = set()
        self.per_thread: collections.Counter[int] = collections.Counter()
        self.per_function: collections.Counter[str] = collections.Counter()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if not self.on or event not in ("call", "c_call"):
            return
        thread = threading.get_ident()
        if thread in self.skip:
            return
        self.per_thread[thread] += 1
        if thread in self.top:
            if event == "call":
                code = frame.f_code
                where = code.co_filename.rpartition("site-packages/")[2]
                self.per_function[f"{where.replace(str(ROOT) + '/', '')}:{code.co_name}"] += 1
            else:
                self.per_function[f"C:{getattr(arg, '__qualname__', arg)}"] += 1

    def start(self) -> None:
        self.per_thread.clear()
        self.per_function.clear()
        self.on = True

    def stop(self) -> None:
        self.on = False


def thread_names() -> dict[int, str]:
    return {t.ident: t.name.rstrip("0123456789-_") for t in threading.enumerate() if t.ident}


def route_calls(brand: Brand, counter: Counter, routes: list[str], breakdown: bool) -> None:
    server = next(t.ident for t in threading.enumerate() if t.name == "uvicorn")
    counter.top = {server} if breakdown and server is not None else set()
    api = brand.api
    first = api.post(PURCHASE, purchase(Member().address)).json()["operation_id"]
    api.wait(first)
    member = Member().address  # one member: its address's checksum is cached, as for regulars
    calls: dict[str, Callable[[], int]] = {
        "earn": lambda: api.post(PURCHASE, purchase(member)).status_code,
        "status": lambda: api.get(f"/v1/operations/{first}").status_code,
        "missing": lambda: api.get("/v1/no-such-route").status_code,
    }
    expected = {"earn": 202, "status": 200, "missing": 404}
    count = 300
    for route in routes:
        for _ in range(50):  # warm: caches, prepared statements
            calls[route]()
        counter.start()
        for _ in range(count):
            status = calls[route]()
            assert status == expected[route], (route, status)
        counter.stop()
        print(f"{route:8s} {counter.per_thread[server] / count:7.0f} calls per request (server)")
        top(counter, count)


def load_calls(gateway: Gateway, brand: Brand, counter: Counter, earns: int, name: str) -> None:
    members = [Member().address for _ in range(100)]
    local = threading.local()

    def one(i: int) -> str:
        if not hasattr(local, "http"):
            counter.skip.add(threading.get_ident())
            local.http = httpx.Client(
                base_url=gateway.base_url,
                headers={"Authorization": f"Bearer {brand.api_key}"},
                timeout=60,
            )
        answer = local.http.post(
            PURCHASE,
            json=purchase(members[i % len(members)]),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["operation_id"])

    counter.skip.add(threading.get_ident())
    with ThreadPoolExecutor(32) as pool:
        last = list(pool.map(one, range(200)))[-1]  # warm
        brand.api.wait(last)
        counter.top = {i for i, n in thread_names().items() if name and n.startswith(name)}
        counter.start()
        last = list(pool.map(one, range(earns)))[-1]
        brand.api.wait(last, timeout=600)
        time.sleep(2.0)  # the webhook thread's fan-out of the last events
        counter.stop()
    names = thread_names()
    by_name: collections.Counter[str] = collections.Counter()
    for thread, calls in counter.per_thread.items():
        by_name[names.get(thread, "(ended)")] += calls
    print(f"{sum(by_name.values()) / earns:7.0f} calls per earn, all gateway threads")
    for thread_name, calls in by_name.most_common():
        print(f"{calls / earns:7.0f}  {thread_name}")
    top(counter, earns)


def top(counter: Counter, per: int) -> None:
    for function, calls in counter.per_function.most_common(40):
        print(f"    {calls / per:7.1f}  {function}")


PURCHASE = "/v1/earn/purchase"
ROUTES = ("earn", "status", "missing")


def purchase(member: str) -> dict[str, Any]:
    return {"member": member, "amount_cents": 1_000, "order_ref": uuid.uuid4().hex}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routes", default=None, help="earn,status,missing: one at a time")
    parser.add_argument("--load", type=int, default=None, help="earns from 32 clients")
    parser.add_argument("--top", default=None, help="thread name prefix to break down (--load)")
    parser.add_argument("--server-top", action="store_true", help="break down the server's calls")
    args = parser.parse_args()
    if (args.routes is None) == (args.load is None):
        parser.error("give one of --routes and --load")
    unknown = set((args.routes or "").split(",")) - set(ROUTES) - {""}
    if unknown:
        parser.error(f"--routes: {', '.join(sorted(unknown))}; known: {', '.join(ROUTES)}")
    counter = Counter()
    threading.setprofile(counter)  # every thread started from here on: the gateway's
    folder = Path(tempfile.mkdtemp(prefix="call-count-"))
    anvil = start_anvil(extra=["--block-time", "0.1"])
    try:
        env = deployed_sqlite_env(
            anvil,
            folder,
            LEDGER_SQLITE_SYNCHRONOUS="FULL",
            LEDGER_ACCESS_LOG="false",
        )
        with Gateway(env) as gateway:
            brand = gateway.create_brand(return_window_days=None)
            if args.routes is not None:
                route_calls(brand, counter, args.routes.split(","), args.server_top)
            else:
                load_calls(gateway, brand, counter, args.load, args.top or "")
    finally:
        anvil.stop()
        shutil.rmtree(folder, ignore_errors=True)  # its database, manifest and keystores


if __name__ == "__main__":
    main()
