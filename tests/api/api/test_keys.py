"""Keys and limits (issue 9, item 8): revocation at once in every process, a cap on a brand's
active keys, a key rotates only itself, a per-address limit before authentication."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from support.gateway import Brand, Gateway, Member, ServingGatewayProcess

from ledger_api.access.ratelimit import RateLimiter
from ledger_api.api.limits import MAX_ADDRESS_CHARS, client_address
from ledger_api.error_bodies import error_headers
from ledger_api.errors import RateLimited

PURCHASE = "/v1/earn/purchase"


def _purchase() -> dict[str, object]:
    return {"member": Member().address, "amount_cents": 1_000, "order_ref": f"o-{uuid.uuid4()}"}


@contextmanager
def _second_gateway(env: dict[str, str], log: Path) -> Iterator[str]:
    """`ledger serve` in a process of its own on the same database (the first gateway keeps
    the sender lock, so this one only answers HTTP)."""
    gateway = ServingGatewayProcess(env, log).start()
    try:
        yield gateway.base_url
    finally:
        gateway.stop()


@pytest.mark.slow
def test_a_revoked_key_is_refused_at_once_by_another_gateway_process(
    env: dict[str, str], tmp_path: Path
) -> None:
    # the other process has the key's caller in memory (ApiKeys' KeyCache) when it is revoked
    with (
        Gateway(env) as gateway,
        _second_gateway(env, tmp_path / "second.log") as other_url,
    ):
        brand = gateway.create_brand()
        headers = {"Authorization": f"Bearer {brand.api_key}"}
        probe = f"/v1/operations/{uuid.uuid4()}"
        with httpx.Client(base_url=other_url, headers=headers, timeout=60) as other:
            assert other.get(probe).json()["error"]["code"] == "operation_not_found"
            prefix = brand.api_key.split("_")[1]
            assert gateway.admin.http.delete(f"/v1/admin/api-keys/{prefix}").status_code == 204
            refused = other.get(probe)
        assert refused.status_code == 401, refused.text


def test_a_revocation_epoch_file_made_again_ends_every_cached_caller(
    gateway: Gateway, brand: Brand
) -> None:
    """The epoch is the file's identity and size, not its size alone: an operator who removes
    the file (or a restore that brings an older one) must not bring back a cached caller whose
    key was revoked meanwhile. The revocation here is written straight to the database, as by a
    revoker that died before its append to the epoch file."""
    from sqlalchemy import update

    from ledger_api.db.models import ApiKey
    from ledger_api.db.types import utcnow

    assert brand.api.post(PURCHASE, _purchase()).status_code == 202  # now in memory
    prefix = brand.api_key.split("_")[1]
    with gateway.runtime.db.write() as session:
        session.execute(update(ApiKey).where(ApiKey.prefix == prefix).values(revoked_at=utcnow()))
    database = gateway.runtime.db.sqlite_file
    assert database is not None
    epoch = database.with_name(database.name + ".keys-epoch")
    assert epoch.stat().st_size == 0  # no revocation went through it yet
    # cached: the epoch is unchanged
    assert brand.api.post(PURCHASE, _purchase()).status_code == 202
    epoch.unlink()
    time.sleep(0.01)  # a later change time even on a coarse clock
    epoch.touch()
    assert brand.api.post(PURCHASE, _purchase()).status_code == 401


def test_a_brand_has_at_most_the_cap_of_active_keys(env: dict[str, str]) -> None:
    with Gateway({**env, "LEDGER_MAX_ACTIVE_KEYS_PER_BRAND": "3"}) as gateway:
        brand = gateway.create_brand()
        path = f"/v1/admin/brands/{brand.brand_id}/api-keys"
        assert brand.api.post("/v1/keys/rotate", {"keep_old": True}).status_code == 201
        assert gateway.admin.post(path, {"keep_old": True}).status_code == 201
        for refused in (
            brand.api.post("/v1/keys/rotate", {"keep_old": True}),
            gateway.admin.post(path, {"keep_old": True}),
        ):
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["code"] == "too_many_api_keys"
            assert error["details"] == {"max_active_keys": 3}
        # replacing a key (not keeping it) stays possible at the cap
        assert brand.api.post("/v1/keys/rotate", {}).status_code == 201


def test_a_brand_key_rotates_itself_only(gateway: Gateway, brand: Brand) -> None:
    path = f"/v1/admin/brands/{brand.brand_id}/api-keys"
    second = gateway.admin.post(path, {"keep_old": True}).json()["api_key"]
    rotated = brand.api.post("/v1/keys/rotate", {})
    assert rotated.status_code == 201, rotated.text
    assert brand.api.post(PURCHASE, _purchase()).status_code == 401  # the caller's own key
    assert gateway.api(second).post(PURCHASE, _purchase()).status_code == 202  # untouched
    assert gateway.api(rotated.json()["api_key"]).post(PURCHASE, _purchase()).status_code == 202
    # the admin's rotation replaces every key of the brand
    replaced = gateway.admin.post(path, {}).json()["api_key"]
    assert gateway.api(second).post(PURCHASE, _purchase()).status_code == 401
    assert gateway.api(replaced).post(PURCHASE, _purchase()).status_code == 202


def test_a_brand_key_revokes_itself_only(gateway: Gateway, brand: Brand) -> None:
    path = f"/v1/admin/brands/{brand.brand_id}/api-keys"
    second = gateway.api(gateway.admin.post(path, {"keep_old": True}).json()["api_key"])
    refused = second.http.delete(f"/v1/admin/api-keys/{brand.api_key.split('_')[1]}")
    assert refused.status_code == 403
    assert second.http.delete("/v1/keys/current").status_code == 204
    assert second.post(PURCHASE, _purchase()).status_code == 401
    assert brand.api.post(PURCHASE, _purchase()).status_code == 202


def test_requests_are_limited_per_address_before_authentication(env: dict[str, str]) -> None:
    limits = {"LEDGER_ADDRESS_RATE_LIMIT_PER_S": "0.5", "LEDGER_ADDRESS_RATE_LIMIT_BURST": "4"}
    with Gateway({**env, **limits}) as gateway:
        key_lookups: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "api_keys" in statement:
                key_lookups.append(statement)

        engines = {gateway.runtime.db.engine, gateway.runtime.db.read_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count)
        try:
            probe = f"/v1/members/{Member().address}"
            anonymous = gateway.api(None)
            bogus = gateway.api("lk_00000000_" + "A" * 43)
            codes = [api.get(probe).status_code for api in (bogus, anonymous, bogus, anonymous)]
            assert codes == [401, 401, 401, 401]
            lookups_before = len(key_lookups)
            limited = [api.get(probe) for api in (bogus, anonymous, bogus)]
            assert [r.status_code for r in limited] == [429, 429, 429]
            assert {r.json()["error"]["code"] for r in limited} == {"rate_limited"}
            assert int(limited[0].headers["Retry-After"]) >= 1
            assert len(key_lookups) == lookups_before  # refused before any key look-up
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", count)


def test_every_request_takes_from_its_address_before_routing(env: dict[str, str]) -> None:
    """A path no route serves, a wrong method, an oversized body and a WebSocket handshake take
    from the client address's bucket as a route's request does, and once it is empty are
    refused (429, counted under the route the request was for) before the body is read (a path
    no route serves had no limit at all: the check ran in the routes' authentication). Reading
    the operators' probes is not limited, but a made-up key shown to them is, before its
    look-up; other methods on them are limited too."""
    limits = {"LEDGER_ADDRESS_RATE_LIMIT_PER_S": "0.5", "LEDGER_ADDRESS_RATE_LIMIT_BURST": "4"}
    with Gateway({**env, **limits}) as gateway:
        anonymous = gateway.api(None)
        assert [anonymous.get("/v1/no-such-route").status_code for _ in range(2)] == [404] * 2
        assert [_websocket_handshake(gateway.port) for _ in range(2)] == [404] * 2
        member = f"/v1/members/{Member().address}"
        oversized = b"[" + b"0," * 600_000 + b"0]"  # past the 1 MiB default
        refused = [
            anonymous.get("/v1/no-such-route"),
            anonymous.http.delete(PURCHASE),
            anonymous.http.post(
                PURCHASE, content=oversized, headers={"Content-Type": "application/json"}
            ),
            anonymous.get(member),
            gateway.admin.post(PURCHASE, _purchase()),
            gateway.api("lk_00000000_" + "A" * 43).get("/v1/health"),  # a made-up key
            anonymous.http.post("/v1/health"),
        ]
        assert [r.status_code for r in refused] == [429] * 7, [r.text for r in refused]
        assert {r.json()["error"]["code"] for r in refused} == {"rate_limited"}
        assert {r.json()["error"]["message"] for r in refused} == {
            "too many requests from this client address"
        }
        assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
        probes = [
            anonymous.get("/v1/health"),
            gateway.admin.get("/v1/health"),
            anonymous.http.head("/v1/health"),  # a load balancer's HEAD check
        ]
        assert anonymous.http.head(member).status_code == 429
        scrape = gateway.admin.get("/metrics")
        assert [r.status_code for r in [*probes, scrape]] == [200] * 4, scrape.text
        assert 'route="/v1/members/{address}",status="429"' in scrape.text
        assert 'route="unmatched",status="429"' in scrape.text


def test_a_stored_admin_key_reads_the_probes_while_its_address_is_limited(
    env: dict[str, str],
) -> None:
    """A trial's finding: the admin key `ledger admin-key create` makes is stored, not in the
    settings, so every `/metrics` read with it took a token from the address's bucket, and a
    flood from the scraper's address refused the scrapes. A stored key the process has found
    once reads the probes as the settings' key does; a made-up one still takes a token."""
    limits = {"LEDGER_ADDRESS_RATE_LIMIT_PER_S": "0.01", "LEDGER_ADDRESS_RATE_LIMIT_BURST": "3"}
    with Gateway({**env, **limits}) as gateway:
        stored = gateway.runtime.api_keys.create_admin("scraper").plaintext
        scraper = gateway.api(stored)
        assert scraper.get("/metrics").status_code == 200  # found in the database: a token
        anonymous = gateway.api(None)
        assert [anonymous.get("/v1/nowhere").status_code for _ in range(3)] == [404, 404, 429]
        reads = [scraper.get("/metrics"), scraper.get("/v1/health"), scraper.http.head("/metrics")]
        assert [r.status_code for r in reads] == [200, 200, 200], [r.text for r in reads]
        assert reads[1].json().get("database") is not None  # the admin's detailed report
        made_up = gateway.api("lk_00000000_" + "A" * 43).get("/metrics")
        assert made_up.status_code == 429


def _websocket_handshake(port: int) -> int:
    """The status a WebSocket handshake gets (the gateway serves no WebSocket: the plain
    request it also is, here to a path no route serves: 404)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            b"GET /v1/no-such-route HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        return int(connection.recv(64).split()[1])


def test_retry_after_rounds_up_and_a_bucket_key_is_an_address_long() -> None:
    """A client that waits `Retry-After` is not refused again (2.5 s was "2"), and a forwarded
    address cannot make one bucket's key longer than an IPv6 address (a 32,000-character
    `X-Forwarded-For` was kept whole, per request)."""
    waits = [error_headers(RateLimited(retry_after_s=s))["Retry-After"] for s in (0.2, 1.001, 2.5)]
    assert waits == ["1", "2", "3"]
    assert client_address({"client": ("x" * 32_000, 1)}) == "x" * MAX_ADDRESS_CHARS
    assert client_address({}) == "unknown"


def test_an_ipv6_client_counts_by_its_slash_64() -> None:
    """A host is given a /64: keyed by address, one client took a fresh bucket with each of
    its 2^64 addresses. An IPv4-mapped address is its IPv4 client."""
    same = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:DB8:1:2:0:0:0:9"]
    assert {client_address({"client": (host, 1)}) for host in same} == {"2001:db8:1:2::/64"}
    assert client_address({"client": ("2001:db8:1:3::1", 1)}) == "2001:db8:1:3::/64"
    assert client_address({"client": ("::ffff:192.0.2.7", 1)}) == "192.0.2.7"
    assert client_address({"client": ("192.0.2.7", 1)}) == "192.0.2.7"
    assert client_address({"client": ("not:an:address", 1)}) == "not:an:address"


def test_the_address_table_stays_bounded_when_no_bucket_has_refilled() -> None:
    """Past `max_keys` the table dropped only the buckets that had refilled, so a flood of
    new addresses faster than the refill grew it without bound, and every new address
    scanned all of it. It now drops the least recently used: a bucket in use is kept."""
    limiter = RateLimiter(0.001, 3, max_keys=1_000)  # a token per 1,000 s: nothing refills
    for _ in range(3):
        limiter.check("busy")
    for number in range(5_000):
        limiter.check(f"198.51.{number // 256}.{number % 256}")
        assert len(limiter._buckets) <= 1_000
        if number % 500 == 0:
            with pytest.raises(RateLimited):  # still remembered: used more recently than most
                limiter.check("busy")
