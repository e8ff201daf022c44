"""Gateway of the alliance points ledger."""

__version__ = "0.1.0"

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
