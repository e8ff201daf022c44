"""Gas report: deploys a fresh system on the connected (local) chain, measures each
operation's gas per transaction (21,000 base included) and each contract's deployed bytecode
size, and writes reports/gas.json (gas figures by operation, and `bytecode_bytes`: contract
name -> bytes).

    python tools/brownie_run.py scripts/gas_report.py --network development     (make gas)

OpenZeppelin ERC-20 mint and transfer (TestUSD) are measured in the same run as anchors.
`measure_gas` and `bytecode_sizes` are shared with the contract suite's snapshot test
(tests/contracts/test_gas_snapshot.py), which fails when a figure grows by more than
`TOLERANCE` over the committed report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from brownie import (
    AllianceAuctions,
    AllianceBadges,
    AllianceLedger,
    AllianceLedgerAdmin,
    AllianceLedgerLens,
    AlliancePolls,
    EnterpriseAccounts,
    MembershipBadge,
    SettlementVault,
    TestUSD,
    accounts,
    chain,
)
from eth_account import Account
from eth_account.messages import encode_typed_data

from scripts.deployment import DEFAULT_TIER_RULES, REFERENCE_EARN_RULE, ROOT
from scripts.earned_records import earned_records
from scripts.ledger_abi import publish_admin_functions

publish_admin_functions(AllianceLedger, AllianceLedgerAdmin)

REPORT = ROOT / "reports" / "gas.json"
BYTECODE_KEY = "bytecode_bytes"
#: A figure may grow by at most this share over the committed report before the snapshot test fails.
TOLERANCE = 0.01
#: The deployed contracts whose runtime size is tracked (EIP-170 allows 24,576 bytes).
SIZED_CONTRACTS = {
    "AllianceLedger": AllianceLedger,
    "AllianceLedgerAdmin": AllianceLedgerAdmin,
    "AllianceLedgerLens": AllianceLedgerLens,
    "SettlementVault": SettlementVault,
    "MembershipBadge": MembershipBadge,
    "AllianceBadges": AllianceBadges,
    "AlliancePolls": AlliancePolls,
    "EnterpriseAccounts": EnterpriseAccounts,
    "AllianceAuctions": AllianceAuctions,
}
PURCHASE, REVIEW = 0, 1
TARGETS = {
    "earn_existing_lot": 45_000,
    "earn_new_month": 55_000,
    "redeem_12_lots": 90_000,
    "redeem_cross_brand": 70_000,
    "batch_earn_100_per_member": 15_000,
}


class Ops:
    """Sequential operation ids per brand, like the gateway allocates them."""

    def __init__(self) -> None:
        self.next = 1

    def __call__(self, member: str, cents: int = 1_000, kind: int = PURCHASE) -> tuple:
        self.next += 1
        return (
            self.next,
            member,
            kind,
            100,
            cents if kind == PURCHASE else 0,
            "0x" + f"{self.next:064x}",
        )


_REDEEM_FIELDS = [
    {"name": n, "type": t}
    for n, t in (
        ("member", "address"),
        ("brand", "uint256"),
        ("atBrand", "uint256"),
        ("amount", "uint256"),
        ("orderRef", "bytes32"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    )
]
_DOMAIN_FIELDS = [
    {"name": n, "type": t}
    for n, t in (
        ("name", "string"),
        ("version", "string"),
        ("chainId", "uint256"),
        ("verifyingContract", "address"),
    )
]


def _redeem_at(
    ledger: Any, member: Any, brand: int, at_brand: int, amount: int, ref: str, sender: Any
) -> Any:
    """A member-signed redemption sent by `sender` (a cross-brand one needs the redeeming
    brand's signer)."""
    message = {
        "member": member.address,
        "brand": brand,
        "atBrand": at_brand,
        "amount": amount,
        "orderRef": ref,
        "nonce": ledger.nonces(member),
        "deadline": chain.time() + 3_600,
    }
    typed = {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "Redeem": _REDEEM_FIELDS},
        "primaryType": "Redeem",
        "domain": {
            "name": "AllianceLedger",
            "version": "1",
            "chainId": chain.id,
            "verifyingContract": ledger.address,
        },
        "message": message,
    }
    sig = Account.sign_message(encode_typed_data(full_message=typed), member.private_key).signature
    return ledger.redeemWithSig(tuple(message.values()), sig, {"from": sender})


def _next_month_start() -> int:
    now = datetime.fromtimestamp(chain.time(), UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp())


def _to_next_month() -> None:
    chain.sleep(_next_month_start() - chain.time() + 3_600)
    chain.mine()


def bytecode_sizes() -> dict[str, int]:
    """Deployed (runtime) bytecode size in bytes per tracked contract, from the build artifacts."""
    return {
        name: len(bytes.fromhex(c._build["deployedBytecode"]))
        for name, c in SIZED_CONTRACTS.items()
    }


def measure_gas() -> dict[str, int]:
    """Deploys a fresh system and measures every operation (gas per transaction)."""
    admin, brand_a_key, brand_b_key, charity = accounts[0], accounts[1], accounts[2], accounts[3]
    members = [accounts.add() for _ in range(103)]
    alice, bob, carol = members[100], members[101], members[102]
    tx = {"from": admin}
    badge = MembershipBadge.deploy(admin, "0x" + "00" * 20, tx)
    ledger = AllianceLedger.deploy(admin, badge, charity, tx)
    badge.setLedger(ledger, tx)
    lens = AllianceLedgerLens.deploy(ledger, tx)
    for tier, (spend, orders, engagements, gift) in DEFAULT_TIER_RULES.items():
        ledger.setTierRule(tier, (spend, orders, engagements), gift, tx)
    ledger.onboardBrand(brand_a_key, 10_000, REFERENCE_EARN_RULE, "Brand A", "PTA", tx)
    ledger.onboardBrand(brand_b_key, 10_000, REFERENCE_EARN_RULE, "Brand B", "PTB", tx)
    # A and B credit purchases live at once: the rows measured before issue 11 stay comparable.
    ledger.setReturnWindow(1, 0, tx)
    ledger.setReturnWindow(2, 0, tx)
    a = {"from": brand_a_key}
    op = Ops()
    gas: dict[str, int] = {}

    # Anchors: OpenZeppelin ERC-20 mint / transfer to an existing holder.
    usd = TestUSD.deploy(tx)
    usd.mint(bob, 1, tx)
    usd.mint(alice, 10**6, tx)
    gas["oz_erc20_mint_existing"] = usd.mint(bob, 10**6, tx).gas_used
    gas["oz_erc20_transfer_existing"] = usd.transfer(bob, 10**5, {"from": alice}).gas_used

    # Steady state: alice and carol have earned every month for over a year, so each new
    # month reuses a lot position (no fresh storage slot), as for any regular member.
    for _ in range(14):
        ledger.earn(op(alice, 1_000), a)
        ledger.earn(op(carol, 1_000), a)
        _to_next_month()
    dave = members[99]
    ledger.earn(op(carol, 1_000), a)  # the brand's first earn this month rolls its month over
    ledger.earn(op(bob, 1_000), a)
    ledger.earn(op(dave, 1_000), a)
    gas["earn_new_month"] = ledger.earn(op(alice, 1_000), a).gas_used
    gas["earn_existing_lot"] = ledger.earn(op(alice, 1_000), a).gas_used
    gas["gift"] = ledger.transfer(carol, 1, 50, {"from": alice}).gas_used

    # Totals and the pair position already exist (not a brand's first redemption ever).
    ledger.redeem(1, 1, 1, "0x" + "01" * 32, {"from": dave})
    _redeem_at(ledger, dave, 1, 2, 1, "0x" + "02" * 32, brand_b_key)
    # Members who signed before (their nonce word exists), as any regular member.
    for member in (bob, carol):
        _redeem_at(ledger, member, 1, 1, 1, "0x" + "03" * 32, brand_a_key)
    lots = lens.lotsOf(alice, 1)
    assert len(lots) == 13
    gas["redeem_12_lots"] = ledger.redeem(
        1, 1, sum(lot[0] for lot in lots[:12]), "0x" + "11" * 32, {"from": alice}
    ).gas_used
    assert len(lens.lotsOf(alice, 1)) == 1
    # A regular member (lots in every month: the oldest is read first) ...
    # (relayed by the redeeming brand's signer, its consent; the member's is its signature)
    gas["redeem_cross_brand"] = _redeem_at(
        ledger, carol, 1, 2, 10, "0x" + "22" * 32, brand_b_key
    ).gas_used
    # ... and the worst case, a member whose only lot is this month's (all 7 lot slots are read).
    gas["redeem_cross_brand_sparse_lots"] = _redeem_at(
        ledger, bob, 1, 2, 10, "0x" + "23" * 32, brand_b_key
    ).gas_used

    # Tier upgrade: a member one engagement short of Silver, then the engagement.
    spend, orders, engagements, _ = DEFAULT_TIER_RULES[1]
    climber = members[0]
    ledger.earn(op(climber, spend), a)
    for _ in range(orders - 1):
        ledger.earn(op(climber, 100), a)
    for _ in range(engagements - 1):
        ledger.earn(op(climber, kind=REVIEW), a)
    upgrade = ledger.earn(op(climber, kind=REVIEW), a)
    assert "TierUpgraded" in upgrade.events, "the upgrade did not happen"
    gas["tier_upgrade_with_badge"] = upgrade.gas_used

    # Batch: 100 earns for 100 members who already hold a lot this month.
    holders = members[:100]
    ledger.earnBatch([op(m, 500) for m in holders], a)
    batch = ledger.earnBatch([op(m, 500) for m in holders], a)
    (records,) = batch.events["PointsEarnedBatch"]
    assert len(earned_records(1, records["records"])) == 100
    gas["batch_earn_100_per_member"] = batch.gas_used // 100

    # Settlement vault: both brands hold a deposit; A's pays what A owes B, then A's treasury
    # withdraws while A owes B again (the withdrawal reads every pair's position).
    vault = SettlementVault.deploy(admin, ledger, usd, 10**6, tx)
    ledger.grantRole(ledger.SETTLER_ROLE(), vault, tx)
    treasury = accounts[4]
    vault.setTreasury(1, treasury, tx)
    b = {"from": brand_b_key}
    for funder in (a, b):
        usd.mint(funder["from"], 10**9, tx)
        usd.approve(vault, 10**9, funder)
    vault.deposit(2, 10**6, b)
    vault.deposit(1, 10**8, a)
    gas["vault_deposit"] = vault.deposit(1, 10**8, a).gas_used
    assert ledger.position(1, 2) > 0
    gas["vault_settle"] = vault.settle(1, 2, b).gas_used
    _redeem_at(ledger, carol, 1, 2, 10, "0x" + "24" * 32, brand_b_key)
    gas["vault_withdraw"] = vault.withdraw(1, 10**6, treasury, {"from": treasury}).gas_used

    # Returns (issue 11): brand C keeps the default 14-day window; erin holds a lot this month.
    brand_c_key, erin = accounts[5], members[98]
    ledger.onboardBrand(brand_c_key, 10_000, REFERENCE_EARN_RULE, "Brand C", "PTC", tx)
    c = {"from": brand_c_key}
    ledger.earn(op(erin, kind=REVIEW), c)
    first = ledger.earn(op(erin, 1_000), c)  # opens today's pending position
    gas["earn_pending_new_position"] = first.gas_used
    release_at = first.events["PointsEarned"]["releaseAt"]
    gas["earn_pending"] = ledger.earn(op(erin, 1_000), c).gas_used  # into the same position
    reversal = (
        op.next + 1,
        erin,
        release_at // 86_400,
        _month(),
        50,
        500,
        _quarter(),
        False,
        "0x" + "33" * 32,
    )
    op.next += 1
    gas["reverse_pending"] = ledger.reverse(reversal, c).gas_used
    chain.sleep(release_at - chain.time() + 1)
    chain.mine()
    # Release needs no transaction: the first later operation (a gift) reads the pending word
    # and finds the position released.
    gas["release_on_read"] = ledger.transfer(carol, 3, 50, {"from": erin}).gas_used

    # A gift that waits for a pending purchase: A's 500 USD, 2 orders and 2 reviews leave frank
    # one order short of Silver; C's pending 1 USD purchase completes it, so every share is
    # locked until that purchase's release; its return cancels them (README, "Returns").
    frank = accounts.add()  # a member with no activity yet
    for cents, kind in ((spend, PURCHASE), (100, PURCHASE), (0, REVIEW), (0, REVIEW)):
        ledger.earn(op(frank, cents, kind), a)
    locked = ledger.earn(op(frank, 100), c)
    (paid,) = locked.events["TierGiftPaid"]
    assert paid["releaseAt"] > 0, "the gift was not locked"
    gas["tier_upgrade_pending_gift"] = locked.gas_used
    earned = locked.events["PointsEarned"]
    op.next += 1
    cancel = (
        op.next,
        frank,
        earned["releaseAt"] // 86_400,
        _month(),
        earned["points"],
        100,
        _quarter(),
        True,
        "0x" + "44" * 32,
    )
    cancelled = ledger.reverse(cancel, c)
    assert "TierGiftCancelled" in cancelled.events, "the gift was not cancelled"
    gas["reverse_cancels_tier_gift"] = cancelled.gas_used
    # A's honest 1 USD purchase meets Silver again: the cancelled gift is paid again, live.
    restored = ledger.earn(op(frank, 100), a)
    assert "TierGiftRestored" in restored.events, "the cancelled gift was not paid again"
    gas["tier_gift_restored"] = restored.gas_used

    _measure_program(gas, ledger, badge, members, admin, brand_a_key, op)
    # A fifth pending purchase day (last: it moves the clock 4 days): two positions of its
    # month merge into the later day, so none is released before its window closes.
    gina = accounts.add()
    for _ in range(4):
        ledger.earn(op(gina, 1_000), c)
        chain.sleep(86_400)
    merged = ledger.earn(op(gina, 1_000), c)
    assert "PendingPointsMoved" in merged.events, "no merge"
    gas["earn_pending_merge"] = merged.gas_used
    return gas


def _month() -> int:
    now = datetime.fromtimestamp(chain.time(), UTC)
    return (now.year - 1970) * 12 + now.month - 1


def _quarter() -> int:
    return _month() // 3


def _measure_program(
    gas: dict[str, int],
    ledger: Any,
    badge: Any,
    members: list[Any],
    admin: Any,
    brand: Any,
    op: Ops,
) -> None:
    """A vote on a tier poll (a Silver member, the option's tally already counted: the steady case)
    and an enterprise binding (the employee's consent signature checked on chain)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    badges = AllianceBadges.deploy(ledger, admin, {"from": admin})
    polls = AlliancePolls.deploy(ledger, badge, badges, admin, {"from": admin})
    enterprises = EnterpriseAccounts.deploy(ledger, {"from": admin})
    silver = DEFAULT_TIER_RULES[1]
    voters = [accounts.add() for _ in range(2)]
    for voter in voters:
        ledger.earn(op(voter, silver[0]), {"from": brand})
        for _ in range(silver[1] - 1):
            ledger.earn(op(voter, 100), {"from": brand})
        for _ in range(silver[2]):
            ledger.earn(op(voter, kind=REVIEW), {"from": brand})
    chain.sleep(2)
    chain.mine()
    start = chain[-1].timestamp + 2
    poll_id = polls.openPoll(
        "0x" + "ab" * 32, 3, start, start + 86_400, 0, 1, {"from": brand}
    ).return_value
    chain.sleep(3)
    chain.mine()
    polls.vote(poll_id, 1, {"from": voters[0]})
    gas["poll_vote"] = polls.vote(poll_id, 1, {"from": voters[1]}).gas_used
    _measure_auction(gas, ledger, badges, admin, brand, voters)

    enterprise, employee = accounts.add(), members[1]
    deadline = chain[-1].timestamp + 3_600
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "JoinEnterprise": [
                {"name": "enterprise", "type": "address"},
                {"name": "employee", "type": "address"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "JoinEnterprise",
        "domain": {
            "name": "EnterpriseAccounts",
            "version": "1",
            "chainId": chain.id,
            "verifyingContract": enterprises.address,
        },
        "message": {
            "enterprise": enterprise.address,
            "employee": employee.address,
            "nonce": 0,
            "deadline": deadline,
        },
    }
    sig = Account.sign_message(
        encode_typed_data(full_message=typed), employee.private_key
    ).signature
    admin.transfer(enterprise, 10**17)
    gas["enterprise_bind"] = enterprises.bind(
        employee, 0, deadline, sig, {"from": enterprise}
    ).gas_used


def _measure_auction(
    gas: dict[str, int], ledger: Any, badges: Any, admin: Any, brand: Any, bidders: list[Any]
) -> None:
    """Bids on a one-unit auction by Silver members: the first (its escrow clone created, the
    unit reserved in the badge's supply), a bid that outbids it (the bidder's escrow clone
    created, the outbid escrow returned) and a raise (the escrow exists)."""
    lens = AllianceLedgerLens.deploy(ledger, {"from": admin})
    auctions = AllianceAuctions.deploy(ledger, lens, badges, {"from": admin})
    badges.grantRole(badges.ISSUER_ROLE(), auctions, {"from": admin})
    right = badges.defineBadge(1, 0, 0, True, False, "ipfs://right", {"from": brand}).return_value
    start = chain[-1].timestamp + 2
    auction_id = auctions.createAuction(
        right, 1, 1, 1_000, 100, start, start + 86_400, 600, {"from": brand}
    ).return_value
    chain.sleep(3)
    chain.mine()
    for bidder in bidders:
        ledger.approve(auctions, 1, 5_000, {"from": bidder})
    gas["auction_bid_first"] = auctions.bid(auction_id, 1, 1_000, {"from": bidders[0]}).gas_used
    gas["auction_bid_outbid"] = auctions.bid(auction_id, 1, 1_100, {"from": bidders[1]}).gas_used
    gas["auction_bid_raise"] = auctions.bid(auction_id, 1, 100, {"from": bidders[1]}).gas_used


def read_report(path: Path = REPORT) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def regressions(committed: dict[str, Any], measured: dict[str, Any]) -> list[str]:
    """Each figure of `measured` above the committed one by more than TOLERANCE, or missing
    from the committed report, as a readable line (empty when the report still holds)."""
    flat_committed = _flatten(committed)
    problems = []
    for key, value in sorted(_flatten(measured).items()):
        if key not in flat_committed:
            problems.append(f"{key}: {value:,} is not in the committed report (run `make gas`)")
        elif value > flat_committed[key] * (1 + TOLERANCE):
            old = flat_committed[key]
            problems.append(
                f"{key}: {value:,} > committed {old:,} (+{(value - old) / old:.2%}; run `make gas`)"
            )
    return problems


def _flatten(report: dict[str, Any]) -> dict[str, int]:
    flat = {k: int(v) for k, v in report.items() if k != BYTECODE_KEY}
    flat.update({f"{BYTECODE_KEY}.{k}": int(v) for k, v in report.get(BYTECODE_KEY, {}).items()})
    return flat


def main() -> None:
    gas: dict[str, Any] = dict(measure_gas())
    sizes = bytecode_sizes()
    gas[BYTECODE_KEY] = sizes
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(gas, indent=2, sort_keys=True) + "\n")
    print(f"\n{'operation':32} {'gas':>9} {'target':>9}")
    for name in sorted(k for k in gas if k != BYTECODE_KEY):
        target = TARGETS.get(name)
        mark = "" if target is None else ("  ok" if gas[name] <= target else "  over")
        print(f"{name:32} {gas[name]:>9,} {target or '':>9}{mark}")
    print(f"\n{'contract':32} {'bytes':>9} {'of EIP-170':>11}")
    for name, size in sizes.items():
        print(f"{name:32} {size:>9,} {size / 24_576:>10.1%}")
    print(f"\nwritten to {REPORT}")
