"""The ledger's published ABI: AllianceLedger's own entries plus the brand administration's.

AllianceLedger runs its brand administration (onboardBrand, setPointValue, setTierRule, ...) by
delegatecall into AllianceLedgerAdmin from its fallback, to keep its bytecode under EIP-170
(README, "Bytecode budget"). Callers reach those functions at the ledger's address, so the ABI
that brownie, the deploy manifest and the gateway use for the ledger carries them too.
"""

from __future__ import annotations

from typing import Any

from eth_utils import function_abi_to_4byte_selector


def merged_ledger_abi(
    ledger_abi: list[dict[str, Any]], admin_abi: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`ledger_abi` followed by the functions of `admin_abi` it lacks (by selector); the admin's
    events and errors are the ledger's own (both come from IAllianceLedger)."""
    have = {function_abi_to_4byte_selector(e) for e in ledger_abi if e["type"] == "function"}
    extra = [
        e
        for e in admin_abi
        if e["type"] == "function" and function_abi_to_4byte_selector(e) not in have
    ]
    return [*ledger_abi, *extra]


def publish_admin_functions(ledger_container: Any, admin_container: Any) -> None:
    """Extends brownie's AllianceLedger container, in place and once, with AllianceLedgerAdmin's
    functions: every ledger deployed or loaded through it afterwards offers them."""
    abi = ledger_container.abi
    merged = merged_ledger_abi(abi, admin_container.abi)
    added = merged[len(abi) :]
    if not added:
        return
    abi.extend(added)
    for entry in added:
        selector = "0x" + function_abi_to_4byte_selector(entry).hex()
        ledger_container.selectors[selector] = entry["name"]
        ledger_container.signatures[entry["name"]] = selector
