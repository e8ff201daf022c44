"""A trial: the points growth report showed the newest 1,000 lines at most, with no way to
read older ones. Its pages now go back to the first line: `next_cursor`, passed as `before`,
reads the next (older) page, through the real gateway and chain, with the released and expired
lines worked out at the read among them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.chain import Anvil
from support.flows import earn, signed_gift
from support.gateway import Gateway, Member
from support.progress import wait_for

from ledger_client import LedgerClient


def history(api: Any, member: Member, **params: Any) -> dict[str, Any]:
    response = api.get(f"/v1/members/{member.address}/history", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def all_pages(api: Any, member: Member, limit: int) -> list[dict[str, Any]]:
    entries, params = [], {"limit": limit}
    while True:
        page = history(api, member, **params)
        assert 0 < len(page["entries"]) <= limit, page
        entries += page["entries"]
        if page["next_cursor"] is None:
            return entries
        params = {"limit": limit, "before": page["next_cursor"]}


def move_days(gateway: Gateway, anvil: Anvil, days: int) -> None:
    anvil.rpc("evm_increaseTime", days * 86_400)
    anvil.rpc("evm_mine")
    mined = anvil.web3().eth.block_number
    wait_for(lambda: gateway.get_health()["index_block"] >= mined, what="the index at the block")


def test_every_line_page_by_page(own_env: dict[str, str], own_chain: tuple[Anvil, Path]) -> None:
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        shop, other = gateway.create_brand(), gateway.create_brand()
        window = gateway.admin.put(
            f"/v1/admin/brands/{shop.brand_id}/return-window", {"days": 14}, params={"wait": "true"}
        )
        assert window.json()["status"] == "confirmed", window.text  # the chain's, from now on
        alice, bob = Member(), Member()
        for cents in (1_000, 2_000, 3_000):
            earn(shop, alice, cents)  # pending for the 14-day return window
        earn(other, alice, 4_000)
        move_days(gateway, anvil, 15)  # released
        gift = shop.api.post(
            "/v1/gifts", signed_gift(shop, alice, bob.address, 50), params={"wait": "true"}
        )
        assert gift.json()["status"] == "confirmed", gift.text
        earn(shop, alice, 5_000)
        move_days(gateway, anvil, 400)  # every lot expired
        whole = history(gateway.admin, alice, limit=1_000)
        assert whole["next_cursor"] is None
        kinds = [e["kind"] for e in whole["entries"]]
        assert kinds.count("pending") == 4 and kinds.count("released") >= 2, kinds
        assert "expired" in kinds and "gifted" in kinds, kinds
        for limit in (1, 2, 3):
            assert all_pages(gateway.admin, alice, limit) == whole["entries"], limit
        with LedgerClient(str(shop.api.http.base_url), own_env["LEDGER_ADMIN_API_KEY"]) as client:
            assert list(client.history_lines(alice.address, page_size=2)) == whole["entries"]
        # a brand key pages through its own lines, and every page carries the whole totals
        own = history(shop.api, alice, limit=1_000)
        assert all_pages(shop.api, alice, 2) == own["entries"]
        assert {e["brand_id"] for e in own["entries"]} == {shop.brand_id}
        first = history(shop.api, alice, limit=2)
        assert (
            history(shop.api, alice, limit=2, before=first["next_cursor"])["totals"]
            == own["totals"]
        )
        for cursor in ("x", "1.2.3.4", "1.2.3.4.nope", "9" * 40):
            refused = shop.api.get(
                f"/v1/members/{alice.address}/history", params={"before": cursor}
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["code"] == "invalid_cursor", refused.text
