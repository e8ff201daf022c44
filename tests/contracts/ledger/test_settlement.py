"""Cross-brand settlement: redeeming A's points at B records that A owes B; the net position is
cleared either by the creditor acknowledging an off-chain payment, or by the settlement vault
paying from the debtor's token deposit (withdrawals, treasuries, collateral and rounding:
tests/contracts/vault/test_settlement_vault.py)."""

import pytest

REF = b"\x5e" * 32
USD = 1_000_000  # micro-USD, and TestUSD units (6 decimals, 1e6 units per USD)


@pytest.fixture
def a_owes_b(ledger, earn, signing, signer_a, signer_b, alice, brand_a, brand_b):
    """alice redeems 300 A points (0.01 USD each) at B, relayed by B: A owes B 3 USD."""
    earn(signer_a, alice, cents=10_000)
    signing.redeem_at(alice, brand_a, brand_b, 300, signer_b, ref=REF)
    assert ledger.position(brand_a, brand_b) == 3 * USD


def _deposit(vault, usd, funder, brand, amount):
    usd.mint(funder, amount, {"from": funder})
    usd.approve(vault, amount, {"from": funder})
    return vault.deposit(brand, amount, {"from": funder})


def _nets(ledger, lens):
    return [lens.netPosition(b) for b in range(1, ledger.brandCount() + 1)]


# ----------------------------------------------------------------------------- off chain


@pytest.mark.parametrize("order", ["debtor first", "creditor first"])
def test_creditor_acknowledges_an_off_chain_payment_and_clears_the_position(
    ledger, lens, a_owes_b, signer_b, brand_a, brand_b, order, events
):
    args = (brand_a, brand_b) if order == "debtor first" else (brand_b, brand_a)

    tx = ledger.settle(*args, {"from": signer_b})

    assert events.one(tx, "PositionSettled") == {
        "debtor": brand_a,
        "creditor": brand_b,
        "valueMicroUsd": 3 * USD,
        "tokenAmount": 0,
    }
    assert ledger.position(brand_a, brand_b) == 0
    assert _nets(ledger, lens) == [0, 0, 0]


def test_debtor_cannot_acknowledge_its_own_payment(
    ledger, a_owes_b, signer_a, brand_a, brand_b, errors
):
    with errors.expect(ledger, "SettlementNotParty", signer_a, brand_a, brand_b):
        ledger.settle(brand_a, brand_b, {"from": signer_a})
    with errors.expect(ledger, "SettlementNotParty", signer_a, brand_b, brand_a):
        ledger.settle(brand_b, brand_a, {"from": signer_a})
    assert ledger.position(brand_a, brand_b) == 3 * USD


def test_outsiders_cannot_acknowledge_a_payment(
    ledger, a_owes_b, signer_c, outsider, alice, brand_a, brand_b, errors
):
    for caller in (signer_c, outsider, alice):
        with errors.expect(ledger, "SettlementNotParty", caller, brand_a, brand_b):
            ledger.settle(brand_a, brand_b, {"from": caller})


def test_admin_may_acknowledge_a_payment(ledger, a_owes_b, admin, brand_a, brand_b):
    ledger.settle(brand_a, brand_b, {"from": admin})
    assert ledger.position(brand_a, brand_b) == 0


def test_settling_nothing_reverts(
    ledger, a_owes_b, admin, signer_b, signer_c, brand_a, brand_b, brand_c, errors
):
    with errors.expect(ledger, "SettlementNothingToSettle", brand_a, brand_c):
        ledger.settle(brand_a, brand_c, {"from": signer_c})
    with errors.expect(ledger, "SettlementNothingToSettle", brand_b, brand_b):
        ledger.settle(brand_b, brand_b, {"from": signer_b})
    ledger.settle(brand_a, brand_b, {"from": admin})
    with errors.expect(ledger, "SettlementNothingToSettle", brand_a, brand_b):
        ledger.settle(brand_a, brand_b, {"from": signer_b})


def test_debts_in_both_directions_net_before_settlement(
    ledger, lens, a_owes_b, earn, signing, signer_a, signer_b, bob, brand_a, brand_b, events
):
    earn(signer_b, bob, cents=10_000)  # 2,000 B points at 0.005 USD
    signing.redeem_at(bob, brand_b, brand_a, 400, signer_a, ref=REF)  # B owes A 2 USD

    assert ledger.position(brand_a, brand_b) == 1 * USD
    assert _nets(ledger, lens) == [-1 * USD, 1 * USD, 0]
    tx = ledger.settle(brand_b, brand_a, {"from": signer_b})
    assert events.one(tx, "PositionSettled") == {
        "debtor": brand_a,
        "creditor": brand_b,
        "valueMicroUsd": 1 * USD,
        "tokenAmount": 0,
    }
    assert _nets(ledger, lens) == [0, 0, 0]


# ----------------------------------------------------------------------------------- vault


@pytest.mark.parametrize("caller", ["signer_a", "signer_b", "admin"])
def test_vault_settlement_moves_the_debtors_deposit_to_the_creditor_and_clears_the_position(
    ledger, lens, vault, usd, a_owes_b, signer_a, brand_a, brand_b, caller, request, events
):
    _deposit(vault, usd, signer_a, brand_a, 10 * USD)

    tx = vault.settle(brand_a, brand_b, {"from": request.getfixturevalue(caller)})

    assert events.one(tx, "SettlementPaid") == {
        "debtor": brand_a,
        "creditor": brand_b,
        "valueMicroUsd": 3 * USD,
        "tokenAmount": 3 * USD,
    }
    assert events.one(tx, "PositionSettled") == {
        "debtor": brand_a,
        "creditor": brand_b,
        "valueMicroUsd": 3 * USD,
        "tokenAmount": 3 * USD,
    }
    assert vault.depositOf(brand_a) == 7 * USD
    assert vault.depositOf(brand_b) == 3 * USD
    assert usd.balanceOf(vault) == 10 * USD
    assert ledger.position(brand_a, brand_b) == 0
    assert _nets(ledger, lens) == [0, 0, 0]


def test_vault_settlement_reverts_when_the_debtors_deposit_is_short(
    ledger, vault, usd, a_owes_b, signer_b, outsider, brand_a, brand_b, errors
):
    _deposit(vault, usd, outsider, brand_a, 2 * USD)  # anyone may fund a brand

    with errors.expect(vault, "VaultInsufficientDeposit", brand_a, 2 * USD, 3 * USD):
        vault.settle(brand_a, brand_b, {"from": signer_b})
    assert vault.depositOf(brand_a) == 2 * USD
    assert ledger.position(brand_a, brand_b) == 3 * USD


def test_vault_settlement_with_nothing_owed_reverts(vault, signer_a, brand_a, brand_b, errors):
    with errors.expect(vault, "VaultNothingToSettle", brand_a, brand_b):
        vault.settle(brand_a, brand_b, {"from": signer_a})


def test_vault_settlement_is_only_for_the_two_brands_and_the_admin(
    vault, a_owes_b, signer_c, outsider, alice, brand_a, brand_b, errors
):
    for caller in (signer_c, outsider, alice):
        with errors.expect(vault, "VaultNotParty", caller, brand_a, brand_b):
            vault.settle(brand_a, brand_b, {"from": caller})


def test_vault_deposit_needs_an_amount_and_an_existing_brand(vault, usd, signer_a, errors):
    with errors.expect(vault, "VaultInvalidAmount", 0):
        vault.deposit(1, 0, {"from": signer_a})
    usd.mint(signer_a, USD, {"from": signer_a})
    usd.approve(vault, USD, {"from": signer_a})
    with errors.expect(vault, "VaultUnknownBrand", 9):
        vault.deposit(9, USD, {"from": signer_a})
