"""Property-based stateful test of the settlement vault as collateral (issue 10, item 4).

Random sequences of cross-brand redemptions (which open debts), deposits, withdrawals by each
brand's treasury (of any size), withdrawal attempts by brand signing keys, and settlements
through the vault or acknowledged off chain, on a vault whose token has 100 units per USD (so
half-unit debts exist and rounding matters). Checked after every step against a plain model:

- every withdrawal or settlement succeeds exactly when the model says so, else reverts with the
  exact custom error; after each withdrawal the brand's deposit still covers all it owes, each
  debt in token units rounded up (the floor);
- each deposit equals the model's, and the deposits add up to the vault's token balance;
- `requiredDeposit(brand)` is the sum over its creditors of each debt rounded up to a unit;
- a settlement pays whole units for what they are worth (refused below one unit) and leaves the
  rest of the debt owed.
"""

from brownie import chain
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

UNITS_PER_USD = 100
BRANDS = (1, 2, 3)
PAIRS = [(a, b) for a in BRANDS for b in BRANDS if a != b]
REF = b"\x5e" * 32

st_brand = st.sampled_from(BRANDS)
st_pair = st.sampled_from(PAIRS)
st_member = st.integers(min_value=0, max_value=2)
st_fraction = st.floats(min_value=0.0, max_value=1.0)
st_units = st.integers(min_value=1, max_value=5_000)


def units(value_micro_usd):
    """Micro-USD to token units, rounded up: what a debt needs in the deposit behind it."""
    return -(-value_micro_usd * UNITS_PER_USD // 1_000_000)


def payable(owed_micro_usd):
    """What a settlement pays: (value settled, units), whole units for what they are worth."""
    whole = owed_micro_usd * UNITS_PER_USD // 1_000_000
    value = whole * 1_000_000 // UNITS_PER_USD
    return value, units(value)


class VaultStateMachine(RuleBasedStateMachine):
    """Each example starts from the test's snapshot (vault deployed, treasuries set, no debts)."""

    ledger = vault = usd = errors = signing = None
    members = signers = treasuries = ()

    def __init__(self):
        chain.revert()
        super().__init__()
        self.deposits = dict.fromkeys(BRANDS, 0)

    def _position(self, a, b):
        return int(self.ledger.position(a, b))

    def _required(self, brand):
        return sum(units(max(self._position(brand, o), 0)) for o in BRANDS if o != brand)

    # ---------------------------------------------------------------------------------- rules

    @initialize()
    def members_earn_at_every_brand(self):
        for brand in BRANDS:
            for member in self.members:
                op = (self._next_op(), member.address, 0, 100, 200_000, REF)
                self.ledger.earn(op, {"from": self.signers[brand]})

    _ops = iter(range(1, 10**9))

    def _next_op(self):
        return next(self._ops)

    @rule(pair=st_pair, member=st_member, fraction=st_fraction)
    def redeem_across_brands(self, pair, member, fraction):
        brand, at_brand = pair
        holder = self.members[member]
        amount = int(int(self.ledger.balanceOf(holder, brand)) * fraction * 0.2)
        if amount == 0:
            return
        # issue 10: a cross-brand debt needs the redeeming brand's consent: its signer sends the
        # member's signed redemption
        self.signing.redeem_at(holder, brand, at_brand, amount, self.signers[at_brand], ref=REF)

    @rule(brand=st_brand, funder=st_brand, amount=st_units)
    def deposit(self, brand, funder, amount):
        signer = self.signers[funder]
        self.usd.mint(signer, amount, {"from": signer})
        self.usd.approve(self.vault, amount, {"from": signer})
        self.vault.deposit(brand, amount, {"from": signer})
        self.deposits[brand] += amount

    @rule(brand=st_brand, fraction=st_fraction)
    def treasury_withdraws(self, brand, fraction):
        deposit, required = self.deposits[brand], self._required(brand)
        amount = max(1, int(deposit * fraction))
        treasury = self.treasuries[brand]
        call = lambda: self.vault.withdraw(brand, amount, treasury, {"from": treasury})  # noqa: E731
        if amount > deposit:
            with self.errors.expect(self.vault, "VaultInsufficientDeposit", brand, deposit, amount):
                call()
        elif deposit - amount < required:
            with self.errors.expect(
                self.vault, "VaultDepositBacksDebt", brand, deposit, required, amount
            ):
                call()
        else:
            call()
            self.deposits[brand] -= amount
            assert self.deposits[brand] >= required

    @rule(brand=st_brand, hostile=st_brand)
    def a_signing_key_tries_to_withdraw(self, brand, hostile):
        signer = self.signers[hostile]
        with self.errors.expect(self.vault, "VaultNotTreasury", signer, brand):
            self.vault.withdraw(brand, 1, signer, {"from": signer})

    @precondition(lambda self: any(self._position(a, b) for a, b in PAIRS))
    @rule(pair=st_pair, via_vault=st.booleans())
    def settle(self, pair, via_vault):
        a, b = pair
        owed = self._position(a, b)
        if owed == 0:
            a, b = next((x, y) for x, y in PAIRS if self._position(x, y))
            owed = self._position(a, b)
        debtor, creditor, value = (a, b, owed) if owed > 0 else (b, a, -owed)
        if not via_vault:
            self.ledger.settle(a, b, {"from": self.signers[creditor]})
            return
        paid, cost = payable(value)
        call = lambda: self.vault.settle(a, b, {"from": self.signers[creditor]})  # noqa: E731
        if paid == 0:
            expected = (debtor, creditor, value, UNITS_PER_USD)
            with self.errors.expect(self.vault, "VaultBelowOneUnit", *expected):
                call()
            return
        if self.deposits[debtor] < cost:
            with self.errors.expect(
                self.vault, "VaultInsufficientDeposit", debtor, self.deposits[debtor], cost
            ):
                call()
            return
        tx = call()
        assert tx.events["SettlementPaid"]["tokenAmount"] == cost
        assert tx.events["SettlementPaid"]["valueMicroUsd"] == paid
        assert cost * 1_000_000 // UNITS_PER_USD == paid  # the units are worth what they cleared
        assert abs(self._position(debtor, creditor)) == value - paid
        self.deposits[debtor] -= cost
        self.deposits[creditor] += cost

    # ----------------------------------------------------------------------------- invariants

    @invariant()
    def deposits_match_the_model_and_the_vaults_balance(self):
        onchain = {b: int(self.vault.depositOf(b)) for b in BRANDS}
        assert onchain == self.deposits
        assert sum(onchain.values()) == int(self.usd.balanceOf(self.vault))

    @invariant()
    def required_deposit_rounds_each_debt_up(self):
        for brand in BRANDS:
            assert int(self.vault.requiredDeposit(brand)) == self._required(brand)


def test_vault_deposits_back_debts_over_random_sequences(
    SettlementVault, ledger, usd, errors, signing, admin, accounts, alice, bob, carol,
    signer_a, signer_b, signer_c,
):  # fmt: skip
    vault = SettlementVault.deploy(admin, ledger, usd, UNITS_PER_USD, {"from": admin})
    ledger.grantRole(ledger.SETTLER_ROLE(), vault, {"from": admin})
    treasuries = {1: accounts[8], 2: accounts[9], 3: accounts.add()}
    for brand, treasury in treasuries.items():
        vault.setTreasury(brand, treasury, {"from": admin})
    chain.snapshot()  # each example starts here

    machine = VaultStateMachine
    machine.ledger, machine.vault, machine.usd, machine.errors = ledger, vault, usd, errors
    machine.signing = signing
    machine.members = (alice, bob, carol)
    machine.signers = {1: signer_a, 2: signer_b, 3: signer_c}
    machine.treasuries = treasuries
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
