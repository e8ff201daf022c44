"""API keys, admin scope, rate limits and the daily mint cap."""

from __future__ import annotations

import uuid

import httpx
from support.gateway import Brand, Gateway, Member

PURCHASE = "/v1/earn/purchase"


def body(member: Member | None = None, cents: int = 1_000) -> dict[str, object]:
    return {
        "member": (member or Member()).address,
        "amount_cents": cents,
        "order_ref": f"o-{uuid.uuid4()}",
    }


def test_calls_without_a_key_or_with_a_wrong_key_are_unauthorized(
    gateway: Gateway, brand: Brand
) -> None:
    anonymous = gateway.api(None)
    assert anonymous.post(PURCHASE, body()).status_code == 401
    assert (
        anonymous.get(f"/v1/members/{Member().address}").json()["error"]["code"] == "unauthorized"
    )
    forged = gateway.api(brand.api_key[:-4] + "AAAA")
    response = forged.post(PURCHASE, body())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert gateway.api("garbage").post(PURCHASE, body()).status_code == 401


def test_brand_key_cannot_call_admin_endpoints(brand: Brand) -> None:
    response = brand.api.post("/v1/admin/brands", {"name": "Evil", "symbol": "EVL"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert (
        brand.api.put(
            "/v1/admin/tiers/1", {"spend_cents": 1, "orders": 1, "engagements": 0}
        ).status_code
        == 403
    )


def test_admin_key_cannot_earn_for_a_brand(gateway: Gateway) -> None:
    response = gateway.admin.post(PURCHASE, body())
    assert response.status_code == 403


def test_rotated_key_replaces_the_old_one(gateway: Gateway, brand: Brand) -> None:
    response = brand.api.post("/v1/keys/rotate", {})
    assert response.status_code == 201, response.text
    new_key = response.json()["api_key"]
    assert new_key and new_key != brand.api_key
    assert brand.api.post(PURCHASE, body()).status_code == 401
    assert gateway.api(new_key).post(PURCHASE, body()).status_code == 202


def test_admin_rotation_shows_the_key_once_and_replays_without_it(
    gateway: Gateway, brand: Brand
) -> None:
    path = f"/v1/admin/brands/{brand.brand_id}/api-keys"
    first = gateway.admin.post(path, {"keep_old": True}, key="rotate-1")
    again = gateway.admin.post(path, {"keep_old": True}, key="rotate-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["api_key"].startswith("lk_")
    assert again.json()["api_key"] is None
    assert again.json()["prefix"] == first.json()["prefix"]
    assert brand.api.post(PURCHASE, body()).status_code == 202  # kept


def test_revoked_key_is_refused_at_once(gateway: Gateway, brand: Brand) -> None:
    prefix = brand.api_key.split("_")[1]
    assert brand.api.post(PURCHASE, body()).status_code == 202
    assert gateway.admin.http.delete(f"/v1/admin/api-keys/{prefix}").status_code == 204
    assert brand.api.post(PURCHASE, body()).status_code == 401
    assert (
        gateway.admin.http.delete(f"/v1/admin/api-keys/{prefix}").json()["error"]["code"]
        == "unknown_api_key"
    )


def test_keys_are_stored_hashed(gateway: Gateway, brand: Brand) -> None:
    from sqlalchemy import select

    from ledger_api.db.models import ApiKey, Signer

    with gateway.runtime.db.read() as session:
        hashes = session.scalars(select(ApiKey.key_hash)).all()
        keystores = session.scalars(
            select(Signer.keystore).where(Signer.keystore.is_not(None))
        ).all()
    assert brand.api_key not in hashes
    assert all(len(h) == 64 for h in hashes)
    assert keystores and all('"crypto"' in k for k in keystores)  # encrypted keystore JSON
    listed = gateway.admin.get("/v1/admin/brands").json()
    assert "keystore" not in str(listed) and "private" not in str(listed).lower()


def test_rate_limit_answers_429_per_key(env: dict[str, str]) -> None:
    with Gateway(
        {**env, "LEDGER_RATE_LIMIT_PER_S": "0.5", "LEDGER_RATE_LIMIT_BURST": "3"}
    ) as gateway:
        member = Member().address
        codes = [gateway.admin.get(f"/v1/members/{member}").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3:] == [429, 429]
        limited = gateway.admin.get(f"/v1/members/{member}")
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1


def test_a_request_counts_once_against_the_rate_limit_however_many_dependencies_ask(
    env: dict[str, str],
) -> None:
    """An earn asks for its caller three times (its context, the brand check and the replay
    check); the caller is authenticated and rate limited once per request."""
    with Gateway(
        {**env, "LEDGER_RATE_LIMIT_PER_S": "0.5", "LEDGER_RATE_LIMIT_BURST": "3"}
    ) as gateway:
        brand = gateway.create_brand()
        codes = [brand.api.post(PURCHASE, body()).status_code for _ in range(4)]
        assert codes == [202, 202, 202, 429]


def test_daily_mint_cap_refuses_operations_beyond_it(gateway: Gateway) -> None:
    brand = gateway.create_brand(daily_cap_points=150)
    member = Member()
    assert brand.api.post(PURCHASE, body(member, 1_000)).status_code == 202  # 100 points
    response = brand.api.post(PURCHASE, body(member, 600))  # +60 > 150
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "daily_cap_exceeded"
    assert error["details"] == {"daily_cap_points": 150, "minted_today": 100, "requested": 60}
    assert brand.api.post(PURCHASE, body(member, 500)).status_code == 202  # exactly 150


def test_health_is_public_as_liveness_only(gateway: Gateway) -> None:
    health = httpx.get(f"{gateway.base_url}/v1/health").json()
    assert health == {"status": "ok"}  # the full report takes the admin key (test_health.py)
