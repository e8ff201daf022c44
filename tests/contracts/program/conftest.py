"""Fixtures for the program's contracts beside the ledger: AlliancePolls, EnterpriseAccounts and
AllianceAuctions,
deployed on the shared ``alliance`` (tests/contracts/conftest.py) as scripts/deploy.py does.

``tiers.reach(member, tier)`` earns at brand A exactly what ``DEFAULT_TIER_RULES`` asks for the
tier in the current quarter, so the ledger upgrades the member (and its membership badge).
``typed.sign(contract, name, primary_type, fields, message, key)`` signs EIP-712 as a wallet does.
"""

from types import SimpleNamespace

import pytest
from brownie import chain
from eth_account import Account
from eth_account.messages import encode_typed_data

from scripts.deployment import DEFAULT_TIER_RULES

# IAlliancePolls.Eligibility and IAllianceBadges.BadgeKind
MIN_TIER, BADGE = 0, 1
ACHIEVEMENT, COLLECTIBLE = 0, 1
SILVER, GOLD, DIAMOND = 1, 2, 3

DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
VOTE_FIELDS = [
    {"name": "voter", "type": "address"},
    {"name": "pollId", "type": "uint256"},
    {"name": "option", "type": "uint8"},
    {"name": "deadline", "type": "uint256"},
]
PAIR_FIELDS = [
    {"name": "enterprise", "type": "address"},
    {"name": "employee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
LEAVE_FIELDS = [
    {"name": "employee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


@pytest.fixture(scope="module")
def polls(AlliancePolls, alliance, admin):
    return AlliancePolls.deploy(
        alliance.ledger, alliance.badge, alliance.badges, admin, {"from": admin}
    )


@pytest.fixture(scope="module")
def enterprise_accounts(EnterpriseAccounts, alliance, admin):
    return EnterpriseAccounts.deploy(alliance.ledger, {"from": admin})


@pytest.fixture(scope="module")
def auctions(AllianceAuctions, alliance, admin):
    """AllianceAuctions wired as scripts/deploy.py does: ISSUER_ROLE on the badges, a system
    address."""
    tx = {"from": admin}
    contract = AllianceAuctions.deploy(alliance.ledger, alliance.lens, alliance.badges, tx)
    alliance.badges.grantRole(alliance.badges.ISSUER_ROLE(), contract, tx)
    alliance.ledger.setSystemAddress(contract, True, tx)
    return contract


class Tiers:
    def __init__(self, earn, signer):
        self.earn, self.signer = earn, signer

    def reach(self, member, tier):
        spend, orders, engagements, _ = DEFAULT_TIER_RULES[tier]
        self.earn(self.signer, member, cents=spend)
        for _ in range(orders - 1):
            self.earn(self.signer, member, cents=100)
        for _ in range(engagements):
            self.earn(self.signer, member, kind="review")


@pytest.fixture(scope="module")
def tiers(earn, signer_a):
    return Tiers(earn, signer_a)


def sign_typed(contract, name, primary_type, fields, message, key):
    typed = {
        "types": {"EIP712Domain": DOMAIN_FIELDS, primary_type: fields},
        "primaryType": primary_type,
        "domain": {
            "name": name,
            "version": "1",
            "chainId": chain.id,
            "verifyingContract": contract.address,
        },
        "message": message,
    }
    return Account.sign_message(encode_typed_data(full_message=typed), key).signature


@pytest.fixture(scope="session")
def typed():
    return SimpleNamespace(sign=sign_typed, VOTE=VOTE_FIELDS, PAIR=PAIR_FIELDS, LEAVE=LEAVE_FIELDS)
