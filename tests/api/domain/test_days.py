"""`utc_day` (the daily mint counters' key) formats each day once and caches it: the label of
every timestamp is still the calendar's, at each day's first and last instants too."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from ledger_api.domain import utc_day


def test_a_timestamps_day_is_the_calendars_at_every_boundary() -> None:
    edges = [0, 86_399.999, 86_400, -0.5, -86_400, -86_400.5, 951_782_400, 4_102_444_799]
    around_now = [
        1_764_806_400 + day * 86_400 + offset for day in range(-3, 4) for offset in (-1, 0, 1)
    ]
    spread = [random.Random(15).uniform(-2e9, 6e9) for _ in range(2_000)]
    for timestamp in edges + around_now + spread:
        assert utc_day(timestamp) == datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
