"""Request and response schemas of settlement through the API (issue 13 item 3).

Token amounts are the settlement token's units (TestUSD and USD stablecoins: 6 decimals,
1,000,000 units = 1 USD; `token.units_per_usd` says it); values owed are micro-USD.
Large amounts are decimal strings (JSON numbers lose precision above 2^53).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ledger_api.model.fields import BrandId
from ledger_api.model.schemas import Address, Amount, AsOf, Model, PositionView


class TokenView(Model):
    address: str = Field(description="the ERC-20 the vault settles in")
    units_per_usd: int = Field(description="token units worth 1 USD (1000000 for 6 decimals)")
    mintable: bool = Field(
        description="a development chain's TestUSD: a deposit mints what the signer lacks"
    )


class DepositView(Model):
    """`GET /v1/settlement/deposits/{brand_id}`: a brand's vault deposit and what backs it."""

    brand_id: int
    deposit_units: str = Field(description="the brand's deposit in the vault, token units")
    required_units: str = Field(
        description="what the deposit must keep: each debt to another brand in token units, "
        "rounded up (the vault's `requiredDeposit`)"
    )
    withdrawable_units: str = Field(
        description="deposit minus required, at least 0: what the brand's treasury may "
        "withdraw once one is set (`treasury` null: nobody withdraws yet, 409 treasury_not_set)"
    )
    deposited_units: str = Field(description="all deposits ever made for the brand")
    withdrawn_units: str = Field(description="all withdrawals ever made by its treasury")
    treasury: str | None = Field(
        description="the only key that may withdraw (None: not set, nobody may)"
    )
    positions: list[PositionView] = Field(description="the brand's open net positions")
    token: TokenView | None = Field(
        description="None: no vault is deployed (the admin clears positions off chain)"
    )
    as_of: AsOf


class DepositRequest(Model):
    """Deposit `amount_units` from the brand's signer (it approves the vault first when its
    allowance is short; on a development chain it mints the TestUSD it lacks)."""

    amount_units: Amount = Field(description="token units, 1 to 1e12")


class SettleRequest(Model):
    """Settle the net position `debtor` owes `creditor` from the debtor's deposit, in whole
    token units for what they are worth (what is worth less than one unit stays owed; a
    position worth less than one unit is 409 `settlement_below_one_unit`).

    A brand key settles what is owed to its own brand (`creditor` omitted or its own id); the
    admin key names both brands."""

    debtor: BrandId
    creditor: BrandId | None = None


class SettlementView(Model):
    debtor_brand_id: int
    creditor_brand_id: int
    value_micro_usd: str
    token_amount: str = Field(description="token units paid (0: cleared off chain by the admin)")
    tx_hash: str
    block_number: int
    settled_at: datetime


class SettlementsView(Model):
    """`GET /v1/settlement/settlements`: newest first; a brand key sees its own pairs."""

    settlements: list[SettlementView]
    as_of: AsOf


class WithdrawalRequest(Model):
    """A withdrawal for the brand's treasury to sign (the gateway holds no treasury key)."""

    amount_units: Amount = Field(description="token units, 1 to 1e12")
    to: Address = Field(description="where the tokens go")
    brand_id: BrandId | None = Field(
        default=None, description="admin key only: the brand (a brand key: its own)"
    )


class TransactionView(Model):
    to: str = Field(description="the SettlementVault")
    data: str = Field(description="0x-hex calldata of `withdraw(brand, amount, to)`")
    value: str = Field(description="wei, decimal string (always 0)")
    chain_id: int


class WithdrawalView(Model):
    """The transaction the brand's treasury signs and sends itself (`from` must be the
    treasury); nothing is queued and the gateway never signs it."""

    brand_id: int
    treasury: str = Field(description="the key that must send `transaction`")
    amount_units: str
    to: str
    transaction: TransactionView
    deposit_units: str
    withdrawable_units: str
