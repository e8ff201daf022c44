"""Campaign rules through the API (issue 16 item 1): creation, validation, versions and audit,
one rule per single kind; hostile bodies answer 4xx, never 500. The admin's cap, a chain rule
set on a chain of its own: test_campaign_cap.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from support.gateway import Brand, Gateway

RULES = "/v1/campaigns/rules"


def create(brand: Brand, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    response = brand.api.post(RULES, body, key=key or str(uuid.uuid4()))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_rule_is_created_versioned_and_every_change_audited(brand: Brand) -> None:
    rule = create(brand, {"kind": "green", "name": "Green double", "multiplier_pct": 200})
    assert (rule["kind"], rule["version"], rule["active"]) == ("green", 1, True)
    assert rule["params"] == {"multiplier_pct": 200}
    path = f"{RULES}/{rule['rule_id']}"

    updated = brand.api.put(path, {"kind": "green", "name": "Green triple", "multiplier_pct": 300})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["version"], updated.json()["params"]) == (2, {"multiplier_pct": 300})
    deleted = brand.api.http.delete(path, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert deleted.status_code == 200 and deleted.json()["active"] is False
    assert deleted.json()["version"] == 3

    history = brand.api.get(f"{path}/versions").json()
    entries = history["entries"]
    assert [(e["version"], e["action"]) for e in entries] == [
        (1, "created"),
        (2, "updated"),
        (3, "deleted"),
    ]
    assert entries[0]["old"] is None and entries[0]["new"]["params"] == {"multiplier_pct": 200}
    assert entries[1]["old"]["params"] == {"multiplier_pct": 200}
    assert entries[1]["new"]["name"] == "Green triple"
    assert entries[2]["old"]["active"] is True and entries[2]["new"]["active"] is False
    assert all(e["actor"].startswith("brand:") and e["at"] for e in entries)
    # each change is an event for the brand's webhooks and its feed, once
    feed = brand.api.get("/v1/events", params={"types": "campaign.rule_changed"}).json()
    changes = [e["data"] for e in feed["events"]]
    assert [(c["rule_id"], c["version"], c["action"]) for c in changes] == [
        (rule["rule_id"], 1, "created"),
        (rule["rule_id"], 2, "updated"),
        (rule["rule_id"], 3, "deleted"),
    ]
    assert changes[1]["params"] == {"multiplier_pct": 300} and changes[2]["active"] is False
    assert all(e["brands"] == [brand.brand_id] for e in feed["events"])

    listed = brand.api.get(RULES).json()
    assert listed["brand_id"] == brand.brand_id and listed["combine"] == "product"
    assert listed["base_rule"]["points_per_usd"] == 10  # the chain's rule, read-only
    assert [r["active"] for r in listed["rules"]] == [False]
    # a deleted rule cannot change any more
    again = brand.api.put(path, {"kind": "green", "name": "x", "multiplier_pct": 200})
    assert again.status_code == 404 and again.json()["error"]["code"] == "campaign_rule_not_found"


def test_a_replay_answers_the_first_answer_and_creates_one_rule(brand: Brand) -> None:
    body = {"kind": "birthday_week", "name": "Birthday", "multiplier_pct": 200}
    first = create(brand, body, key="rule-1")
    replayed = brand.api.post(RULES, body, key="rule-1")
    assert replayed.status_code == 201 and replayed.json() == first
    assert replayed.headers["Idempotent-Replayed"] == "true"
    conflict = brand.api.post(RULES, {**body, "multiplier_pct": 300}, key="rule-1")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert len(brand.api.get(RULES).json()["rules"]) == 1
    missing_key = brand.api.post(RULES, body, key=None)
    assert missing_key.json()["error"]["code"] == "idempotency_key_required"


def test_one_active_rule_per_single_kind_but_many_time_boxed(brand: Brand) -> None:
    create(brand, {"kind": "first_order", "name": "First", "multiplier_pct": 200})
    second = brand.api.post(RULES, {"kind": "first_order", "name": "Again", "multiplier_pct": 300})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "campaign_rule_conflict"
    window = {
        "kind": "time_boxed",
        "name": "Singles day",
        "multiplier_pct": 300,
        "starts_at": "2026-11-11T00:00:00Z",
        "ends_at": "2026-11-12T00:00:00+00:00",
        "earn_kinds": ["purchase"],
    }
    one, two = create(brand, window), create(brand, {**window, "name": "Other"})
    assert one["params"]["starts_at"] == 1_794_355_200 and two["version"] == 1
    assert one["params"]["ends_at"] - one["params"]["starts_at"] == 86_400
    change_kind = brand.api.put(
        f"{RULES}/{one['rule_id']}", {"kind": "green", "name": "x", "multiplier_pct": 200}
    )
    assert change_kind.status_code == 409
    assert change_kind.json()["error"]["code"] == "campaign_rule_conflict"


def test_a_brand_sees_and_changes_only_its_own_rules(brand: Brand, other_brand: Brand) -> None:
    rule = create(brand, {"kind": "green", "name": "Green", "multiplier_pct": 200})
    path = f"{RULES}/{rule['rule_id']}"
    assert other_brand.api.get(RULES).json()["rules"] == []
    for response in (
        other_brand.api.get(f"{path}/versions"),
        other_brand.api.put(path, {"kind": "green", "name": "mine", "multiplier_pct": 900}),
        other_brand.api.http.delete(path, headers={"Idempotency-Key": "x"}),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "campaign_rule_not_found"
    assert brand.api.get(RULES).json()["rules"][0]["params"] == {"multiplier_pct": 200}
    theirs = other_brand.api.get("/v1/events", params={"types": "campaign.rule_changed"})
    assert theirs.status_code == 200 and theirs.json()["events"] == []


HOSTILE: list[tuple[Any, str]] = [
    ({"kind": "green", "name": "x", "multiplier_pct": 0}, "invalid_multiplier"),
    ({"kind": "green", "name": "x", "multiplier_pct": 1001}, "invalid_multiplier"),
    ({"kind": "green", "name": "x", "multiplier_pct": "200"}, "invalid_multiplier"),
    ({"kind": "green", "name": "x", "multiplier_pct": True}, "invalid_multiplier"),
    ({"kind": "green", "name": "x", "multiplier_pct": 10**30}, "invalid_multiplier"),
    ({"kind": "green", "name": "x"}, "invalid_request"),
    ({"kind": "green", "name": "", "multiplier_pct": 200}, "invalid_request"),
    ({"kind": "green", "name": "a\x00b", "multiplier_pct": 200}, "invalid_request"),
    ({"kind": "green", "name": "x" * 101, "multiplier_pct": 200}, "invalid_request"),
    ({"kind": "green", "name": "x", "multiplier_pct": 200, "extra": 1}, "invalid_request"),
    ({"kind": "jackpot", "name": "x", "multiplier_pct": 200}, "invalid_request"),
    ({"name": "x", "multiplier_pct": 200}, "invalid_request"),
    ({"kind": "welcome_pack", "name": "x", "points": 0}, "invalid_amount"),
    ({"kind": "welcome_pack", "name": "x", "points": -5}, "invalid_amount"),
    ({"kind": "welcome_pack", "name": "x", "points": 10**7}, "invalid_amount"),
    ({"kind": "welcome_pack", "name": "x", "points": 1.5}, "invalid_amount"),
    (
        {
            "kind": "time_boxed",
            "name": "x",
            "multiplier_pct": 200,
            "starts_at": "2027-01-02T00:00:00Z",
            "ends_at": "2027-01-01T00:00:00Z",
        },
        "invalid_campaign_rule",
    ),
    (
        {
            "kind": "time_boxed",
            "name": "x",
            "multiplier_pct": 200,
            "starts_at": "2027-01-01T00:00:00",
            "ends_at": "2027-01-02T00:00:00",
        },
        "invalid_campaign_rule",
    ),
    (
        {
            "kind": "time_boxed",
            "name": "x",
            "multiplier_pct": 200,
            "starts_at": "2027-01-01T00:00:00Z",
            "ends_at": "2029-01-01T00:00:00Z",
        },
        "invalid_campaign_rule",
    ),
    (
        {
            "kind": "time_boxed",
            "name": "x",
            "multiplier_pct": 200,
            "starts_at": "2027-01-01T00:00:00Z",
            "ends_at": "2027-01-02T00:00:00Z",
            "earn_kinds": ["purchase", "purchase"],
        },
        "invalid_campaign_rule",
    ),
    (
        {
            "kind": "time_boxed",
            "name": "x",
            "multiplier_pct": 200,
            "starts_at": "not a time",
            "ends_at": "2027-01-02T00:00:00Z",
        },
        "invalid_request",
    ),
    (
        {
            "kind": "time_boxed",
            "name": "x",
            "multiplier_pct": 200,
            "starts_at": "9999-12-31T23:59:59Z",
            "ends_at": "9999-12-31T23:59:59Z",
        },
        "invalid_campaign_rule",
    ),
    ([1, 2, 3], "invalid_request"),
    ("green", "invalid_request"),
    (None, "invalid_request"),
]


@pytest.mark.parametrize(("body", "code"), HOSTILE)
def test_hostile_rule_bodies_get_a_4xx_with_a_stable_code(
    brand: Brand, body: Any, code: str
) -> None:
    response = brand.api.post(RULES, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert brand.api.get(RULES).json()["rules"] == []


def test_hostile_paths_and_updates_get_a_4xx(brand: Brand) -> None:
    rule = create(brand, {"kind": "green", "name": "Green", "multiplier_pct": 200})
    for path in (f"{RULES}/0", f"{RULES}/-1", f"{RULES}/abc", f"{RULES}/{2**70}"):
        response = brand.api.put(path, {"kind": "green", "name": "x", "multiplier_pct": 200})
        assert 400 <= response.status_code < 500, (path, response.text)
    bad = brand.api.put(f"{RULES}/{rule['rule_id']}", {"kind": "green", "multiplier_pct": -1})
    assert bad.status_code == 422
    json_type = {"Idempotency-Key": "raw-1", "Content-Type": "application/json"}
    raw = brand.api.http.post(RULES, content=b"{not json", headers=json_type)
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "malformed_body"
    untyped = brand.api.http.post(RULES, content=b"{not json", headers={"Idempotency-Key": "r-2"})
    assert untyped.status_code == 415  # no Content-Type: send it as JSON
    assert (
        brand.api.get(f"{RULES}/{rule['rule_id']}/versions").json()["entries"][-1]["version"] == 1
    )


def test_the_python_client_manages_rules_and_previews(gateway: Gateway, brand: Brand) -> None:
    client = gateway.client(brand.api_key)
    rule = client.add_campaign_rule({"kind": "green", "name": "Green", "multiplier_pct": 200})
    updated = client.update_campaign_rule(
        rule["rule_id"], {"kind": "green", "name": "Green", "multiplier_pct": 250}
    )
    assert updated["version"] == 2
    assert [e["action"] for e in client.campaign_rule_versions(rule["rule_id"])["entries"]] == [
        "created",
        "updated",
    ]
    member = "0x" + "ab" * 20
    preview = client.earn_preview(member, amount_cents=1_000, green=True)
    assert (preview["points"], preview["multiplier_pct"]) == (250, 250)
    accepted = client.earn_purchase(member, 1_000, "client-order", green=True, wait=True)
    assert (
        accepted["result"]["points"] == 250 and accepted["campaign"]["rules"][0]["rule"] == "green"
    )
    assert client.delete_campaign_rule(rule["rule_id"])["active"] is False
    assert client.campaign_rules()["rules"][0]["version"] == 3
    assert client.campaign_referrals()["referrals"] == []
