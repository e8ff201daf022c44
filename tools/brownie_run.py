"""Runs one of the project's brownie scripts: the project's replacement for `brownie run`.

    .venv/brownie/bin/python tools/brownie_run.py scripts/deploy.py [FUNCTION [ARG...]] \
        --network NAME

Why not `brownie run`: brownie 1.22 imports a script by a dotted module name built from every
folder of its absolute path (`/tmp/tmp.abc/clone/scripts/deploy.py` becomes
`tmp.tmp.abc.clone.scripts.deploy`), so a project in a folder whose path holds a dot (or any
character that is not valid in a module name) fails with `ModuleNotFoundError: No module named
'tmp.tmp'`. Here the project root goes on `sys.path` and the script is imported as
`scripts.<name>` (`scripts/` is a package), whatever folder the project lives in.

On a live network, `scripts/deployment.py` (imported by every script) works around brownie
1.22's `TypeError: dict object expected; got brownie.project.sources.Sources` when it records
a deployment: see `record_deployments_without_sources` there.

A failure prints the whole traceback and exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib
import json
import os
import shutil
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def forget_recorded_deployments(name: str) -> None:
    """Drops brownie's own records of what it deployed on a live network's chain id
    (`build/deployments/<chain id>/`, `map.json`): this project's record is the manifest, and
    brownie loads its records when it connects, failing with `ContractNotFound` once that chain
    was reset (a trial: every `make deploy` to a restarted chain stopped there, until the
    folder was deleted by hand)."""
    from brownie._config import CONFIG

    chain_id = CONFIG.networks.get(name, {}).get("chainid")
    if chain_id is None or name == "development":
        return
    records = ROOT / "build" / "deployments"
    shutil.rmtree(records / str(chain_id), ignore_errors=True)
    recorded = records / "map.json"
    if recorded.exists():
        kept = json.loads(recorded.read_text() or "{}")
        if kept.pop(str(chain_id), None) is not None:
            recorded.write_text(json.dumps(kept, indent=2, sort_keys=True))


def strip_colours_off_a_terminal() -> None:
    """brownie's colour codes only where a terminal shows them: stripped from output sent to
    a file or a pipe (a trial's deploy log was full of `\\x1b[0;1;34m`; brownie 1.22 writes its
    colours as constants, whatever its `show_colors` setting), and under `NO_COLOR`
    (no-color.org). colorama wraps stdout and stderr and strips them there."""
    import colorama

    colorama.init(strip=True if os.environ.get("NO_COLOR") else None)


@contextlib.contextmanager
def network_config_read() -> Iterator[None]:
    """Holds the lock of brownie's per-user network config (`~/.brownie/network-config.yaml`)
    shared while brownie reads it, as tools/brownie_network.sh holds it exclusive while it
    writes: brownie rewrites the file in place, and a run reading it meanwhile failed with a
    YAML `ScannerError` (two deploys at once, to two networks)."""
    folder = Path.home() / ".brownie"
    folder.mkdir(exist_ok=True)
    with (folder / "network-config.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="brownie_run.py", description=__doc__.split("\n")[0])
    parser.add_argument("script", help="a script under scripts/, e.g. scripts/deploy.py")
    parser.add_argument("function", nargs="?", default="main")
    parser.add_argument("args", nargs="*")
    parser.add_argument("--network", required=True, help="a brownie network name")
    options = parser.parse_args(argv)
    strip_colours_off_a_terminal()

    script = Path(options.script)
    if script.suffix == ".py":
        script = script.with_suffix("")
    parts = script.parts[1:] if script.parts[:1] == ("scripts",) else script.parts
    module_name = ".".join(("scripts", *parts))

    sys.path.insert(0, str(ROOT))
    try:
        with network_config_read():
            from brownie import network, project

            active = project.load(ROOT, name="AllianceProject")
            active.load_config()
            if options.network == "development":  # anvil launched for this run: its own port
                from scripts.dev_network import launch_on_a_free_port

                launch_on_a_free_port()
            forget_recorded_deployments(options.network)
            network.connect(options.network)
        active._add_to_main_namespace()
        module = importlib.import_module(module_name)
        function = getattr(module, options.function, None)
        if not callable(function):
            raise SystemExit(f"{module_name} has no function {options.function!r}")
        function(*options.args)
    except SystemExit as stop:
        if stop.code not in (None, 0):
            print(stop.code if isinstance(stop.code, str) else f"exit {stop.code}", file=sys.stderr)
            return 1
        return 0
    except BaseException:  # noqa: BLE001 - a script's failure is shown whole
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
