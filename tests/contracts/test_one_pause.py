"""One pause stops every value move and rule change across the system (issue 10, item 5).

The ledger's admin-only `pause` is the only switch: SettlementVault, AllianceBadges and
MembershipBadge read the ledger's `paused()` and revert with OpenZeppelin's `EnforcedPause()`
while it is set; only the ledger's admin lifts it with `unpause`, and then every call goes through.
"""

import pytest
from eth_utils import keccak

USD = 1_000_000
COLLECTIBLE = 1
CLAIM_REF = b"\xab" * 32
DEFAULT_ADMIN_ROLE = b"\x00" * 32


@pytest.fixture
def redeem_at(signing, signer_a, signer_b, signer_c, brand_a, brand_b, brand_c):
    """``redeem_at(member, brand, at_brand, amount)``: the member's signed redemption of ``brand``
    points at ``at_brand``, sent by ``at_brand``'s signer (its consent to the debt, issue 10)."""
    signers = {brand_a: signer_a, brand_b: signer_b, brand_c: signer_c}

    def go(member, brand, at_brand, amount, ref=b"\x5e" * 32):
        return signing.redeem_at(member, brand, at_brand, amount, signers[at_brand], ref=ref)

    return go


@pytest.fixture
def a_owes_b(redeem_at, ledger, earn, signer_a, alice, brand_a, brand_b):
    """alice redeems 300 A points at B: A owes B 3 USD."""
    earn(signer_a, alice, cents=10_000)
    redeem_at(alice, brand_a, brand_b, 300)


def _pause(ledger, admin):
    ledger.pause({"from": admin})
    assert ledger.paused()


def _unpause(ledger, admin, brand_signer, errors):
    with errors.expect(
        ledger, "AccessControlUnauthorizedAccount", brand_signer, DEFAULT_ADMIN_ROLE
    ):
        ledger.unpause({"from": brand_signer})
    ledger.unpause({"from": admin})


def _expect_paused(ledger, errors, calls):
    """Each call reverts with the ledger's pause error, ``EnforcedPause()`` (same selector in every
    contract that inherits OpenZeppelin's Pausable)."""
    for call in calls.values():
        with errors.expect(ledger, "EnforcedPause"):
            call()


def test_pause_stops_vault_deposit_withdraw_settle_and_treasury_changes(
    ledger, vault, usd, a_owes_b, admin, accounts, signer_a, signer_b, brand_a, brand_b, errors
):
    treasury = accounts[8]
    usd.mint(signer_a, 20 * USD, {"from": signer_a})
    usd.approve(vault, 20 * USD, {"from": signer_a})
    vault.deposit(brand_a, 10 * USD, {"from": signer_a})

    _pause(ledger, admin)
    calls = {  # in this order they all go through once the pause is lifted
        "deposit": lambda: vault.deposit(brand_a, 10 * USD, {"from": signer_a}),
        "setTreasury": lambda: vault.setTreasury(brand_a, treasury, {"from": admin}),
        "withdraw": lambda: vault.withdraw(brand_a, USD, treasury, {"from": treasury}),
        "settle": lambda: vault.settle(brand_a, brand_b, {"from": signer_b}),
    }
    _expect_paused(ledger, errors, calls)
    assert vault.depositOf(brand_a) == 10 * USD
    assert vault.paused()

    _unpause(ledger, admin, signer_a, errors)
    assert not vault.paused()
    for call in calls.values():
        call()
    assert vault.depositOf(brand_a) == 20 * USD - 3 * USD - USD
    assert vault.depositOf(brand_b) == 3 * USD
    assert vault.treasuryOf(brand_a) == treasury


def test_pause_stops_badge_definitions_mints_claims_redemptions_transfers_and_operators(
    ledger, alliance_badges, admin, signer_a, alice, bob, brand_a, errors
):
    badges = alliance_badges
    type_id = badges.defineBadge(
        COLLECTIBLE, 0, 0, True, True, "ipfs://jacket", {"from": signer_a}
    ).events["BadgeDefined"]["typeId"]
    badges.issue(type_id, alice, 2, {"from": signer_a})

    _pause(ledger, admin)
    calls = {
        "defineBadge": lambda: badges.defineBadge(
            COLLECTIBLE, 0, 0, False, False, "ipfs://cap", {"from": signer_a}
        ),
        "issue": lambda: badges.issue(type_id, alice, 1, {"from": signer_a}),
        "claim": lambda: badges.claim(type_id, {"from": bob}),
        "redeemBenefit": lambda: badges.redeemBenefit(type_id, CLAIM_REF, {"from": alice}),
        "safeTransferFrom": lambda: badges.safeTransferFrom(
            alice, bob, type_id, 1, b"", {"from": alice}
        ),
        "setApprovalForAll": lambda: badges.setApprovalForAll(bob, True, {"from": alice}),
    }
    _expect_paused(ledger, errors, calls)
    assert badges.balanceOf(alice, type_id) == 2
    assert badges.paused()

    _unpause(ledger, admin, signer_a, errors)
    for call in calls.values():
        call()
    assert badges.balanceOf(bob, type_id) == 2  # claimed one, received one
    assert badges.isApprovedForAll(alice, bob)


def test_pause_stops_membership_badge_updates(
    ledger, membership_badge, admin, accounts, alice, signer_a, errors
):
    badge = membership_badge
    # A second holder of LEDGER_ROLE (granted by the admin) is stopped by the ledger's pause too.
    updater = accounts[9]
    badge.grantRole(keccak(text="LEDGER_ROLE"), updater, {"from": admin})

    _pause(ledger, admin)
    calls = {
        "setTier": lambda: badge.setTier(alice, 2, {"from": updater}),
        "setTierDisplayName": lambda: badge.setTierDisplayName(
            "id-ID", 3, "Royal", {"from": admin}
        ),
        "setDefaultLocale": lambda: badge.setDefaultLocale("en", {"from": admin}),
    }
    _expect_paused(ledger, errors, calls)
    assert not badge.hasBadge(alice)
    assert badge.paused()
    assert badge.ledger() == ledger.address

    _unpause(ledger, admin, signer_a, errors)
    for call in calls.values():
        call()
    assert badge.badgeTierOf(alice) == 2
    assert badge.tierDisplayName("id-ID", 3) == "Royal"
