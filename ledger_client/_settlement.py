"""Settlement through the SettlementVault: deposits, settling, settlements, withdrawals.

Token amounts are the settlement token's units (6 decimals for TestUSD: 1,000,000 = 1 USD);
large amounts come back as decimal strings."""

from __future__ import annotations

from ledger_client._transport import Json, Transport, Wait


class Settlement(Transport):
    def settlement_deposit(self, brand_id: int) -> Json:
        """`GET /v1/settlement/deposits/{brand_id}`: the brand's deposit, what it must keep for
        its debts, what its treasury may withdraw, its treasury and its positions."""
        answer: Json = self.request("GET", f"/v1/settlement/deposits/{brand_id}")
        return answer

    def deposit(
        self, amount_units: int, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`POST /v1/settlement/deposits` (brand key): the brand's signer deposits
        `amount_units` (approving the vault first; minting TestUSD on a development chain)."""
        answer: Json = self.request(
            "POST",
            "/v1/settlement/deposits",
            body={"amount_units": amount_units},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def settle(
        self,
        debtor: int,
        creditor: int | None = None,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/settlement/settle`: the position `debtor` owes `creditor` (a brand key:
        its own brand, `creditor` omitted; the admin names both), in whole token units for what
        they are worth; what is worth less than one unit stays owed. Raises the gateway's
        409 `settlement_below_one_unit` when the whole position is."""
        body: Json = {"debtor": debtor}
        if creditor is not None:
            body["creditor"] = creditor
        answer: Json = self.request(
            "POST",
            "/v1/settlement/settle",
            body=body,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def settlements(self, *, limit: int = 100) -> Json:
        """`GET /v1/settlement/settlements`: newest first."""
        answer: Json = self.request("GET", "/v1/settlement/settlements", params={"limit": limit})
        return answer

    def withdrawal_transaction(
        self, amount_units: int, to: str, *, brand_id: int | None = None
    ) -> Json:
        """`POST /v1/settlement/withdrawals/transaction`: the transaction the brand's treasury
        signs and sends (`transaction`: to, data, value, chain_id); nothing is queued."""
        body: Json = {"amount_units": amount_units, "to": to}
        if brand_id is not None:
            body["brand_id"] = brand_id
        answer: Json = self.request("POST", "/v1/settlement/withdrawals/transaction", body=body)
        return answer
