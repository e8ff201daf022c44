"""The two brand ids, as distinct types so that mixing them is a mypy error.

- `BrandRowId`: the gateway's database row id (`brands.id`; the queue an operation
  belongs to, the key of API keys and signers). Never leaves the gateway.
- `LedgerBrandId`: the ledger's on-chain brand id (the ERC-6909 token id, `brand`
  in the contracts' events). The public HTTP API calls it `brand_id`.

Spelling across the package: `brand_row_id` for the first, `ledger_brand_id` for the
second (ORM columns keep their names: `Brand.id`, `Brand.ledger_id`, `Operation.brand_id`).
"""

from __future__ import annotations

from typing import NewType

BrandRowId = NewType("BrandRowId", int)
LedgerBrandId = NewType("LedgerBrandId", int)
