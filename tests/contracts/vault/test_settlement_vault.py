"""SettlementVault: a brand's deposit backs its open debts (issue 10, item 4).

Withdrawals need the brand's treasury key, never one of its (hot) signing keys; a withdrawal never
takes the deposit below what the brand owes, each debt converted to token units rounded up; the
vault credits what it actually received (fee-on-transfer tokens); and a settlement pays whole
token units for what they are worth: a position worth less than one unit is never cleared for
nothing, and no settlement costs the debtor a unit more than it owed.
"""

import pytest
from brownie import ZERO_ADDRESS

REF = b"\x5e" * 32
USD = 1_000_000  # micro-USD, and TestUSD units (6 decimals, 1e6 units per USD)
DEFAULT_ADMIN_ROLE = b"\x00" * 32


@pytest.fixture
def redeem_at(signing, signer_a, signer_b, signer_c, brand_a, brand_b, brand_c):
    """``redeem_at(member, brand, at_brand, amount)``: the member's signed redemption of ``brand``
    points at ``at_brand``, sent by ``at_brand``'s signer (its consent to the debt, issue 10)."""
    signers = {brand_a: signer_a, brand_b: signer_b, brand_c: signer_c}

    def go(member, brand, at_brand, amount, ref=b"\x5e" * 32):
        return signing.redeem_at(member, brand, at_brand, amount, signers[at_brand], ref=ref)

    return go


@pytest.fixture(scope="module")
def treasury_a(accounts):
    """Brand A's treasury: a cold key, distinct from signer_a (which the gateway holds)."""
    return accounts[8]


@pytest.fixture(scope="module")
def treasury_b(accounts):
    return accounts[9]


@pytest.fixture
def treasuries(vault, admin, brand_a, brand_b, treasury_a, treasury_b):
    """The admin sets each brand's first treasury at onboarding."""
    vault.setTreasury(brand_a, treasury_a, {"from": admin})
    vault.setTreasury(brand_b, treasury_b, {"from": admin})


@pytest.fixture
def a_owes_b(redeem_at, ledger, earn, signer_a, alice, brand_a, brand_b):
    """alice redeems 300 A points (0.01 USD each) at B: A owes B 3 USD."""
    earn(signer_a, alice, cents=10_000)
    redeem_at(alice, brand_a, brand_b, 300)
    assert ledger.position(brand_a, brand_b) == 3 * USD


def _deposit(vault, token, funder, brand, amount):
    token.mint(funder, amount, {"from": funder})
    token.approve(vault, amount, {"from": funder})
    return vault.deposit(brand, amount, {"from": funder})


def _vault(SettlementVault, ledger, admin, token, units_per_usd):
    """Another vault on the same ledger (a different token or conversion), allowed to settle."""
    other = SettlementVault.deploy(admin, ledger, token, units_per_usd, {"from": admin})
    ledger.grantRole(ledger.SETTLER_ROLE(), other, {"from": admin})
    return other


# ----------------------------------------------------------------------------- treasury key


def test_brand_signing_key_cannot_withdraw_its_deposit(
    vault, usd, a_owes_b, signer_a, signer_b, outsider, brand_a, brand_b, errors
):
    """Reproduction: the gateway's hot key took the whole deposit, so B's settle then failed."""
    _deposit(vault, usd, signer_a, brand_a, 10 * USD)

    with errors.expect(vault, "VaultNotTreasury", signer_a, brand_a):
        vault.withdraw(brand_a, 10 * USD, outsider, {"from": signer_a})

    vault.settle(brand_a, brand_b, {"from": signer_b})
    assert vault.depositOf(brand_a) == 7 * USD
    assert vault.depositOf(brand_b) == 3 * USD


def test_no_one_withdraws_before_a_treasury_is_set(vault, usd, signer_a, admin, brand_a, errors):
    _deposit(vault, usd, signer_a, brand_a, 2 * USD)
    for caller in (signer_a, admin):
        with errors.expect(vault, "VaultNotTreasury", caller, brand_a):
            vault.withdraw(brand_a, USD, caller, {"from": caller})


def test_admin_sets_the_first_treasury_then_only_the_treasury_hands_over(
    vault, accounts, admin, signer_a, outsider, treasury_a, brand_a, errors, events
):
    with errors.expect(vault, "VaultNotTreasury", outsider, brand_a):
        vault.setTreasury(brand_a, outsider, {"from": outsider})

    tx = vault.setTreasury(brand_a, treasury_a, {"from": admin})
    assert events.one(tx, "BrandTreasuryChanged") == {
        "brand": brand_a,
        "previousTreasury": ZERO_ADDRESS,
        "treasury": treasury_a,
    }
    assert vault.treasuryOf(brand_a) == treasury_a

    # Once set, neither the admin nor the brand's signer can take it over.
    for caller in (admin, signer_a):
        with errors.expect(vault, "VaultNotTreasury", caller, brand_a):
            vault.setTreasury(brand_a, caller, {"from": caller})

    successor = accounts.add()
    tx = vault.setTreasury(brand_a, successor, {"from": treasury_a})
    assert events.one(tx, "BrandTreasuryChanged") == {
        "brand": brand_a,
        "previousTreasury": treasury_a,
        "treasury": successor,
    }
    assert vault.treasuryOf(brand_a) == successor


def test_a_signing_key_or_zero_cannot_become_a_treasury(
    vault, admin, signer_a, signer_b, brand_a, brand_b, errors
):
    with errors.expect(vault, "VaultTreasuryIsSigner", signer_a, brand_a):
        vault.setTreasury(brand_a, signer_a, {"from": admin})
    with errors.expect(vault, "VaultTreasuryIsSigner", signer_b, brand_b):
        vault.setTreasury(brand_a, signer_b, {"from": admin})
    with errors.expect(vault, "VaultInvalidTreasury", ZERO_ADDRESS):
        vault.setTreasury(brand_a, ZERO_ADDRESS, {"from": admin})
    with errors.expect(vault, "VaultUnknownBrand", 9):
        vault.setTreasury(9, signer_a, {"from": admin})


def test_a_treasury_later_made_a_signing_key_cannot_withdraw(
    ledger, vault, usd, treasuries, admin, signer_a, treasury_a, brand_a, errors
):
    _deposit(vault, usd, signer_a, brand_a, 2 * USD)
    ledger.setBrandSigner(brand_a, treasury_a, True, {"from": admin})

    with errors.expect(vault, "VaultTreasuryIsSigner", treasury_a, brand_a):
        vault.withdraw(brand_a, USD, treasury_a, {"from": treasury_a})


def test_a_treasury_made_a_signing_key_cannot_hand_the_treasury_over(
    ledger, vault, usd, treasuries, accounts, admin, signer_a, treasury_a, brand_a, errors
):
    """README "Deposits and settlement": a treasury that the admin later makes a signing key can no
    longer withdraw, and (since 2026-12-06) no longer hands the treasury over either. Failed before:
    `setTreasury` did not check its caller, so the hot key handed the treasury to a fresh address
    of its own and withdrew the deposit through it. Once the admin revokes the signing key, the
    treasury hands over again."""
    _deposit(vault, usd, signer_a, brand_a, 2 * USD)
    ledger.setBrandSigner(brand_a, treasury_a, True, {"from": admin})
    fresh = accounts.add()

    with errors.expect(vault, "VaultTreasuryIsSigner", treasury_a, brand_a):
        vault.setTreasury(brand_a, fresh, {"from": treasury_a})
    assert vault.treasuryOf(brand_a) == treasury_a
    with errors.expect(vault, "VaultNotTreasury", fresh, brand_a):
        vault.withdraw(brand_a, USD, fresh, {"from": fresh})

    ledger.setBrandSigner(brand_a, treasury_a, False, {"from": admin})
    vault.setTreasury(brand_a, fresh, {"from": treasury_a})
    assert vault.treasuryOf(brand_a) == fresh


def test_creditor_treasury_withdraws_what_the_vault_settled_to_it(
    vault, usd, a_owes_b, treasuries, signer_a, signer_b, treasury_b, brand_a, brand_b, events
):
    _deposit(vault, usd, signer_a, brand_a, 5 * USD)
    vault.settle(brand_b, brand_a, {"from": signer_b})

    tx = vault.withdraw(brand_b, 3 * USD, treasury_b, {"from": treasury_b})

    assert events.one(tx, "SettlementWithdrawn") == {
        "brand": brand_b,
        "to": treasury_b,
        "amount": 3 * USD,
    }
    assert usd.balanceOf(treasury_b) == 3 * USD
    assert vault.depositOf(brand_b) == 0
    assert usd.balanceOf(vault) == 2 * USD


def test_withdrawal_is_limited_to_the_brands_deposit(
    vault, usd, treasuries, signer_a, treasury_a, brand_a, errors
):
    _deposit(vault, usd, signer_a, brand_a, 2 * USD)
    with errors.expect(vault, "VaultInsufficientDeposit", brand_a, 2 * USD, 2 * USD + 1):
        vault.withdraw(brand_a, 2 * USD + 1, treasury_a, {"from": treasury_a})
    with errors.expect(vault, "VaultInvalidAmount", 0):
        vault.withdraw(brand_a, 0, treasury_a, {"from": treasury_a})


# ------------------------------------------------------------------------- collateral


def test_treasury_cannot_withdraw_below_what_the_brand_owes(
    ledger,
    vault,
    usd,
    a_owes_b,
    treasuries,
    signer_a,
    signer_b,
    treasury_a,
    brand_a,
    brand_b,
    errors,
):
    _deposit(vault, usd, signer_a, brand_a, 10 * USD)
    assert vault.requiredDeposit(brand_a) == 3 * USD
    assert vault.requiredDeposit(brand_b) == 0

    with errors.expect(vault, "VaultDepositBacksDebt", brand_a, 10 * USD, 3 * USD, 7 * USD + 1):
        vault.withdraw(brand_a, 7 * USD + 1, treasury_a, {"from": treasury_a})
    vault.withdraw(brand_a, 7 * USD, treasury_a, {"from": treasury_a})

    # The creditor can still settle in full, and then the deposit is free again.
    vault.settle(brand_a, brand_b, {"from": signer_b})
    assert ledger.position(brand_a, brand_b) == 0
    assert vault.depositOf(brand_a) == 0
    assert vault.depositOf(brand_b) == 3 * USD


def test_debts_to_several_creditors_all_stay_backed(
    redeem_at,
    ledger,
    vault,
    usd,
    earn,
    a_owes_b,
    treasuries,
    signer_a,
    signer_b,
    signer_c,
    treasury_a,
    alice,
    brand_a,
    brand_b,
    brand_c,
    errors,
):
    redeem_at(alice, brand_a, brand_c, 200)  # A owes C 2 USD too
    _deposit(vault, usd, signer_a, brand_a, 6 * USD)
    assert vault.requiredDeposit(brand_a) == 5 * USD

    with errors.expect(vault, "VaultDepositBacksDebt", brand_a, 6 * USD, 5 * USD, 2 * USD):
        vault.withdraw(brand_a, 2 * USD, treasury_a, {"from": treasury_a})
    vault.withdraw(brand_a, USD, treasury_a, {"from": treasury_a})

    vault.settle(brand_a, brand_b, {"from": signer_b})
    vault.settle(brand_a, brand_c, {"from": signer_c})
    assert vault.depositOf(brand_a) == 0
    assert (vault.depositOf(brand_b), vault.depositOf(brand_c)) == (3 * USD, 2 * USD)


def test_what_others_owe_a_brand_does_not_free_its_deposit(
    redeem_at,
    ledger,
    vault,
    usd,
    earn,
    a_owes_b,
    treasuries,
    signer_a,
    signer_c,
    treasury_a,
    bob,
    brand_a,
    brand_c,
    errors,
):
    """Settlement is per pair: C's debt to A is paid from C's deposit, not from A's."""
    earn(signer_c, bob, cents=10_000)
    redeem_at(bob, brand_c, brand_a, 500)  # C owes A 5 USD
    _deposit(vault, usd, signer_a, brand_a, 3 * USD)

    assert vault.requiredDeposit(brand_a) == 3 * USD
    with errors.expect(vault, "VaultDepositBacksDebt", brand_a, 3 * USD, 3 * USD, 1):
        vault.withdraw(brand_a, 1, treasury_a, {"from": treasury_a})


# ------------------------------------------------------------------ what the vault receives


def test_vault_credits_what_it_received_from_a_fee_on_transfer_token(
    SettlementVault, FeeOnTransferUSD, ledger, admin, signer_a, brand_a, events
):
    """Reproduction: the vault credited 100 USD while it held 99 USD."""
    fee_usd = FeeOnTransferUSD.deploy({"from": admin})
    fee_vault = _vault(SettlementVault, ledger, admin, fee_usd, USD)

    tx = _deposit(fee_vault, fee_usd, signer_a, brand_a, 100 * USD)

    assert fee_usd.balanceOf(fee_vault) == 99 * USD
    assert fee_vault.depositOf(brand_a) == 99 * USD
    assert tx.return_value == 99 * USD
    assert events.one(tx, "SettlementDeposited", fee_vault) == {
        "brand": brand_a,
        "from": signer_a,
        "amount": 99 * USD,
    }


# --------------------------------------------------------------------------- rounding


@pytest.fixture
def cent_vault(SettlementVault, ledger, usd, admin):
    """A vault whose token has 100 units per USD: one unit is worth 10,000 micro-USD."""
    return _vault(SettlementVault, ledger, admin, usd, 100)


def test_position_worth_less_than_one_unit_is_not_cleared_for_nothing(
    redeem_at,
    ledger,
    cent_vault,
    usd,
    earn,
    signer_a,
    signer_b,
    bob,
    brand_a,
    brand_b,
    errors,
    events,
):
    """Reproduction: B owed A half a unit; rounding down settled it for 0 tokens. It now stays
    owed until it is worth a unit; the vault then pays the whole units and leaves the rest."""
    earn(signer_b, bob, cents=10_000)
    redeem_at(bob, brand_b, brand_a, 1)  # one B point: 5,000 micro-USD
    assert ledger.position(brand_b, brand_a) == 5_000
    _deposit(cent_vault, usd, signer_b, brand_b, 10)

    with errors.expect(cent_vault, "VaultBelowOneUnit", brand_b, brand_a, 5_000, 100):
        cent_vault.settle(brand_b, brand_a, {"from": signer_a})
    assert ledger.position(brand_b, brand_a) == 5_000
    assert cent_vault.depositOf(brand_b) == 10

    redeem_at(bob, brand_b, brand_a, 2, ref=b"\x5f" * 32)  # 15,000 micro-USD: 1.5 units
    tx = cent_vault.settle(brand_b, brand_a, {"from": signer_a})
    assert events.one(tx, "SettlementPaid") == {
        "debtor": brand_b,
        "creditor": brand_a,
        "valueMicroUsd": 10_000,
        "tokenAmount": 1,
    }
    assert cent_vault.depositOf(brand_a) == 1
    assert ledger.position(brand_b, brand_a) == 5_000


def test_small_settlements_pay_what_was_owed_not_a_unit_each(
    redeem_at, ledger, cent_vault, usd, earn, signer_a, signer_b, bob, brand_a, brand_b, errors
):
    """The hostile review of 2026-12-06: ten 1-point redemptions at 100 units per USD owe 5
    units; a creditor settling after each one was paid a unit each time, 10 in all."""
    earn(signer_b, bob, cents=10_000)
    _deposit(cent_vault, usd, signer_b, brand_b, 100)
    for i in range(10):
        redeem_at(bob, brand_b, brand_a, 1, ref=bytes([i + 1]) * 32)
        owed = ledger.position(brand_b, brand_a)
        if owed < 10_000:
            with errors.expect(cent_vault, "VaultBelowOneUnit", brand_b, brand_a, owed, 100):
                cent_vault.settle(brand_b, brand_a, {"from": signer_a})
        else:
            cent_vault.settle(brand_b, brand_a, {"from": signer_a})
    assert cent_vault.depositOf(brand_a) == 5
    assert cent_vault.depositOf(brand_b) == 95
    assert ledger.position(brand_b, brand_a) == 0


def test_a_conversion_that_does_not_divide_a_usd_pays_less_than_a_micro_usd_over(
    SettlementVault,
    redeem_at,
    ledger,
    usd,
    admin,
    earn,
    signer_a,
    signer_b,
    bob,
    brand_a,
    brand_b,
    events,
):
    """At 3 units per USD a unit is worth 333,333.3 micro-USD: the vault settles what its whole
    units are worth, rounded down, so the creditor gains under 1 micro-USD, never a unit."""
    third_vault = _vault(SettlementVault, ledger, admin, usd, 3)
    earn(signer_b, bob, cents=10_000)
    redeem_at(bob, brand_b, brand_a, 300)  # 1,500,000 micro-USD: 4.5 units
    _deposit(third_vault, usd, signer_b, brand_b, 10)
    tx = third_vault.settle(brand_b, brand_a, {"from": signer_a})
    paid = events.one(tx, "SettlementPaid")
    assert (paid["tokenAmount"], paid["valueMicroUsd"]) == (4, 1_333_333)
    assert 0 < 4 * USD / 3 - 1_333_333 < 1  # what 4 units are worth, less what they cleared
    assert ledger.position(brand_b, brand_a) == 1_500_000 - 1_333_333


def test_required_deposit_rounds_each_debt_up_on_its_own(
    redeem_at, ledger, cent_vault, earn, signer_b, bob, brand_a, brand_b, brand_c
):
    """Half a unit owed to A and half a unit owed to C: each settlement costs one unit."""
    earn(signer_b, bob, cents=10_000)
    redeem_at(bob, brand_b, brand_a, 1)
    redeem_at(bob, brand_b, brand_c, 1)
    assert cent_vault.requiredDeposit(brand_b) == 2


def test_vault_needs_a_positive_conversion(SettlementVault, ledger, usd, admin, errors):
    with errors.expect(SettlementVault, "VaultInvalidUnitsPerUsd", 0):
        SettlementVault.deploy(admin, ledger, usd, 0, {"from": admin})
