"""Signed webhooks and the event feed (issue 12): real gateway, real anvil, a real receiver."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from support.chain import Anvil
from support.flows import earn, signed_redemption
from support.gateway import Gateway, Member
from support.progress import wait_for
from support.receiver import Receiver

from ledger_api.background.webhooks import secrets, store
from ledger_api.usecases.webhooks import MAX_ENDPOINTS_PER_OWNER

#: quick polls and retries, so a test waits on conditions that come within seconds
FAST = {
    "LEDGER_WEBHOOK_POLL_S": "0.05",
    "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": ",".join(["0.2"] * 12),
    "LEDGER_WEBHOOK_RETRY_JITTER": "0",
    "LEDGER_REMINDER_POLL_S": "0.2",
}


@pytest.fixture
def hooks(env: dict[str, str]) -> Any:
    with Gateway({**env, **FAST}) as running:
        yield running


@pytest.fixture
def receiver() -> Any:
    with Receiver() as running:
        yield running


def subscribe(api: Any, url: str, types: list[str] | None = None) -> dict[str, Any]:
    response = api.post("/v1/webhooks", {"url": url, "event_types": types or []})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_")
    return created


def feed(api: Any, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/events", params=params)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_an_earn_is_delivered_signed_and_in_the_feed(hooks: Gateway, receiver: Receiver) -> None:
    brand, other = hooks.create_brand(), hooks.create_brand()
    endpoint = subscribe(brand.api, receiver.url)
    secret = endpoint["secret"]
    listed = brand.api.get("/v1/webhooks").json()["webhooks"]
    assert [w["id"] for w in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]  # shown once only

    alice = Member()
    op = earn(brand, alice, 2_500)
    earned = wait_for(
        lambda: receiver.of_type(secret, "points.earned"), what="points.earned delivered"
    )
    confirmed = wait_for(
        lambda: receiver.of_type(secret, "operation.confirmed"), what="operation.confirmed"
    )
    assert earned[0]["data"]["member"] == alice.address
    assert earned[0]["data"]["brand_id"] == brand.brand_id
    assert earned[0]["data"]["points"] == 250
    assert earned[0]["brands"] == [brand.brand_id]
    assert confirmed[0]["data"]["operation_id"] == op["operation_id"]
    assert confirmed[0]["data"]["status"] == "confirmed"
    # the headers follow Standard Webhooks: the id is the event's, the signature the library's
    got = receiver.accepted[0]
    assert got.headers["webhook-id"] == got.event["id"]
    assert got.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43).verify(got.body, got.headers)

    # the feed holds the same events for the brand, none for another brand
    mine = feed(brand.api)
    assert {e["id"] for e in mine} >= {earned[0]["id"], confirmed[0]["id"]}
    assert [e["id"] for e in feed(other.api)] == []
    only = feed(brand.api, types="points.earned")
    assert [e["type"] for e in only] == ["points.earned"]
    after = feed(brand.api, after=mine[0]["cursor"])
    assert [e["id"] for e in after] == [e["id"] for e in mine[1:]]
    # the admin's feed, every page of it (the shared chain's earlier tests made more than
    # 500 events: one page of them missed this brand's newest)
    everything: set[str] = set()
    cursor = None
    while True:
        page = hooks.admin.get("/v1/events", params={"limit": 500, "after": cursor}).json()
        everything |= {e["id"] for e in page["events"]}
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert everything >= {e["id"] for e in mine}
    # a page says whether the feed goes on (a trial: only an empty page ended it)
    cursor, seen = None, []
    while True:
        page = brand.api.get("/v1/events", params={"limit": 1, "after": cursor}).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == [e["id"] for e in mine]
    end = brand.api.get("/v1/events", params={"after": cursor}).json()
    assert (end["events"], end["has_more"], end["next_cursor"]) == ([], False, cursor)

    deliveries = brand.api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["deliveries"]
    assert {d["status"] for d in deliveries} == {"delivered"}
    assert {d["last_status_code"] for d in deliveries} == {204}


def test_unsafe_urls_and_unknown_types_are_refused(hooks: Gateway) -> None:
    brand = hooks.create_brand()
    for url in (
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "ftp://example.com/hooks",
        "not a url",
        # a trial's: 500 (the host's IDNA encoding failed), or accepted and never delivered
        "http://a..b/",
        "http://" + "a" * 300 + ".com/",
        "http://127.0.0.1:9/o\u0000k",
        " http://127.0.0.1:9/ok",
    ):
        response = brand.api.post("/v1/webhooks", {"url": url})
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["code"] == "invalid_webhook_url", url
    extra = brand.api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/x", "secret": "mine"})
    assert extra.status_code == 422, extra.text  # unknown fields, as on every other route
    assert extra.json()["error"]["code"] == "invalid_request", extra.text
    bad = brand.api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/x", "event_types": ["x.y"]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_event_type"
    # a lone surrogate (a valid JSON escape, not valid Unicode) echoed by the error: answered
    # 422 with the escape, where rendering the error failed (500, a new user's trial)
    for body, code in (
        (b'{"url": "http://127.0.0.1:9/x", "event_types": ["\\ud800"]}', "invalid_event_type"),
        (b'{"url": "http://127.0.0.1:9/\\udc80", "event_types": ["x.\\udc80"]}', None),
    ):
        sent = brand.api.http.post(
            "/v1/webhooks", content=body, headers={"Content-Type": "application/json"}
        )
        assert sent.status_code == 422, sent.text
        assert code is None or sent.json()["error"]["code"] == code, sent.text
    cursor = brand.api.get("/v1/events", params={"after": "abc"})
    assert cursor.status_code == 422 and cursor.json()["error"]["code"] == "invalid_cursor"
    malformed = brand.api.get("/v1/webhooks/we_nope/deliveries")
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "invalid_id"
    missing = brand.api.get(f"/v1/webhooks/we_{'0' * 32}/deliveries")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "webhook_not_found"


def test_every_cursor_a_page_did_not_hand_out_is_invalid_cursor(
    hooks: Gateway, receiver: Receiver
) -> None:
    """Cursors are an event's seq in decimal digits. `int()` also took "+5", " 5" and "1_0",
    and one over 20 characters answered `invalid_request` (a trial); on both routes each
    now answers 422 `invalid_cursor`, and the largest seq still reads."""
    brand = hooks.create_brand()
    endpoint = subscribe(brand.api, receiver.url)
    routes = (
        ("/v1/events", "after"),
        (f"/v1/webhooks/{endpoint['id']}/deliveries", "before"),
    )
    for path, name in routes:
        for bad in ("+5", " 5", "5 ", "1_0", "0x5", "٥", "5" * 25, str(2**63), "-1", "soon"):
            answer = brand.api.get(path, params={name: bad})
            assert answer.status_code == 422, (path, bad, answer.text)
            assert answer.json()["error"]["code"] == "invalid_cursor", (path, bad, answer.text)
        # empty: none, on both; leading zeros, however many (20 had been refused)
        for good in ("5", str(2**63 - 1), "", "0005", "0" * 19 + "5", "0" * 40 + str(2**63 - 1)):
            answer = brand.api.get(path, params={name: good})
            assert answer.status_code == 200, (path, good, answer.text)
        # past the last event: the cursor handed back as pages hand them out (it was echoed)
        page = brand.api.get("/v1/events", params={"after": "0" * 30 + str(2**63 - 1)}).json()
        assert page["events"] == [] and page["next_cursor"] == str(2**63 - 1), page


def test_another_brands_endpoint_is_not_found(hooks: Gateway, receiver: Receiver) -> None:
    brand, other = hooks.create_brand(), hooks.create_brand()
    endpoint = subscribe(brand.api, receiver.url)
    for call in (
        other.api.http.delete(f"/v1/webhooks/{endpoint['id']}"),
        other.api.post(f"/v1/webhooks/{endpoint['id']}/test"),
        other.api.get(f"/v1/webhooks/{endpoint['id']}/deliveries"),
    ):
        assert call.status_code == 404 and call.json()["error"]["code"] == "webhook_not_found"
    deleted = brand.api.http.delete(f"/v1/webhooks/{endpoint['id']}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert brand.api.get("/v1/webhooks").json()["webhooks"] == []


def test_an_owner_holds_at_most_its_endpoints_limit(hooks: Gateway, receiver: Receiver) -> None:
    """A trial of 2026-12-05: one brand key made 37 endpoints (`MAX_ENDPOINTS_PER_OWNER` was never
    checked), and every event fans out a delivery, with retries, per endpoint. Racing creations
    stop at the limit too; a deleted endpoint makes room; the admin's and other brands' own."""
    brand, other = hooks.create_brand(), hooks.create_brand()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda i: brand.api.post("/v1/webhooks", {"url": f"{receiver.url}/h{i}"}),
                range(MAX_ENDPOINTS_PER_OWNER + 5),
            )
        )
    codes = Counter(a.status_code for a in answers)
    assert codes == {201: MAX_ENDPOINTS_PER_OWNER, 409: 5}, codes
    refusal = next(a.json()["error"] for a in answers if a.status_code == 409)
    assert refusal["code"] == "too_many_webhooks"
    assert refusal["details"] == {"max_endpoints": MAX_ENDPOINTS_PER_OWNER}
    held = brand.api.get("/v1/webhooks").json()["webhooks"]
    assert len(held) == MAX_ENDPOINTS_PER_OWNER
    subscribe(other.api, receiver.url)  # another brand's count is its own
    subscribe(hooks.admin, receiver.url)
    assert brand.api.http.delete(f"/v1/webhooks/{held[0]['id']}").status_code == 200
    subscribe(brand.api, receiver.url)
    again = brand.api.post("/v1/webhooks", {"url": receiver.url})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "too_many_webhooks")


def test_a_receiver_down_then_back_gets_every_event_once(
    hooks: Gateway, receiver: Receiver
) -> None:
    brand = hooks.create_brand()
    secret = subscribe(brand.api, receiver.url, ["points.earned"])["secret"]
    receiver.down = True
    members = [Member() for _ in range(4)]
    for member in members:
        earn(brand, member, 1_000)
    wait_for(lambda: len(receiver.received) >= 8, what="failed attempts while down")
    receiver.down = False
    events = wait_for(
        lambda: (got := receiver.events(secret)) and len(got) >= 4 and got,
        what="the events after the receiver came back",
    )
    ids = Counter(e["id"] for e in events)
    assert len(ids) == 4 and set(ids.values()) == {1}
    assert {e["data"]["member"] for e in events} == {m.address for m in members}
    endpoint_id = brand.api.get("/v1/webhooks").json()["webhooks"][0]["id"]
    path = f"/v1/webhooks/{endpoint_id}/deliveries"

    def settled() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = brand.api.get(path).json()["deliveries"]
        return rows if all(d["status"] == "delivered" for d in rows) else None

    deliveries = wait_for(settled, what="every delivery recorded as delivered")
    assert len(deliveries) == 4 and all(d["attempts"] >= 2 for d in deliveries)


def test_dead_letter_then_manual_retry_and_test_event(env: dict[str, str]) -> None:
    quick = {**FAST, "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": "0.1"}
    with Gateway({**env, **quick}) as gateway, Receiver() as receiver:
        brand = gateway.create_brand()
        endpoint = subscribe(brand.api, receiver.url)
        receiver.down = True
        sent = brand.api.post(f"/v1/webhooks/{endpoint['id']}/test")
        assert sent.status_code == 202 and sent.json()["event_type"] == "webhook.test"
        path = f"/v1/webhooks/{endpoint['id']}/deliveries"

        def dead() -> dict[str, Any] | None:
            rows = brand.api.get(path).json()["deliveries"]
            return next((d for d in rows if d["status"] == "dead"), None)

        delivery = wait_for(dead, what="the test delivery dead-lettered")
        assert delivery["attempts"] == 2 and delivery["last_status_code"] == 503
        assert delivery["last_error"] == "Service Unavailable"  # an empty body: its reason
        only_dead = brand.api.get(path, params={"status": "dead", "limit": 1}).json()
        assert [d["id"] for d in only_dead["deliveries"]] == [delivery["id"]]
        assert only_dead["next_cursor"] is None
        unknown_status = brand.api.get(path, params={"status": "lost"})
        assert unknown_status.status_code == 422
        assert unknown_status.json()["error"]["code"] == "invalid_request"
        not_a_cursor = brand.api.get(path, params={"before": "soon"})
        assert not_a_cursor.status_code == 422
        assert not_a_cursor.json()["error"]["code"] == "invalid_cursor"
        receiver.down = False
        retried = brand.api.post(f"{path}/{delivery['id']}/retry")
        assert retried.status_code == 202 and retried.json()["status"] == "pending"
        events = wait_for(
            lambda: receiver.of_type(endpoint["secret"], "webhook.test"), what="the retry"
        )
        assert len(events) == 1
        # a test event is for its endpoint only: not in the feed
        assert all(e["type"] != "webhook.test" for e in feed(gateway.admin, limit=500))
        malformed = brand.api.post(f"{path}/dlv_nope/retry")
        assert malformed.status_code == 422
        assert malformed.json()["error"]["code"] == "invalid_id"
        unknown = brand.api.post(f"{path}/dlv_{'0' * 32}/retry")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "delivery_not_found"


def test_a_disabled_endpoints_pending_deliveries_show_as_held(env: dict[str, str]) -> None:
    """An endpoint that failed for `LEDGER_WEBHOOK_DISABLE_AFTER_S` is disabled and its pending
    deliveries are not attempted: the list says `held`, with no next attempt (it said
    `pending`, with a time that would not come), until a retry re-enables the endpoint."""
    quick = {**FAST, "LEDGER_WEBHOOK_DISABLE_AFTER_S": "0.5"}
    with Gateway({**env, **quick}) as gateway, Receiver() as receiver:
        brand = gateway.create_brand()
        endpoint = subscribe(brand.api, receiver.url)
        receiver.down = True
        first = brand.api.post(f"/v1/webhooks/{endpoint['id']}/test").json()
        assert first["status"] == "pending" and first["next_attempt_at"] is not None

        def disabled() -> bool:
            listed = brand.api.get("/v1/webhooks").json()["webhooks"]
            return listed[0]["status"] == "disabled"

        wait_for(disabled, what="the failing endpoint disabled")
        path = f"/v1/webhooks/{endpoint['id']}/deliveries"
        second = brand.api.post(f"/v1/webhooks/{endpoint['id']}/test")
        assert second.status_code == 202, second.text
        assert second.json()["status"] == "held" and second.json()["next_attempt_at"] is None
        rows = brand.api.get(path).json()["deliveries"]
        assert [(d["id"], d["status"], d["next_attempt_at"]) for d in rows] == [
            (second.json()["id"], "held", None),
            (first["id"], "held", None),
        ]
        assert gateway.admin.get(path).json()["deliveries"] == rows
        receiver.down = False
        retried = brand.api.post(f"{path}/{first['id']}/retry")
        assert retried.status_code == 202 and retried.json()["status"] == "pending"

        def delivered() -> list[dict[str, Any]] | None:
            rows = brand.api.get(path).json()["deliveries"]
            return rows if all(d["status"] == "delivered" for d in rows) else None

        assert len(wait_for(delivered, what="both deliveries once re-enabled")) == 2


def test_tier_and_badge_events_from_real_flows(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    with Gateway({**own_env, **FAST}) as gateway, Receiver() as receiver:
        brand = gateway.create_brand()
        secret = subscribe(gateway.admin, receiver.url)["secret"]  # the admin's: all events
        rule = {"spend_cents": 5_000, "orders": 2, "engagements": 1, "gift_points": 50}
        assert (
            gateway.admin.put("/v1/admin/tiers/1", rule, params={"wait": "true"}).json()["status"]
            == "confirmed"
        )
        alice = Member()
        other = gateway.create_brand()

        def meet_silver() -> Any:
            """Silver's spend and orders at both brands, then the review that completes it."""
            earn(brand, alice, 3_000)
            earn(other, alice, 3_000)
            return brand.api.post(
                "/v1/earn/engagement",
                {"member": alice.address, "kind": "review"},
                params={"wait": "true"},
            )

        review = meet_silver()
        assert review.json()["result"]["tier_upgraded_to"] == 1
        upgraded = wait_for(lambda: receiver.of_type(secret, "tier.upgraded"), what="tier.upgraded")
        data = upgraded[0]["data"]
        assert (data["tier"], data["brand_id"]) == (1, brand.brand_id)
        # the brands that paid the gift, each its share (a trial: the event named the brand
        # whose review completed the upgrade as paying all of it): what each credited alice
        # beyond her earns there
        balances = {
            b["brand_id"]: b["balance"]
            for b in gateway.admin.get(f"/v1/members/{alice.address}").json()["balances"]
        }
        earned = {brand.brand_id: 300 + 5, other.brand_id: 300}
        paid = {b: balances[b] - earned[b] for b in earned}
        assert all(points > 0 for points in paid.values()) and sum(paid.values()) == 50, paid
        assert data["gift"] == {
            "points": 50,
            "shares": [
                {"brand_id": b, "points": paid[b], "locked_until": None}
                for b in (other.brand_id, brand.brand_id)  # the others', then the completing one's
            ],
        }
        assert {brand.brand_id, other.brand_id} <= set(upgraded[0]["brands"])

        defined = brand.api.post(
            "/v1/badges/types", {"kind": "achievement", "uri": "ipfs://b"}, params={"wait": "true"}
        ).json()
        type_id = defined["result"]["type_id"]
        brand.api.post(
            "/v1/badges/issue",
            {"type_id": type_id, "member": alice.address},
            params={"wait": "true"},
        )
        issued = wait_for(lambda: receiver.of_type(secret, "badge.issued"), what="badge.issued")
        assert issued[0]["data"]["badge_type_id"] == type_id
        assert issued[0]["data"]["member"] == alice.address

        # next quarters with nothing done: the review starts the grace period. A review the
        # chain already took is refused before its 202 (`tier_already_reviewed`); two sent
        # before either is mined both pass that check, and the second fails on chain:
        # `operation.failed` goes to the brand that sent it
        anvil, _ = own_chain
        anvil.rpc("evm_increaseTime", 200 * 86_400)
        anvil.rpc("evm_mine")
        review = f"/v1/tiers/{alice.address}/review"
        anvil.rpc("evm_setAutomine", False)
        try:
            uids = []
            for _ in range(2):
                accepted = brand.api.post(review)
                assert accepted.status_code == 202, accepted.text
                uids.append(accepted.json()["operation_id"])
            wait_for(
                lambda: all(brand.api.get(f"/v1/operations/{u}").json()["tx_hash"] for u in uids),
                what="both reviews sent",
            )
        finally:
            anvil.rpc("evm_setAutomine", True)
            anvil.rpc("evm_mine")
        outcomes = {final["status"]: final for final in map(brand.api.wait, uids)}
        assert set(outcomes) == {"confirmed", "failed"}, outcomes
        failed = wait_for(
            lambda: receiver.of_type(secret, "operation.failed"), what="operation.failed"
        )
        assert failed[0]["data"]["operation_id"] == outcomes["failed"]["operation_id"]
        assert failed[0]["data"]["error"]["code"] == "tier_already_reviewed"
        assert failed[0]["brands"] == [brand.brand_id]
        refused = brand.api.post(review)  # the chain has reviewed alice this quarter now
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "tier_already_reviewed"
        result = outcomes["confirmed"]["result"]
        # the answers' terms, as the events' (a trial read `graceUntilMonth: 687`)
        assert set(result) == {"review", "tier", "tier_name", "downgrade_at"}, result
        assert (result["review"], result["tier"], result["tier_name"]) == (
            "TierDowngradeWarned",
            1,
            "Silver",
        ), result
        grace = wait_for(
            lambda: receiver.of_type(secret, "tier.grace_started"), what="tier.grace_started"
        )
        data = grace[0]["data"]
        assert data["tier"] == 1 and data["required"]["spend_cents"] == 5_000
        assert data["missing"] == {"spend_cents": 5_000, "orders": 2, "engagements": 1}
        assert data["downgrade_at"].endswith("T00:00:00Z")
        assert data["downgrade_at"] == result["downgrade_at"]
        assert grace[0]["brands"] == sorted([brand.brand_id, other.brand_id])  # alice's points
        tier_view = brand.api.get(f"/v1/members/{alice.address}").json()["tier"]
        assert tier_view["grace_until"] is not None, tier_view

        # meeting Silver again during the grace ends it, and says so (a trial: the member
        # showed in grace until the next review, and no webhook told the brands)
        met = meet_silver()
        assert met.json()["status"] == "confirmed", met.text
        assert brand.api.get(f"/v1/members/{alice.address}").json()["tier"]["grace_until"] is None
        ended = wait_for(
            lambda: receiver.of_type(secret, "tier.grace_ended"), what="tier.grace_ended"
        )
        assert len(ended) == 1 and ended[0]["data"]["tier"] == 1, ended
        assert ended[0]["data"]["tier_name"] == "Silver"
        assert ended[0]["data"]["quarter"] == result_quarter(warned_at=data["downgrade_at"])
        ids = Counter(e["id"] for e in receiver.events(secret))
        assert set(ids.values()) == {1}


def test_a_cross_brand_redemption_is_in_both_brands_feeds(hooks: Gateway) -> None:
    brand, other, third = hooks.create_brand(), hooks.create_brand(), hooks.create_brand()
    alice = Member()
    earn(brand, alice, 10_000)
    redemption = signed_redemption(other, alice, brand.brand_id, 200, "checkout-7")
    answer = other.api.post("/v1/redemptions", redemption, params={"wait": "true"})
    assert answer.json()["status"] == "confirmed", answer.text

    def changed(api: Any) -> list[dict[str, Any]]:
        return feed(api, types="settlement.position_changed")

    for api in (brand.api, other.api):
        [event] = wait_for(lambda a=api: changed(a), what="settlement.position_changed")
        data = event["data"]
        assert data["debtor_brand_id"] == brand.brand_id
        assert data["creditor_brand_id"] == other.brand_id
        assert data["value_micro_usd"] == str(200 * 10_000)
        assert data["position"] == {"debtor_owes_creditor_micro_usd": str(200 * 10_000)}
    assert changed(third.api) == []


def test_the_writers_of_events_fan_them_out(env: dict[str, str], receiver: Receiver) -> None:
    """Issue 15: the settlement and the indexer write the deliveries of their events in their
    own transactions (the webhook thread took a turn at SQLite's one writer lock for that, a
    tenth of the lock's time under load): with no webhook thread at all, a confirmed earn's
    events already have their deliveries, and no event waits for its fan-out."""
    with Gateway({**env, "LEDGER_WEBHOOKS_ENABLED": "false"}) as gateway:
        brand = gateway.create_brand()
        endpoint = subscribe(brand.api, receiver.url, ["operation.confirmed", "points.earned"])
        earned = earn(brand, Member(), 1_000)  # confirmed and indexed
        answer = brand.api.get(f"/v1/webhooks/{endpoint['id']}/deliveries")
        assert answer.status_code == 200, answer.text
        with gateway.runtime.db.read() as session:
            waiting = store.undispatched(session)
    deliveries = answer.json()["deliveries"]
    assert sorted(d["event_type"] for d in deliveries) == ["operation.confirmed", "points.earned"]
    assert {d["status"] for d in deliveries} == {"pending"}  # nothing delivers them here
    assert not waiting
    assert receiver.received == []
    assert earned["status"] == "confirmed"


def test_an_admin_operation_on_a_brand_names_it_in_the_admins_event_only(
    hooks: Gateway,
) -> None:
    """Its `operation.confirmed` carries the brand the operation names, as its status does
    (new-user trial: `brand_id` was null), and stays the admin's: not in the brand's feed."""
    brand = hooks.create_brand()
    earn(brand, Member(), 1_000)  # the brand's feed holds its own operation's events
    path = f"/v1/admin/brands/{brand.brand_id}/point-value"
    changed = hooks.admin.put(path, {"value_micro_usd": 11_000}, params={"wait": "true"}).json()
    assert changed["status"] == "confirmed" and changed["brand_id"] == brand.brand_id, changed
    (event,) = [
        e
        for e in feed(hooks.admin, types="operation.confirmed", limit=500)
        if e["data"]["operation_id"] == changed["operation_id"]
    ]
    assert event["data"]["brand_id"] == brand.brand_id
    assert event["data"]["kind"] == "set_point_value" and event["brands"] == []
    mine = feed(brand.api, limit=500)
    assert mine and changed["operation_id"] not in {e["data"].get("operation_id") for e in mine}


def test_an_endpoint_keeps_its_secret_when_the_key_derivation_setting_changes(
    env: dict[str, str],
) -> None:
    """An endpoint's secret was sealed without its key derivation's iterations and opened with
    the setting's: raising `LEDGER_KEYSTORE_KDF_ITERATIONS` (hardening a deployment) made
    every delivery raise, and each was claimed again after its lease, for good. The
    iterations now travel with the sealed secret, as a keystore's do; a secret that does not
    open (another passphrase) is a failed attempt that says why, on the retry schedule."""
    with Receiver() as receiver:
        with Gateway({**env, **FAST}) as gateway:
            brand = gateway.create_brand()
            endpoint = subscribe(brand.api, receiver.url)
        hardened = {**env, **FAST, "LEDGER_KEYSTORE_KDF_ITERATIONS": "3000"}
        with Gateway(hardened) as gateway:
            _sends_after_the_setting_changed(gateway, brand.api_key, endpoint, receiver)


def _sends_after_the_setting_changed(
    gateway: Gateway, key: str, endpoint: dict[str, Any], receiver: Receiver
) -> None:
    api = gateway.api(key)
    sent = api.post(f"/v1/webhooks/{endpoint['id']}/test")
    assert sent.status_code == 202, sent.text
    events = wait_for(
        lambda: receiver.of_type(endpoint["secret"], "webhook.test"), what="the test event"
    )
    assert len(events) == 1

    with gateway.runtime.db.write() as session:  # as if sealed with another passphrase
        session.execute(
            text("UPDATE webhook_endpoints SET secret_encrypted = :s WHERE id = :i"),
            {"s": secrets.encrypt("whsec_x", "another passphrase", 1000), "i": endpoint["id"]},
        )
    refused = api.post(f"/v1/webhooks/{endpoint['id']}/test").json()
    path = f"/v1/webhooks/{endpoint['id']}/deliveries"

    def attempted() -> dict[str, Any] | None:
        rows = api.get(path).json()["deliveries"]
        row = next(d for d in rows if d["id"] == refused["id"])
        return row if row["attempts"] >= 1 else None

    row = wait_for(attempted, what="the attempt with a secret that does not open")
    assert row["last_error"].startswith("key_passphrase_mismatch: "), row
    assert row["last_status_code"] is None and len(receiver.accepted) == 1


def test_a_stored_url_no_delivery_can_send_to_fails_its_attempts(env: dict[str, str]) -> None:
    """A trial: an endpoint URL the deliveries' HTTP client refuses (a NUL in its path) was
    accepted, and each delivery raised before its attempt was recorded: it stayed `pending`
    with 0 attempts and was claimed again at every lease's end, a traceback each time, for
    good. Such a URL is refused at registration now; one stored before (here written into
    the database) fails each attempt, on the retry schedule, to the dead letter."""
    quick = {**FAST, "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": "0.1", "LEDGER_WEBHOOK_LEASE_S": "1"}
    with Gateway({**env, **quick}) as gateway:
        brand = gateway.create_brand()
        endpoint = subscribe(brand.api, "http://127.0.0.1:9/hooks")
        with gateway.app.state.runtime.db.write() as session:
            session.execute(
                text("UPDATE webhook_endpoints SET url = :url WHERE id = :id"),
                {"url": "http://127.0.0.1:9/o\x00k", "id": endpoint["id"]},
            )
        sent = brand.api.post(f"/v1/webhooks/{endpoint['id']}/test")
        assert sent.status_code == 202, sent.text
        path = f"/v1/webhooks/{endpoint['id']}/deliveries"

        def dead() -> dict[str, Any] | None:
            rows = brand.api.get(path).json()["deliveries"]
            return next((d for d in rows if d["status"] == "dead"), None)

        delivery = wait_for(dead, what="the delivery dead-lettered", idle_s=60)
        assert delivery["attempts"] == 2 and delivery["last_status_code"] is None, delivery
        assert delivery["last_error"].startswith("invalid_webhook_url"), delivery


def result_quarter(*, warned_at: str) -> str:
    """The quarter a grace runs through: the one before `downgrade_at` (its first month's
    start), as `2027-Q2`."""
    year, month = int(warned_at[:4]), int(warned_at[5:7])
    quarter = (year * 12 + month - 1) // 3 - 1
    return f"{quarter // 4}-Q{quarter % 4 + 1}"
