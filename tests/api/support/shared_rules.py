"""What the session's shared anvil must keep the same for every test: the alliance-wide rules.

Tests share one anvil (`anvil`, `manifest` in conftest). A test that changes an alliance-wide
rule there (a tier rule, the campaign cap, the pause, the charity pool) or moves the chain's
clock changes what every later test runs against: the CI run of d49411b failed a client test
whose member became Silver at 1,000 cents because `test_audit` had set Silver's rule to 100
cents on the shared chain (the write landed or not depending on the machine's load). Such
tests belong on `own_chain`. `conftest.shared_rules_kept` compares a reading before and
after each test that uses the shared chain, and against the last test's (`RulesReader`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

#: how far the chain's clock may drift from the machine's during one test, in seconds (the
#: pending block's timestamp is anvil's now, the machine's clock plus what tests added, read a
#: moment apart from ours; the tests that move time move it by minutes at least)
CLOCK_SLACK_S = 60


@dataclass(frozen=True)
class Rules:
    """The alliance-wide settings of one deployment, and the chain's clock against the
    machine's (`clock_offset_s`: the pending block's timestamp minus UTC now, in seconds)."""

    tier_rules: tuple[Any, ...]
    max_multiplier_pct: int
    ledger_paused: bool
    charity_pool: str
    clock_offset_s: int

    def differences(self, other: Rules) -> list[str]:
        """What `other` changed, in words ([] when nothing did)."""
        changed = [
            f"{name}: {getattr(self, name)!r} -> {getattr(other, name)!r}"
            for name in ("tier_rules", "max_multiplier_pct", "ledger_paused", "charity_pool")
            if getattr(self, name) != getattr(other, name)
        ]
        moved = other.clock_offset_s - self.clock_offset_s
        if abs(moved) > CLOCK_SLACK_S:
            changed.append(f"the chain's clock moved {moved:+d} s against the machine's")
        return changed


class RulesReader:
    """Reads the shared deployment's alliance-wide rules (`read`) through contracts built once
    from its manifest, and keeps the last reading (`last`: the deployment's own at first)."""

    def __init__(self, w3: Web3, manifest: Path) -> None:
        contracts = json.loads(manifest.read_text())["contracts"]

        def contract(name: str) -> Any:
            entry = contracts[name]
            return w3.eth.contract(address=entry["address"], abi=entry["abi"])

        self._w3 = w3
        self._lens, self._ledger = contract("AllianceLedgerLens"), contract("AllianceLedger")
        self.last = self.read()

    def read(self) -> Rules:
        """The rules now (reads over JSON-RPC)."""
        lens, ledger = self._lens, self._ledger
        tiers = tuple(
            json.dumps(lens.functions.tierRule(tier).call(), default=str) for tier in (1, 2, 3)
        )
        pending = self._w3.eth.get_block("pending")["timestamp"]  # anvil's clock, mined or not
        return Rules(
            tier_rules=tiers,
            max_multiplier_pct=int(lens.functions.maxMultiplierPct().call()),
            ledger_paused=bool(ledger.functions.paused().call()),
            charity_pool=str(ledger.functions.charityPool().call()),
            clock_offset_s=int(pending) - int(time.time()),
        )
