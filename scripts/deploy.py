"""Deploys the alliance contracts and writes the deployment manifest.

    make deploy RPC_URL=https://rpc.example                          # any network (tools/deploy.sh)
    python tools/brownie_run.py scripts/deploy.py --network NAME     # what it runs

Environment: LEDGER_DEPLOYER_KEY (the deployer's private key; on a development chain the
node's first unlocked account when unset), LEDGER_ADMIN_ADDRESS (governance address, a multisig
in production; the deployer hands it the admin roles and renounces its own; default the
deployer), LEDGER_CHARITY_POOL (default the admin), LEDGER_SETTLEMENT_TOKEN (the ERC-20 the
SettlementVault settles in; `none` deploys no vault) and LEDGER_SETTLEMENT_UNITS_PER_USD
(token units per USD, default 1000000), LEDGER_DEV_CHAIN=1 (treat the chain as a development
chain: see `deployment.is_development_chain`), LEDGER_MANIFEST (output path).

Settlement token: on a development chain with no token given, a test ERC-20 (TestUSD) is
deployed and the vault settles in it. On any other chain a missing LEDGER_SETTLEMENT_TOKEN is
an error (nothing is deployed): give the token's address, or `none` to deploy without a vault
(positions are then cleared off chain with `settle`).

A second run against a chain where the manifest's contracts all have code deploys nothing and
says so. The manifest's path is printed on the last line. Before the first transaction the
deployer's balance is checked against what the deployment may cost (`check_funds`), and a node
that stops answering ends the run, naming what was deployed (`NodeWatch`,
LEDGER_DEPLOY_NODE_SILENCE_S, default 60 seconds). A run stopped half way is resumed by the
next one with the same settings (`scripts/deploy_journal.py`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from brownie import web3

from scripts.deploy_journal import Journal, has_code, journal_path
from scripts.deployment import (
    DEFAULT_TIER_RULES,
    ZERO_ADDRESS,
    Deployment,
    NodeWatch,
    check_funds,
    compiled_containers,
    deployed_manifest,
    deployer,
    is_development_chain,
    manifest_path,
    silence_s,
    stopped_words,
    write_manifest,
)

# The contracts of the system in deployment order: (name, constructor arguments). Each
# argument function sees the deployment so far (`d.address(name)`, `d.sender`, `d.admin`).
# The badge's ledger address is given by role after the ledger exists (see `_wire`).
CONTRACTS = [
    ("MembershipBadge", lambda d: (d.sender.address, ZERO_ADDRESS)),
    ("AllianceLedger", lambda d: (d.sender.address, d.address("MembershipBadge"), d.charity)),
    ("AllianceLedgerLens", lambda d: (d.address("AllianceLedger"),)),
    # the deployer administers the badges until `_wire` granted the auctions ISSUER_ROLE
    ("AllianceBadges", lambda d: (d.address("AllianceLedger"), d.sender.address)),
    (
        "AlliancePolls",
        lambda d: (
            d.address("AllianceLedger"),
            d.address("MembershipBadge"),
            d.address("AllianceBadges"),
            d.admin,
        ),
    ),
    ("EnterpriseAccounts", lambda d: (d.address("AllianceLedger"),)),
    (
        "AllianceAuctions",
        lambda d: (
            d.address("AllianceLedger"),
            d.address("AllianceLedgerLens"),
            d.address("AllianceBadges"),
        ),
    ),
]
# Deployed after CONTRACTS when a settlement token is configured or deployed.
SETTLEMENT = [
    ("TestUSD", lambda d: ()),  # development chains only, when no token is given
    ("SettlementVault", lambda d: (d.admin, d.address("AllianceLedger"), d.token, d.units_per_usd)),
]


def _units_per_usd() -> int:
    """LEDGER_SETTLEMENT_UNITS_PER_USD (default 1,000,000: a 6-decimal token), a whole number
    from 1, checked before anything is deployed (0 deployed 8 contracts, then the vault's
    constructor refused it: a new user's trial)."""
    value = os.environ.get("LEDGER_SETTLEMENT_UNITS_PER_USD", "1000000").strip()
    if not value.isdigit() or int(value) == 0:
        raise SystemExit(
            "deploy: LEDGER_SETTLEMENT_UNITS_PER_USD is the settlement token's units worth 1 USD, "
            f"a whole number from 1 (1000000 for 6 decimals), not '{value}'; nothing deployed"
        )
    return int(value)


def _said_settings_kept(existing: Path) -> None:
    """A deployment is never changed by a setting given later: said when the vault's
    conversion differs from LEDGER_SETTLEMENT_UNITS_PER_USD (a trial restarted `make run` with
    another value and the vault kept its own without a word)."""
    asked = os.environ.get("LEDGER_SETTLEMENT_UNITS_PER_USD", "").strip()
    vault = json.loads(existing.read_text())["contracts"].get("SettlementVault")
    if not asked or vault is None:
        return
    contract = web3.eth.contract(address=vault["address"], abi=vault["abi"])
    _, units = contract.functions.token().call()
    if str(units) != asked:
        print(
            f"deploy: note: the deployed SettlementVault converts at {units} token units per USD, "
            f"not LEDGER_SETTLEMENT_UNITS_PER_USD={asked}: a deployment keeps its settings "
            "(a new data folder, or a new LEDGER_MANIFEST, deploys anew)"
        )


def main() -> None:
    existing = deployed_manifest()
    # a journal beside it: a deployment to resume (one whose run stopped after writing the
    # manifest resumes to the same manifest; a reset chain's addresses may hold code again)
    if existing is not None and not journal_path(existing).exists():
        print(f"deploy: nothing to do: the contracts of {existing} all have code on this chain")
        _said_settings_kept(existing)
        print(existing)
        return
    d = Deployment(deployer())
    print(f"deploy: deployer {d.sender.address} (LEDGER_DEPLOYER_KEY or LEDGER_DEPLOYER_ACCOUNT)")
    d.admin = (
        os.environ.get("LEDGER_ADMIN_ADDRESS") or os.environ.get("LEDGER_ADMIN") or d.sender.address
    )
    d.charity = os.environ.get("LEDGER_CHARITY_POOL", d.admin)
    for setting, value in (("LEDGER_ADMIN_ADDRESS", d.admin), ("LEDGER_CHARITY_POOL", d.charity)):
        if not _is_address(value):
            raise SystemExit(
                f"deploy: {setting} is not an address (or its checksum is wrong): {value}"
            )
    keeps = " (the deployer keeps the admin roles)" if d.admin == d.sender.address else ""
    print(f"deploy: admin {d.admin} (LEDGER_ADMIN_ADDRESS){keeps}")
    d.units_per_usd = _units_per_usd()
    silence_s()  # the node watch's setting, checked before anything is deployed
    token = os.environ.get("LEDGER_SETTLEMENT_TOKEN", "").strip()
    development = is_development_chain()
    if not token and not development:
        raise SystemExit(
            "deploy: no settlement token: set LEDGER_SETTLEMENT_TOKEN to the ERC-20 the "
            "SettlementVault settles in, or LEDGER_SETTLEMENT_TOKEN=none to deploy without a "
            "vault (a test token is deployed only on a development chain); nothing deployed"
        )

    if (
        token
        and token.lower() != "none"
        and (not _is_address(token) or len(web3.eth.get_code(token)) == 0)
    ):
        raise SystemExit(
            f"deploy: LEDGER_SETTLEMENT_TOKEN {token} is not a contract on this chain; "
            "nothing deployed"
        )

    settlement = [] if token.lower() == "none" else SETTLEMENT[1:] if token else SETTLEMENT
    names = [name for name, _ in CONTRACTS + settlement]
    d.journal = Journal.open(journal_path(manifest_path()), _settings(d, token, names))
    kept = [
        n for n in names if n in d.journal.contracts and has_code(d.journal.contracts[n]["address"])
    ]
    wiring = _wiring_transactions(d, names) - len(d.journal.wired)
    check_funds(d.sender, [n for n in names if n not in kept], wiring)
    watch = NodeWatch(d)
    watch.start()
    try:
        _deploy_all(d, settlement, token)
    except OSError as lost:  # the node went away (a hung one: `watch`)
        raise SystemExit(watch.said(f"stopped answering ({lost.__class__.__name__})")) from None
    except KeyboardInterrupt:  # Ctrl-C: a traceback said nothing of what to do next
        raise SystemExit(stopped_words(d, "interrupted")) from None
    path = write_manifest(d)
    d.journal.discard()
    print(f"deploy: AllianceLedger at {d.address('AllianceLedger')}; manifest written")
    print(path)


def _settings(d: Deployment, token: str, names: list[str]) -> dict[str, Any]:
    """What a half-way deployment must have been made with to be resumed (`Journal.open`):
    the chain, the deployer, the settings and each contract's compiled code."""
    containers = compiled_containers()
    code = hashlib.sha256("".join(containers[n].bytecode for n in names).encode()).hexdigest()
    return {
        "chain_id": web3.eth.chain_id,
        "genesis": web3.eth.get_block(0)["hash"].hex(),  # a reset chain is another
        "deployer": web3.to_checksum_address(d.sender.address),
        "admin": web3.to_checksum_address(d.admin),
        "charity": web3.to_checksum_address(d.charity),
        # `none` in any letter case is one setting; an address in its checksum form
        "settlement_token": web3.to_checksum_address(token)
        if _is_address(token)
        else token.lower(),
        "units_per_usd": d.units_per_usd,
        "code_sha256": code,
    }


def _deploy_all(d: Deployment, settlement: list[Any], token: str) -> None:
    """The contracts, in order, then the wiring; each contract with code."""
    for name, arguments in CONTRACTS:
        d.deploy(name, arguments)
    d.token = token
    for name, arguments in settlement:
        d.deploy(name, arguments)
        if name == "TestUSD":
            d.token = d.address("TestUSD")
    if token.lower() == "none":
        print("deploy: LEDGER_SETTLEMENT_TOKEN=none: no SettlementVault deployed")
    else:
        print(f"deploy: SettlementVault settles in {d.token} at {d.units_per_usd} units per USD")
    d.journal.settle_wiring(d.sender.address)
    _wire(d)
    d.verify_code()


def _is_address(value: str) -> bool:
    """A 0x address; mixed case must be its EIP-55 checksum form."""
    if not web3.is_address(value.lower()):
        return False
    return (
        value == value.lower() or value == value.upper() or value == web3.to_checksum_address(value)
    )


def _wiring_transactions(d: Deployment, names: list[str]) -> int:
    """How many transactions `_wire` sends after deploying `names` (the funds check)."""
    system = [name for name in names if name not in ("AllianceLedger", "TestUSD")]
    handed_over = d.admin.lower() != d.sender.address.lower()
    return (
        2 + ("SettlementVault" in names) + len(DEFAULT_TIER_RULES) + len(system) + 6 * handed_over
    )


def _wire(d: Deployment) -> None:
    """Roles between the contracts, the default tier rules, then governance to the admin.
    Each step is one transaction (`Deployment.wire`: skipped when an earlier run of this
    deployment confirmed it); each sets a value, so one sent again changes nothing, and the
    handover reads the roles first (an earlier run's renounce may have landed after it
    stopped)."""
    badge, ledger = d.contracts["MembershipBadge"], d.contracts["AllianceLedger"]
    # the badge reads the ledger's pause from now on; set once (a second call reverts), so
    # read first: an earlier run's call may have landed after it stopped
    d.wire(
        "badge ledger",
        lambda tx: badge.setLedger(ledger.address, tx),
        done=lambda: bool(badge.ledger() == ledger.address),
    )
    badges = d.contracts["AllianceBadges"]
    # the auctions issue the winner's collectible badge on the auctioning brand's behalf
    auctions = d.address("AllianceAuctions")
    d.wire("auctions issuer", lambda tx: badges.grantRole(badges.ISSUER_ROLE(), auctions, tx))
    if "SettlementVault" in d.contracts:
        vault = d.address("SettlementVault")
        d.wire("vault settler", lambda tx: ledger.grantRole(ledger.SETTLER_ROLE(), vault, tx))
    for tier, (spend, orders, engagements, gift) in DEFAULT_TIER_RULES.items():
        rule = (spend, orders, engagements)
        d.wire(f"tier {tier}", lambda tx, t=tier, r=rule, g=gift: ledger.setTierRule(t, r, g, tx))
    # contracts that can never move points: earns, gifts and transfers to them are refused
    # (the ledger registers itself)
    for name, contract in d.contracts.items():
        if name not in ("AllianceLedger", "TestUSD"):
            address = contract.address
            d.wire(f"system {name}", lambda tx, a=address: ledger.setSystemAddress(a, True, tx))
    if d.admin.lower() != d.sender.address.lower():  # hand governance to the admin
        for name, contract in (("ledger", ledger), ("badge", badge), ("badges", badges)):
            key = f"handover {name}"
            d.wire(
                key,
                lambda tx, c=contract, k=key: _hand_over(c, d, tx, k),
                done=lambda c=contract: _handed_over(c, d),
            )


def _handed_over(contract: Any, d: Deployment) -> bool:
    """`contract`'s DEFAULT_ADMIN_ROLE is the admin's, and the deployer's no longer."""
    role = contract.DEFAULT_ADMIN_ROLE()
    return bool(contract.hasRole(role, d.admin)) and not contract.hasRole(role, d.sender.address)


def _hand_over(contract: Any, d: Deployment, tx: dict[str, Any], key: str) -> None:
    """`contract`'s DEFAULT_ADMIN_ROLE to the admin, then renounced by the deployer: each
    transaction only when the role is not where it goes yet (the renounce's nonce recorded
    as wiring step `key`'s before it is sent)."""
    role = contract.DEFAULT_ADMIN_ROLE()
    if not contract.hasRole(role, d.admin):
        contract.grantRole(role, d.admin, tx)
        tx = d.tx()
        d.journal.wiring_step(key, tx["nonce"])
    if contract.hasRole(role, d.sender.address):
        contract.renounceRole(role, d.sender.address, tx)
