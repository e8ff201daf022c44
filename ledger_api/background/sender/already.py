"""What the chain refuses because it is done already: confirmed, never failed.

- a `set_pause` refused as `EnforcedPause()` to a pause or `ExpectedPause()` to an unpause (two
  operators' pauses racing, or one sent straight to the chain meanwhile; a trial: the second
  failed): the ledger is as asked;
- an `auction_redeem` refused as `InvalidAccountNonce` (`signature_replayed`): the escrow's
  nonce is used, and the escrow approves its nonce-0 redemption only, the bid's
  (`AllianceAuctions.approvesRedemption`), so the bid is redeemed (a trial: of four racing
  settlement requests one confirmed and three failed `signature_replayed`, a signature the
  caller never sent); and one refused as `LedgerInvalidSignature` (`invalid_signature`) once
  the escrow's nonce is used: the escrow approves the redemption of what it holds of the bid,
  `min(balance, amount)`, so after the bid's redemption it no longer approves the amount a
  racing request built, and the ledger checks the signature before the nonce (since
  2026-12-06; the trial of four racing requests then failed one `invalid_signature`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ledger_api.domain import OpKind
from ledger_api.errors import (
    InvalidSignature,
    LedgerError,
    LedgerNotPaused,
    LedgerPaused,
    SignatureReplayed,
)


def asked_state_holds(
    kind: str,
    payload: Mapping[str, Any],
    error: LedgerError,
    escrow_redeemed: Callable[[str], bool] | None = None,
) -> dict[str, Any] | None:
    """The result of an operation the chain refuses because what it asks is in place
    (`{"paused", "already": true}`, `{"already": true}`); None otherwise. `escrow_redeemed`
    reads whether an escrow's nonce is used (the ledger's `nonces`), for an `auction_redeem`
    refused as an invalid signature."""
    if kind == OpKind.AUCTION_REDEEM.value:
        if isinstance(error, SignatureReplayed):
            return {"already": True}
        if (
            isinstance(error, InvalidSignature)
            and escrow_redeemed is not None
            and escrow_redeemed(str(payload["escrow"]))
        ):
            return {"already": True}
        return None
    if kind != OpKind.SET_PAUSE.value:
        return None
    paused = bool(payload["paused"])
    if isinstance(error, LedgerPaused if paused else LedgerNotPaused):
        return {"paused": paused, "already": True}
    return None
