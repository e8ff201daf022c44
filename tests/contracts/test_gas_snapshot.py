"""The gas snapshot: reports/gas.json is a reviewed artifact (as v4-core's snapshots/), so a
change that makes an operation cost more than 1% more gas, or a contract's bytecode more than 1%
larger, fails here until `make gas` rewrites the committed report and the diff is reviewed.

The scenarios are scripts/gas_report.py's own (`measure_gas`), on this suite's chain.
"""

import pytest

from scripts.gas_report import (
    BYTECODE_KEY,
    TOLERANCE,
    bytecode_sizes,
    measure_gas,
    read_report,
    regressions,
)

EIP170_LIMIT = 24_576
# issue 11 (return windows, pending, reversal) took 2,665 bytes: 1,241 left under EIP-170
LEDGER_SIZE_BUDGET = 23_500


@pytest.fixture(scope="module")
def committed():
    return read_report()


def test_bytecode_sizes_stay_within_the_committed_report(committed):
    sizes = bytecode_sizes()
    assert regressions({BYTECODE_KEY: committed.get(BYTECODE_KEY, {})}, {BYTECODE_KEY: sizes}) == []
    assert sizes["AllianceLedger"] <= LEDGER_SIZE_BUDGET
    assert max(sizes.values()) <= EIP170_LIMIT


def test_gas_figures_stay_within_the_committed_report(committed):
    measured = measure_gas()
    assert regressions(committed, measured) == []


def test_the_snapshot_check_flags_growth_beyond_the_tolerance_and_missing_figures():
    committed = {"earn": 10_000, BYTECODE_KEY: {"AllianceLedger": 20_000}}
    within = {"earn": int(10_000 * (1 + TOLERANCE)), BYTECODE_KEY: {"AllianceLedger": 19_000}}
    assert regressions(committed, within) == []
    grown = {"earn": 10_101 + int(10_000 * TOLERANCE), BYTECODE_KEY: {"AllianceLedger": 20_300}}
    assert [line.split(":")[0] for line in regressions(committed, grown)] == [
        "bytecode_bytes.AllianceLedger",
        "earn",
    ]
    assert [line.split(":")[0] for line in regressions(committed, {"redeem": 1})] == ["redeem"]
