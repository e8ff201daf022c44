"""Polls and enterprise accounts, end to end on anvil: the contracts' events reach the index and
the gateway serves them (GET /v1/polls/{id}, GET /v1/enterprises/{address}).

The poll is opened by the alliance's admin and the votes and bindings are sent by the members'
own wallets (the gateway has no write routes for them yet): what is tested is the projection
and the reads.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from support.auctions import mine_past
from support.chain import ADMIN_KEY, Anvil, _send
from support.flows import confirmed, earn, signed_vote
from support.gateway import Brand, Gateway, Member
from web3 import Web3

from ledger_api.chain.typed_data import sign_typed_data
from ledger_client import eip712

CONTENT = "0x" + "ab" * 32
SILVER = (5_000, 2, 1)  # the Silver rule this test's own chain sets: cents, orders, engagements


def _contract(w3: Web3, manifest: Path, name: str) -> Any:
    entry = json.loads(manifest.read_text())["contracts"][name]
    return w3.eth.contract(address=entry["address"], abi=entry["abi"])


def _call(w3: Web3, account: LocalAccount, function: Any) -> dict[str, Any]:
    tx = function.build_transaction({"from": account.address, "gas": 2_000_000})
    tx.pop("gasPrice", None)
    tx.pop("nonce", None)
    return _send(w3, account, dict(tx))


def _funded(anvil: Anvil, member: Member) -> LocalAccount:
    anvil.rpc("anvil_setBalance", member.address, hex(10**18))
    return member.account


def _reach_silver(brand: Brand, member: Member) -> None:
    spend, orders, engagements = SILVER
    earn(brand, member, spend - 100 * (orders - 1))
    for _ in range(orders - 1):
        earn(brand, member, 100)
    for _ in range(engagements):
        answer = brand.api.post(
            "/v1/earn/engagement",
            {"member": member.address, "kind": "review"},
            params={"wait": "true"},
        )
        assert answer.status_code == 200, answer.text


def _read_until(brand: Brand, path: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = brand.api.get(path)
        if answer.status_code == 200 and done(answer.json()):
            body: dict[str, Any] = answer.json()
            return body
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)


def test_poll_tallies_reach_the_index_live_and_count_only_members_eligible_at_the_opening(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain  # the tier rule is the chain's, so this test has its own
    w3 = anvil.web3()
    polls = _contract(w3, manifest, "AlliancePolls")
    admin = Account.from_key(ADMIN_KEY)
    with Gateway(own_env) as gateway:
        spend, orders, engagements = SILVER
        rule = {"spend_cents": spend, "orders": orders, "engagements": engagements}
        answer = gateway.admin.put("/v1/admin/tiers/1", rule, params={"wait": "true"})
        assert answer.status_code == 200 and answer.json()["status"] == "confirmed", answer.text
        brand = gateway.create_brand()
        voter, late = Member(), Member()
        _reach_silver(brand, voter)
        assert brand.api.get(f"/v1/members/{voter.address}").json()["tier"]["tier"] == 1
        mine_past(w3, anvil, w3.eth.get_block("latest")["timestamp"])

        now = w3.eth.get_block("latest")["timestamp"]
        start, end = now + 1, now + 3_600
        opened = _call(w3, admin, polls.functions.openPoll(CONTENT, 2, start, end, 0, 1))
        poll_id = polls.events.PollOpened().process_receipt(opened)[0]["args"]["pollId"]
        _reach_silver(brand, late)  # a tier reached after the opening gives no vote
        mine_past(w3, anvil, start)

        assert polls.functions.canVote(poll_id, voter.address).call()
        assert not polls.functions.canVote(poll_id, late.address).call()
        _call(w3, _funded(anvil, voter), polls.functions.vote(poll_id, 1))

        view = _read_until(brand, f"/v1/polls/{poll_id}", lambda body: body["votes"] == 1)
        assert view["tallies"] == [0, 1]
        assert view["brand_id"] == 0 and view["opener"] == admin.address
        assert view["content_hash"] == CONTENT
        assert (view["eligibility"], view["eligibility_ref"]) == ("min_tier", "1")
        assert view["status"] == "open" and view["final"] is False

        anvil.rpc("evm_increaseTime", 3_600)
        anvil.rpc("evm_mine")
        closed = _read_until(brand, f"/v1/polls/{poll_id}", lambda body: body["final"])
        assert closed["status"] == "closed" and closed["tallies"] == [0, 1]
        late_vote = brand.api.post(
            f"/v1/polls/{poll_id}/votes/typed-data", {"voter": voter.address, "option": 0}
        )
        assert late_vote.status_code == 422, late_vote.text
        error = late_vote.json()["error"]
        # the details' time is the ISO 8601 UTC string the poll's own view shows
        assert error["code"] == "poll_not_open" and error["details"]["ends_at"].endswith("Z")
        assert datetime.fromisoformat(error["details"]["ends_at"]) == datetime.fromisoformat(
            closed["ends_at"]
        )


def test_unknown_poll_is_a_404_with_a_stable_code(gateway: Gateway, brand: Brand) -> None:
    answer = brand.api.get("/v1/polls/999999")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "poll_not_found"
    assert brand.api.get("/v1/polls/0").status_code == 422


def test_enterprise_bindings_and_leaving_reach_the_index(
    gateway: Gateway, brand: Brand, anvil: Anvil, manifest: Path
) -> None:
    w3 = anvil.web3()
    accounts = _contract(w3, manifest, "EnterpriseAccounts")
    enterprise, employee = Member(), Member()
    earn(brand, enterprise, 10_000)
    deadline = w3.eth.get_block("latest")["timestamp"] + 3_600
    consent = {
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
            "chainId": w3.eth.chain_id,
            "verifyingContract": accounts.address,
        },
        "message": {
            "enterprise": enterprise.address,
            "employee": employee.address,
            "nonce": 0,
            "deadline": deadline,
        },
    }
    signature = sign_typed_data(consent, employee.account.key)
    _call(
        w3,
        _funded(anvil, enterprise),
        accounts.functions.bind(employee.address, 0, deadline, signature),
    )
    view = _read_until(
        brand, f"/v1/enterprises/{enterprise.address}", lambda body: body["employee_count"] == 1
    )
    assert view["employees"] == [employee.address]
    assert view["enterprise_of"] is None
    as_employee = brand.api.get(f"/v1/enterprises/{employee.address}").json()
    assert as_employee["enterprise_of"] == enterprise.address

    _call(w3, _funded(anvil, employee), accounts.functions.leave())
    view = _read_until(
        brand, f"/v1/enterprises/{enterprise.address}", lambda body: body["employee_count"] == 0
    )
    assert view["employees"] == []
    assert brand.api.get("/v1/enterprises/not-an-address").status_code == 422


def test_brand_opens_a_badge_poll_and_relays_signed_votes_once_each(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain  # the poll opens a minute ahead: the clock moves, on its own chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        w3 = anvil.web3()
        type_id = confirmed(
            brand, "/v1/badges/types", {"kind": "achievement", "uri": "ipfs://eco"}
        )["result"]["type_id"]
        voter, late, racer = Member(), Member(), Member()
        for member in (voter, racer):
            confirmed(brand, "/v1/badges/issue", {"type_id": type_id, "member": member.address})
        mine_past(w3, anvil, w3.eth.get_block("latest")["timestamp"])

        start = w3.eth.get_block("latest")["timestamp"] + 60  # START_MARGIN_S ahead
        poll = {
            "content_hash": CONTENT,
            "option_count": 3,
            "starts_at": start - 50,
            "ends_at": start + 3_600,
            "eligibility": "badge",
            "eligibility_ref": type_id,
        }
        soon = brand.api.post("/v1/polls", poll)  # failed on chain after its 202 (a trial)
        assert soon.status_code == 422, soon.text
        assert soon.json()["error"]["code"] == "poll_invalid_window", soon.text
        opened = confirmed(
            brand,
            "/v1/polls",
            {
                "content_hash": CONTENT,
                "option_count": 3,
                "starts_at": start,
                "ends_at": start + 3_600,
                "eligibility": "badge",
                "eligibility_ref": type_id,
            },
        )
        poll_id = opened["result"]["poll_id"]
        confirmed(brand, "/v1/badges/issue", {"type_id": type_id, "member": late.address})
        mine_past(w3, anvil, start)

        vote = signed_vote(brand, poll_id, voter, 2)
        other_option = brand.api.post(
            f"/v1/polls/{poll_id}/votes/typed-data", {"voter": voter.address, "option": 1}
        ).json()
        document = other_option["typed_data"]
        eip712.check(document, voter=voter.address, poll_id=poll_id, option=1)
        assert document == eip712.vote(
            chain_id=int(document["domain"]["chainId"]),
            polls=document["domain"]["verifyingContract"],
            voter=voter.address,
            poll_id=poll_id,
            option=1,
            deadline=other_option["deadline"],
        )
        with pytest.raises(ValueError):
            eip712.check(document, option=2)
        first = confirmed(brand, f"/v1/polls/{poll_id}/votes", vote)
        assert first["result"] == {"poll_id": poll_id, "option": 2}

        # a second vote and a member the poll does not admit are refused before anything is queued
        # (a trial: both were accepted, then failed on chain), the document to sign too
        def refused(path: str, body: dict[str, Any], status: int, code: str) -> None:
            answer = brand.api.post(path, body, params={"wait": "true"})
            assert answer.status_code == status, answer.text
            assert answer.json()["error"]["code"] == code, answer.text

        votes, documents = f"/v1/polls/{poll_id}/votes", f"/v1/polls/{poll_id}/votes/typed-data"
        refused(votes, vote, 409, "poll_already_voted")
        refused(documents, {"voter": voter.address, "option": 0}, 409, "poll_already_voted")
        refused(documents, {"voter": late.address, "option": 0}, 422, "poll_not_eligible")
        # a signature made on another document of its own: the vote is the member's to decide
        late_signed = {
            "voter": late.address,
            "option": 1,
            "deadline": other_option["deadline"],
            "signature": late.sign(
                {
                    **other_option["typed_data"],
                    "message": {**other_option["typed_data"]["message"], "voter": late.address},
                }
            ),
        }
        refused(votes, late_signed, 422, "poll_not_eligible")

        view = _read_until(brand, f"/v1/polls/{poll_id}", lambda body: body["votes"] == 1)
        assert view["tallies"] == [0, 0, 1] and view["brand_id"] == brand.brand_id
        assert (view["eligibility"], view["eligibility_ref"]) == ("badge", str(type_id))

        wrong = brand.api.post(
            f"/v1/polls/{poll_id}/votes/typed-data", {"voter": voter.address, "option": 3}
        )
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "poll_invalid_option"
        # one member's votes relayed at once: one is taken (a trial: all four were, three failed
        # on chain)
        ballots = [signed_vote(brand, poll_id, racer, n % 3) for n in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda body: brand.api.post(votes, body), ballots))
        codes = sorted(a.status_code for a in answers)
        assert codes == [202] + [409] * 7, [a.text for a in answers]
        taken = next(a.json()["operation_id"] for a in answers if a.status_code == 202)
        for refused_vote in (a for a in answers if a.status_code == 409):
            error = refused_vote.json()["error"]
            assert error["code"] == "poll_already_voted", error
            assert error["details"]["operation_id"] == taken, error
        forged = {**late_signed, "voter": voter.address}  # late's signature, as voter's vote
        refused(votes, forged, 422, "invalid_signature")
        missing = brand.api.post("/v1/polls/999999/votes", vote)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "poll_not_found"


def test_enterprise_binds_with_the_employees_consent_and_the_employee_leaves_through_the_gateway(
    gateway: Gateway, brand: Brand
) -> None:
    enterprise, employee, stranger = Member(), Member(), Member()
    answer = brand.api.post(
        "/v1/enterprises/bindings/typed-data",
        {"enterprise": enterprise.address, "employee": employee.address},
    )
    assert answer.status_code == 200, answer.text
    prepared = answer.json()
    assert prepared["employee_typed_data"]["primaryType"] == "JoinEnterprise"
    # the member-side safeguard knows every document the gateway hands out (a trial: `check`
    # raised "not an alliance document" for a Vote)
    eip712.check(prepared["employee_typed_data"], employee=employee.address)
    eip712.check(prepared["enterprise_typed_data"], enterprise=enterprise.address)
    body = {
        "enterprise": enterprise.address,
        "employee": employee.address,
        "deadline": prepared["deadline"],
        "enterprise_nonce": prepared["enterprise_nonce"],
        "enterprise_signature": enterprise.sign(prepared["enterprise_typed_data"]),
        "employee_nonce": prepared["employee_nonce"],
        "employee_signature": employee.sign(prepared["employee_typed_data"]),
    }
    no_consent = {**body, "employee_signature": stranger.sign(prepared["employee_typed_data"])}
    refused = brand.api.post("/v1/enterprises/bindings", no_consent)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_signature"

    bound = confirmed(brand, "/v1/enterprises/bindings", body)
    assert bound["result"] == {"enterprise": enterprise.address, "employee": employee.address}
    replayed = brand.api.post("/v1/enterprises/bindings", body)
    assert replayed.status_code == 409
    assert replayed.json()["error"]["code"] == "signature_replayed"
    view = _read_until(
        brand, f"/v1/enterprises/{enterprise.address}", lambda b: b["employee_count"] == 1
    )
    assert view["employees"] == [employee.address]

    prepared = brand.api.post(
        "/v1/enterprises/leaves/typed-data", {"employee": employee.address}
    ).json()
    left = confirmed(
        brand,
        "/v1/enterprises/leaves",
        {
            "employee": employee.address,
            "nonce": prepared["nonce"],
            "deadline": prepared["deadline"],
            "signature": employee.sign(prepared["typed_data"]),
        },
    )
    assert left["result"]["enterprise"] == enterprise.address
    _read_until(brand, f"/v1/enterprises/{enterprise.address}", lambda b: b["employee_count"] == 0)


def test_an_enterprise_named_as_its_own_employee_is_refused_before_anything_is_signed(
    gateway: Gateway, brand: Brand
) -> None:
    """A trial: an enterprise bound as its own employee got typed data with one nonce for
    both signatures; the binding's 202 then failed on chain as `signature_replayed`. The
    contract's own refusal, `enterprise_invalid_account`, now comes at once from both routes."""
    enterprise = Member()
    pair = {"enterprise": enterprise.address, "employee": enterprise.address.lower()}
    typed = brand.api.post("/v1/enterprises/bindings/typed-data", pair)
    assert typed.status_code == 422, typed.text
    assert typed.json()["error"]["code"] == "enterprise_invalid_account", typed.text
    signature = "0x" + "11" * 32 + "22" * 32 + "1b"
    bound = brand.api.post(
        "/v1/enterprises/bindings",
        {
            **pair,
            "deadline": int(time.time()) + 600,
            "enterprise_nonce": 0,
            "enterprise_signature": signature,
            "employee_nonce": 0,
            "employee_signature": signature,
        },
    )
    assert bound.status_code == 422, bound.text
    assert bound.json()["error"]["code"] == "enterprise_invalid_account", bound.text
