"""The audit trail (DOMAIN.md, "Trust, privacy and security": "keep an audit trail"): every
security-relevant action names the key that did it, in the transaction of the action; the
admin reads the whole trail, a brand its own rows; a refused action writes no row; rows
cannot be changed (README, "Audit trail")."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from support.cli import ledger
from support.gateway import Brand, Gateway
from support.rows import rows_mentioning

from ledger_api.db.audit_models import AuditEntry

ADMIN_AUDIT, BRAND_AUDIT = "/v1/admin/audit", "/v1/audit"


def _prefix(api_key: str) -> str:
    return api_key.split("_")[1]


def _all(api: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry of the trail at `path`, page after page (newest first)."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(path, params={**params, **({"before": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        entries += page.json()["entries"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return entries


def _count(gateway: Gateway) -> int:
    with gateway.runtime.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_every_admin_key_action_is_recorded_with_the_key_that_did_it(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    """DOMAIN.md's lesson from the 5-million-member leak: "keep an audit trail". With two admin
    keys, one revokes a brand's API key, replaces another brand's keys and suspends that brand:
    each act is a row naming that admin key (not the scope `admin`), in the database and in
    `GET /v1/admin/audit`; so is the second key's creation, by the settings admin key."""
    created = gateway.admin.post("/v1/admin/api-keys", {})
    assert created.status_code == 201, created.text
    actor_key, actor = created.json()["api_key"], created.json()["prefix"]
    ops = gateway.api(actor_key)
    victim = _prefix(brand.api_key)
    revoked = ops.http.delete(f"/v1/admin/api-keys/{victim}")
    assert revoked.status_code == 204, revoked.text
    rotated = ops.post(f"/v1/admin/brands/{other_brand.brand_id}/api-keys", {})
    assert rotated.status_code == 201, rotated.text
    suspended = ops.post(
        f"/v1/admin/brands/{other_brand.brand_id}/suspension",
        {"suspended": True},
        params={"wait": "true"},
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "confirmed"
    operation_id = suspended.json()["operation_id"]

    missing = {
        f"revocation of {victim}": rows_mentioning(gateway.runtime.db, actor, victim),
        f"rotation to {rotated.json()['prefix']}": rows_mentioning(
            gateway.runtime.db, actor, rotated.json()["prefix"]
        ),
        "suspension": rows_mentioning(gateway.runtime.db, actor, operation_id),
    }
    assert all(missing.values()), f"no record names admin key {actor} for: {missing}"

    acts = _all(gateway.admin, ADMIN_AUDIT, actor=actor)
    assert [(e["action"], e["target"], e["brand_id"]) for e in acts] == [
        ("brand.suspended", str(other_brand.brand_id), other_brand.brand_id),
        ("api_key.rotated", rotated.json()["prefix"], other_brand.brand_id),
        ("api_key.revoked", victim, brand.brand_id),
    ]
    assert all(
        e["actor"] == {"scope": "admin", "key_prefix": actor, "brand_id": None} for e in acts
    )
    assert acts[0]["operation_id"] == operation_id
    assert acts[1]["details"]["revoked"] == [_prefix(other_brand.api_key)]
    assert acts[2]["details"] == {"key_scope": "brand"}
    (birth,) = _all(gateway.admin, ADMIN_AUDIT, action="admin_key.created")
    assert birth["target"] == actor and birth["actor"]["key_prefix"] == "settings"
    stamps = [e["at"] for e in acts]
    assert stamps == sorted(stamps, reverse=True) and all(s.endswith("Z") for s in stamps)


def test_admin_settings_brand_keys_and_webhooks_are_audited_and_no_secret_is_kept(
    own_env: dict[str, str],
) -> None:
    """The admin's writes on chain (a point value, the pause, a tier rule, the campaign cap)
    are audited with their operation; a brand's own key rotation and webhook endpoints with the
    brand key; no row holds a key, the endpoint's secret or its URL's query. On a chain of its
    own: the tier rule and the campaign cap are the alliance's (on the shared chain the rule
    made later tests' members Silver at 100 cents)."""
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        admin = gateway.admin
        for path, body in (
            (f"/v1/admin/brands/{brand.brand_id}/point-value", {"value_micro_usd": 20_000}),
            (f"/v1/admin/brands/{brand.brand_id}/daily-cap", {"daily_cap_points": 1_000_000}),
            ("/v1/admin/tiers/1", {"spend_cents": 100, "orders": 1, "engagements": 0}),
            ("/v1/admin/campaigns/cap", {"max_multiplier_pct": 900}),
        ):
            answer = admin.put(path, body)
            assert answer.status_code == 202, (path, answer.text)
        rotated = brand.api.post("/v1/keys/rotate", {"keep_old": True, "label": "shop"})
        assert rotated.status_code == 201, rotated.text
        made = brand.api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook?token=abc123xyz"})
        assert made.status_code == 201, made.text
        endpoint = made.json()
        assert brand.api.http.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 200

        entries = _all(admin, ADMIN_AUDIT, brand_id=brand.brand_id)
        actions = [e["action"] for e in entries]
        assert actions[:6] == [
            "webhook.deleted",
            "webhook.created",
            "api_key.rotated",
            "brand.daily_cap_set",
            "brand.point_value_set",
            "brand.return_window_set",  # the fixture's window
        ], actions
        assert actions[-1] == "brand.onboarded"
        own = _prefix(brand.api_key)
        assert entries[0]["actor"] == {
            "scope": "brand",
            "key_prefix": own,
            "brand_id": brand.brand_id,
        }
        assert entries[1]["details"] == {"host": "127.0.0.1", "event_types": []}
        assert entries[2]["details"] == {"revoked": [], "keep_old": True, "label": "shop"}
        assert entries[4]["details"]["value_micro_usd"] == 20_000
        assert all(e["operation_id"] for e in entries[3:6])
        alliance = {e["action"]: e for e in _all(admin, ADMIN_AUDIT) if e["brand_id"] is None}
        assert alliance["tier.rule_set"]["target"] == "1"
        assert alliance["campaign.cap_set"]["details"] == {"max_multiplier_pct": 900}

        for secret in (brand.api_key, rotated.json()["api_key"], endpoint["secret"], "abc123xyz"):
            assert "audit_log" not in rows_mentioning(gateway.runtime.db, secret), secret


def test_pages_run_newest_first_with_a_cursor_and_filters(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    """Five rotations of a brand's keys read two at a time: newest first, each row once, the
    last page without a cursor; filters by action, actor and brand; a bad cursor, an unknown
    action or brand get their 4xx codes."""
    rotations = []
    for _ in range(5):
        answer = gateway.admin.post(f"/v1/admin/brands/{brand.brand_id}/api-keys", {})
        assert answer.status_code == 201, answer.text
        rotations.append(answer.json()["prefix"])
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"action": "api_key.rotated", "limit": 2}
        page = gateway.admin.get(
            ADMIN_AUDIT, params={**params, **({"before": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        pages.append([e["target"] for e in page.json()["entries"]])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [rotations[:-3:-1], rotations[2:0:-1], rotations[:1]]
    ids = [e["id"] for e in _all(gateway.admin, ADMIN_AUDIT)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)

    about_other = _all(gateway.admin, ADMIN_AUDIT, brand_id=other_brand.brand_id)
    everything = _all(gateway.admin, ADMIN_AUDIT)
    assert about_other == [e for e in everything if e["brand_id"] == other_brand.brand_id]
    assert [e["action"] for e in about_other] == ["brand.return_window_set", "brand.onboarded"]
    settings = _all(gateway.admin, ADMIN_AUDIT, actor="settings", action="api_key.rotated")
    assert [e["target"] for e in settings] == rotations[::-1]

    for params, status, code in (
        ({"before": "x1"}, 422, "invalid_cursor"),
        ({"before": "0"}, 422, "invalid_cursor"),
        ({"action": "brand.deleted"}, 422, "invalid_request"),
        ({"limit": 0}, 422, "invalid_request"),
        ({"actor": "lk_ab"}, 422, "invalid_request"),
        ({"brand_id": 999_999}, 404, "unknown_brand"),
        ({"brand_id": "x"}, 422, "invalid_id"),
    ):
        answer = gateway.admin.get(ADMIN_AUDIT, params=params)
        assert answer.status_code == status, (params, answer.text)
        assert answer.json()["error"]["code"] == code, (params, answer.text)


def test_a_brand_reads_its_own_rows_only(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    """Brand A reads its own acts and the admin's on A (the admin key's prefix withheld), never
    a row about brand B nor the alliance's own; an admin key has no brand trail and a brand
    key no admin trail (403)."""
    for owner in (brand, other_brand):
        assert owner.api.post("/v1/keys/rotate", {"keep_old": True}).status_code == 201
    assert (
        gateway.admin.post(f"/v1/admin/brands/{other_brand.brand_id}/api-keys", {}).status_code
        == 201
    )
    assert gateway.admin.post("/v1/admin/api-keys", {}).status_code == 201

    seen = _all(brand.api, BRAND_AUDIT)
    assert seen and {e["brand_id"] for e in seen} == {brand.brand_id}
    assert {e["action"] for e in seen} == {
        "brand.onboarded",
        "brand.return_window_set",
        "api_key.rotated",
    }
    by_admin = [e for e in seen if e["actor"]["scope"] == "admin"]
    assert by_admin and all(e["actor"]["key_prefix"] is None for e in by_admin)
    mine = [e for e in seen if e["actor"]["scope"] == "brand"]
    assert [e["actor"]["key_prefix"] for e in mine] == [_prefix(brand.api_key)]
    blob = json.dumps(seen)
    assert _prefix(other_brand.api_key) not in blob
    assert [e["action"] for e in _all(brand.api, BRAND_AUDIT, action="api_key.rotated")] == [
        "api_key.rotated"
    ]

    for api, path in ((gateway.admin, BRAND_AUDIT), (brand.api, ADMIN_AUDIT)):
        answer = api.get(path)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "forbidden"
    assert gateway.api(None).get(BRAND_AUDIT).status_code == 401


def test_a_refused_or_replayed_action_writes_no_row(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    """No row without its action: a refused revocation, rotation, suspension, pause or webhook
    (4xx) writes nothing; a replay of the same request answers again and writes nothing."""
    before = _count(gateway)
    admin, key = gateway.admin, "same-key-" + secrets.token_hex(4)
    refusals = [
        (admin.http.delete("/v1/admin/api-keys/0badc0de"), 404),
        (admin.post("/v1/admin/brands/999999/api-keys", {}), 404),
        (admin.post("/v1/admin/brands/999999/suspension", {"suspended": True}), 404),
        (admin.put("/v1/admin/pause", {"paused": False}), 409),  # not paused
        (admin.put("/v1/admin/tiers/9", {"spend_cents": 1, "orders": 1, "engagements": 1}), 422),
        (brand.api.http.delete(f"/v1/admin/api-keys/{_prefix(other_brand.api_key)}"), 403),
        (brand.api.post(f"/v1/admin/brands/{other_brand.brand_id}/api-keys", {}), 403),
        (brand.api.post("/v1/webhooks", {"url": "ftp://127.0.0.1/x"}), 422),
        (brand.api.post("/v1/keys/rotate", {"keep_old": "yes"}), 422),
    ]
    for answer, status in refusals:
        assert answer.status_code == status, answer.text
    assert _count(gateway) == before

    first = admin.post(f"/v1/admin/brands/{brand.brand_id}/api-keys", {}, key=key)
    again = admin.post(f"/v1/admin/brands/{brand.brand_id}/api-keys", {}, key=key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    window = {"days": 3}
    sent = [
        admin.put(
            f"/v1/admin/brands/{brand.brand_id}/return-window",
            window,
            headers={"Idempotency-Key": key + "w"},
        )
        for _ in range(2)
    ]
    assert [s.status_code for s in sent] == [202, 202]
    assert _count(gateway) == before + 2


def test_rows_cannot_be_changed_or_deleted(gateway: Gateway, brand: Brand) -> None:
    """Append-only: the database itself refuses an UPDATE or a DELETE of a row (0028)."""
    for statement in (
        "UPDATE audit_log SET actor_key = 'someone'",
        "DELETE FROM audit_log",
    ):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            gateway.runtime.db.write() as session,
        ):
            session.execute(text(statement))
    assert _all(gateway.admin, ADMIN_AUDIT)[-1]["action"] == "brand.onboarded"
    assert "someone" not in json.dumps(_all(gateway.admin, ADMIN_AUDIT))


def test_the_command_lines_key_changes_are_audited_as_cli(env: dict[str, str]) -> None:
    """`ledger admin-key create` and `ledger key revoke` act as `cli`."""
    assert ledger(env, "db", "upgrade").returncode == 0
    created = ledger(env, "admin-key", "create")
    assert created.returncode == 0, created.stderr
    prefix = _prefix(json.loads(created.stdout)["api_key"])
    revoked = ledger(env, "key", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    with Gateway(env) as gateway:
        acts = _all(gateway.admin, ADMIN_AUDIT, actor="cli")
    assert [(e["action"], e["target"]) for e in acts] == [
        ("api_key.revoked", prefix),
        ("admin_key.created", prefix),
    ]
    assert acts[0]["details"] == {"key_scope": "admin"}


@pytest.mark.slow
def test_the_trail_on_postgresql(pg_env: dict[str, str]) -> None:
    """PostgreSQL: the migration, a rotation and a suspension audited, a brand's scope, and
    the append-only trigger."""
    with Gateway(pg_env) as gateway:
        first, second = gateway.create_brand(), gateway.create_brand()
        rotated = gateway.admin.post(f"/v1/admin/brands/{second.brand_id}/api-keys", {})
        assert rotated.status_code == 201, rotated.text
        suspended = gateway.admin.post(
            f"/v1/admin/brands/{second.brand_id}/suspension", {"suspended": True}
        )
        assert suspended.status_code == 202, suspended.text
        acts = _all(gateway.admin, ADMIN_AUDIT, brand_id=second.brand_id, limit=1)
        assert [e["action"] for e in acts[:2]] == ["brand.suspended", "api_key.rotated"]
        assert acts[0]["operation_id"] == suspended.json()["operation_id"]
        assert {e["brand_id"] for e in _all(first.api, BRAND_AUDIT)} == {first.brand_id}
        with (
            pytest.raises(DBAPIError, match="append-only"),
            gateway.runtime.db.write() as session,
        ):
            session.execute(text("DELETE FROM audit_log"))
