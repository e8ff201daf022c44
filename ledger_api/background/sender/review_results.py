"""What a tier review operation produced, from the events of its transaction.

A review's result names its outcome (`review`: the event's name) and says it in the answers'
terms, snake_case with times in ISO 8601 UTC: a trial read the chain's raw arguments
(`graceUntilMonth: 687`, `quarter: 228`) where every other answer gives dates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger_api.chain.abi import Event
from ledger_api.domain import TIER_NAMES, OpKind, iso_utc, month_start, quarter_label

_OUTCOMES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "TierRetained": lambda a: {
        "tier": int(a["tier"]),
        "tier_name": TIER_NAMES.get(int(a["tier"])),
        "quarter": quarter_label(int(a["quarter"])),
    },
    "TierDowngradeWarned": lambda a: {
        "tier": int(a["tier"]),
        "tier_name": TIER_NAMES.get(int(a["tier"])),
        "downgrade_at": iso_utc(month_start(int(a["graceUntilMonth"]))),
    },
    "TierDowngraded": lambda a: {
        "previous_tier": int(a["previousTier"]),
        "tier": int(a["newTier"]),
        "tier_name": TIER_NAMES.get(int(a["newTier"])),
    },
}


def review_result(kind: OpKind, events: list[Event]) -> dict[str, Any]:
    """A tier review's outcome, or a batch's counts; {} for any other operation."""
    if kind is OpKind.TIER_REVIEW_BATCH:
        judged = {e.args["member"] for e in events if e.name in _OUTCOMES}
        skipped = sum(1 for e in events if e.name == "TierReviewSkipped")
        return {"reviewed": len(judged), "skipped": skipped}
    if kind is OpKind.TIER_REVIEW:
        # a late review applies every due quarter start: the last step is the outcome as of now
        steps = [e for e in events if e.name in _OUTCOMES]
        if steps:
            last = steps[-1]
            return {"review": last.name, **_OUTCOMES[last.name](last.args)}
    return {}
