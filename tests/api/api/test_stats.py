"""The dashboard's statistics (`/v1/stats/...`, issue 13 item 1): figures from the index agree
with the ledger's other reads, and each key sees its scope only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from support.chain import Anvil
from support.flows import earn, signed_redemption
from support.gateway import Brand, Gateway, Member

from ledger_api.domain import month_of, quarter_label


def _redeem_at(at: Brand, member: Member, points_brand: int, amount: int) -> None:
    body = signed_redemption(at, member, points_brand, amount, f"stats-{member.address[-6:]}")
    answer = at.api.post("/v1/redemptions", body, params={"wait": "true"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "confirmed", answer.text


def _row(rows: list[dict[str, Any]], brand_id: int) -> dict[str, Any]:
    return next(r for r in rows if r["brand_id"] == brand_id)


def test_overview_and_flows_agree_with_liability_and_positions(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    alice, bob = Member(), Member()
    earn(brand, alice, 10_000)
    earn(brand, bob, 5_000)
    _redeem_at(other_brand, bob, brand.brand_id, 120)  # brand's points spent at other_brand

    overview = gateway.admin.get("/v1/stats/overview")
    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["scope"] == "alliance"
    liability = gateway.admin.get(f"/v1/brands/{brand.brand_id}/liability").json()
    row = _row(body["brands"], brand.brand_id)
    for field in ("issued", "redeemed", "expired", "outstanding", "outstanding_value_micro_usd"):
        assert row[field] == liability[field], (field, row, liability)
    assert row["reversed"] == 0
    assert row["redeemed"] == 120
    assert row["usage_rate"] == round(120 / row["issued"], 4)
    assert row["outstanding_value_micro_usd"] == row["outstanding"] * 10_000

    own = brand.api.get("/v1/stats/overview").json()
    assert own["scope"] == "brand"
    assert [b["brand_id"] for b in own["brands"]] == [brand.brand_id]
    assert own["totals"]["outstanding"] == liability["outstanding"]
    assert own["activity"]["members"] == 2
    assert own["activity"]["active_30d"] == 2
    assert sum(t["members"] for t in own["tiers"]) == 2

    flows = gateway.admin.get("/v1/stats/flows").json()
    cell = {(f["brand_id"], f["at_brand_id"]): f for f in flows["flows"]}
    spent = cell[(brand.brand_id, other_brand.brand_id)]
    assert spent["points"] == 120
    assert spent["value_micro_usd"] == 120 * 10_000
    assert {
        "debtor_brand_id": brand.brand_id,
        "creditor_brand_id": other_brand.brand_id,
        "amount_micro_usd": 120 * 10_000,
    } in flows["positions"]

    # the creditor sees the pair it is in, with the same figures
    theirs = other_brand.api.get("/v1/stats/flows").json()
    assert theirs["scope"] == "brand"
    assert theirs["flows"] == [spent]
    assert set(theirs["brands"]) == {brand.brand_id, other_brand.brand_id}


def test_series_adds_up_to_the_brands_issued_points(gateway: Gateway, brand: Brand) -> None:
    earn(brand, Member(), 20_000)
    series = brand.api.get("/v1/stats/series", params={"days": 7})
    assert series.status_code == 200, series.text
    body = series.json()
    issued = _row(brand.api.get("/v1/stats/overview").json()["brands"], brand.brand_id)["issued"]
    assert sum(m["issued"] for m in body["months"]) == issued
    assert len(body["days"]) == 7
    assert body["days"][-1]["points"] == issued  # earned today (the chain's clock is now's)
    assert body["days"][-1]["earns"] == 1


def test_a_brand_key_sees_no_other_brands_figures(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    earn(other_brand, Member(), 10_000)
    overview = brand.api.get("/v1/stats/overview").json()
    assert [b["brand_id"] for b in overview["brands"]] == [brand.brand_id]
    assert overview["totals"]["issued"] == 0
    assert overview["activity"]["members"] == 0
    flows = brand.api.get("/v1/stats/flows").json()
    assert flows["flows"] == [] and flows["positions"] == []
    assert flows["brands"] == [brand.brand_id]
    signers = brand.api.get("/v1/stats/gateway").json()["signers"]
    assert [s["address"] for s in signers] == [brand.signer]


def test_gateway_stats_show_signers_balances_and_index_lag(gateway: Gateway, brand: Brand) -> None:
    earn(brand, Member(), 1_000)
    stats = gateway.admin.get("/v1/stats/gateway")
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["scope"] == "alliance"
    signer = next(s for s in body["signers"] if s["address"] == brand.signer)
    assert signer["brand_id"] == brand.brand_id
    assert signer["balance_wei"] > 0
    assert body["queue_depth"] >= 0 and body["index_lag_blocks"] >= 0
    assert body["index_block"] <= body["chain_head"]


def test_stats_need_a_key(gateway: Gateway) -> None:
    for path in ("overview", "series", "flows", "gateway"):
        answer = gateway.api(None).get(f"/v1/stats/{path}")
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "unauthorized"


def test_a_real_upgrade_shows_in_the_tiers_and_the_quarters_movements(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """On a chain of its own (the tier rule is global): an upgrade by the ledger's own rule
    moves the member to Silver and counts as an upgrade in this quarter, for the admin and
    for the brand whose points the member holds."""
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        rule = {"spend_cents": 1, "orders": 1, "engagements": 0, "gift_points": 0}
        ruled = gateway.admin.put("/v1/admin/tiers/1", rule, params={"wait": "true"})
        assert ruled.json()["status"] == "confirmed", ruled.text
        earn(brand, Member(), 1_000)
        earn(brand, Member(), 1_000)

        def tiers_of(body: dict[str, Any]) -> dict[str, int]:
            return {t["name"]: t["members"] for t in body["tiers"] if t["members"]}

        quarter = quarter_label(month_of(int(time.time())) // 3)
        for api in (gateway.admin, brand.api):
            body = api.get("/v1/stats/overview").json()
            assert tiers_of(body) == {"Silver": 2}, body["tiers"]
            moves = {m["quarter"]: m for m in body["tier_movements"]}
            assert moves[quarter]["upgrades"] == 2, body["tier_movements"]
            assert moves[quarter]["downgrades"] == 0


def test_reversed_points_keep_the_value_of_their_month(gateway: Gateway) -> None:
    """A returned order's points are valued at their earn month's value, as issued: a new
    point value announced for a later month leaves the brand's issued value as it was. A
    hostile review of 2026-12-07: the reversed points were valued at the newest value, so the
    issued value doubled with no point issued; the history's reversal line now says what its
    points were worth."""
    brand = gateway.create_brand(return_window_days=14)  # 10,000 micro-USD a point
    alice = Member()
    order = f"stats-return-{alice.address[-6:]}"
    earned = brand.api.post(
        "/v1/earn/purchase",
        {"member": alice.address, "amount_cents": 10_000, "order_ref": order},
        params={"wait": "true"},
    )
    assert earned.json()["status"] == "confirmed", earned.text  # 1,000 points pending
    returned = brand.api.post("/v1/earn/reversals", {"order_ref": order}, params={"wait": "true"})
    assert returned.json()["status"] == "confirmed", returned.text

    def issued_value() -> int:
        rows = gateway.admin.get("/v1/stats/overview").json()["brands"]
        return int(_row(rows, brand.brand_id)["issued_value_micro_usd"])

    assert issued_value() == 1_000 * 10_000
    changed = gateway.admin.put(
        f"/v1/admin/brands/{brand.brand_id}/point-value",
        {"value_micro_usd": 20_000},
        params={"wait": "true"},
    )
    assert changed.json()["status"] == "confirmed", changed.text
    liability = gateway.admin.get(f"/v1/brands/{brand.brand_id}/liability").json()
    assert liability["value_micro_usd_per_point"] == 20_000  # indexed: the next month's
    assert issued_value() == 1_000 * 10_000
    history = brand.api.get(f"/v1/members/{alice.address}/history").json()["entries"]
    (line,) = [e for e in history if e["kind"] == "reversed"]
    assert (line["amount"], line["value_micro_usd"]) == (1_000, 1_000 * 10_000)
