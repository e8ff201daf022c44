"""The operator's command line, run as a user runs it: `python -m ledger_api.cli`."""

from __future__ import annotations

import os
import subprocess
import sys

from support.chain import ROOT


def ledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`ledger ARGS` with `env` over the process's environment; the caller checks returncode."""
    return subprocess.run(  # noqa: PLW1510 - the tests check returncode
        [sys.executable, "-m", "ledger_api.cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
