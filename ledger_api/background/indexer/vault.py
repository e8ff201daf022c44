"""What the SettlementVault's events do to the index (issue 13 item 3): each brand's deposit
and treasury (`idx_vault_brands`) and the settlements (`idx_settlements`).

A deposit moves by `SettlementDeposited` (+ the credited amount), `SettlementWithdrawn` (-) and
`SettlementPaid` (the debtor's -, the creditor's +, in token units). A settlement is the vault's
`SettlementPaid`, or the ledger's `PositionSettled` with a token amount of 0 (a position
cleared off chain by the admin); a vault settlement emits both, and is listed once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event, checksum
from ledger_api.chain.manifest import SETTLEMENT_VAULT
from ledger_api.db.models import IdxSettlement, IdxVaultBrand

Handler = Callable[[Event, dict[str, Any], int], None]


class VaultProjection:
    """The vault's part of one chunk's projection (same session)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._brands: dict[int, IdxVaultBrand] = {}

    def handlers(self) -> dict[tuple[str, str], Handler]:
        return {
            (SETTLEMENT_VAULT, "SettlementDeposited"): self._deposited,
            (SETTLEMENT_VAULT, "SettlementWithdrawn"): self._withdrawn,
            (SETTLEMENT_VAULT, "SettlementPaid"): self._paid,
            (SETTLEMENT_VAULT, "BrandTreasuryChanged"): self._treasury_changed,
        }

    def _brand(self, brand: int) -> IdxVaultBrand:
        row = self._brands.get(brand)
        if row is None:
            row = self.session.get(IdxVaultBrand, brand)
            if row is None:
                row = IdxVaultBrand(brand=brand, deposit=0, deposited=0, withdrawn=0)
                self.session.add(row)
            self._brands[brand] = row
        return row

    def _deposited(self, event: Event, a: dict[str, Any], ts: int) -> None:
        row = self._brand(int(a["brand"]))
        row.deposit += int(a["amount"])
        row.deposited += int(a["amount"])

    def _withdrawn(self, event: Event, a: dict[str, Any], ts: int) -> None:
        row = self._brand(int(a["brand"]))
        row.deposit -= int(a["amount"])
        row.withdrawn += int(a["amount"])

    def _paid(self, event: Event, a: dict[str, Any], ts: int) -> None:
        units = int(a["tokenAmount"])
        self._brand(int(a["debtor"])).deposit -= units
        self._brand(int(a["creditor"])).deposit += units
        self.settlement(event, a, ts)

    def _treasury_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self._brand(int(a["brand"])).treasury = checksum(a["treasury"])

    def settlement(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """One settlement row (`a`: debtor, creditor, valueMicroUsd, tokenAmount)."""
        self.session.add(
            IdxSettlement(
                debtor=int(a["debtor"]),
                creditor=int(a["creditor"]),
                value_micro_usd=int(a["valueMicroUsd"]),
                token_amount=int(a["tokenAmount"]),
                block_number=event.log.block_number,
                log_index=event.log.log_index,
                tx_hash=event.log.tx_hash,
                timestamp=ts,
            )
        )
