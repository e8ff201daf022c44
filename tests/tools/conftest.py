"""Tests of the project's tools (tools/*.sh, tools/*.py): run with the gateway's virtualenv,
`.venv/api/bin/python -m pytest tests/tools` (tools/test.sh does)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parent / "api"):  # networks.py; tests/api/support (anvil, waits)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
