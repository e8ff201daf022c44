"""Issue 10, reproduction 3: the daily mint cap lives on chain; the gateway reads it from there.

The gateway kept its own per-brand cap, which drifted from the chain's: a cap the admin set
on chain (`setDailyMintCap`) was not what the gateway enforced. Now the indexer applies each
`DailyMintCapChanged` and the intake's cap check reads the indexed value."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from eth_account import Account
from support.chain import ADMIN_KEY, Anvil, _send
from support.flows import earn, wait_for_daily_cap
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for

PURCHASE = "/v1/earn/purchase"


def purchase(member: Member, cents: int) -> dict[str, object]:
    return {"member": member.address, "amount_cents": cents, "order_ref": f"o-{uuid.uuid4()}"}


def chain_cap(anvil: Anvil, manifest: Path, brand: Brand) -> int:
    lens = json.loads(manifest.read_text())["contracts"]["AllianceLedgerLens"]
    contract = anvil.web3().eth.contract(address=lens["address"], abi=lens["abi"])
    cap: int = contract.functions.dailyMint(brand.brand_id).call()[0]
    return cap


def assert_cap_refuses(brand: Brand, cap: int) -> None:
    """`cap` points pass today, one more is refused (the brand minted nothing before)."""
    member = Member()
    first = brand.api.post(PURCHASE, purchase(member, (cap - 10) * 10))
    assert first.status_code == 202, first.text
    refused = brand.api.post(PURCHASE, purchase(member, 200))  # 20 points, above the cap
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "daily_cap_exceeded"
    assert error["details"] == {"daily_cap_points": cap, "minted_today": cap - 10, "requested": 20}
    assert brand.api.post(PURCHASE, purchase(member, 100)).status_code == 202  # exactly the cap


def test_a_cap_the_admin_sets_on_chain_is_the_cap_the_gateway_enforces(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        wait_for_daily_cap(gateway, brand, 100_000_000)  # the chain's default, from onboarding
        w3 = anvil.web3()
        contract = w3.eth.contract(address=ledger["address"], abi=ledger["abi"])
        admin = Account.from_key(ADMIN_KEY)
        tx = contract.functions.setDailyMintCap(brand.brand_id, 150).build_transaction(
            {"from": admin.address, "gas": 1_000_000}
        )
        tx.pop("gasPrice", None)
        _send(w3, admin, dict(tx))
        wait_for_daily_cap(gateway, brand, 150)
        assert_cap_refuses(brand, 150)


def test_a_brand_created_with_a_cap_has_it_on_chain(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(daily_cap_points=150)
        assert chain_cap(anvil, manifest, brand) == 150
        wait_for_daily_cap(gateway, brand, 150)
        assert_cap_refuses(brand, 150)


def test_the_admin_changes_a_brands_cap_on_chain_through_the_gateway(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        path = f"/v1/admin/brands/{brand.brand_id}/daily-cap"
        changed = gateway.admin.put(path, {"daily_cap_points": 200}, params={"wait": "true"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == "confirmed", changed.text
        assert chain_cap(anvil, manifest, brand) == 200
        wait_for_daily_cap(gateway, brand, 200)
        assert_cap_refuses(brand, 200)
        unknown = gateway.admin.put("/v1/admin/brands/4242/daily-cap", {"daily_cap_points": 1})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_brand"
        forbidden = brand.api.put(path, {"daily_cap_points": 10**9})
        assert forbidden.status_code == 403, forbidden.text


def test_a_brand_activated_by_its_cap_is_held_to_it_before_the_index_has_it(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A new user's trial: a brand created with a cap turns `active` when its `setDailyMintCap`
    is confirmed, and its row took the cap only when the indexer applied that block; an earn
    above the cap sent in between got 202, then failed on chain. With the indexer stopped, the
    confirmation alone holds the brand to its cap."""
    with Gateway(own_env) as gateway:
        indexer = gateway.runtime.indexer
        indexer.stop()
        indexer.join(timeout=60)
        assert not indexer.is_alive()
        created = gateway.admin.post(
            "/v1/admin/brands", {"name": "Capped at once", "symbol": "CAP", "daily_cap_points": 100}
        )
        assert created.status_code == 202, created.text
        answer = created.json()
        cap_operation = f"/v1/operations/{answer['daily_cap_operation_id']}"

        def cap_confirmed() -> bool | None:  # queued once the onboarding lands
            return gateway.admin.get(cap_operation).json().get("status") == "confirmed" or None

        wait_for(cap_confirmed, what="the cap's operation confirmed")
        shop = gateway.api(answer["api_key"])
        refused = shop.post(PURCHASE, purchase(Member(), 100_000))  # 1,000 USD: above 100 points
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "daily_cap_exceeded" and error["details"]["daily_cap_points"] == 100
        assert shop.post(PURCHASE, purchase(Member(), 100)).status_code == 202  # within it


def test_the_cap_counts_the_chains_day_when_its_clock_is_ahead(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A trial: with the chain's clock moved on (README: testing expiry locally), the gateway
    counted the cap by this machine's day, so a brand that minted its cap yesterday by the
    chain's clock was refused today's first earn, which the chain had room for. The day is the
    chain's once the index has seen the chain's clock ahead."""
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(daily_cap_points=150)
        wait_for_daily_cap(gateway, brand, 150)
        member = Member()
        first = brand.api.post(PURCHASE, purchase(member, 1_400), params={"wait": "true"})
        assert first.json()["status"] == "confirmed", first.text  # 140 of the day's 150
        before = anvil.web3().eth.get_block("latest")["timestamp"]
        anvil.rpc("evm_increaseTime", 2 * 86_400)
        anvil.rpc("evm_mine")
        mined = anvil.web3().eth.block_number
        wait_for(
            lambda: gateway.get_health()["index_block"] >= mined, what="the index at the new day"
        )
        later = brand.api.post(PURCHASE, purchase(member, 1_400), params={"wait": "true"})
        assert later.status_code == 200, later.text
        assert later.json()["status"] == "confirmed", later.text
        lens = json.loads(manifest.read_text())["contracts"]["AllianceLedgerLens"]
        contract = anvil.web3().eth.contract(address=lens["address"], abi=lens["abi"])
        cap, minted_today, day = contract.functions.dailyMint(brand.brand_id).call()
        assert (cap, minted_today) == (150, 140) and day >= before // 86_400 + 2


def test_an_earn_accepted_just_before_midnight_counts_in_the_day_it_may_be_mined(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A review: 900 points of a 1,000 cap accepted at 23:59:50 (the chain's clock) were mined
    at 00:00:05, in the chain's next day; the gateway had counted them the day before, so a
    second 900 was accepted on the new day and failed on chain (`daily_cap_exceeded`). An earn
    accepted in a day's last two minutes counts in the next day too."""
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(daily_cap_points=1_000)
        wait_for_daily_cap(gateway, brand, 1_000)
        member = Member()
        latest = anvil.web3().eth.get_block("latest")["timestamp"]
        midnight = (latest // 86_400 + 2) * 86_400
        anvil.rpc("evm_setNextBlockTimestamp", midnight - 10)
        anvil.rpc("evm_mine")
        mined = anvil.web3().eth.block_number
        wait_for(lambda: gateway.get_health()["index_block"] >= mined, what="the index at 23:59:50")
        anvil.rpc("evm_setNextBlockTimestamp", midnight + 5)  # the earn's block: the next day
        first = brand.api.post(PURCHASE, purchase(member, 9_000), params={"wait": "true"})
        assert first.json()["status"] == "confirmed", first.text
        mined = anvil.web3().eth.block_number
        wait_for(lambda: gateway.get_health()["index_block"] >= mined, what="the index at 00:00")
        second = brand.api.post(PURCHASE, purchase(member, 9_000))
        assert second.status_code == 409, second.text  # not accepted, then failed on chain
        assert second.json()["error"]["code"] == "daily_cap_exceeded", second.text
        assert second.json()["error"]["details"]["minted_today"] == 900, second.text
        lens = json.loads(manifest.read_text())["contracts"]["AllianceLedgerLens"]
        chain = anvil.web3().eth.contract(address=lens["address"], abi=lens["abi"])
        assert chain.functions.dailyMint(brand.brand_id).call()[:2] == [1_000, 900]


def test_tier_gift_shares_count_toward_the_paying_brands_cap(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A trial: the chain counts a tier gift's shares in each paying brand's day (the
    completing brand's own share too), the gateway counted only what it accepted, so an earn
    after an upgrade got 202 and then failed on chain for the cap. The indexer now adds each
    `TierGiftPaid` to its brand's day: the gateway refuses it at once, and takes what is left."""
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        rule = {"spend_cents": 5_000, "orders": 2, "engagements": 1, "gift_points": 50}
        confirmed = gateway.admin.put("/v1/admin/tiers/1", rule, params={"wait": "true"})
        assert confirmed.json()["status"] == "confirmed", confirmed.text
        completing, other = (gateway.create_brand(daily_cap_points=340) for _ in range(2))
        for brand in (completing, other):
            wait_for_daily_cap(gateway, brand, 340)
        alice = Member()
        earn(completing, alice, 3_000)  # 300 points
        earn(other, alice, 3_000)
        review = completing.api.post(
            "/v1/earn/engagement",
            {"member": alice.address, "kind": "review"},  # 5 points, completes Silver
            params={"wait": "true"},
        )
        assert review.json()["result"]["tier_upgraded_to"] == 1, review.text
        lens = json.loads(manifest.read_text())["contracts"]["AllianceLedgerLens"]
        contract = anvil.web3().eth.contract(address=lens["address"], abi=lens["abi"])
        minted = {
            b.brand_id: contract.functions.dailyMint(b.brand_id).call()[1]
            for b in (completing, other)
        }
        # the gift's 50 points split between the two: each brand's day holds its share
        assert minted[completing.brand_id] - 305 + minted[other.brand_id] - 300 == 50, minted
        for brand in (completing, other):
            today = minted[brand.brand_id]
            refused = brand.api.post(PURCHASE, purchase(alice, (340 - today + 1) * 10))
            assert refused.status_code == 409, refused.text
            details = refused.json()["error"]["details"]
            assert details == {
                "daily_cap_points": 340,
                "minted_today": today,
                "requested": 340 - today + 1,
            }, (brand.brand_id, details)
            rest = brand.api.post(
                PURCHASE, purchase(alice, (340 - today) * 10), params={"wait": "true"}
            )
            assert rest.json()["status"] == "confirmed", rest.text  # exactly the cap, on chain
            assert contract.functions.dailyMint(brand.brand_id).call()[1] == 340
