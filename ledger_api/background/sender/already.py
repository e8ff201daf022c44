"""What the chain refuses because it is done already: confirmed, never failed.

- a `set_pause` refused as `EnforcedPause()` to a pause or `ExpectedPause()` to an unpause (two
  operators' pauses racing, or one sent straight to the chain meanwhile; a trial: the second
  failed): the ledger is as asked;
- an `auction_redeem` refused as `InvalidAccountNonce` (`signature_replayed`): the escrow's
  nonce is used, and the escrow approves its nonce-0 redemption only, the bid's
  (`AllianceAuctions.approvesRedemption`), so the bid is redeemed (a trial: of four racing
  settlement requests one confirmed and three failed `signature_replayed`, a signature the
  caller never sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger_api.domain import OpKind
from ledger_api.errors import LedgerError, LedgerNotPaused, LedgerPaused, SignatureReplayed


def asked_state_holds(
    kind: str, payload: Mapping[str, Any], error: LedgerError
) -> dict[str, Any] | None:
    """The result of an operation the chain refuses because what it asks is in place
    (`{"paused", "already": true}`, `{"already": true}`); None otherwise."""
    if kind == OpKind.AUCTION_REDEEM.value and isinstance(error, SignatureReplayed):
        return {"already": True}
    if kind != OpKind.SET_PAUSE.value:
        return None
    paused = bool(payload["paused"])
    if isinstance(error, LedgerPaused if paused else LedgerNotPaused):
        return {"paused": paused, "already": True}
    return None
