"""References on chain: an order's (or an engagement's, or a claim's) `orderRef`, and what
makes an engagement earn once."""

from __future__ import annotations

import hashlib

#: the on-chain reference of an operation without one (an engagement without `ref`)
ZERO_REF = "0x" + "00" * 32


def engagement_key(kind: int, member: str, bound: str) -> str | None:
    """What makes a member's engagement earn once: its kind (`EarnKind`), member and bound
    `ref` (the on-chain `orderRef`, `access.sealing.bind_reference`), as 0x + 64 hex (SHA-256;
    never an order's bound reference, an HMAC). None without a ref (`ZERO_REF`)."""
    if bound == ZERO_REF:
        return None
    material = f"engagement:{kind}:{member.lower()}:{bound}".encode()
    return "0x" + hashlib.sha256(material).hexdigest()


def vote_key(poll_id: int, voter: str) -> str:
    """What makes a member's vote one per poll in a brand's queue: held like an order (the
    intake's order check and `uq_operations_brand_order`), so two votes relayed at once are
    not both accepted; 0x + 64 hex (SHA-256)."""
    return "0x" + hashlib.sha256(f"vote:{poll_id}:{voter.lower()}".encode()).hexdigest()
