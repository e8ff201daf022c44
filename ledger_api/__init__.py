"""Gateway of the alliance points ledger."""

__version__ = "0.1.0"

import gc
import sys

#: CPython's default recursion limit. `py_ecc` (imported by eth-account's dependencies) raises
#: the limit to 100,000 at import, far beyond what the C stack holds: a deeply nested input
#: then overflows the C stack (a segfault) instead of raising `RecursionError`.
DEFAULT_RECURSION_LIMIT = 1_000


def restore_recursion_limit() -> None:
    """Back to CPython's default limit; called once the libraries are imported (app creation,
    `ledger work`)."""
    if sys.getrecursionlimit() > DEFAULT_RECURSION_LIMIT:
        sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)


#: allocations (net of deallocations) between two young collections; CPython's default is 700
GC_YOUNG_THRESHOLD = 5_000


def tune_garbage_collector() -> None:
    """Once a process has started (app start-up, `ledger work`): its start-up objects leave
    the collector's sight, and young collections come less often.

    A full collection walks every object the collector tracks: about 215,000 after the
    imports, 200-340 ms of CPU with the event loop stopped, one or two a minute under load (the
    tail of the bench's accept and confirmation latency, issue 15). `gc.freeze()` moves what
    exists at start-up (modules, classes, functions, the app) to a permanent generation that
    no collection walks; a full collection then takes 12-15 ms in `ledger serve` under the
    bench's 200 operations/s. Young collections every 5,000 net allocations take about 3 ms.
    (50,000, this function's earlier threshold without the freeze, made each young collection
    20-60 ms and still let full ones of 200-340 ms through; an earlier session measured 30 ms
    young ones with the freeze and 50,000.) Measured with `gc.callbacks` in both processes
    during `make bench --phases latency`."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
