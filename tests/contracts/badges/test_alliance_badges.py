"""AllianceBadges: brand-defined achievement (soulbound) and collectible (tradable) ERC-1155s."""

import brownie
import pytest
from brownie import ZERO_ADDRESS, accounts, chain
from eth_account import Account
from eth_account.messages import encode_typed_data

MEMBER, SILVER, GOLD, DIAMOND = 0, 1, 2, 3
ACHIEVEMENT, COLLECTIBLE = 0, 1
BRAND_A, BRAND_B = 1, 2
REDEEMED_FLAG = 1 << 255
DEFAULT_ADMIN_ROLE = b"\x00" * 32
CLAIM_REF = bytes.fromhex("ab" * 32)
URI = "ipfs://badge/{id}.json"
UINT64_MAX = 2**64 - 1


# ------------------------------------------------------------------------------------------------
# defineBadge
# ------------------------------------------------------------------------------------------------


def test_define_badge_assigns_type_to_callers_brand(alliance_badges, brand_b_signer):
    tx = alliance_badges.defineBadge(
        COLLECTIBLE, 500, DIAMOND, True, True, "ipfs://limited-jacket", {"from": brand_b_signer}
    )

    assert dict(tx.events["BadgeDefined"]) == {
        "typeId": 1,
        "brand": BRAND_B,
        "kind": COLLECTIBLE,
        "maxSupply": 500,
        "minTier": DIAMOND,
        "hasBenefit": True,
        "selfMint": True,
    }
    assert dict(tx.events["URI"]) == {"value": "ipfs://limited-jacket", "id": 1}
    assert tuple(alliance_badges.badgeType(1)) == (
        BRAND_B,
        0,
        500,
        0,  # reserved
        DIAMOND,
        COLLECTIBLE,
        True,
        True,
    )
    assert alliance_badges.uri(1) == "ipfs://limited-jacket"
    assert alliance_badges.typeCount() == 1


def test_define_badge_numbers_types_sequentially(define_badge, brand_a_signer, brand_b_signer):
    assert define_badge(brand_a_signer) == 1
    assert define_badge(brand_b_signer, kind=ACHIEVEMENT) == 2
    assert define_badge(brand_a_signer) == 3


def test_define_badge_reverts_for_non_brand_signer(alliance_badges, reverts_with, outsider):
    with reverts_with(alliance_badges, "AllianceBadgesNotBrandSigner", outsider):
        alliance_badges.defineBadge(COLLECTIBLE, 0, 0, False, False, URI, {"from": outsider})


def test_define_badge_reverts_for_suspended_brand(
    alliance_badges, directory, reverts_with, admin, brand_a_signer
):
    directory.setBrandActive(BRAND_A, False, {"from": admin})

    with reverts_with(alliance_badges, "AllianceBadgesBrandInactive", BRAND_A):
        alliance_badges.defineBadge(COLLECTIBLE, 0, 0, False, False, URI, {"from": brand_a_signer})


@pytest.mark.parametrize("has_benefit, self_mint", [(True, False), (False, True), (True, True)])
def test_define_badge_rejects_benefit_or_self_mint_on_achievement(
    alliance_badges, reverts_with, brand_a_signer, has_benefit, self_mint
):
    with reverts_with(
        alliance_badges, "AllianceBadgesInvalidFlags", ACHIEVEMENT, has_benefit, self_mint
    ):
        alliance_badges.defineBadge(
            ACHIEVEMENT, 0, 0, has_benefit, self_mint, URI, {"from": brand_a_signer}
        )


def test_define_badge_rejects_tier_above_diamond(alliance_badges, reverts_with, brand_a_signer):
    with reverts_with(alliance_badges, "AllianceBadgesInvalidTier", 4):
        alliance_badges.defineBadge(COLLECTIBLE, 0, 4, False, False, URI, {"from": brand_a_signer})


def test_define_badge_rejects_empty_uri(alliance_badges, reverts_with, brand_a_signer):
    with reverts_with(alliance_badges, "AllianceBadgesEmptyURI", BRAND_A):
        alliance_badges.defineBadge(COLLECTIBLE, 0, 0, False, False, "", {"from": brand_a_signer})


# ------------------------------------------------------------------------------------------------
# issue
# ------------------------------------------------------------------------------------------------


def test_issue_mints_units_to_member(alliance_badges, define_badge, brand_a_signer, silver_member):
    type_id = define_badge(brand_a_signer, kind=ACHIEVEMENT)

    tx = alliance_badges.issue(type_id, silver_member, 2, {"from": brand_a_signer})

    assert dict(tx.events["BadgeIssued"]) == {
        "typeId": type_id,
        "brand": BRAND_A,
        "member": silver_member,
        "amount": 2,
    }
    assert tx.events["TransferSingle"]["from"] == ZERO_ADDRESS
    assert alliance_badges.balanceOf(silver_member, type_id) == 2
    assert alliance_badges.totalMinted(type_id) == 2


def test_issue_reverts_when_another_brand_signs(
    alliance_badges, define_badge, reverts_with, brand_a_signer, brand_b_signer, silver_member
):
    type_id = define_badge(brand_a_signer)

    with reverts_with(alliance_badges, "AllianceBadgesForeignType", type_id, BRAND_A, BRAND_B):
        alliance_badges.issue(type_id, silver_member, 1, {"from": brand_b_signer})

    assert alliance_badges.balanceOf(silver_member, type_id) == 0


def test_issue_reverts_for_non_brand_signer(
    alliance_badges, define_badge, reverts_with, brand_a_signer, outsider, silver_member
):
    type_id = define_badge(brand_a_signer)

    with reverts_with(alliance_badges, "AllianceBadgesNotBrandSigner", outsider):
        alliance_badges.issue(type_id, silver_member, 1, {"from": outsider})


@pytest.mark.parametrize("type_id", [0, 7, 1 | REDEEMED_FLAG])
def test_issue_reverts_for_undefined_type(
    alliance_badges, define_badge, reverts_with, brand_a_signer, silver_member, type_id
):
    define_badge(brand_a_signer)

    with reverts_with(alliance_badges, "AllianceBadgesUnknownType", type_id):
        alliance_badges.issue(type_id, silver_member, 1, {"from": brand_a_signer})


def test_issue_reverts_for_suspended_brand(
    alliance_badges, directory, define_badge, reverts_with, admin, brand_a_signer, silver_member
):
    type_id = define_badge(brand_a_signer)
    directory.setBrandActive(BRAND_A, False, {"from": admin})

    with reverts_with(alliance_badges, "AllianceBadgesBrandInactive", BRAND_A):
        alliance_badges.issue(type_id, silver_member, 1, {"from": brand_a_signer})


def test_issue_reverts_for_zero_amount(
    alliance_badges, define_badge, reverts_with, brand_a_signer, silver_member
):
    type_id = define_badge(brand_a_signer)

    with reverts_with(alliance_badges, "AllianceBadgesZeroAmount", type_id):
        alliance_badges.issue(type_id, silver_member, 0, {"from": brand_a_signer})


def test_issue_stops_at_supply_cap(
    alliance_badges, define_badge, reverts_with, brand_a_signer, silver_member, gold_member
):
    type_id = define_badge(brand_a_signer, max_supply=3)
    alliance_badges.issue(type_id, silver_member, 2, {"from": brand_a_signer})

    with reverts_with(alliance_badges, "AllianceBadgesSupplyExceeded", type_id, 3, 2, 0, 2):
        alliance_badges.issue(type_id, gold_member, 2, {"from": brand_a_signer})

    alliance_badges.issue(type_id, gold_member, 1, {"from": brand_a_signer})
    assert alliance_badges.totalMinted(type_id) == 3
    with reverts_with(alliance_badges, "AllianceBadgesSupplyExceeded", type_id, 3, 3, 0, 1):
        alliance_badges.issue(type_id, gold_member, 1, {"from": brand_a_signer})


def test_uncapped_type_is_bounded_only_by_counter_width(
    alliance_badges, define_badge, reverts_with, brand_a_signer, silver_member
):
    type_id = define_badge(brand_a_signer, max_supply=0)
    alliance_badges.issue(type_id, silver_member, 1_000_000, {"from": brand_a_signer})

    with reverts_with(
        alliance_badges,
        "AllianceBadgesSupplyExceeded",
        type_id,
        UINT64_MAX,
        1_000_000,
        0,
        UINT64_MAX,
    ):
        alliance_badges.issue(type_id, silver_member, UINT64_MAX, {"from": brand_a_signer})


def test_issue_reverts_below_min_tier(
    alliance_badges, define_badge, reverts_with, brand_a_signer, gold_member, new_member
):
    type_id = define_badge(brand_a_signer, min_tier=DIAMOND)

    with reverts_with(
        alliance_badges, "AllianceBadgesTierTooLow", type_id, gold_member, GOLD, DIAMOND
    ):
        alliance_badges.issue(type_id, gold_member, 1, {"from": brand_a_signer})
    with reverts_with(
        alliance_badges, "AllianceBadgesTierTooLow", type_id, new_member, MEMBER, DIAMOND
    ):
        alliance_badges.issue(type_id, new_member, 1, {"from": brand_a_signer})


def test_issue_reaches_members_at_or_above_min_tier(
    alliance_badges, define_badge, brand_a_signer, gold_member, diamond_member
):
    type_id = define_badge(brand_a_signer, min_tier=GOLD)

    alliance_badges.issue(type_id, gold_member, 1, {"from": brand_a_signer})
    alliance_badges.issue(type_id, diamond_member, 1, {"from": brand_a_signer})

    assert alliance_badges.balanceOf(gold_member, type_id) == 1
    assert alliance_badges.balanceOf(diamond_member, type_id) == 1


# ------------------------------------------------------------------------------------------------
# claim
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def diamond_exclusive(define_badge, brand_a_signer):
    """A self-mintable collectible reserved to Diamond members, capped at 2."""
    return define_badge(brand_a_signer, max_supply=2, min_tier=DIAMOND, self_mint=True)


def test_claim_lets_diamond_member_mint_exclusive_collectible(
    alliance_badges, diamond_exclusive, diamond_member
):
    tx = alliance_badges.claim(diamond_exclusive, {"from": diamond_member})

    assert dict(tx.events["BadgeClaimed"]) == {
        "typeId": diamond_exclusive,
        "brand": BRAND_A,
        "member": diamond_member,
    }
    assert alliance_badges.balanceOf(diamond_member, diamond_exclusive) == 1
    assert alliance_badges.hasClaimed(diamond_exclusive, diamond_member)
    assert alliance_badges.totalMinted(diamond_exclusive) == 1


def test_claim_reverts_for_gold_member_on_diamond_exclusive(
    alliance_badges, diamond_exclusive, reverts_with, gold_member
):
    with reverts_with(
        alliance_badges, "AllianceBadgesTierTooLow", diamond_exclusive, gold_member, GOLD, DIAMOND
    ):
        alliance_badges.claim(diamond_exclusive, {"from": gold_member})


def test_claim_reverts_on_second_claim(
    alliance_badges, diamond_exclusive, reverts_with, diamond_member
):
    alliance_badges.claim(diamond_exclusive, {"from": diamond_member})

    with reverts_with(
        alliance_badges, "AllianceBadgesAlreadyClaimed", diamond_exclusive, diamond_member
    ):
        alliance_badges.claim(diamond_exclusive, {"from": diamond_member})


def test_claim_respects_supply_cap(
    alliance_badges,
    directory,
    diamond_exclusive,
    reverts_with,
    admin,
    brand_a_signer,
    diamond_member,
    gold_member,
):
    alliance_badges.issue(diamond_exclusive, diamond_member, 1, {"from": brand_a_signer})
    alliance_badges.claim(diamond_exclusive, {"from": diamond_member})
    directory.setTierOf(gold_member, DIAMOND, {"from": admin})

    with reverts_with(
        alliance_badges, "AllianceBadgesSupplyExceeded", diamond_exclusive, 2, 2, 0, 1
    ):
        alliance_badges.claim(diamond_exclusive, {"from": gold_member})


@pytest.mark.parametrize("kind", [ACHIEVEMENT, COLLECTIBLE])
def test_claim_reverts_for_type_not_self_mintable(
    alliance_badges, define_badge, reverts_with, brand_a_signer, diamond_member, kind
):
    type_id = define_badge(brand_a_signer, kind=kind)

    with reverts_with(alliance_badges, "AllianceBadgesNotClaimable", type_id):
        alliance_badges.claim(type_id, {"from": diamond_member})


def test_claim_reverts_for_suspended_brand(
    alliance_badges, directory, diamond_exclusive, reverts_with, admin, diamond_member
):
    directory.setBrandActive(BRAND_A, False, {"from": admin})

    with reverts_with(alliance_badges, "AllianceBadgesBrandInactive", BRAND_A):
        alliance_badges.claim(diamond_exclusive, {"from": diamond_member})


def test_claim_open_to_everyone_without_min_tier(
    alliance_badges, define_badge, brand_a_signer, new_member
):
    type_id = define_badge(brand_a_signer, self_mint=True)

    alliance_badges.claim(type_id, {"from": new_member})

    assert alliance_badges.balanceOf(new_member, type_id) == 1


# ------------------------------------------------------------------------------------------------
# Transfers
# ------------------------------------------------------------------------------------------------


def test_achievement_transfer_reverts_soulbound(
    alliance_badges, define_badge, reverts_with, brand_a_signer, silver_member, gold_member
):
    type_id = define_badge(brand_a_signer, kind=ACHIEVEMENT)
    alliance_badges.issue(type_id, silver_member, 1, {"from": brand_a_signer})

    with reverts_with(alliance_badges, "AllianceBadgesSoulbound", type_id):
        alliance_badges.safeTransferFrom(
            silver_member, gold_member, type_id, 1, b"", {"from": silver_member}
        )

    assert alliance_badges.balanceOf(silver_member, type_id) == 1


def test_achievement_in_batch_transfer_reverts_soulbound(
    alliance_badges, define_badge, reverts_with, brand_a_signer, silver_member, gold_member
):
    collectible = define_badge(brand_a_signer)
    achievement = define_badge(brand_a_signer, kind=ACHIEVEMENT)
    alliance_badges.issue(collectible, silver_member, 1, {"from": brand_a_signer})
    alliance_badges.issue(achievement, silver_member, 1, {"from": brand_a_signer})

    with reverts_with(alliance_badges, "AllianceBadgesSoulbound", achievement):
        alliance_badges.safeBatchTransferFrom(
            silver_member,
            gold_member,
            [collectible, achievement],
            [1, 1],
            b"",
            {"from": silver_member},
        )


def test_achievement_transfer_by_approved_operator_reverts_soulbound(
    alliance_badges,
    define_badge,
    reverts_with,
    brand_a_signer,
    silver_member,
    gold_member,
    outsider,
):
    type_id = define_badge(brand_a_signer, kind=ACHIEVEMENT)
    alliance_badges.issue(type_id, silver_member, 1, {"from": brand_a_signer})
    alliance_badges.setApprovalForAll(outsider, True, {"from": silver_member})

    with reverts_with(alliance_badges, "AllianceBadgesSoulbound", type_id):
        alliance_badges.safeTransferFrom(
            silver_member, gold_member, type_id, 1, b"", {"from": outsider}
        )


def test_collectible_is_transferable(
    alliance_badges, define_badge, brand_a_signer, silver_member, gold_member
):
    type_id = define_badge(brand_a_signer)
    alliance_badges.issue(type_id, silver_member, 2, {"from": brand_a_signer})

    alliance_badges.safeTransferFrom(
        silver_member, gold_member, type_id, 1, b"", {"from": silver_member}
    )

    assert alliance_badges.balanceOf(silver_member, type_id) == 1
    assert alliance_badges.balanceOf(gold_member, type_id) == 1


# ------------------------------------------------------------------------------------------------
# redeemBenefit
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def jacket(alliance_badges, define_badge, brand_b_signer, diamond_member):
    """A collectible with a redeemable benefit (a limited jacket), held by a Diamond member."""
    type_id = define_badge(brand_b_signer, max_supply=1, has_benefit=True, uri="ipfs://jacket")
    alliance_badges.issue(type_id, diamond_member, 1, {"from": brand_b_signer})
    return type_id


def test_redeem_benefit_swaps_unit_for_redeemed_variant(alliance_badges, jacket, diamond_member):
    tx = alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": diamond_member})

    redeemed = jacket | REDEEMED_FLAG
    assert dict(tx.events["BenefitRedeemed"]) == {
        "typeId": jacket,
        "holder": diamond_member,
        "brand": BRAND_B,
        "claimRef": "0x" + CLAIM_REF.hex(),
    }
    burn, mint = tx.events["TransferSingle"]
    assert (burn["from"], burn["to"], burn["id"], burn["value"]) == (
        diamond_member,
        ZERO_ADDRESS,
        jacket,
        1,
    )
    assert (mint["from"], mint["to"], mint["id"], mint["value"]) == (
        ZERO_ADDRESS,
        diamond_member,
        redeemed,
        1,
    )
    assert alliance_badges.balanceOf(diamond_member, jacket) == 0
    assert alliance_badges.balanceOf(diamond_member, redeemed) == 1
    assert alliance_badges.uri(redeemed) == "ipfs://jacket"
    assert tuple(alliance_badges.badgeType(redeemed)) == tuple(alliance_badges.badgeType(jacket))


def test_redeem_benefit_second_attempt_reverts(
    alliance_badges, jacket, reverts_with, diamond_member
):
    alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": diamond_member})

    with reverts_with(alliance_badges, "ERC1155InsufficientBalance", diamond_member, 0, 1, jacket):
        alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": diamond_member})
    with reverts_with(alliance_badges, "AllianceBadgesAlreadyRedeemed", jacket | REDEEMED_FLAG):
        alliance_badges.redeemBenefit(jacket | REDEEMED_FLAG, CLAIM_REF, {"from": diamond_member})

    assert alliance_badges.balanceOf(diamond_member, jacket | REDEEMED_FLAG) == 1


def test_redeem_benefit_once_per_unit(alliance_badges, define_badge, brand_b_signer, gold_member):
    type_id = define_badge(brand_b_signer, has_benefit=True)
    alliance_badges.issue(type_id, gold_member, 2, {"from": brand_b_signer})

    alliance_badges.redeemBenefit(type_id, CLAIM_REF, {"from": gold_member})
    alliance_badges.redeemBenefit(type_id, CLAIM_REF, {"from": gold_member})

    assert alliance_badges.balanceOf(gold_member, type_id) == 0
    assert alliance_badges.balanceOf(gold_member, type_id | REDEEMED_FLAG) == 2


def test_redeemed_variant_is_transferable_but_not_redeemable(
    alliance_badges, jacket, reverts_with, diamond_member, gold_member
):
    redeemed = jacket | REDEEMED_FLAG
    alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": diamond_member})

    alliance_badges.safeTransferFrom(
        diamond_member, gold_member, redeemed, 1, b"", {"from": diamond_member}
    )

    assert alliance_badges.balanceOf(gold_member, redeemed) == 1
    with reverts_with(alliance_badges, "AllianceBadgesAlreadyRedeemed", redeemed):
        alliance_badges.redeemBenefit(redeemed, CLAIM_REF, {"from": gold_member})


def test_unredeemed_collectible_carries_its_benefit_to_a_buyer(
    alliance_badges, jacket, diamond_member, gold_member
):
    alliance_badges.safeTransferFrom(
        diamond_member, gold_member, jacket, 1, b"", {"from": diamond_member}
    )

    tx = alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": gold_member})

    assert tx.events["BenefitRedeemed"]["holder"] == gold_member


def test_supply_cap_counts_issued_units_not_redeemed_variants(
    alliance_badges, jacket, reverts_with, brand_b_signer, diamond_member, gold_member
):
    alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": diamond_member})

    assert alliance_badges.totalMinted(jacket) == 1
    assert alliance_badges.totalMinted(jacket | REDEEMED_FLAG) == 1
    with reverts_with(alliance_badges, "AllianceBadgesSupplyExceeded", jacket, 1, 1, 0, 1):
        alliance_badges.issue(jacket, gold_member, 1, {"from": brand_b_signer})


def test_redeem_benefit_reverts_without_benefit(
    alliance_badges, define_badge, reverts_with, brand_a_signer, silver_member
):
    type_id = define_badge(brand_a_signer)
    alliance_badges.issue(type_id, silver_member, 1, {"from": brand_a_signer})

    with reverts_with(alliance_badges, "AllianceBadgesNoBenefit", type_id):
        alliance_badges.redeemBenefit(type_id, CLAIM_REF, {"from": silver_member})


def test_redeem_benefit_reverts_for_non_holder(alliance_badges, jacket, reverts_with, gold_member):
    with reverts_with(alliance_badges, "ERC1155InsufficientBalance", gold_member, 0, 1, jacket):
        alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": gold_member})


def test_redeem_benefit_reverts_for_suspended_brand(
    alliance_badges, directory, jacket, reverts_with, admin, diamond_member
):
    directory.setBrandActive(BRAND_B, False, {"from": admin})

    with reverts_with(alliance_badges, "AllianceBadgesBrandInactive", BRAND_B):
        alliance_badges.redeemBenefit(jacket, CLAIM_REF, {"from": diamond_member})


# ------------------------------------------------------------------------------------------------
# Views and admin
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["uri", "badgeType", "totalMinted"])
def test_views_revert_for_undefined_type(alliance_badges, reverts_with, view):
    with reverts_with(alliance_badges, "AllianceBadgesUnknownType", 5):
        getattr(alliance_badges, view)(5)


def test_views_report_directory(alliance_badges, directory):
    assert alliance_badges.directory() == directory
    assert alliance_badges.REDEEMED_FLAG() == REDEEMED_FLAG


@pytest.mark.parametrize(
    "interface_id, name",
    [
        ("0xd9b67a26", "ERC-1155"),
        ("0x0e89341c", "ERC-1155 metadata URI"),
        ("0x01ffc9a7", "ERC-165"),
        ("0x7965db0b", "AccessControl"),
    ],
)
def test_supports_interface(alliance_badges, interface_id, name):
    assert alliance_badges.supportsInterface(interface_id), name


def test_pause_of_the_directory_stops_definitions_mints_transfers_and_operators(
    alliance_badges,
    directory,
    define_badge,
    reverts_with,
    brand_a_signer,
    silver_member,
    gold_member,
    diamond_member,
):
    type_id = define_badge(brand_a_signer, has_benefit=True, self_mint=True)
    alliance_badges.issue(type_id, silver_member, 2, {"from": brand_a_signer})

    directory.setPaused(True)  # the ledger's pause, the alliance's one switch
    assert alliance_badges.paused()

    calls = {
        "defineBadge": lambda: alliance_badges.defineBadge(
            COLLECTIBLE, 0, 0, False, False, URI, {"from": brand_a_signer}
        ),
        "issue": lambda: alliance_badges.issue(type_id, silver_member, 1, {"from": brand_a_signer}),
        "claim": lambda: alliance_badges.claim(type_id, {"from": diamond_member}),
        "redeemBenefit": lambda: alliance_badges.redeemBenefit(
            type_id, CLAIM_REF, {"from": silver_member}
        ),
        "safeTransferFrom": lambda: alliance_badges.safeTransferFrom(
            silver_member, gold_member, type_id, 1, b"", {"from": silver_member}
        ),
        "setApprovalForAll": lambda: alliance_badges.setApprovalForAll(
            gold_member, True, {"from": silver_member}
        ),
    }
    for call in calls.values():
        with reverts_with(alliance_badges, "EnforcedPause"):
            call()

    directory.setPaused(False)
    assert not alliance_badges.paused()
    for call in calls.values():
        call()
    assert alliance_badges.balanceOf(gold_member, type_id) == 1
    assert alliance_badges.isApprovedForAll(silver_member, gold_member)


def test_badges_have_no_pause_of_their_own(alliance_badges):
    """One pause for the whole system: the ledger's. The badge contract exposes no switch."""
    names = {item.get("name") for item in alliance_badges.abi if item["type"] == "function"}
    assert "pause" not in names and "unpause" not in names
    assert "paused" in names


# -- benefit redemption on the holder's signature (relayed by the gateway) ---------------------

_REDEEM_BENEFIT_FIELDS = [
    {"name": "holder", "type": "address"},
    {"name": "typeId", "type": "uint256"},
    {"name": "claimRef", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _sign_redeem_benefit(badges, key, holder, type_id, nonce, deadline):
    typed = {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "RedeemBenefit": _REDEEM_BENEFIT_FIELDS},
        "primaryType": "RedeemBenefit",
        "domain": {
            "name": "AllianceBadges",
            "version": "1",
            "chainId": chain.id,
            "verifyingContract": badges.address,
        },
        "message": {
            "holder": holder,
            "typeId": type_id,
            "claimRef": CLAIM_REF,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    return Account.sign_message(encode_typed_data(full_message=typed), key).signature


@pytest.fixture
def signing_holder(alliance_badges, define_badge, brand_b_signer):
    """A holder with a private key and one jacket with a benefit: (account, type id)."""
    holder = accounts.add()
    type_id = define_badge(brand_b_signer, has_benefit=True, uri="ipfs://jacket")
    alliance_badges.issue(type_id, holder, 1, {"from": brand_b_signer})
    return holder, type_id


def test_redeem_benefit_with_holder_signature_relayed_by_a_brand(
    alliance_badges, signing_holder, brand_b_signer
):
    holder, type_id = signing_holder
    deadline = chain.time() + 3_600
    sig = _sign_redeem_benefit(
        alliance_badges, holder.private_key, holder.address, type_id, 0, deadline
    )

    tx = alliance_badges.redeemBenefitWithSig(
        holder, type_id, CLAIM_REF, 0, deadline, sig, {"from": brand_b_signer}
    )

    assert tx.events["BenefitRedeemed"]["holder"] == holder
    assert alliance_badges.balanceOf(holder, type_id) == 0
    assert alliance_badges.balanceOf(holder, type_id | REDEEMED_FLAG) == 1
    assert alliance_badges.nonces(holder) == 1


def test_redeem_benefit_signature_cannot_be_replayed(
    alliance_badges, signing_holder, brand_b_signer, reverts_with
):
    holder, type_id = signing_holder
    alliance_badges.issue(type_id, holder, 1, {"from": brand_b_signer})  # a second unit to spend
    deadline = chain.time() + 3_600
    sig = _sign_redeem_benefit(
        alliance_badges, holder.private_key, holder.address, type_id, 0, deadline
    )
    alliance_badges.redeemBenefitWithSig(
        holder, type_id, CLAIM_REF, 0, deadline, sig, {"from": brand_b_signer}
    )

    with reverts_with(alliance_badges, "InvalidAccountNonce", holder, 1):
        alliance_badges.redeemBenefitWithSig(
            holder, type_id, CLAIM_REF, 0, deadline, sig, {"from": brand_b_signer}
        )
    assert alliance_badges.balanceOf(holder, type_id) == 1


def test_redeem_benefit_signature_by_someone_else_reverts(
    alliance_badges, signing_holder, brand_b_signer, reverts_with
):
    holder, type_id = signing_holder
    thief = accounts.add()
    deadline = chain.time() + 3_600
    sig = _sign_redeem_benefit(
        alliance_badges, thief.private_key, holder.address, type_id, 0, deadline
    )

    with reverts_with(alliance_badges, "AllianceBadgesInvalidSignature", holder):
        alliance_badges.redeemBenefitWithSig(
            holder, type_id, CLAIM_REF, 0, deadline, sig, {"from": brand_b_signer}
        )
    assert alliance_badges.balanceOf(holder, type_id) == 1


def test_redeem_benefit_signature_past_its_deadline_reverts(
    alliance_badges, signing_holder, brand_b_signer
):
    holder, type_id = signing_holder
    deadline = chain.time() - 10
    sig = _sign_redeem_benefit(
        alliance_badges, holder.private_key, holder.address, type_id, 0, deadline
    )

    tx = None
    with brownie.reverts():
        tx = alliance_badges.redeemBenefitWithSig(
            holder, type_id, CLAIM_REF, 0, deadline, sig, {"from": brand_b_signer}
        )
    assert tx is None
    assert alliance_badges.balanceOf(holder, type_id) == 1
