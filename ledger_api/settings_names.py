"""`LEDGER_*` variables that nothing reads: said, with the setting meant, instead of ignored.

The settings ignore a variable they have no field for (`Settings`, `extra="ignore"`: the
tools and the deploy script read `LEDGER_*` variables of their own). A misspelled one was
therefore ignored in silence: a new operator's `LEDGER_DATABSE_URL` left the gateway on its
default SQLite file, and nothing said why. `unread_variables` names each `LEDGER_*`
variable of the environment and of `.env` that neither a setting nor a tool reads, with
the setting whose name is nearest; `ledger serve`, `ledger work` and every CLI command say
them on stderr (a warning: a variable of the operator's own keeps working).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

from ledger_api.settings import Settings

#: `LEDGER_*` variables read by the tools, the deploy script and the tests, not the gateway
#: (tools/*.sh, scripts/deploy.py, tests/), and those the gateway sets for its own children
OTHER_VARIABLES = frozenset(
    {
        "LEDGER_ADMIN",
        "LEDGER_ADMIN_ADDRESS",
        "LEDGER_BLOCK_TIME",
        "LEDGER_CHAIN_PORT",
        "LEDGER_CHAIN_SNAPSHOTS",
        "LEDGER_CHAIN_SNAPSHOT_S",
        "LEDGER_CHARITY_POOL",
        "LEDGER_DATA_DIR",
        "LEDGER_DEPLOYER_ACCOUNT",
        "LEDGER_DEPLOYER_KEY",
        "LEDGER_DEPLOY_NODE_SILENCE_S",
        "LEDGER_DEV_CHAIN",
        "LEDGER_ROOT",
        "LEDGER_SETTLEMENT_TOKEN",
        "LEDGER_SETTLEMENT_UNITS_PER_USD",
        "LEDGER_SIZE_BUDGET",
        "LEDGER_TEST_PG_BIN",
        "LEDGER_WORK_PARENT_PID",
        "LEDGER_WORK_STATUS_FILE",
    }
)
PREFIX = "LEDGER_"


def setting_variables() -> frozenset[str]:
    """The variables the gateway's settings read (`LEDGER_` and the field's name)."""
    return frozenset(PREFIX + name.upper() for name in Settings.model_fields)


def unread_variables(names: Iterable[str]) -> list[str]:
    """One line per `LEDGER_*` name among `names` that no setting and no tool reads, with the
    nearest known variable when one is close (`difflib`, ratio 0.8 and above; a tool's too:
    `LEDGER_CHAINPORT` is `LEDGER_CHAIN_PORT`, not `LEDGER_PORT`), in name order. Names
    compare without case, as the settings read them."""
    known = setting_variables() | OTHER_VARIABLES
    lines = []
    for name in sorted({n.upper() for n in names if n.upper().startswith(PREFIX)} - known):
        near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        meant = f" (did you mean {near[0]}?)" if near else ""
        lines.append(f"{name} is not a setting{meant}: ignored")
    return lines


def environment_names(
    environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")
) -> set[str]:
    """The variable names the settings see: the environment's and those of `env_file` (the
    settings' `.env`, read from the working folder), when it exists."""
    names = set(os.environ if environ is None else environ)
    if env_file.is_file():
        names |= set(dotenv_values(env_file))
    return names


def main() -> int:
    """`python -m ledger_api.settings_names`: the lines on stderr, exit 1 when there are any
    (`make deploy` refuses to deploy then: a misspelled `LEDGER_ADMIN_ADDRESS` left the admin
    roles with the deployer, a trial)."""
    lines = unread_variables(environment_names())
    for line in lines:
        print(f"deploy: {line.removesuffix(': ignored')}", file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
