"""Fixtures for the badge contracts: MembershipBadge (ERC-721) and AllianceBadges (ERC-1155).

The ledger is replaced by ``DirectoryStub`` (contracts/test/DirectoryStub.sol), whose brand, tier
and pause answers the tests set directly.
"""

import base64
import json

import brownie
import pytest
from brownie import ZERO_ADDRESS
from brownie.exceptions import decode_typed_error
from eth_abi import encode
from eth_utils import keccak

# Tiers, as the directory and the badges number them.
MEMBER, SILVER, GOLD, DIAMOND = 0, 1, 2, 3

# AllianceBadges.BadgeKind
ACHIEVEMENT, COLLECTIBLE = 0, 1

BRAND_A, BRAND_B = 1, 2


@pytest.fixture(autouse=True)
def isolate(fn_isolation):
    """Every test starts from the chain state the module fixtures deployed."""


# ------------------------------------------------------------------------------------------------
# Custom errors
# ------------------------------------------------------------------------------------------------


def _abi_arg(value):
    return value.address if hasattr(value, "address") else value


@pytest.fixture(scope="session")
def reverts_with():
    """``with reverts_with(contract, "ErrorName", *args):`` expects exactly that custom error.

    Brownie 1.22 decodes custom errors it knows from deployed ABIs into ``"ErrorName: arg, arg"``
    and ``brownie.reverts`` compares that string. The expected string is built here by ABI-encoding
    the selector and arguments and running them through the same decoder, so the selector and every
    argument must match.
    """

    def _reverts_with(contract, error_name, *args):
        candidates = [
            item
            for item in contract.abi
            if item["type"] == "error"
            and item["name"] == error_name
            and len(item["inputs"]) == len(args)
        ]
        assert len(candidates) == 1, f"{error_name}/{len(args)} is not an error of {contract}"
        types = [item["type"] for item in candidates[0]["inputs"]]
        selector = keccak(text=f"{error_name}({','.join(types)})")[:4]
        data = selector + encode(types, [_abi_arg(a) for a in args])
        return brownie.reverts(decode_typed_error("0x" + data.hex()))

    return _reverts_with


# ------------------------------------------------------------------------------------------------
# Metadata
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def decode_data_uri():
    """Decodes ``data:<mime>;base64,<payload>`` after checking the media type; returns the bytes."""

    def _decode(uri, mime):
        prefix = f"data:{mime};base64,"
        assert uri.startswith(prefix), uri[:60]
        return base64.b64decode(uri[len(prefix) :], validate=True)

    return _decode


@pytest.fixture(scope="session")
def token_metadata(decode_data_uri):
    """The JSON object behind a MembershipBadge ``tokenURI``."""

    def _metadata(badge, token_id):
        return json.loads(
            decode_data_uri(badge.tokenURI(token_id), "application/json").decode("utf-8")
        )

    return _metadata


# ------------------------------------------------------------------------------------------------
# Accounts
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def ledger(accounts):
    """Stands in for the AllianceLedger contract, the holder of LEDGER_ROLE."""
    return accounts[1]


@pytest.fixture(scope="module")
def brand_a_signer(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def brand_b_signer(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def silver_member(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def gold_member(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def diamond_member(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def new_member(accounts):
    """A member without a tier yet."""
    return accounts[7]


@pytest.fixture(scope="module")
def outsider(accounts):
    """Neither a brand signer nor a ledger."""
    return accounts[8]


# ------------------------------------------------------------------------------------------------
# Contracts
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def membership_badge(MembershipBadge, admin, ledger, directory):
    """Deployed before the ledger (as scripts/deploy.py does), then linked: the directory stub
    stands in for the ledger's pause; the ``ledger`` account holds LEDGER_ROLE to call setTier."""
    badge = MembershipBadge.deploy(admin, ZERO_ADDRESS, {"from": admin})
    badge.grantRole(badge.LEDGER_ROLE(), ledger, {"from": admin})
    badge.setLedger(directory, {"from": admin})
    return badge


@pytest.fixture(scope="module")
def directory(
    DirectoryStub,
    admin,
    brand_a_signer,
    brand_b_signer,
    silver_member,
    gold_member,
    diamond_member,
):
    stub = DirectoryStub.deploy({"from": admin})
    stub.setBrandOf(brand_a_signer, BRAND_A, {"from": admin})
    stub.setBrandOf(brand_b_signer, BRAND_B, {"from": admin})
    stub.setBrandActive(BRAND_A, True, {"from": admin})
    stub.setBrandActive(BRAND_B, True, {"from": admin})
    stub.setTierOf(silver_member, SILVER, {"from": admin})
    stub.setTierOf(gold_member, GOLD, {"from": admin})
    stub.setTierOf(diamond_member, DIAMOND, {"from": admin})
    return stub


@pytest.fixture(scope="module")
def alliance_badges(AllianceBadges, directory, admin):
    return AllianceBadges.deploy(directory, admin, {"from": admin})


@pytest.fixture(scope="module")
def define_badge(alliance_badges):
    """Defines a badge type and returns its id; keyword arguments override the defaults."""

    def _define(
        signer,
        kind=COLLECTIBLE,
        max_supply=0,
        min_tier=MEMBER,
        has_benefit=False,
        self_mint=False,
        uri="ipfs://badge/{id}.json",
    ):
        tx = alliance_badges.defineBadge(
            kind, max_supply, min_tier, has_benefit, self_mint, uri, {"from": signer}
        )
        return tx.events["BadgeDefined"]["typeId"]

    return _define
