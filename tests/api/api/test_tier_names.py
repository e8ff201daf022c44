"""Tier names per market through the gateway (DOMAIN.md "Tiers": Diamond is sold as "Royal" in
Indonesia; the display name is metadata, the rule is the same). The membership badge holds the
names (`setTierDisplayName`); the gateway answered the English ones only. Now the index keeps
them: `GET /v1/members/{address}?locale=id` names the tiers as the badge does in that locale,
and each tier webhook carries `tier_display_names`, the tier's name in every locale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from support.chain import ADMIN_KEY, Anvil, _send
from support.flows import earn
from support.gateway import Gateway, Member
from support.progress import wait_for
from support.rebuild import stepped_rebuild


def _name_on_chain(anvil: Anvil, manifest: Path, locale: str, tier: int, name: str) -> None:
    """The admin's key names a tier on the membership badge (not through the gateway)."""
    badge = json.loads(manifest.read_text())["contracts"]["MembershipBadge"]
    w3 = anvil.web3()
    contract = w3.eth.contract(address=badge["address"], abi=badge["abi"])
    admin = Account.from_key(ADMIN_KEY)
    tx = contract.functions.setTierDisplayName(locale, tier, name).build_transaction(
        {"from": admin.address, "gas": 1_000_000}
    )
    tx.pop("gasPrice", None)
    _send(w3, admin, dict(tx))


def _tier(api: Any, member: Member, **params: str) -> dict[str, Any]:
    view = api.get(f"/v1/members/{member.address}", params=params)
    assert view.status_code == 200, view.text
    tier: dict[str, Any] = view.json()["tier"]
    return tier


def test_tier_names_per_locale_in_reads_and_webhooks(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        silver = {"spend_cents": 1_000, "orders": 1, "engagements": 0, "gift_points": 0}
        rule = gateway.admin.put("/v1/admin/tiers/1", silver, params={"wait": "true"})
        assert rule.json()["status"] == "confirmed", rule.text
        _name_on_chain(anvil, manifest, "id", 1, "Perak")
        _name_on_chain(anvil, manifest, "id", 3, "Royal")
        _name_on_chain(anvil, manifest, "pt-BR", 1, "Prata")

        alice = Member()
        wait_for(  # the names' events indexed
            lambda: (
                _tier(brand.api, alice, locale="pt-BR")["next_tier"]["display_name"] == "Prata"
                or None
            ),
            what="the names indexed",
        )
        before = _tier(brand.api, alice, locale="id")
        assert (before["name"], before["display_name"], before["locale"]) == (
            "Member",
            "Member",
            "id",
        )
        assert before["next_tier"]["display_name"] == "Perak"

        upgraded = earn(brand, alice, 1_000)
        assert upgraded["result"]["tier_upgraded_to"] == 1, upgraded

        def indexed() -> dict[str, Any] | None:
            tier = _tier(brand.api, alice, locale="id")
            return tier if tier["tier"] == 1 and tier["display_name"] == "Perak" else None

        shown = wait_for(indexed, what="Silver in Indonesian")
        assert shown["name"] == "Silver"  # the English name stays the field clients key on
        assert _tier(brand.api, alice, locale="pt-BR")["display_name"] == "Prata"
        assert _tier(brand.api, alice, locale="fr")["display_name"] == "Silver"  # none: English
        plain = _tier(brand.api, alice)
        assert (plain["display_name"], plain["locale"]) == (None, None)
        for bad in ("", "x" * 36, "id id", "<b>", "ü"):
            refused = brand.api.get(f"/v1/members/{alice.address}", params={"locale": bad})
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["error"]["code"] == "invalid_request", refused.text

        def upgrade_event() -> dict[str, Any] | None:
            feed = brand.api.get("/v1/events", params={"limit": 500}).json()["events"]
            found = [e for e in feed if e["type"] == "tier.upgraded"]
            return found[0] if found else None

        event = wait_for(upgrade_event, what="the tier.upgraded event")
        names = {"en": "Silver", "id": "Perak", "pt-BR": "Prata"}
        assert event["data"]["tier_display_names"] == names, event

        _name_on_chain(anvil, manifest, "id", 1, "")  # an empty name puts the English one back
        wait_for(
            lambda: _tier(brand.api, alice, locale="id")["display_name"] == "Silver" or None,
            what="the Indonesian name removed",
        )

    # The index rebuilt from the deployment block reads the names again, in their order.
    with stepped_rebuild(own_env) as (_runtime, indexer, chain):
        while indexer.step(chain):
            pass
    with Gateway(own_env) as gateway:
        api = gateway.api(brand.api_key)
        assert _tier(api, alice, locale="id")["display_name"] == "Silver"
        assert _tier(api, alice, locale="pt-BR")["display_name"] == "Prata"
        assert _tier(api, alice, locale="id")["name"] == "Silver"
