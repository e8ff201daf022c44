"""Alliance governance and brand isolation: the admin onboards, suspends and values brands;
each brand acts only through its own key(s) and only on its own points."""

import pytest
from brownie import ZERO_ADDRESS

ADMIN_ROLE = "0x" + "00" * 32
NEW_RULE = (7, 4, 2, 1, 9)


# ------------------------------------------------------------------------------------ onboarding


def test_onboard_brand_records_signer_value_rule_and_token_metadata(
    ledger, lens, admin, outsider, events
):
    tx = ledger.onboardBrand(outsider, 25_000, NEW_RULE, "Brand D Points", "DPT", {"from": admin})

    assert tx.return_value == 4
    ev = events.one(tx, "BrandOnboarded")
    assert ev["brand"] == 4 and ev["signer"] == outsider and ev["valueMicroUsd"] == 25_000
    assert tuple(ev["rule"]) == NEW_RULE
    assert events.one(tx, "BrandSignerChanged") == {
        "brand": 4,
        "signer": outsider,
        "authorized": True,
    }
    exists, suspended, rule, value = lens.brandInfo(4)
    assert (exists, suspended, tuple(rule), value) == (True, False, NEW_RULE, 25_000)
    assert ledger.brandCount() == 4
    assert ledger.brandOf(outsider) == 4
    assert ledger.name(4) == "Brand D Points" and ledger.symbol(4) == "DPT"
    assert ledger.decimals(4) == 0


def test_onboard_brand_rejects_a_zero_point_value(ledger, admin, outsider, errors):
    with errors.expect(ledger, "LedgerInvalidPointValue", 0):
        ledger.onboardBrand(outsider, 0, NEW_RULE, "D", "D", {"from": admin})


def test_onboard_brand_rejects_the_zero_signer(ledger, admin, errors):
    with errors.expect(ledger, "LedgerInvalidMember", ZERO_ADDRESS):
        ledger.onboardBrand(ZERO_ADDRESS, 10_000, NEW_RULE, "D", "D", {"from": admin})


def test_a_signing_key_serves_one_brand_only(ledger, admin, signer_b, brand_a, brand_b, errors):
    with errors.expect(ledger, "LedgerSignerTaken", signer_b, brand_b):
        ledger.onboardBrand(signer_b, 10_000, NEW_RULE, "D", "D", {"from": admin})
    with errors.expect(ledger, "LedgerSignerTaken", signer_b, brand_b):
        ledger.setBrandSigner(brand_a, signer_b, True, {"from": admin})
    assert ledger.brandCount() == 3


def test_unknown_brand_cannot_be_configured(ledger, admin, outsider, errors):
    with errors.expect(ledger, "LedgerUnknownBrand", 99):
        ledger.setBrandSigner(99, outsider, True, {"from": admin})
    with errors.expect(ledger, "LedgerUnknownBrand", 99):
        ledger.setBrandSuspended(99, True, {"from": admin})
    with errors.expect(ledger, "LedgerUnknownBrand", 99):
        ledger.setPointValue(99, 10_000, {"from": admin})
    with errors.expect(ledger, "LedgerUnknownBrand", 0):
        ledger.setPointValue(0, 10_000, {"from": admin})


def test_ledger_supports_erc6909_erc165_and_access_control_interfaces(ledger):
    assert ledger.supportsInterface("0x0f632fb3")  # IERC6909
    assert ledger.supportsInterface("0x01ffc9a7")  # IERC165
    assert ledger.supportsInterface("0x7965db0b")  # IAccessControl
    assert not ledger.supportsInterface("0xffffffff")


# ------------------------------------------------------------------------------------ admin only


ADMIN_CALLS = {
    "onboardBrand": lambda ledger, who: ledger.onboardBrand(
        who, 10_000, NEW_RULE, "X", "X", {"from": who}
    ),
    "setBrandSigner": lambda ledger, who: ledger.setBrandSigner(1, who, False, {"from": who}),
    "setBrandSuspended": lambda ledger, who: ledger.setBrandSuspended(1, True, {"from": who}),
    "setPointValue": lambda ledger, who: ledger.setPointValue(1, 1, {"from": who}),
    "setCharityPool": lambda ledger, who: ledger.setCharityPool(who, {"from": who}),
    "setTierRule": lambda ledger, who: ledger.setTierRule(1, (1, 1, 1), 0, {"from": who}),
    "pause": lambda ledger, who: ledger.pause({"from": who}),
    "unpause": lambda ledger, who: ledger.unpause({"from": who}),
    "grantRole": lambda ledger, who: ledger.grantRole(ADMIN_ROLE, who, {"from": who}),
}


@pytest.mark.parametrize("function", ADMIN_CALLS)
@pytest.mark.parametrize("caller", ["signer_a", "outsider", "alice"])
def test_admin_functions_revert_for_everyone_but_the_admin(
    ledger, function, caller, request, errors
):
    who = request.getfixturevalue(caller)
    with errors.expect(ledger, "AccessControlUnauthorizedAccount", who, ADMIN_ROLE):
        ADMIN_CALLS[function](ledger, who)


def test_record_settlement_is_only_for_the_settlement_vault(ledger, admin, signer_b, errors):
    role = ledger.SETTLER_ROLE()
    for caller in (admin, signer_b):
        with errors.expect(ledger, "AccessControlUnauthorizedAccount", caller, role):
            ledger.recordSettlement(1, 2, 1, 1, {"from": caller})


# ----------------------------------------------------------------------------------- point value


def test_point_value_change_emits_event_and_leaves_issued_points_unchanged(
    ledger, lens, admin, earn, signing, signer_a, signer_b, alice, brand_a, brand_b, events, clock
):
    earn(signer_a, alice, cents=10_000)  # 1,000 A points
    signing.redeem_at(
        alice, brand_a, brand_b, 100, signer_b, ref=b"\x01" * 32
    )  # at 10,000 micro-USD each
    balance, lots, account = (
        ledger.balanceOf(alice, brand_a),
        lens.lotsOf(alice, brand_a),
        lens.brandAccount(brand_a),
    )
    position = ledger.position(brand_a, brand_b)
    assert balance == 900 and position == 1_000_000

    tx = ledger.setPointValue(brand_a, 20_000, {"from": admin})

    assert events.one(tx, "PointValueChanged") == {
        "brand": brand_a,
        "previousValueMicroUsd": 10_000,
        "newValueMicroUsd": 20_000,
        "effectiveMonth": clock.month() + 1,
    }
    assert lens.brandInfo(brand_a)[3] == 10_000  # this month's points keep this month's value
    assert tuple(int(v) for v in lens.pointValue(brand_a)) == (10_000, 20_000, clock.month() + 1)
    assert ledger.balanceOf(alice, brand_a) == balance
    assert lens.lotsOf(alice, brand_a) == lots
    assert lens.brandAccount(brand_a) == account
    assert ledger.position(brand_a, brand_b) == position  # recorded debt keeps its old value

    redeemed = signing.redeem_at(alice, brand_a, brand_b, 100, signer_b, ref=b"\x02" * 32)
    assert redeemed.return_value == 100 * 10_000  # points issued before the change keep their value
    assert ledger.position(brand_a, brand_b) == position + 1_000_000


def test_point_value_cannot_be_set_to_zero(ledger, admin, brand_a, errors):
    with errors.expect(ledger, "LedgerInvalidPointValue", 0):
        ledger.setPointValue(brand_a, 0, {"from": admin})


# ----------------------------------------------------------------------------- brand isolation


def test_brand_b_key_only_ever_mints_brand_b_points(
    ledger, lens, earn, signer_b, alice, brand_a, brand_b, brand_c, to_plain, events
):
    tx = earn(signer_b, alice, cents=10_000)  # B: 20 points per USD
    batch = earn.batch(signer_b, [earn.op(alice, "review"), earn.op(alice, cents=500)])

    for receipt in (tx, batch):
        for transfer in receipt.events["Transfer"]:
            assert transfer["id"] == brand_b and transfer["sender"] == ZERO_ADDRESS
        for earned in events.all(receipt, "PointsEarned"):
            assert earned["brand"] == brand_b
    assert ledger.balanceOf(alice, brand_b) == 2_000 + 8 + 100
    for other in (brand_a, brand_c):
        assert ledger.balanceOf(alice, other) == 0
        assert to_plain(lens.brandAccount(other)) == (0, 0, 0, 0, 0)


def test_non_signer_cannot_earn(ledger, earn, outsider, alice, errors):
    for caller in (outsider, alice):
        with errors.expect(ledger, "LedgerNotBrandSigner", caller, 0):
            earn(caller, alice)
        with errors.expect(ledger, "LedgerNotBrandSigner", caller, 0):
            earn.batch(caller, [earn.op(alice)])
    assert ledger.balanceOf(alice, 1) == 0


def test_no_brand_sets_an_earn_rule_not_even_its_own(
    ledger, lens, admin, signer_a, signer_b, brand_a, errors
):
    """Issue 10, reproduction 3: a brand signer raised its own rate 25-fold on chain. The rule
    prices what a brand's operations count toward alliance tiers, so only the admin sets it."""
    rule_before = lens.brandInfo(brand_a)[2]
    role = ledger.DEFAULT_ADMIN_ROLE()
    for signer in (signer_a, signer_b):
        with errors.expect(ledger, "AccessControlUnauthorizedAccount", signer, role):
            ledger.setEarnRule(brand_a, (250, 5, 3, 5, 20), {"from": signer})
    assert lens.brandInfo(brand_a)[2] == rule_before


def test_admin_sets_a_brands_earn_rule_with_an_event(
    ledger, lens, admin, earn, signer_a, alice, brand_a, events, errors
):
    tx = ledger.setEarnRule(brand_a, NEW_RULE, {"from": admin})

    ev = events.one(tx, "EarnRuleChanged")
    assert ev["brand"] == brand_a and tuple(ev["rule"]) == NEW_RULE
    assert tuple(lens.brandInfo(brand_a)[2]) == NEW_RULE
    assert earn(signer_a, alice, cents=10_000).return_value == 700
    with errors.expect(ledger, "LedgerUnknownBrand", 9):
        ledger.setEarnRule(9, NEW_RULE, {"from": admin})


def test_brand_cannot_withdraw_another_brands_vault_deposit(
    vault, usd, admin, accounts, signer_a, signer_b, brand_a, errors
):
    treasury_a = accounts[8]  # only brand A's treasury withdraws (tests/contracts/vault/)
    vault.setTreasury(brand_a, treasury_a, {"from": admin})
    usd.mint(signer_a, 5_000_000, {"from": signer_a})
    usd.approve(vault, 5_000_000, {"from": signer_a})
    vault.deposit(brand_a, 5_000_000, {"from": signer_a})

    with errors.expect(vault, "VaultNotTreasury", signer_b, brand_a):
        vault.withdraw(brand_a, 1, signer_b, {"from": signer_b})
    assert vault.depositOf(brand_a) == 5_000_000

    vault.withdraw(brand_a, 2_000_000, treasury_a, {"from": treasury_a})
    assert vault.depositOf(brand_a) == 3_000_000
    assert usd.balanceOf(treasury_a) == 2_000_000


def test_brand_cannot_settle_a_position_it_is_not_party_to(
    ledger, vault, earn, signing, signer_a, signer_b, signer_c, alice, brand_a, brand_b, errors
):
    earn(signer_a, alice, cents=10_000)
    signing.redeem_at(alice, brand_a, brand_b, 500, signer_b, ref=b"\x00" * 32)  # A owes B

    with errors.expect(ledger, "SettlementNotParty", signer_c, brand_a, brand_b):
        ledger.settle(brand_a, brand_b, {"from": signer_c})
    with errors.expect(vault, "VaultNotParty", signer_c, brand_a, brand_b):
        vault.settle(brand_a, brand_b, {"from": signer_c})
    assert ledger.position(brand_a, brand_b) == 500 * 10_000


def test_brand_key_cannot_debit_a_members_points(ledger, earn, signer_a, alice, brand_a, errors):
    earn(signer_a, alice, cents=10_000)

    with errors.expect(ledger, "ERC6909InsufficientAllowance", signer_a, 0, 100, brand_a):
        ledger.transferFrom(alice, signer_a, brand_a, 100, {"from": signer_a})
    # redeem and donate only ever debit the caller
    with errors.expect(ledger, "PointsInsufficientBalance", signer_a, brand_a, 0, 100):
        ledger.redeem(brand_a, brand_a, 100, b"\x00" * 32, {"from": signer_a})
    assert ledger.balanceOf(alice, brand_a) == 1_000


def test_revoked_key_can_no_longer_earn_and_a_new_key_can(
    ledger, admin, earn, signer_a, outsider, alice, brand_a, errors, events
):
    tx = ledger.setBrandSigner(brand_a, signer_a, False, {"from": admin})
    assert events.one(tx, "BrandSignerChanged") == {
        "brand": brand_a,
        "signer": signer_a,
        "authorized": False,
    }
    assert ledger.brandOf(signer_a) == 0
    with errors.expect(ledger, "LedgerNotBrandSigner", signer_a, 0):
        earn(signer_a, alice)

    ledger.setBrandSigner(brand_a, outsider, True, {"from": admin})
    earn(outsider, alice, cents=10_000)
    assert ledger.balanceOf(alice, brand_a) == 1_000


def test_revoking_a_key_of_another_brand_reverts(ledger, admin, signer_b, brand_a, brand_b, errors):
    with errors.expect(ledger, "LedgerNotBrandSigner", signer_b, brand_a):
        ledger.setBrandSigner(brand_a, signer_b, False, {"from": admin})
    assert ledger.brandOf(signer_b) == brand_b


# -------------------------------------------------------------------------- suspension, charity


def test_suspension_is_recorded_and_can_be_lifted(ledger, lens, admin, brand_a, events):
    tx = ledger.setBrandSuspended(brand_a, True, {"from": admin})
    assert events.one(tx, "BrandSuspensionChanged") == {"brand": brand_a, "suspended": True}
    assert not ledger.isBrandActive(brand_a)
    assert lens.brandInfo(brand_a)[1] is True

    ledger.setBrandSuspended(brand_a, False, {"from": admin})
    assert ledger.isBrandActive(brand_a)


def test_charity_pool_can_be_moved_but_not_to_the_zero_address(
    ledger, admin, earn, signer_a, alice, outsider, charity, brand_a, errors, events
):
    with errors.expect(ledger, "LedgerInvalidMember", ZERO_ADDRESS):
        ledger.setCharityPool(ZERO_ADDRESS, {"from": admin})

    tx = ledger.setCharityPool(outsider, {"from": admin})
    assert events.one(tx, "CharityPoolChanged") == {"pool": outsider}
    earn(signer_a, alice, cents=10_000)
    ledger.donate(brand_a, 100, {"from": alice})
    assert ledger.balanceOf(outsider, brand_a) == 100
    assert ledger.balanceOf(charity, brand_a) == 0
