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
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Fewer, later collections, once a process has started (app start-up, `ledger work`).

    With CPython's default (a young collection every 700 net allocations), objects that live a
    few requests reach the oldest generation, and its collections walk every object of the
    process (about 215,000 after the imports): 150-400 ms with the event loop stopped, the
    tail of the bench's accept and confirmation latency (issue 15). A steady server frees about
    what it allocates, so at 50,000 the young collections come rarely and full ones rarer; what
    cycles wait meanwhile is bounded by that count. (`gc.freeze()` was tried: full collections
    vanished, but each young one took 30 ms on average here, worse.)"""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
