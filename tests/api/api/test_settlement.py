"""Settlement through the API (issue 13 item 3), end to end on anvil with TestUSD and the
SettlementVault: a cross-brand redemption leaves A owing B; A's signer deposits (minting the
TestUSD it lacks and approving the vault); B settles; the settlement is listed from the index;
A's treasury signs the withdrawal transaction the gateway answers with, and the index follows.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from support.chain import ADMIN_KEY, Anvil, _send
from support.flows import earn, signed_redemption
from support.gateway import Brand, Gateway, Member, gateway_env
from web3 import Web3

from ledger_api.access.apikeys import Principal
from ledger_api.background.deposit_flow import (
    DEPOSIT_STEPS,
    DepositClaim,
    claim_funds_read,
    other_deposit_step,
)
from ledger_api.db.models import Brand as BrandRow
from ledger_api.db.models import Operation
from ledger_api.domain.ids import BrandRowId
from ledger_client import LedgerClient

UNITS_PER_USD = 10**6


@pytest.fixture
def vault_chain(anvil: Anvil, manifest: Path) -> tuple[Anvil, dict[str, Any]]:
    """The session's chain, deployed with TestUSD and the SettlementVault (conftest)."""
    document: dict[str, Any] = json.loads(manifest.read_text())
    return anvil, document


def _until(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + 60
    while True:
        body = read()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def _contract(w3: Web3, document: dict[str, Any], name: str) -> Any:
    entry = document["contracts"][name]
    return w3.eth.contract(address=entry["address"], abi=entry["abi"])


def _transact(w3: Web3, account: LocalAccount, function: Any) -> None:
    tx = function.build_transaction({"from": account.address, "gas": 500_000})
    tx.pop("gasPrice", None)
    tx.pop("nonce", None)
    _send(w3, account, dict(tx))


def _deposit(api: Any, brand: Brand) -> dict[str, Any]:
    answer = api.get(f"/v1/settlement/deposits/{brand.brand_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


def test_a_debt_is_deposited_for_settled_by_the_creditor_and_withdrawn_by_the_treasury(
    gateway: Gateway, vault_chain: tuple[Anvil, dict[str, Any]]
) -> None:
    node, document = vault_chain
    w3 = node.web3()
    a, b = gateway.create_brand(), gateway.create_brand()
    member = Member(Account.create())
    earn(a, member, 10_000)  # 100 USD: 1,000 points of A
    redeemed = b.api.post(
        "/v1/redemptions",
        signed_redemption(b, member, a.brand_id, 250, "order-1"),
        params={"wait": "true"},
    )
    assert redeemed.status_code == 200 and redeemed.json()["status"] == "confirmed", redeemed.text
    owed = int(redeemed.json()["result"]["value_micro_usd"])  # 250 points at 0.01 USD
    assert owed == 2_500_000

    before = _deposit(a.api, a)
    assert before["deposit_units"] == "0" and before["treasury"] is None
    assert before["required_units"] == str(owed)  # 1e6 units per USD: units == micro-USD
    assert before["positions"] == [
        {"debtor_brand_id": a.brand_id, "creditor_brand_id": b.brand_id, "amount_micro_usd": owed}
    ]
    assert before["token"]["mintable"] is True
    _error(b.api.get(f"/v1/settlement/deposits/{a.brand_id}"), 403, "brand_forbidden")

    # nothing in the vault yet; A is no creditor; B owes A nothing
    _error(b.api.post("/v1/settlement/settle", {"debtor": a.brand_id}), 409, "insufficient_deposit")
    _error(
        a.api.post("/v1/settlement/settle", {"debtor": a.brand_id, "creditor": b.brand_id}),
        403,
        "brand_forbidden",
    )
    _error(a.api.post("/v1/settlement/settle", {"debtor": b.brand_id}), 409, "nothing_to_settle")
    # a brand owes itself nothing: a request's shape, not a state (a trial: 409 nothing owed)
    _error(a.api.post("/v1/settlement/settle", {"debtor": a.brand_id}), 422, "invalid_request")
    # a brand the ledger never had, as the deposit read answers (a trial: 409 nothing owed)
    _error(a.api.post("/v1/settlement/settle", {"debtor": 4_242}), 404, "unknown_brand")

    # A's signer holds no TestUSD and gave no allowance: the route mints and approves first
    amount = owed + 1_000_000
    deposited = a.api.post(
        "/v1/settlement/deposits", {"amount_units": amount}, params={"wait": "true"}, key="dep-1"
    )
    assert deposited.status_code == 200, deposited.text
    assert deposited.json()["status"] == "confirmed", deposited.text
    assert deposited.json()["result"] == {"credited_units": str(amount)}
    again = a.api.post(
        "/v1/settlement/deposits", {"amount_units": amount}, params={"wait": "true"}, key="dep-1"
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["operation_id"] == deposited.json()["operation_id"]
    vault = _contract(w3, document, "SettlementVault")
    assert vault.functions.depositOf(a.brand_id).call() == amount
    funded = _deposit(a.api, a)
    assert funded["deposit_units"] == str(amount)
    assert funded["withdrawable_units"] == "1000000"

    # the withdrawal needs A's treasury, which the admin sets once (a key no brand signs with)
    request = {"amount_units": 1, "to": member.address}
    _error(a.api.post("/v1/settlement/withdrawals/transaction", request), 409, "treasury_not_set")
    admin: LocalAccount = Account.from_key(ADMIN_KEY)
    treasury: LocalAccount = Account.create()
    _transact(w3, admin, vault.functions.setTreasury(a.brand_id, treasury.address))
    _until(lambda: _deposit(a.api, a), lambda body: body["treasury"] == treasury.address)
    too_much = {"amount_units": 1_000_001, "to": member.address}
    _error(
        a.api.post("/v1/settlement/withdrawals/transaction", too_much), 409, "deposit_backs_debt"
    )

    # the creditor settles: A's deposit pays B's, the position is cleared
    settled = b.api.post("/v1/settlement/settle", {"debtor": a.brand_id}, params={"wait": "true"})
    assert settled.status_code == 200 and settled.json()["status"] == "confirmed", settled.text
    assert settled.json()["result"]["token_amount"] == str(owed)
    listed = b.api.get("/v1/settlement/settlements").json()["settlements"]
    assert [(s["debtor_brand_id"], s["creditor_brand_id"], s["token_amount"]) for s in listed] == [
        (a.brand_id, b.brand_id, str(owed))
    ]
    assert listed[0]["tx_hash"] == settled.json()["tx_hash"]
    after = _deposit(a.api, a)
    assert (after["deposit_units"], after["required_units"], after["positions"]) == (
        "1000000",
        "0",
        [],
    )
    assert _deposit(b.api, b)["deposit_units"] == str(owed)
    flows = b.api.get("/v1/stats/flows").json()  # what the dashboard draws
    assert flows["deposits"] == [{"brand_id": b.brand_id, "deposit_units": str(owed)}]
    assert [x["token_amount"] for x in flows["settlements"]] == [str(owed)]
    _error(b.api.post("/v1/settlement/settle", {"debtor": a.brand_id}), 409, "nothing_to_settle")

    # the gateway answers the withdrawal; A's treasury signs and sends it itself
    answer = a.api.post(
        "/v1/settlement/withdrawals/transaction", {"amount_units": 1_000_000, "to": member.address}
    )
    assert answer.status_code == 200, answer.text
    withdrawal = answer.json()
    assert withdrawal["treasury"] == treasury.address
    tx = withdrawal["transaction"]
    assert tx["to"] == vault.address and tx["chain_id"] == w3.eth.chain_id
    node.rpc("anvil_setBalance", treasury.address, hex(10**18))
    _send(w3, treasury, {"to": tx["to"], "data": tx["data"], "value": int(tx["value"])})
    token = _contract(w3, document, "TestUSD")
    assert token.functions.balanceOf(member.address).call() == 1_000_000
    emptied = _until(lambda: _deposit(a.api, a), lambda body: body["deposit_units"] == "0")
    assert emptied["withdrawn_units"] == "1000000"
    assert emptied["deposited_units"] == str(amount)

    # the Python client reads the same
    with LedgerClient(gateway.base_url, b.api_key, timeout=60) as client:
        assert client.settlement_deposit(b.brand_id)["deposit_units"] == str(owed)
        assert len(client.settlements()["settlements"]) == 1


def test_the_admin_settles_any_pair_it_names(gateway: Gateway) -> None:
    a, b = gateway.create_brand(), gateway.create_brand()
    member = Member(Account.create())
    earn(a, member, 1_000)
    redeemed = b.api.post(
        "/v1/redemptions",
        signed_redemption(b, member, a.brand_id, 1, "order-2"),
        params={"wait": "true"},
    )
    assert redeemed.status_code == 200, redeemed.text
    deposited = a.api.post(
        "/v1/settlement/deposits", {"amount_units": 10_000}, params={"wait": "true"}
    )
    assert deposited.status_code == 200 and deposited.json()["status"] == "confirmed"
    admin = gateway.admin
    # a field left out (a trial: 403 brand_forbidden, as if a right were missing)
    _error(admin.post("/v1/settlement/settle", {"debtor": a.brand_id}), 422, "invalid_request")
    settled = admin.post(
        "/v1/settlement/settle",
        {"debtor": a.brand_id, "creditor": b.brand_id},
        params={"wait": "true"},
    )
    assert settled.status_code == 200 and settled.json()["status"] == "confirmed", settled.text
    assert settled.json()["result"]["token_amount"] == "10000"  # 1 point = 10,000 micro-USD
    assert _deposit(admin, b)["deposit_units"] == "10000"


def test_a_signer_without_tokens_is_refused_where_the_token_cannot_be_minted(
    anvil: Anvil, manifest: Path, tmp_path: Path
) -> None:
    """Off a development chain (no TestUSD in the manifest) the brand funds its signer."""
    document = json.loads(manifest.read_text())
    del document["contracts"]["TestUSD"]
    network = tmp_path / "network.json"
    network.write_text(json.dumps(document))
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=network,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        assert _deposit(brand.api, brand)["token"]["mintable"] is False
        refused = brand.api.post("/v1/settlement/deposits", {"amount_units": 1_000})
        _error(refused, 409, "insufficient_tokens")
        details = refused.json()["error"]["details"]
        assert (details["signer"], details["balance"], details["needed"]) == (
            brand.signer,
            "0",
            "1000",
        )


def test_concurrent_deposits_of_one_brand_each_land_or_are_refused_up_front(
    gateway: Gateway, vault_chain: tuple[Anvil, dict[str, Any]]
) -> None:
    """Three deposits of one brand at once, each under its own key, by a signer with no tokens
    and no allowance: each either lands or is refused before anything of it is queued
    (`deposit_in_progress`), never a deposit that fails on chain for an allowance another
    request's `approve` replaced (before: one confirmed, two `failed` with
    `insufficient_allowance`, their minted tokens left with the signer)."""
    node, document = vault_chain
    w3 = node.web3()
    brand = gateway.create_brand()
    amount = 3_000_000
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda i: brand.api.post(
                    "/v1/settlement/deposits",
                    {"amount_units": amount},
                    headers={"Prefer": "wait=30"},
                    key=f"concurrent-{i}",
                ),
                range(3),
            )
        )
    landed = [a for a in answers if a.status_code == 200]
    for answer in answers:
        if answer.status_code == 200:
            assert answer.json()["status"] == "confirmed", answer.text
        else:
            _error(answer, 409, "deposit_in_progress")
            assert answer.json()["error"]["details"]["operation_id"], answer.text
    assert landed
    vault = _contract(w3, document, "SettlementVault")
    token = _contract(w3, document, "TestUSD")
    assert vault.functions.depositOf(brand.brand_id).call() == amount * len(landed)
    assert token.functions.balanceOf(brand.signer).call() == 0  # nothing minted for a refusal
    # once the first is final, a later deposit lands
    later = brand.api.post(
        "/v1/settlement/deposits", {"amount_units": amount}, headers={"Prefer": "wait=30"}
    )
    assert later.status_code == 200 and later.json()["status"] == "confirmed", later.text
    assert vault.functions.depositOf(brand.brand_id).call() == amount * (len(landed) + 1)


def test_a_deposit_retried_while_its_own_mint_is_pending_replays_and_lands(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """A retry under the deposit's own Idempotency-Key while its mint is not mined yet waits
    on that mint again (503, retry), never `deposit_in_progress` for its own step; once
    blocks are mined the same key lands one deposit."""
    node, path = own_chain
    document = json.loads(path.read_text())
    with Gateway({**own_env, "LEDGER_WAIT_MAX_S": "1"}) as gateway:
        brand = gateway.create_brand()
        node.rpc("evm_setAutomine", False)
        try:
            first = brand.api.post("/v1/settlement/deposits", {"amount_units": 5_000}, key="d")
            _error(first, 503, "unavailable")
            again = brand.api.post("/v1/settlement/deposits", {"amount_units": 5_000}, key="d")
            _error(again, 503, "unavailable")  # its own mint, still pending: not a conflict
            other = brand.api.post("/v1/settlement/deposits", {"amount_units": 5_000}, key="e")
            _error(other, 409, "deposit_in_progress")  # another deposit waits for this one
        finally:
            node.rpc("evm_setAutomine", True)
        node.rpc("evm_mine")
        landed = _until(  # each retry waits up to 1 s per step (LEDGER_WAIT_MAX_S), then 503
            lambda: brand.api.post(
                "/v1/settlement/deposits", {"amount_units": 5_000}, params={"wait": "true"}, key="d"
            ).json(),
            lambda body: body.get("status") == "confirmed",
        )
        assert landed["result"] == {"credited_units": "5000"}
        vault = _contract(node.web3(), document, "SettlementVault")
        assert vault.functions.depositOf(brand.brand_id).call() == 5_000


def test_a_funds_read_older_than_another_deposits_step_is_refused_even_once_it_is_final(
    gateway: Gateway,
) -> None:
    """The route reads the balance and allowance before the intake stores its step; another
    deposit stored (and even final) in between makes that read stale, so the intake refuses
    the step (`other_deposit_step` with the read's claim), while the brand's own steps and a
    read taken after it pass."""
    brand = gateway.create_brand()
    runtime = gateway.app.state.runtime
    scope, row_id = _scope_and_row(gateway, brand)
    with runtime.db.read() as session:
        stale = claim_funds_read(session.connection(), scope, ["read-before"])
    first = brand.api.post(
        "/v1/settlement/deposits", {"amount_units": 7_000}, params={"wait": "true"}
    )
    assert first.json()["status"] == "confirmed", first.text
    with runtime.db.read() as session:
        connection = session.connection()
        assert other_deposit_step(connection, row_id) is None  # nothing open any more
        busy = other_deposit_step(connection, row_id, claim=stale)
        assert busy is not None  # one of the first deposit's steps, stored after the read
        fresh = claim_funds_read(connection, scope, ["read-after"])
        assert other_deposit_step(connection, row_id, claim=fresh) is None
        steps = connection.scalars(
            select(Operation.uid).where(
                Operation.brand_id == row_id,
                Operation.kind.in_([kind.value for kind in DEPOSIT_STEPS]),
            )
        )
        own = DepositClaim(stale.read_after, frozenset(steps))  # the deposit's own steps
        assert other_deposit_step(connection, row_id, claim=own) is None


def _scope_and_row(gateway: Gateway, brand: Brand) -> tuple[str, int]:
    """The brand key's idempotency scope and the brand's row id, as the gateway stores them."""
    with gateway.app.state.runtime.db.read() as session:
        row_id = session.scalar(select(BrandRow.id).where(BrandRow.ledger_id == brand.brand_id))
    assert row_id is not None
    return Principal("", False, BrandRowId(row_id)).scope, int(row_id)
