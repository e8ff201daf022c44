"""`ledger_client`: a Python client of the alliance ledger's gateway, on httpx.

    from ledger_client import LedgerClient, eip712

    with LedgerClient("http://127.0.0.1:8000", api_key="lk_...") as ledger:
        accepted = ledger.earn_purchase(member, amount_cents=2599, order_ref="order-10042")
        final = ledger.wait(accepted["operation_id"])          # confirmed and indexed

Every route of the gateway is a typed method. Each mutation carries an `Idempotency-Key`
(generated, or yours) and is retried with the same key when the network fails or the answer
is lost, so it applies once; `wait=` answers at confirmation. `eip712` builds, signs and
verifies what members sign. Errors: `LedgerApiError` (`status`, `code`, `message`,
`details`), `OperationTimeout`.
"""

from __future__ import annotations

from ledger_client import eip712
from ledger_client._admin import Admin
from ledger_client._auctions import Auctions
from ledger_client._campaigns import Campaigns
from ledger_client._errors import LedgerApiError, LedgerClientError, OperationTimeout
from ledger_client._operations import Operations
from ledger_client._program import Program
from ledger_client._reads import Reads
from ledger_client._settlement import Settlement
from ledger_client._transport import Json, Wait


class LedgerClient(Operations, Program, Auctions, Reads, Settlement, Admin, Campaigns):
    """The gateway at `base_url` with an API key (a brand's or the admin's).

    `LedgerClient(base_url, api_key, timeout=30, retries=5, backoff_s=0.2, http=None)`;
    `http` may be an `httpx.Client` of your own (proxies, TLS, transports)."""

    def __enter__(self) -> LedgerClient:
        return self


__all__ = [
    "Json",
    "LedgerApiError",
    "LedgerClient",
    "LedgerClientError",
    "OperationTimeout",
    "Wait",
    "eip712",
]
