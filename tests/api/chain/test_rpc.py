"""The chain adapter's JSON-RPC transport (`chain.web3_adapter`, plain JSON-RPC on urllib3):
answers against anvil, and what it makes of a node that fails or misbehaves (a stand-in
HTTP server): an outage is `ChainUnavailable`, a refused broadcast `BroadcastRejected` with
its reason, a batch's answers in call order whatever order the node sends them in, a gas
estimate from one run of the transaction where the node can and from `eth_estimateGas`
where it cannot."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from eth_account import Account
from support.chain import Anvil, free_port

from ledger_api.chain.abi import ErrorRegistry
from ledger_api.chain.port import BroadcastRejected, RejectReason
from ledger_api.chain.web3_adapter import Web3Chain
from ledger_api.errors import ChainRejected, ChainUnavailable

Answer = Callable[[Any], tuple[int, bytes]]


def _chain(url: str) -> Web3Chain:
    return Web3Chain(url, ErrorRegistry([]), timeout_s=5)


@pytest.fixture
def node() -> Iterator[Callable[[Answer], str]]:
    """A stand-in node on a free port: `node(answer)` serves `answer(request body)` as
    (HTTP status, body) and gives its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, body = answer(request)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/rpc"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_reads_against_anvil(anvil: Anvil) -> None:
    chain = _chain(anvil.url)
    assert chain.chain_id == 31337
    head = chain.block_number()
    block = chain.block(head)
    assert block is not None and block.number == head
    assert chain.block(head + 1_000_000) is None
    assert chain.balance("0x" + "00" * 19 + "01") >= 0
    unknown = "0x" + "ab" * 32
    assert chain.receipts([unknown, unknown]) == {unknown: None}
    assert not chain.transaction_known(unknown)


def test_a_broadcast_is_sent_once_and_a_stale_nonce_refused(anvil: Anvil) -> None:
    chain = _chain(anvil.url)
    account = Account.create()
    anvil.rpc("anvil_setBalance", account.address, hex(10**18))
    tx = {
        "to": account.address,
        "value": 0,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0,
        "nonce": 0,
        "chainId": 31337,
    }
    signed = account.sign_transaction(tx)
    chain.send_raw(bytes(signed.raw_transaction))
    tx_hash = signed.hash.to_0x_hex()
    # waits for the receipt itself: anvil moves the account's nonce at "latest" a moment
    # before it serves the block's receipts (under load the test read None in between)
    deadline = time.monotonic() + 60
    while (receipt := chain.receipts([tx_hash])[tx_hash]) is None:
        assert time.monotonic() < deadline, "the transaction was not mined within 60 s"
        time.sleep(0.05)
    assert receipt.status == 1 and chain.nonce(account.address) == 1
    again = account.sign_transaction({**tx, "value": 1})  # nonce 0 is used now
    with pytest.raises(BroadcastRejected) as refused:
        chain.send_raw(bytes(again.raw_transaction))
    assert refused.value.reason is RejectReason.NONCE_TOO_LOW


def test_a_node_that_does_not_answer_is_unavailable() -> None:
    with pytest.raises(ChainUnavailable):
        _chain(f"http://127.0.0.1:{free_port()}").block_number()


@pytest.mark.parametrize(
    "status, body",
    [(500, b'{"error": "down"}'), (502, b"bad gateway"), (200, b"<html>not json</html>")],
)
def test_an_error_status_or_an_answer_that_is_not_json_is_unavailable(
    node: Callable[[Answer], str], status: int, body: bytes
) -> None:
    chain = _chain(node(lambda _: (status, body)))
    with pytest.raises(ChainUnavailable):
        chain.block_number()
    with pytest.raises(ChainUnavailable):
        chain.block_timestamps([1, 2])


def test_a_json_rpc_error_is_unavailable(node: Callable[[Answer], str]) -> None:
    def answer(request: Any) -> tuple[int, bytes]:
        error = {"code": -32000, "message": "header not found"}
        return 200, json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": error}).encode()

    with pytest.raises(ChainUnavailable, match="header not found"):
        _chain(node(answer)).block_number()


def test_a_batch_answers_in_call_order_when_the_node_reorders(
    node: Callable[[Answer], str],
) -> None:
    def answer(batch: Any) -> tuple[int, bytes]:
        blocks = [
            {"jsonrpc": "2.0", "id": call["id"], "result": {"timestamp": call["params"][0]}}
            for call in batch
        ]
        return 200, json.dumps(blocks[::-1]).encode()  # JSON-RPC does not promise the order

    timestamps = _chain(node(answer)).block_timestamps([7, 3, 5])
    assert timestamps == {3: 3, 5: 5, 7: 7}


def _mined(chain: Web3Chain, account: Any, tx: dict[str, Any]) -> Any:
    """Signs and sends `tx` from `account`; its receipt once mined."""
    signed = account.sign_transaction(tx)
    chain.send_raw(bytes(signed.raw_transaction))
    deadline = time.monotonic() + 60
    while (receipt := chain.receipts([signed.hash.to_0x_hex()])[signed.hash.to_0x_hex()]) is None:
        assert time.monotonic() < deadline, "the transaction was not mined within 60 s"
        time.sleep(0.05)
    return receipt


def test_an_estimate_is_one_run_whose_limit_covers_the_refund(
    anvil: Anvil, node: Callable[[Answer], str]
) -> None:
    """A call that clears a storage word gets a refund (EIP-3529), so the gas its run used is
    less than the gas it spends before the refund: a limit of the run's `gasUsed` runs out,
    the estimate's limit does not, and it took one call to the node where `eth_estimateGas`
    runs the transaction again and again."""
    methods: list[str] = []

    def forward(request: Any) -> tuple[int, bytes]:
        methods.extend(
            call["method"] for call in (request if isinstance(request, list) else [request])
        )
        answer = httpx.post(anvil.url, json=request, timeout=30)
        return answer.status_code, answer.content

    chain = _chain(node(forward))
    account = Account.create()
    anvil.rpc("anvil_setBalance", account.address, hex(10**18))
    target = Account.create().address  # code of its own, set below
    anvil.rpc("anvil_setCode", target, "0x600060005500")  # SSTORE(0, 0); STOP
    anvil.rpc("anvil_setStorageAt", target, "0x0", "0x" + "00" * 31 + "01")

    needed = chain.estimate_gas(account.address, target, b"")
    assert methods == ["eth_createAccessList"]
    searched = int(anvil.rpc("eth_estimateGas", {"from": account.address, "to": target}), 16)
    assert searched <= needed < searched * 3 // 2
    run = anvil.rpc("eth_createAccessList", {"from": account.address, "to": target}, "latest")

    tx = {"to": target, "value": 0, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0}
    tx.update(chainId=31337, data=b"")
    short = _mined(chain, account, {**tx, "nonce": 0, "gas": int(run["gasUsed"], 16)})
    assert short.status == 0  # out of gas before the refund came back
    covered = _mined(chain, account, {**tx, "nonce": 1, "gas": needed})
    assert covered.status == 1 and covered.gas_used < needed


def _estimating_node(
    node: Callable[[Answer], str], access_list: dict[str, Any], estimate: dict[str, Any]
) -> tuple[Web3Chain, list[str]]:
    """A chain adapter on a stand-in node that answers `eth_createAccessList` with the body
    `access_list` and `eth_estimateGas` with `estimate` (`{"result": ...}` or `{"error":
    ...}`), and the methods it was asked, in order."""
    methods: list[str] = []

    def answer(request: Any) -> tuple[int, bytes]:
        methods.append(request["method"])
        body = access_list if request["method"] == "eth_createAccessList" else estimate
        return 200, json.dumps({"jsonrpc": "2.0", "id": request["id"], **body}).encode()

    return _chain(node(answer)), methods


def test_a_node_without_access_lists_is_asked_eth_estimate_gas(
    node: Callable[[Answer], str],
) -> None:
    unknown = {"code": -32601, "message": "the method eth_createAccessList does not exist"}
    chain, methods = _estimating_node(node, {"error": unknown}, {"result": "0x5208"})
    sender, to = "0x" + "01" * 20, "0x" + "02" * 20
    assert chain.estimate_gas(sender, to, b"") == 21_000
    assert chain.estimate_gas(sender, to, b"") == 21_000
    assert methods == ["eth_createAccessList", "eth_estimateGas", "eth_estimateGas"]


def test_a_failed_run_without_its_revert_data_asks_eth_estimate_gas_for_the_error(
    node: Callable[[Answer], str],
) -> None:
    """geth reports a run that reverted inside `eth_createAccessList`'s answer, without the
    revert's data: the domain error comes from `eth_estimateGas`."""
    run = {"accessList": [], "gasUsed": "0x5300", "error": "execution reverted"}
    reverted = {"code": 3, "message": "execution reverted"}
    chain, methods = _estimating_node(node, {"result": run}, {"error": reverted})
    for _ in range(2):
        with pytest.raises(ChainRejected):
            chain.estimate_gas("0x" + "01" * 20, "0x" + "02" * 20, b"")
    assert methods == ["eth_createAccessList", "eth_estimateGas"] * 2


def test_another_error_of_access_lists_asks_eth_estimate_gas_this_once(
    node: Callable[[Answer], str],
) -> None:
    """A rate limit, or geth refusing the run because the signer's balance does not cover its
    gas cap (go-ethereum#25319), is no reason to stop asking for access lists."""
    funds = {"code": -32000, "message": "insufficient funds for gas * price + value"}
    chain, methods = _estimating_node(node, {"error": funds}, {"result": "0x5208"})
    sender, to = "0x" + "01" * 20, "0x" + "02" * 20
    assert chain.estimate_gas(sender, to, b"") == 21_000
    assert chain.estimate_gas(sender, to, b"") == 21_000
    assert methods == ["eth_createAccessList", "eth_estimateGas"] * 2
