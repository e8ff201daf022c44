"""LedgerState (contracts/libraries/LedgerState.sol) names the slot of each AllianceLedger state
variable for the lens; here the names are compared with the compiler's own storage layout, so
a moved, added or removed variable fails a test instead of making the lens misread state."""

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "contracts/AllianceLedger.sol"
STATE_LIBRARY = ROOT / "contracts" / "libraries" / "LedgerState.sol"
# LedgerState constant -> AllianceLedger variable
SLOT_NAMES = {
    "BRAND_COUNT_SLOT": "_brandCount",
    "BRANDS_SLOT": "_brands",
    "REDEEMED_SLOT": "_redeemed",
    "BRAND_LIVE_SLOT": "_brandLive",
    "BRAND_OF_SIGNER_SLOT": "_brandOfSigner",
    "USED_OPS_SLOT": "_usedOps",
    "LOTS_SLOT": "_lots",
    "MEMBERS_SLOT": "_members",
    "GLOBALS_SLOT": "_globals",
    "TIER_GIFT_SLOT": "_tierGift",
    "POSITIONS_SLOT": "_positions",
    "CHARITY_POOL_SLOT": "_charityPool",
    "MINT_DAYS_SLOT": "_mintDays",
    "GIFT_SHARES_SLOT": "_giftShares",
    "PENDING_SLOT": "_pending",
    "REVERSED_SLOT": "_reversed",
    "NEXT_VALUE_SLOT": "_nextValue",
    "MONTH_VALUES_SLOT": "_monthValues",
    "GIFT_LOCK_MONTHS_SLOT": "_giftLockMonths",
}


def _compiler_layout():
    """{variable: (slot, offset, type)} from solc's storageLayout output (no code generation)."""
    request = {
        "language": "Solidity",
        "sources": {LEDGER: {"urls": [LEDGER]}},
        "settings": {
            "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
            "evmVersion": "cancun",
            "outputSelection": {LEDGER: {"AllianceLedger": ["storageLayout"]}},
        },
    }
    out = subprocess.run(
        ["node", "tools/solc.js", "--standard-json"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    result = json.loads(out.stdout)
    errors = [e["formattedMessage"] for e in result.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    layout = result["contracts"][LEDGER]["AllianceLedger"]["storageLayout"]
    return {v["label"]: (int(v["slot"]), v["offset"], v["type"]) for v in layout["storage"]}


def _library_slots():
    text = STATE_LIBRARY.read_text()
    return {m[1]: int(m[2]) for m in re.finditer(r"constant (\w+_SLOT) = (\d+);", text)}


def test_state_library_names_every_ledger_variable_at_its_compiled_slot():
    layout = _compiler_layout()
    slots = _library_slots()
    assert set(slots) == set(SLOT_NAMES)
    assert {name: slots[const] for const, name in SLOT_NAMES.items()} == {
        name: layout[name][0] for name in SLOT_NAMES.values()
    }
    # each variable starts its own slot (the lens reads whole words)
    assert all(layout[name][1] == 0 for name in SLOT_NAMES.values())


def test_every_ledger_variable_the_lens_could_need_is_named():
    own = {
        label
        for label, (slot, _, _) in _compiler_layout().items()
        if slot >= min(_library_slots().values())
    }
    assert own == set(SLOT_NAMES.values())


def test_packed_words_are_value_types_not_structs_laid_out_by_field_order():
    layout = _compiler_layout()
    assert "userDefinedValueType(BrandConfig)" in layout["_brands"][2]
    assert "userDefinedValueType(LedgerGlobals)" in layout["_globals"][2]
    # members: a one-field struct around the MemberWord value type (a storage pointer on the hot
    # path)
    assert "struct(MemberSlot)" in layout["_members"][2]
