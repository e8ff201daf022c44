"""MembershipBadge: one soulbound ERC-721 per member showing the current tier, metadata on chain."""

import xml.etree.ElementTree as ET

import pytest
from brownie import ZERO_ADDRESS
from eth_utils import keccak

MEMBER, SILVER, GOLD, DIAMOND = 0, 1, 2, 3
LEDGER_ROLE = keccak(text="LEDGER_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32
MAX_UINT256 = 2**256 - 1
SVG_NS = "{http://www.w3.org/2000/svg}"


def token_id(account):
    return int(account.address, 16)


def svg_of(metadata, decode_data_uri):
    """Parses the image of `metadata`; ElementTree fails on anything that is not well-formed XML."""
    return ET.fromstring(decode_data_uri(metadata["image"], "image/svg+xml"))


def svg_texts(svg):
    return [element.text for element in svg.iter(f"{SVG_NS}text")]


def attribute(metadata, trait):
    return next(a["value"] for a in metadata["attributes"] if a["trait_type"] == trait)


# ------------------------------------------------------------------------------------------------
# setTier
# ------------------------------------------------------------------------------------------------


def test_set_tier_mints_locked_badge_on_first_call(membership_badge, ledger, silver_member):
    tx = membership_badge.setTier(silver_member, SILVER, {"from": ledger})

    tid = token_id(silver_member)
    assert tx.events["Transfer"]["from"] == ZERO_ADDRESS
    assert tx.events["Transfer"]["to"] == silver_member
    assert tx.events["Transfer"]["tokenId"] == tid
    assert tx.events["Locked"]["tokenId"] == tid
    assert dict(tx.events["TierBadgeUpdated"]) == {
        "member": silver_member,
        "tokenId": tid,
        "previousTier": MEMBER,
        "newTier": SILVER,
    }
    assert membership_badge.ownerOf(tid) == silver_member
    assert membership_badge.balanceOf(silver_member) == 1
    assert membership_badge.hasBadge(silver_member)
    assert membership_badge.badgeTierOf(silver_member) == SILVER


def test_token_id_is_the_member_address(membership_badge, gold_member):
    assert membership_badge.tokenIdOf(gold_member) == token_id(gold_member)


def test_set_tier_mints_member_badge_before_any_tier(membership_badge, ledger, new_member):
    membership_badge.setTier(new_member, MEMBER, {"from": ledger})

    assert membership_badge.ownerOf(token_id(new_member)) == new_member
    assert membership_badge.badgeTierOf(new_member) == MEMBER


@pytest.mark.parametrize("first, second", [(SILVER, DIAMOND), (DIAMOND, GOLD)])
def test_set_tier_updates_in_place_keeping_token_id(
    membership_badge, ledger, gold_member, first, second
):
    membership_badge.setTier(gold_member, first, {"from": ledger})

    tx = membership_badge.setTier(gold_member, second, {"from": ledger})

    tid = token_id(gold_member)
    assert "Transfer" not in tx.events
    assert "Locked" not in tx.events
    assert dict(tx.events["TierBadgeUpdated"]) == {
        "member": gold_member,
        "tokenId": tid,
        "previousTier": first,
        "newTier": second,
    }
    assert tx.events["MetadataUpdate"]["_tokenId"] == tid
    assert membership_badge.ownerOf(tid) == gold_member
    assert membership_badge.balanceOf(gold_member) == 1
    assert membership_badge.badgeTierOf(gold_member) == second


def test_set_tier_to_the_shown_tier_changes_nothing(membership_badge, ledger, gold_member):
    membership_badge.setTier(gold_member, GOLD, {"from": ledger})

    tx = membership_badge.setTier(gold_member, GOLD, {"from": ledger})

    assert len(tx.events) == 0
    assert membership_badge.badgeTierOf(gold_member) == GOLD


@pytest.mark.parametrize("caller_name", ["admin", "outsider", "gold_member"])
def test_set_tier_reverts_without_ledger_role(
    request, membership_badge, reverts_with, gold_member, caller_name
):
    caller = request.getfixturevalue(caller_name)

    with reverts_with(membership_badge, "AccessControlUnauthorizedAccount", caller, LEDGER_ROLE):
        membership_badge.setTier(gold_member, GOLD, {"from": caller})


def test_set_tier_reverts_above_diamond(membership_badge, reverts_with, ledger, gold_member):
    with reverts_with(membership_badge, "MembershipBadgeInvalidTier", 4, DIAMOND):
        membership_badge.setTier(gold_member, 4, {"from": ledger})


def test_set_tier_reverts_for_zero_address(membership_badge, reverts_with, ledger):
    with reverts_with(membership_badge, "ERC721InvalidReceiver", ZERO_ADDRESS):
        membership_badge.setTier(ZERO_ADDRESS, GOLD, {"from": ledger})


def test_ledger_role_can_be_granted_after_deployment(MembershipBadge, admin, outsider, gold_member):
    badge = MembershipBadge.deploy(admin, ZERO_ADDRESS, {"from": admin})
    assert not badge.hasRole(LEDGER_ROLE, ZERO_ADDRESS)

    badge.grantRole(LEDGER_ROLE, outsider, {"from": admin})
    badge.setTier(gold_member, GOLD, {"from": outsider})

    assert badge.badgeTierOf(gold_member) == GOLD


def test_set_ledger_links_the_ledger_once_and_grants_its_role(
    MembershipBadge, DirectoryStub, admin, reverts_with, outsider
):
    badge = MembershipBadge.deploy(admin, ZERO_ADDRESS, {"from": admin})
    first, second = DirectoryStub.deploy({"from": admin}), DirectoryStub.deploy({"from": admin})
    assert badge.ledger() == ZERO_ADDRESS
    assert not badge.paused()  # nothing can pause a badge that knows no ledger

    with reverts_with(badge, "AccessControlUnauthorizedAccount", outsider, DEFAULT_ADMIN_ROLE):
        badge.setLedger(first, {"from": outsider})
    with reverts_with(badge, "MembershipBadgeInvalidLedger", ZERO_ADDRESS):
        badge.setLedger(ZERO_ADDRESS, {"from": admin})

    tx = badge.setLedger(first, {"from": admin})

    assert dict(tx.events["LedgerLinked"]) == {"ledger": first.address}
    assert badge.ledger() == first.address
    assert badge.hasRole(LEDGER_ROLE, first)
    with reverts_with(badge, "MembershipBadgeLedgerAlreadySet", first):
        badge.setLedger(second, {"from": admin})


def test_constructor_links_a_ledger_given_at_deployment(MembershipBadge, DirectoryStub, admin):
    stub = DirectoryStub.deploy({"from": admin})
    badge = MembershipBadge.deploy(admin, stub, {"from": admin})
    assert badge.ledger() == stub.address
    assert badge.hasRole(LEDGER_ROLE, stub)


def test_pause_of_the_ledger_stops_tier_updates_and_display_changes(
    membership_badge, directory, reverts_with, admin, ledger, gold_member
):
    membership_badge.setTier(gold_member, SILVER, {"from": ledger})
    directory.setPaused(True)  # the ledger's pause
    assert membership_badge.paused()

    calls = [
        lambda: membership_badge.setTier(gold_member, GOLD, {"from": ledger}),
        lambda: membership_badge.setTierDisplayName("id-ID", DIAMOND, "Royal", {"from": admin}),
        lambda: membership_badge.setDefaultLocale("en", {"from": admin}),
    ]
    for call in calls:
        with reverts_with(membership_badge, "EnforcedPause"):
            call()

    directory.setPaused(False)
    for call in calls:
        call()
    assert membership_badge.badgeTierOf(gold_member) == GOLD
    assert membership_badge.tierDisplayName("id-ID", DIAMOND) == "Royal"


def test_set_tier_gas_stays_within_budget(membership_badge, ledger, diamond_member):
    mint = membership_badge.setTier(diamond_member, GOLD, {"from": ledger})
    update = membership_badge.setTier(diamond_member, DIAMOND, {"from": ledger})

    print(f"MembershipBadge.setTier gas: mint {mint.gas_used}, in-place update {update.gas_used}")
    # Budgets guard the ledger's tier-upgrade path: mint = 3 fresh slots (owner, balance, badge
    # record), update = one rewrite of the packed badge record; both read the ledger's pause (here
    # a cold call to the directory stub, about 7,000 gas; warm when the ledger itself calls).
    assert mint.gas_used < 106_000
    assert update.gas_used < 42_000


# ------------------------------------------------------------------------------------------------
# Soulbinding (ERC-5192)
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def minted(membership_badge, ledger, gold_member):
    membership_badge.setTier(gold_member, GOLD, {"from": ledger})
    return token_id(gold_member)


def test_transfer_from_reverts_soulbound(
    membership_badge, reverts_with, minted, gold_member, outsider
):
    with reverts_with(membership_badge, "MembershipBadgeSoulbound", minted):
        membership_badge.transferFrom(gold_member, outsider, minted, {"from": gold_member})

    assert membership_badge.ownerOf(minted) == gold_member


@pytest.mark.parametrize("signature", ["address,address,uint256", "address,address,uint256,bytes"])
def test_safe_transfer_from_reverts_soulbound(
    membership_badge, reverts_with, minted, gold_member, outsider, signature
):
    extra = [b""] if signature.endswith("bytes") else []
    with reverts_with(membership_badge, "MembershipBadgeSoulbound", minted):
        membership_badge.safeTransferFrom[signature](
            gold_member, outsider, minted, *extra, {"from": gold_member}
        )


def test_approve_reverts_soulbound(membership_badge, reverts_with, minted, gold_member, outsider):
    with reverts_with(membership_badge, "MembershipBadgeSoulbound", minted):
        membership_badge.approve(outsider, minted, {"from": gold_member})

    assert membership_badge.getApproved(minted) == ZERO_ADDRESS


def test_set_approval_for_all_reverts_with_callers_badge_id(
    membership_badge, reverts_with, minted, gold_member, outsider
):
    with reverts_with(membership_badge, "MembershipBadgeSoulbound", minted):
        membership_badge.setApprovalForAll(outsider, True, {"from": gold_member})

    assert not membership_badge.isApprovedForAll(gold_member, outsider)


def test_locked_is_true_for_minted_badge(membership_badge, minted):
    assert membership_badge.locked(minted) is True


def test_locked_reverts_for_unminted_badge(membership_badge, reverts_with, outsider):
    with reverts_with(membership_badge, "ERC721NonexistentToken", token_id(outsider)):
        membership_badge.locked(token_id(outsider))


@pytest.mark.parametrize(
    "interface_id, name",
    [
        ("0xb45a3c0e", "ERC-5192"),
        ("0x49064906", "ERC-4906"),
        ("0x80ac58cd", "ERC-721"),
        ("0x5b5e139f", "ERC-721 metadata"),
        ("0x01ffc9a7", "ERC-165"),
        ("0x7965db0b", "AccessControl"),
    ],
)
def test_supports_interface(membership_badge, interface_id, name):
    assert membership_badge.supportsInterface(interface_id), name


@pytest.mark.parametrize("interface_id", ["0xffffffff", "0xd9b67a26"])
def test_supports_interface_rejects_others(membership_badge, interface_id):
    assert not membership_badge.supportsInterface(interface_id)


# ------------------------------------------------------------------------------------------------
# tokenURI
# ------------------------------------------------------------------------------------------------


def test_token_uri_is_json_with_svg_image_of_the_tier(
    membership_badge, ledger, gold_member, token_metadata, decode_data_uri
):
    membership_badge.setTier(gold_member, GOLD, {"from": ledger})

    metadata = token_metadata(membership_badge, token_id(gold_member))

    assert metadata["name"] == "Alliance Gold Membership"
    assert "Soulbound" in metadata["description"]
    assert attribute(metadata, "Tier") == "Gold"
    assert attribute(metadata, "Tier level") == GOLD
    assert metadata["locale"] == "en"
    assert metadata["localized"] == {"en": "Gold"}
    svg = svg_of(metadata, decode_data_uri)
    assert svg.tag == f"{SVG_NS}svg"
    assert "Gold" in svg_texts(svg)


def test_token_uri_holds_no_member_data_beyond_the_token_id(
    membership_badge, ledger, gold_member, decode_data_uri
):
    membership_badge.setTier(gold_member, GOLD, {"from": ledger})

    uri = membership_badge.tokenURI(token_id(gold_member))
    json_text = decode_data_uri(uri, "application/json").decode()

    assert gold_member.address.lower()[2:] not in json_text.lower()
    assert str(token_id(gold_member)) not in json_text


def test_token_uri_follows_tier_change(membership_badge, ledger, gold_member, token_metadata):
    membership_badge.setTier(gold_member, GOLD, {"from": ledger})
    membership_badge.setTier(gold_member, DIAMOND, {"from": ledger})

    metadata = token_metadata(membership_badge, token_id(gold_member))

    assert attribute(metadata, "Tier") == "Diamond"
    assert attribute(metadata, "Tier level") == DIAMOND


def test_token_uri_draws_each_tier_in_distinct_colours(
    membership_badge, ledger, gold_member, token_metadata, decode_data_uri
):
    palettes = {}
    for tier, name in enumerate(["Member", "Silver", "Gold", "Diamond"]):
        membership_badge.setTier(gold_member, tier, {"from": ledger})
        metadata = token_metadata(membership_badge, token_id(gold_member))
        svg = svg_of(metadata, decode_data_uri)
        assert name in svg_texts(svg)
        stops = tuple(stop.get("stop-color") for stop in svg.iter(f"{SVG_NS}stop"))
        palettes[tier] = stops

    assert len(set(palettes.values())) == 4


def test_token_uri_reverts_for_unminted_badge(membership_badge, reverts_with, outsider):
    with reverts_with(membership_badge, "ERC721NonexistentToken", token_id(outsider)):
        membership_badge.tokenURI(token_id(outsider))


# ------------------------------------------------------------------------------------------------
# Localized tier names
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def diamond_badge(membership_badge, ledger, diamond_member):
    membership_badge.setTier(diamond_member, DIAMOND, {"from": ledger})
    return token_id(diamond_member)


def test_set_tier_display_name_lists_localized_name_in_metadata(
    membership_badge, admin, diamond_badge, token_metadata
):
    tx = membership_badge.setTierDisplayName("id-ID", DIAMOND, "Royal", {"from": admin})

    assert dict(tx.events["TierDisplayNameUpdated"]) == {
        "locale": "id-ID",
        "tier": DIAMOND,
        "name": "Royal",
    }
    assert dict(tx.events["BatchMetadataUpdate"]) == {"_fromTokenId": 0, "_toTokenId": MAX_UINT256}
    assert membership_badge.tierDisplayName("id-ID", DIAMOND) == "Royal"
    assert list(membership_badge.locales()) == ["en", "id-ID"]
    metadata = token_metadata(membership_badge, diamond_badge)
    assert metadata["localized"] == {"en": "Diamond", "id-ID": "Royal"}
    assert attribute(metadata, "Tier") == "Diamond"


def test_default_locale_names_the_tier_in_metadata_and_image(
    membership_badge, admin, diamond_badge, token_metadata, decode_data_uri
):
    membership_badge.setTierDisplayName("id-ID", DIAMOND, "Royal", {"from": admin})

    tx = membership_badge.setDefaultLocale("id-ID", {"from": admin})

    assert dict(tx.events["DefaultLocaleUpdated"]) == {"previousLocale": "en", "newLocale": "id-ID"}
    assert dict(tx.events["BatchMetadataUpdate"]) == {"_fromTokenId": 0, "_toTokenId": MAX_UINT256}
    assert membership_badge.defaultLocale() == "id-ID"
    metadata = token_metadata(membership_badge, diamond_badge)
    assert metadata["name"] == "Alliance Royal Membership"
    assert attribute(metadata, "Tier") == "Royal"
    assert attribute(metadata, "Tier level") == DIAMOND
    assert metadata["locale"] == "id-ID"
    assert "Royal" in svg_texts(svg_of(metadata, decode_data_uri))


def test_tier_without_localized_name_falls_back_to_default_name(
    membership_badge, admin, ledger, gold_member, token_metadata
):
    membership_badge.setTierDisplayName("id-ID", DIAMOND, "Royal", {"from": admin})
    membership_badge.setDefaultLocale("id-ID", {"from": admin})
    membership_badge.setTier(gold_member, GOLD, {"from": ledger})

    metadata = token_metadata(membership_badge, token_id(gold_member))

    assert attribute(metadata, "Tier") == "Gold"
    assert metadata["localized"] == {"en": "Gold", "id-ID": "Gold"}


def test_empty_display_name_restores_the_default_name(
    membership_badge, admin, diamond_badge, token_metadata
):
    membership_badge.setTierDisplayName("id-ID", DIAMOND, "Royal", {"from": admin})

    tx = membership_badge.setTierDisplayName("id-ID", DIAMOND, "", {"from": admin})

    assert tx.events["TierDisplayNameUpdated"]["name"] == ""
    assert membership_badge.tierDisplayName("id-ID", DIAMOND) == "Diamond"
    assert token_metadata(membership_badge, diamond_badge)["localized"]["id-ID"] == "Diamond"


def test_utf8_display_name_survives_metadata_round_trip(
    membership_badge, admin, diamond_badge, token_metadata
):
    membership_badge.setTierDisplayName("zh-CN", DIAMOND, "钻石会员", {"from": admin})

    assert token_metadata(membership_badge, diamond_badge)["localized"]["zh-CN"] == "钻石会员"


def test_english_names_can_be_overridden(membership_badge, admin, diamond_badge, token_metadata):
    membership_badge.setTierDisplayName("en", DIAMOND, "Diamond Elite", {"from": admin})

    assert attribute(token_metadata(membership_badge, diamond_badge), "Tier") == "Diamond Elite"
    assert list(membership_badge.locales()) == ["en"]


@pytest.mark.parametrize("caller_name", ["ledger", "outsider"])
def test_set_tier_display_name_reverts_for_non_admin(
    request, membership_badge, reverts_with, caller_name
):
    caller = request.getfixturevalue(caller_name)

    with reverts_with(
        membership_badge, "AccessControlUnauthorizedAccount", caller, DEFAULT_ADMIN_ROLE
    ):
        membership_badge.setTierDisplayName("id-ID", DIAMOND, "Royal", {"from": caller})


def test_set_default_locale_reverts_for_non_admin(membership_badge, reverts_with, ledger):
    with reverts_with(
        membership_badge, "AccessControlUnauthorizedAccount", ledger, DEFAULT_ADMIN_ROLE
    ):
        membership_badge.setDefaultLocale("en", {"from": ledger})


def test_set_default_locale_reverts_for_locale_without_names(membership_badge, reverts_with, admin):
    with reverts_with(membership_badge, "MembershipBadgeUnknownLocale", "fr-FR"):
        membership_badge.setDefaultLocale("fr-FR", {"from": admin})


@pytest.mark.parametrize(
    "name", ['Ro"yal', "<b>Royal</b>", "R&D", "back\\slash", "line\nbreak", "x" * 33]
)
def test_set_tier_display_name_rejects_names_unsafe_for_json_or_svg(
    membership_badge, reverts_with, admin, name
):
    with reverts_with(
        membership_badge, "MembershipBadgeInvalidDisplayName", "id-ID", DIAMOND, name
    ):
        membership_badge.setTierDisplayName("id-ID", DIAMOND, name, {"from": admin})


@pytest.mark.parametrize("locale", ["", "id ID", 'id"ID', "x" * 36])
def test_set_tier_display_name_rejects_invalid_locale(
    membership_badge, reverts_with, admin, locale
):
    with reverts_with(membership_badge, "MembershipBadgeInvalidLocale", locale):
        membership_badge.setTierDisplayName(locale, DIAMOND, "Royal", {"from": admin})


def test_set_tier_display_name_rejects_tier_above_diamond(membership_badge, reverts_with, admin):
    with reverts_with(membership_badge, "MembershipBadgeInvalidTier", 4, DIAMOND):
        membership_badge.setTierDisplayName("id-ID", 4, "Royal", {"from": admin})


def test_set_tier_display_name_reverts_past_max_locales(membership_badge, reverts_with, admin):
    max_locales = membership_badge.MAX_LOCALES()
    for i in range(max_locales - 1):  # "en" is registered at deployment
        membership_badge.setTierDisplayName(f"l{i}", DIAMOND, "Royal", {"from": admin})

    with reverts_with(membership_badge, "MembershipBadgeTooManyLocales", max_locales):
        membership_badge.setTierDisplayName("one-more", DIAMOND, "Royal", {"from": admin})

    # Registered locales can still be renamed.
    membership_badge.setTierDisplayName("l0", GOLD, "Prima", {"from": admin})
    assert len(membership_badge.locales()) == max_locales
