"""`ledger_client` against a real gateway (issue 13, item 5): a round trip through typed
methods, member-side EIP-712 that matches the gateway's documents, error answers as
`LedgerApiError`, and a lost answer retried with the same Idempotency-Key applies once."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from support.chain import Anvil
from support.flows import earn
from support.gateway import Brand, Gateway, Member
from support.proxy import Proxy

from ledger_client import LedgerApiError, LedgerClient, eip712


def test_round_trip_earn_gift_redeem_and_reads(gateway: Gateway) -> None:
    admin = gateway.client(gateway.env["LEDGER_ADMIN_API_KEY"])
    created = admin.create_brand("Client Round Trip", "CRT", wait=True)
    assert created["brand"]["status"] == "active" and created["api_key"]
    brand_id = created["brand"]["brand_id"]
    # purchases live at once, so the member can give them away in this test (issue 11)
    window = admin.set_return_window(brand_id, 0, wait=True)
    assert window["status"] == "confirmed", window
    shop = gateway.client(created["api_key"])
    alice, bob = Account.create(), Account.create()

    accepted = shop.earn_purchase(alice.address, 2599, "order-1")
    assert accepted["status"] in ("queued", "submitted", "confirmed"), accepted
    final = shop.wait(accepted["operation_id"])
    assert final["status"] == "confirmed" and final["indexed"], final
    earned = final["result"]["points"]
    assert earned > 100, final

    # the member's side: build the gift document without the gateway, as a wallet app would
    prepared = shop.gift_typed_data(alice.address, bob.address, 100)
    document = eip712.gift(
        chain_id=int(prepared["typed_data"]["domain"]["chainId"]),
        ledger=prepared["typed_data"]["domain"]["verifyingContract"],
        member=alice.address,
        to=bob.address,
        brand=brand_id,
        amount=100,
        nonce=prepared["nonce"],
        deadline=prepared["deadline"],
    )
    assert document == prepared["typed_data"]
    eip712.check(prepared["typed_data"], member=alice.address, to=bob.address, amount=100)
    with pytest.raises(ValueError, match="amount"):
        eip712.check(prepared["typed_data"], amount=1000)
    signature = eip712.sign(document, alice.key)
    assert eip712.verify(document, signature, alice.address)
    assert not eip712.verify(document, signature, bob.address)
    gifted = shop.gift(
        alice.address,
        bob.address,
        100,
        nonce=prepared["nonce"],
        deadline=prepared["deadline"],
        signature=signature,
        wait=True,
    )
    assert gifted["status"] == "confirmed", gifted
    shop.wait(gifted["operation_id"])

    redeem = shop.redemption_typed_data(bob.address, brand_id, 40, "order-2")
    eip712.check(redeem["typed_data"], member=bob.address, brand=brand_id, amount=40)
    redeemed = shop.redeem(
        bob.address,
        brand_id,
        40,
        "order-2",
        nonce=redeem["nonce"],
        deadline=redeem["deadline"],
        signature=eip712.sign(redeem["typed_data"], bob.key),
        wait=True,
    )
    shop.wait(redeemed["operation_id"])

    bob_view = shop.member(bob.address)
    spendable = {s["brand_id"]: s["points"] for s in bob_view["spendable"]}
    assert spendable[brand_id] == 60
    kinds = [line["kind"] for line in shop.history(bob.address)["entries"]]
    assert "received" in kinds and "redeemed" in kinds, kinds
    liability = shop.liability(brand_id)
    assert liability["issued"] == earned and liability["redeemed"] == 40
    assert liability["outstanding"] == earned - 40
    listed = [b for b in admin.brands() if b["brand_id"] == brand_id]
    assert listed == [admin.brand(brand_id)]
    with pytest.raises(LedgerApiError) as unknown:
        admin.brand(brand_id + 1000)
    assert unknown.value.status == 404 and unknown.value.code == "unknown_brand"


def test_error_answers_raise_with_the_stable_code(gateway: Gateway, brand: Brand) -> None:
    shop = gateway.client(brand.api_key)
    with pytest.raises(LedgerApiError) as bad:
        shop.earn_purchase("0x1234", 100, "o")
    assert bad.value.status == 422 and bad.value.code == "invalid_address"
    with pytest.raises(LedgerApiError) as unknown:
        gateway.client("lk_00000000_nobody").member(Member().address)
    assert unknown.value.status == 401 and unknown.value.code == "unauthorized"
    key = "same-key-" + brand.api_key[-8:]
    shop.earn_engagement(Member().address, "share", idempotency_key=key)
    with pytest.raises(LedgerApiError) as conflict:
        shop.earn_engagement(Member().address, "review", idempotency_key=key)
    assert conflict.value.status == 409 and conflict.value.code == "idempotency_conflict"


def test_a_webhooks_deliveries_a_page_at_a_time(gateway: Gateway, brand: Brand) -> None:
    """`deliveries` passes `status`, `before` and `limit`; a page's `next_cursor` leads to the
    next, older one, and the last has none."""
    shop = gateway.client(brand.api_key)
    endpoint = shop.create_webhook("http://127.0.0.1:9/nobody-listens")
    sent = [shop.test_webhook(endpoint["id"])["id"] for _ in range(2)]
    first = shop.deliveries(endpoint["id"], limit=1)
    assert [d["id"] for d in first["deliveries"]] == [sent[1]] and first["next_cursor"]
    last = shop.deliveries(endpoint["id"], before=first["next_cursor"], limit=1)
    assert [d["id"] for d in last["deliveries"]] == [sent[0]] and last["next_cursor"] is None
    assert shop.deliveries(endpoint["id"], status="delivered")["deliveries"] == []
    with pytest.raises(LedgerApiError) as bad:
        shop.deliveries(endpoint["id"], status="lost")
    assert bad.value.status == 422 and bad.value.code == "invalid_request"


def test_bulk_earns_polls_enterprises_and_dashboard_figures(gateway: Gateway, brand: Brand) -> None:
    shop = gateway.client(brand.api_key)
    admin = gateway.client(gateway.env["LEDGER_ADMIN_API_KEY"])
    alice, bob = Account.create().address, Account.create().address
    items = [
        {
            "type": "purchase",
            "key": "c-1",
            "member": alice,
            "amount_cents": 1_000,
            "order_ref": "client-bulk-1",
        },
        {"type": "engagement", "key": "c-2", "member": bob, "kind": "review"},
    ]
    first = shop.earn_batch(items)
    assert [i["result"] for i in first["items"]] == ["accepted", "accepted"], first
    again = shop.earn_batch(items)  # each item key is idempotent on its own
    assert [i["result"] for i in again["items"]] == ["duplicate", "duplicate"], again
    (same_order,) = shop.earn_batch([{**items[0], "key": "c-3"}])["items"]  # its order again
    assert same_order["result"] == "refused", same_order
    assert same_order["error"]["code"] == "duplicate_order"
    assert same_order["error"]["details"] == {"operation_id": first["items"][0]["operation_id"]}
    for item in first["items"]:
        assert shop.wait(item["operation_id"])["status"] == "confirmed"
    assert [b["balance"] for b in shop.member(alice)["balances"]] == [100]

    latest = gateway.runtime.chain().block()
    assert latest is not None
    now = latest.timestamp
    opened = shop.open_poll("0x" + "ab" * 32, 3, now + 60, now + 86_400, wait=True)
    assert opened["status"] == "confirmed", opened
    poll = shop.poll(opened["result"]["poll_id"])
    assert (poll["option_count"], poll["eligibility"], poll["votes"]) == (3, "min_tier", 0)
    with pytest.raises(LedgerApiError) as refused:  # alice holds no tier: not admitted
        shop.vote_typed_data(poll["poll_id"], alice, 2)
    assert (refused.value.status, refused.value.code) == (422, "poll_not_eligible")

    enterprise = Account.create().address
    documents = shop.binding_typed_data(enterprise, alice)
    assert documents["employee_typed_data"]["message"]["employee"] == alice
    assert shop.enterprise(enterprise)["employees"] == []

    flows = admin.stats_flows()
    assert "positions" in flows
    assert admin.stats_overview() and admin.stats_series(days=7)
    assert admin.stats_gateway()["signers"]


class _LosingProxy:
    """Forwards HTTP to the gateway, but drops the gateway's answer on the first `lose`
    connections (the request arrives and is applied; the caller sees the connection close)."""

    def __init__(self, target_port: int, lose: int) -> None:
        self.target_port, self.lose, self.lost = target_port, lose, 0
        self._server = socket.create_server(("127.0.0.1", 0))  # a port of its own
        self.port = int(self._server.getsockname()[1])
        self._server.settimeout(0.2)
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            drop = self.lost < self.lose
            self.lost += drop
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, drop), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, drop: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if drop:  # the answer came: lose it and hang up on the caller
                    break
                sink.sendall(chunk)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed.set()
        self._server.close()


@pytest.fixture
def losing_proxy(gateway: Gateway) -> Iterator[_LosingProxy]:
    proxy = _LosingProxy(gateway.port, lose=2)
    yield proxy
    proxy.close()


def test_a_lost_answer_is_retried_with_the_same_key_and_applies_once(
    gateway: Gateway, brand: Brand, losing_proxy: _LosingProxy
) -> None:
    member = Member()
    with LedgerClient(
        f"http://127.0.0.1:{losing_proxy.port}", brand.api_key, retries=5, backoff_s=0.05
    ) as shop:
        answer = shop.earn_purchase(member.address, 1000, "order-lost", wait=True)
        assert losing_proxy.lost == 2  # two answers lost, the third attempt got through
        assert shop.last_response is not None
        assert shop.last_response.headers.get("Idempotent-Replayed") == "true"
        final = shop.wait(answer["operation_id"])
    assert final["status"] == "confirmed"
    direct = gateway.client(brand.api_key)
    view = direct.member(member.address)
    assert [s["points"] for s in view["spendable"] if s["brand_id"] == brand.brand_id] == [100]
    history = direct.history(member.address)["entries"]
    assert [line["kind"] for line in history] == ["earned"], history


def test_a_rate_limited_call_out_of_attempts_raises_its_refusal(env: dict[str, str]) -> None:
    """A 429 with no attempt left raised the client's own internal exception (`_Retry`)
    instead of `LedgerApiError`."""
    limited = {**env, "LEDGER_RATE_LIMIT_PER_S": "0.01", "LEDGER_RATE_LIMIT_BURST": "1"}
    with Gateway(limited) as gateway:
        member = Member().address
        with LedgerClient(gateway.base_url, env["LEDGER_ADMIN_API_KEY"], retries=1) as admin:
            admin.member(member)
            with pytest.raises(LedgerApiError) as refused:
                admin.member(member)
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")


def test_a_503_that_passes_is_retried_after_its_retry_after(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A 503 the gateway expects to pass (here the node away: `chain_unavailable`) was raised
    at once; the client now waits its `Retry-After` and asks again (a mutation with the same
    Idempotency-Key), as it does on 429. One an operator must mend is raised at once."""
    anvil, _ = own_chain
    proxy = Proxy(anvil.port)
    try:
        with Gateway({**own_env, "LEDGER_RPC_URL": proxy.url}) as gateway:
            brand = gateway.create_brand()
            holder = Member()
            earn(brand, holder, 100)  # a document is for points the member holds
            member, to = holder.address, Member().address
            proxy.down()
            answers: list[int] = []

            def node_back_after_a_refusal(response: httpx.Response) -> None:
                answers.append(response.status_code)
                if response.status_code == 503:
                    proxy.up()

            http = httpx.Client(
                base_url=gateway.base_url,
                timeout=60,
                headers={"Authorization": f"Bearer {brand.api_key}"},
                event_hooks={"response": [node_back_after_a_refusal]},
            )
            with LedgerClient(gateway.base_url, brand.api_key, retries=3, http=http) as shop:
                prepared = shop.gift_typed_data(member, to, 1)
            assert answers == [503, 200], answers
            assert prepared["nonce"] == 0, prepared
    finally:
        proxy.close()
