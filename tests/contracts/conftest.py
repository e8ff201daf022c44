"""Shared fixtures of the contract tests: the alliance deployed the way scripts/deploy.py does it.

Deployment (module scope; brownie's ``module_isolation`` resets the chain around each module and
``fn_isolation`` reverts to the post-deployment snapshot around each test)::

    MembershipBadge(admin, 0x0)
    AllianceLedger(admin, badge, charity)        badge.setLedger(ledger)
    AllianceLedgerLens(ledger)
    AllianceBadges(ledger, admin)
    TestUSD                                      SettlementVault(admin, ledger, tUSD, 1e6)
    ledger.grantRole(SETTLER_ROLE, vault)        DEFAULT_TIER_RULES (scripts/deployment.py)

then three brands, each acting through its own signer key:

    brand A (id 1): reference rule 10/USD, 5 review, 3 share, 5 event, 20 referral;
                    100 points = 1 USD
    brand B (id 2): 20/USD, 8 review, 4 share, 6 event, 25 referral; 200 points = 1 USD
    brand C (id 3): reference rule; 100 points = 1 USD

Members are fresh key-holding accounts (``accounts.add``) so that they can sign EIP-712 messages.

Time: lots are bucketed by UTC calendar month, so the ``clock`` fixture converts timestamps to
month indexes (months since 1970-01, as ``Calendar.monthOf``) and travels anvil's clock to exact
seconds. "Now" is always the latest block's timestamp (what a view call sees), never the wall clock.

Reverts: ``with errors.expect(contract, "ErrorName", *args):`` expects exactly that custom error
with exactly those arguments (see ``expect_revert``); ``events.one(tx, name)`` gives an event as a
plain dict and ``to_plain`` turns brownie return values into comparable tuples.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from brownie import ZERO_ADDRESS, chain, web3
from brownie.exceptions import VirtualMachineError, decode_typed_error
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from web3.middleware import Web3Middleware

from scripts.deployment import DEFAULT_TIER_RULES, REFERENCE_EARN_RULE, REFERENCE_VALUE_MICRO_USD
from scripts.dev_network import launch_on_a_free_port
from scripts.earned_records import earned_records
from scripts.ledger_abi import publish_admin_functions

DAY = 86_400
EARN_KINDS = ("purchase", "review", "share", "event", "referral")  # IAllianceLedger.EarnKind

BRANDS = {
    # name: (earn rule, value in micro-USD, token name, symbol)
    "A": (REFERENCE_EARN_RULE, REFERENCE_VALUE_MICRO_USD, "Brand A Points", "APT"),
    "B": ((20, 8, 4, 6, 25), 5_000, "Brand B Points", "BPT"),
    "C": (REFERENCE_EARN_RULE, REFERENCE_VALUE_MICRO_USD, "Brand C Points", "CPT"),
}

MEMBER_KEYS = {
    name: keccak(text=f"alliance-test-member-{name}").hex() for name in ("alice", "bob", "carol")
}


def pytest_configure(config):
    # brownie 1.22's own isolation fixtures call rpc.snapshot/revert and warn about it
    config.addinivalue_line(
        "filterwarnings", "ignore:rpc.* should not be called directly:FutureWarning"
    )
    # a chain of this run's own: brownie connects once collection is done, and attached to any
    # anvil on 8545 (another run's, whose snapshots the two then reverted under each other)
    launch_on_a_free_port()


@pytest.fixture(autouse=True)
def isolate(fn_isolation):
    """Every test starts from the chain state the module-scoped fixtures left."""


class _WaitForReceipt(Web3Middleware):
    """Returns from a transaction send only once anvil has its receipt.

    Anvil counts a sent transaction in the sender's nonce a moment before its receipt exists;
    brownie 1.22's confirmation thread reads the nonce, then the receipt, and in that window
    takes the transaction for dropped ("Tx dropped without known replacement", about one
    transaction in 1,500 here). Waiting for the receipt closes the window.
    """

    SENDS = ("eth_sendTransaction", "eth_sendRawTransaction")

    def wrap_make_request(self, make_request):
        def middleware(method, params):
            response = make_request(method, params)
            txid = response.get("result") if method in self.SENDS else None
            deadline = time.monotonic() + 10
            while txid and time.monotonic() < deadline:
                if make_request("eth_getTransactionReceipt", [txid]).get("result"):
                    break
                time.sleep(0.002)
            return response

        return middleware


@pytest.fixture(scope="session", autouse=True)
def wait_for_receipts():
    name = "alliance_wait_for_receipt"
    web3.middleware_onion.add(_WaitForReceipt, name=name)
    yield
    web3.middleware_onion.remove(name)


# ------------------------------------------------------------------------------------------------
# Custom errors
# ------------------------------------------------------------------------------------------------


def _abi_value(value):
    return value.address if hasattr(value, "address") else value


def _error_abi(contract, name, arg_count):
    matches = [
        item
        for item in contract.abi
        if item["type"] == "error" and item["name"] == name and len(item["inputs"]) == arg_count
    ]
    assert len(matches) == 1, (
        f"{name} with {arg_count} arguments is not an error of {contract._name}"
    )
    return matches[0]


def _error_types(item):
    return [i["type"] for i in item["inputs"]]


def error_selector(contract, name, arg_count=None):
    """The 4-byte selector of custom error ``name`` declared in ``contract``'s ABI."""
    items = [i for i in contract.abi if i["type"] == "error" and i["name"] == name]
    if arg_count is not None:
        items = [i for i in items if len(i["inputs"]) == arg_count]
    assert len(items) == 1, f"{name} is not an error of {contract._name}"
    return keccak(text=f"{name}({','.join(_error_types(items[0]))})")[:4]


def error_data(contract, name, *args):
    """Selector + ABI-encoded arguments of custom error ``name``: the exact revert data."""
    item = _error_abi(contract, name, len(args))
    types = _error_types(item)
    values = [
        bytes.fromhex(v[2:]) if t.startswith("bytes") and isinstance(v, str) else _abi_value(v)
        for t, v in zip(types, args, strict=True)
    ]
    return error_selector(contract, name, len(args)) + encode(types, values)


@contextmanager
def expect_revert(contract, name, *args):
    """Expects the block to raise a revert carrying exactly custom error ``name(args)``.

    Brownie 1.22 keeps no raw revert data on ``VirtualMachineError``: it decodes the data with the
    ABIs of the project's contracts into ``revert_msg`` ("Name: arg, arg"). The expected message is
    built by ABI-encoding the selector and arguments here and running them through the same
    decoder, so the error's selector and every argument must match (and an undecodable error
    compares as its full hex data).
    """
    expected = decode_typed_error("0x" + error_data(contract, name, *args).hex())
    with pytest.raises(VirtualMachineError) as info:
        yield info
    actual = info.value.revert_msg
    assert actual == expected, f"reverted with {actual!r}, expected {expected!r}"


@pytest.fixture(scope="session")
def errors():
    """``errors.expect(contract, name, *args)`` (a context manager), ``errors.selector(...)``,
    ``errors.data(...)``."""
    return SimpleNamespace(expect=expect_revert, selector=error_selector, data=error_data)


def plain(value):
    """A brownie return value (struct, array, Wei) as plain tuples of ints, strs and bools:
    brownie 1.22's ReturnValue refuses to compare equal to a tuple of ints."""
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return int(value)


@pytest.fixture(scope="session")
def to_plain():
    """``to_plain(lens.brandAccount(1)) == (issued, redeemed, expired, outstanding, reversed)``."""
    return plain


def _event_dicts(tx, name, emitter=None):
    """Every ``name`` event of ``tx`` as a plain dict, optionally only those ``emitter`` fired.
    ``PointsEarned`` includes the records of ``PointsEarnedBatch`` (an ``earnBatch`` emits one
    batch event instead of a ``PointsEarned`` per operation, issue 15), in their order."""
    if name == "PointsEarned":
        batches = _event_dicts(tx, "PointsEarnedBatch", emitter)
        if batches:
            return [r for b in batches for r in earned_records(b["brand"], b["records"])]
    if name not in tx.events:
        return []
    container = tx.events[name]
    found = []
    for item in container:
        # one event: the container holds its data; several: one single-event container each
        address = getattr(item, "address", container.address)
        data = item[0] if hasattr(item, "address") else item
        if emitter is None or address == _abi_value(emitter):
            found.append({key.replace(" (indexed)", ""): value for key, value in data.items()})
    return found


def event_of(tx, name, emitter=None):
    """The one ``name`` event of receipt ``tx`` as a plain dict (asserts there is exactly one)."""
    found = _event_dicts(tx, name, emitter)
    assert len(found) == 1, f"{len(found)} {name} events in {tx.fn_name}"
    return found[0]


@pytest.fixture(scope="session")
def events():
    """``events.one(tx, name[, emitter])`` -> dict (exactly one such event);
    ``events.all(tx, name[, emitter])`` -> [dict]. ``emitter`` tells apart the ledger's ERC-6909
    Transfer from the badge's ERC-721 Transfer."""
    return SimpleNamespace(one=event_of, all=_event_dicts)


# ------------------------------------------------------------------------------------------------
# Clock: UTC calendar months, exact time travel
# ------------------------------------------------------------------------------------------------


def month_of(timestamp):
    """Months since January 1970 (``Calendar.monthOf``)."""
    d = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return (d.year - 1970) * 12 + d.month - 1


def month_start(month):
    """The first second of month index ``month`` (``Calendar.monthStart``)."""
    return int(dt.datetime(1970 + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC).timestamp())


def _rpc(method, params):
    response = web3.provider.make_request(method, params)
    assert "error" not in response, response
    return response.get("result")


class Clock:
    DAY = DAY

    month_of = staticmethod(month_of)
    month_start = staticmethod(month_start)

    @staticmethod
    def now():
        """The latest block's timestamp: what view calls see as ``block.timestamp``."""
        return web3.eth.get_block("latest").timestamp

    def month(self):
        return month_of(self.now())

    def quarter(self):
        return self.month() // 3

    @staticmethod
    def expiry_of(month):
        """First second at which a lot earned in ``month`` no longer counts (12 full months
        later)."""
        return month_start(month + 13)

    def travel_to(self, timestamp):
        """Mines an empty block at exactly ``timestamp`` (no contract is called)."""
        assert timestamp >= self.now(), "the clock only moves forward"
        _rpc("evm_setNextBlockTimestamp", [timestamp])
        chain.mine()
        assert self.now() == timestamp

    def travel_to_month(self, month, day=10, seconds=0):
        """Travels to ``day`` days (0 based) plus ``seconds`` into month index ``month``."""
        self.travel_to(month_start(month) + day * DAY + seconds)

    def travel_months(self, months, day=10):
        self.travel_to_month(self.month() + months, day)

    def travel_to_quarter(self, quarter, month_in_quarter=0, day=10):
        self.travel_to_month(3 * quarter + month_in_quarter, day)

    @staticmethod
    def next_block_at(timestamp):
        """The next transaction is mined at exactly ``timestamp``."""
        _rpc("evm_setNextBlockTimestamp", [timestamp])


@pytest.fixture(scope="session")
def clock():
    return Clock()


# ------------------------------------------------------------------------------------------------
# Accounts
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def charity(accounts):
    """The charity pool donations go to."""
    return accounts[1]


@pytest.fixture(scope="module")
def signer_a(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def signer_b(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def signer_c(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def outsider(accounts):
    """Neither admin, brand signer nor member of interest."""
    return accounts[5]


@pytest.fixture(scope="module")
def relayer(accounts):
    """Submits members' signed messages."""
    return accounts[6]


def _member(accounts, name):
    member = accounts.add(MEMBER_KEYS[name])
    accounts[7].transfer(member, "10 ether", silent=True)
    return member


@pytest.fixture(scope="module")
def alice(accounts):
    return _member(accounts, "alice")


@pytest.fixture(scope="module")
def bob(accounts):
    return _member(accounts, "bob")


@pytest.fixture(scope="module")
def carol(accounts):
    return _member(accounts, "carol")


# ------------------------------------------------------------------------------------------------
# The deployed alliance
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _ledger_abi(AllianceLedger, AllianceLedgerAdmin):
    """The ledger's ABI includes the brand administration it runs by delegatecall
    (scripts/ledger_abi.py)."""
    publish_admin_functions(AllianceLedger, AllianceLedgerAdmin)


@pytest.fixture(scope="module")
def alliance(
    MembershipBadge,
    AllianceLedger,
    AllianceLedgerLens,
    AllianceBadges,
    TestUSD,
    SettlementVault,
    admin,
    charity,
    signer_a,
    signer_b,
    signer_c,
):
    """Every contract, deployed and wired as scripts/deploy.py does, with brands A, B and C."""
    tx = {"from": admin}
    badge = MembershipBadge.deploy(admin, ZERO_ADDRESS, tx)
    ledger = AllianceLedger.deploy(admin, badge, charity, tx)
    badge.setLedger(ledger, tx)
    lens = AllianceLedgerLens.deploy(ledger, tx)
    badges = AllianceBadges.deploy(ledger, admin, tx)
    usd = TestUSD.deploy(tx)
    vault = SettlementVault.deploy(admin, ledger, usd, 1_000_000, tx)
    ledger.grantRole(ledger.SETTLER_ROLE(), vault, tx)
    for tier, (spend, orders, engagements, gift) in DEFAULT_TIER_RULES.items():
        ledger.setTierRule(tier, (spend, orders, engagements), gift, tx)
    for system in (badge, lens, badges, vault):  # as scripts/deploy.py: they never move points
        ledger.setSystemAddress(system, True, tx)

    brands = {}
    for (name, (rule, value, token_name, symbol)), signer in zip(
        BRANDS.items(), (signer_a, signer_b, signer_c), strict=True
    ):
        receipt = ledger.onboardBrand(signer, value, rule, token_name, symbol, tx)
        brands[name] = receipt.events["BrandOnboarded"]["brand"]
        # A, B and C credit purchases live at once (no return window), as before issue 11, so
        # the suites of moves need not wait out a window; test_returns.py onboards its own.
        ledger.setReturnWindow(brands[name], 0, tx)
    assert brands == {"A": 1, "B": 2, "C": 3}
    return SimpleNamespace(
        ledger=ledger,
        lens=lens,
        badge=badge,
        badges=badges,
        usd=usd,
        vault=vault,
        brands=brands,
    )


@pytest.fixture(scope="module")
def ledger(alliance):
    return alliance.ledger


@pytest.fixture(scope="module")
def lens(alliance):
    """The AllianceLedgerLens reading ``ledger``: lots, brand accounts and info, member status,
    tier rules, net positions."""
    return alliance.lens


@pytest.fixture(scope="module")
def membership_badge(alliance):
    return alliance.badge


@pytest.fixture(scope="module")
def alliance_badges(alliance):
    return alliance.badges


@pytest.fixture(scope="module")
def usd(alliance):
    return alliance.usd


@pytest.fixture(scope="module")
def vault(alliance):
    return alliance.vault


@pytest.fixture(scope="module")
def brand_a(alliance):
    return alliance.brands["A"]


@pytest.fixture(scope="module")
def brand_b(alliance):
    return alliance.brands["B"]


@pytest.fixture(scope="module")
def brand_c(alliance):
    return alliance.brands["C"]


# ------------------------------------------------------------------------------------------------
# Earning
# ------------------------------------------------------------------------------------------------

_op_ids = itertools.count(1_000)


def order_ref(text):
    """A hashed order reference: no order detail goes on chain."""
    return keccak(text=f"order:{text}")


class Earner:
    """Builds EarnOp tuples and sends them; op ids come from one counter unless given."""

    KINDS = EARN_KINDS

    def __init__(self, ledger):
        self.ledger = ledger

    @staticmethod
    def next_op_id():
        return next(_op_ids)

    def op(self, member, kind="purchase", cents=10_000, mult=100, op_id=None, ref=None):
        op_id = self.next_op_id() if op_id is None else op_id
        ref = order_ref(op_id) if ref is None else ref
        amount = cents if kind == "purchase" else 0
        return (op_id, _abi_value(member), EARN_KINDS.index(kind), mult, amount, ref)

    def __call__(
        self, signer, member, kind="purchase", cents=10_000, mult=100, op_id=None, ref=None
    ):
        return self.ledger.earn(self.op(member, kind, cents, mult, op_id, ref), {"from": signer})

    def batch(self, signer, ops):
        return self.ledger.earnBatch(ops, {"from": signer})


@pytest.fixture(scope="module")
def earn(ledger):
    """``earn(signer, member, kind="purchase", cents=10_000, mult=100, op_id=None)`` -> receipt;
    ``earn.op(...)`` builds an EarnOp; ``earn.batch(signer, ops)``."""
    return Earner(ledger)


# ------------------------------------------------------------------------------------------------
# EIP-712 signatures
# ------------------------------------------------------------------------------------------------

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
GIFT_FIELDS = [
    {"name": "member", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "brand", "type": "uint256"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
REDEEM_FIELDS = [
    {"name": "member", "type": "address"},
    {"name": "brand", "type": "uint256"},
    {"name": "atBrand", "type": "uint256"},
    {"name": "amount", "type": "uint256"},
    {"name": "orderRef", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


class MemberSigner:
    """Signs Gift and Redeem messages as a member's wallet would (eth_account, EIP-712)."""

    def __init__(self, ledger):
        self.ledger = ledger

    def domain(self, chain_id=None, verifying_contract=None):
        return {
            "name": "AllianceLedger",
            "version": "1",
            "chainId": chain.id if chain_id is None else chain_id,
            "verifyingContract": verifying_contract or self.ledger.address,
        }

    def sign(self, primary_type, fields, message, key, domain):
        typed = {
            "types": {"EIP712Domain": _DOMAIN_FIELDS, primary_type: fields},
            "primaryType": primary_type,
            "domain": domain,
            "message": message,
        }
        return Account.sign_message(encode_typed_data(full_message=typed), key).signature

    def _defaults(self, member, nonce, deadline):
        nonce = self.ledger.nonces(member) if nonce is None else nonce
        deadline = Clock.now() + 3_600 if deadline is None else deadline
        return nonce, deadline

    def gift(self, member, to, brand, amount, nonce=None, deadline=None, key=None, **domain):
        """-> (Gift tuple, signature) signed with ``key`` (default: the member's own key)."""
        nonce, deadline = self._defaults(member, nonce, deadline)
        message = {
            "member": member.address,
            "to": _abi_value(to),
            "brand": brand,
            "amount": amount,
            "nonce": nonce,
            "deadline": deadline,
        }
        sig = self.sign(
            "Gift", GIFT_FIELDS, message, key or member.private_key, self.domain(**domain)
        )
        return tuple(message.values()), sig

    def redeem(
        self,
        member,
        brand,
        at_brand,
        amount,
        ref=None,
        nonce=None,
        deadline=None,
        key=None,
        **domain,
    ):
        """-> (Redeem tuple, signature) signed with ``key`` (default: the member's own key)."""
        nonce, deadline = self._defaults(member, nonce, deadline)
        message = {
            "member": member.address,
            "brand": brand,
            "atBrand": at_brand,
            "amount": amount,
            "orderRef": order_ref("redeem") if ref is None else ref,
            "nonce": nonce,
            "deadline": deadline,
        }
        sig = self.sign(
            "Redeem", REDEEM_FIELDS, message, key or member.private_key, self.domain(**domain)
        )
        return tuple(message.values()), sig

    def redeem_at(self, member, brand, at_brand, amount, sender, ref=None):
        """A redemption of ``brand`` points at ``at_brand`` signed by ``member`` and sent by
        ``sender`` (a cross-brand redemption needs ``at_brand``'s signer) -> receipt."""
        message, sig = self.redeem(member, brand, at_brand, amount, ref=ref)
        return self.ledger.redeemWithSig(message, sig, {"from": sender})


@pytest.fixture(scope="module")
def signing(ledger):
    """``signing.gift(member, to, brand, amount, ...)`` and ``signing.redeem(member, brand, at,
    amount, ...)``."""
    return MemberSigner(ledger)
