"""The `Chain` port over the node's JSON-RPC (HTTP), spoken directly on a urllib3 pool.

This is the boundary where transport and node errors become domain errors:
connection failures, time-outs and HTTP error statuses (urllib3 errors) -> `ChainUnavailable`;
a revert (the custom error's data in the JSON-RPC error) -> the `LedgerError`
the custom error stands for; a refused broadcast -> `BroadcastRejected`.
Every call is a plain JSON-RPC request (what web3.py's `HTTPProvider` sends, without
its formatters, which cost more than the node's work for a 200-operation batch). Neither
web3 nor `requests` is imported: each gateway process is about 20 MB smaller for it
(issue 15's `gateway_rss_mb`). One instance per thread, with one kept-open connection.
The module keeps its name from the web3.py provider it used before.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import urllib3
from eth_utils.address import to_checksum_address

from ledger_api.chain.abi import ErrorRegistry, Log, checksum
from ledger_api.chain.errors import domain_error
from ledger_api.chain.port import Block, BlockTag, BroadcastRejected, Receipt, RejectReason, TxRef
from ledger_api.errors import ChainUnavailable

log = logging.getLogger(__name__)

# an answer that is not JSON (orjson.JSONDecodeError is a ValueError) counts as an outage
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError, ValueError)
_HEADERS = {"Content-Type": "application/json"}
_ACCEPTED = ("already known", "already imported", "known transaction")
#: what an access list entry saves at most (EIP-2930 against EIP-2929): a storage key costs
#: 1,900 up front where a cold SSTORE's surcharge is 2,100, an address 2,400 against 2,600
_ACCESS_LIST_SAVING = 200


class _RpcError(ChainUnavailable):
    """The node answered with a JSON-RPC error (retried like an outage)."""


def _tag(tag: BlockTag) -> str:
    return tag if isinstance(tag, str) else hex(tag)


def _block(raw: Any) -> Block | None:
    if raw is None:
        return None
    return Block(
        number=_int(raw["number"]),
        hash=str(raw["hash"]),
        timestamp=_int(raw["timestamp"]),
        base_fee_wei=_int(raw.get("baseFeePerGas") or 0),
    )


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(str(value), 16)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return bytes.fromhex(str(value).removeprefix("0x"))


def classify_rejection(message: str) -> RejectReason | None:
    """The reason a node refused a transaction; None when it already had it."""
    text = message.lower()
    if any(marker in text for marker in _ACCEPTED):
        return None
    if "nonce too low" in text or "nonce has already been used" in text:
        return RejectReason.NONCE_TOO_LOW
    if "underpriced" in text or "base fee" in text or "fee cap" in text or "tip" in text:
        return RejectReason.UNDERPRICED
    if "insufficient funds" in text:
        return RejectReason.INSUFFICIENT_FUNDS
    return RejectReason.INVALID


_UNKNOWN_METHOD = ("-32601", "not found", "not supported", "unsupported", "does not exist")


def _unknown_method(message: str) -> bool:
    """Whether a JSON-RPC error says the node does not offer the method."""
    text = message.lower()
    return any(marker in text for marker in _UNKNOWN_METHOD)


def gas_needed(run: Any) -> int | None:
    """A gas limit that covers a transaction, from the answer to `eth_createAccessList` for it
    (`gasUsed` by one run with the access list applied; None when the run failed or the answer
    lacks it). Sent without the list, each entry costs up to `_ACCESS_LIST_SAVING` more; the
    limit must also cover what the run's refunds gave back (EIP-3529: at most a fifth of the
    gas used, so the gas spent before them is at most 5/4 of it) and what a call keeps back
    from its callee (EIP-150: 1/64 at each level; the whole run's gas taken twice over 63/64
    covers the three or four levels of the ledger's deepest calls, whose callees use part of
    it; the sender's margin comes on top)."""
    if not isinstance(run, Mapping) or run.get("error") or run.get("gasUsed") is None:
        return None
    try:
        saved = sum(
            1 + len(entry.get("storageKeys") or []) for entry in run.get("accessList") or []
        )
        used = _int(run["gasUsed"]) + _ACCESS_LIST_SAVING * saved
    except (AttributeError, TypeError, ValueError):  # not the method's answer: ask the other
        return None
    return -(-used * 5 * 64 * 64 // (4 * 63 * 63))  # rounded up


def parse_log(raw: Mapping[str, Any]) -> Log:
    timestamp = raw.get("blockTimestamp")
    return Log(
        address=checksum(raw["address"]),
        topics=tuple(_bytes(t) for t in raw["topics"]),
        data=_bytes(raw["data"]),
        block_number=_int(raw["blockNumber"]),
        block_hash=str(raw["blockHash"]),
        tx_hash=str(raw["transactionHash"]),
        log_index=_int(raw["logIndex"]),
        timestamp=None if timestamp is None else _int(timestamp),
    )


class Web3Chain:
    """`Chain` over JSON-RPC (HTTP)."""

    def __init__(self, rpc_url: str, errors: ErrorRegistry, *, timeout_s: float = 10.0) -> None:
        # no retries (the sender and the indexer retry on their own terms), no redirects
        self._pool = urllib3.connection_from_url(
            rpc_url, maxsize=1, timeout=urllib3.Timeout(timeout_s), retries=False
        )
        self._path = urllib3.util.parse_url(rpc_url).request_uri
        self._ids = itertools.count(1)
        self._errors = errors
        self._chain_id: int | None = None
        self._access_lists = True  # the node answers `eth_createAccessList` (until it does not)

    # ---------------------------------------------------------------- transport

    def _post(self, payload: Any) -> Any:
        """One HTTP POST of a JSON-RPC request (or batch); the decoded answer. Transport
        errors, an HTTP error status or an answer that is not JSON raise (`_TRANSPORT_ERRORS`)."""
        response = self._pool.urlopen(
            "POST", self._path, body=orjson.dumps(payload), headers=_HEADERS
        )
        if response.status >= 300:
            raise urllib3.exceptions.HTTPError(f"HTTP status {response.status}")
        return orjson.loads(response.data)

    def _call(self, method: str, params: Sequence[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "method": method, "params": list(params), "id": next(self._ids)}

    def _send(self, method: str, params: Sequence[Any]) -> Mapping[str, Any]:
        """The node's JSON-RPC answer (`result` or `error`) to one call."""
        try:
            answer = self._post(self._call(method, params))
        except _TRANSPORT_ERRORS as exc:
            raise ChainUnavailable(f"{method}: {exc.__class__.__name__}") from exc
        if not isinstance(answer, Mapping):
            raise _RpcError(f"{method}: unexpected answer {str(answer)[:200]}")
        return answer

    def _request(self, method: str, params: Sequence[Any]) -> Any:
        return self._result(method, self._send(method, params))

    def _batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        if not calls:
            return []
        try:
            responses = self._post([self._call(method, params) for method, params in calls])
        except _TRANSPORT_ERRORS as exc:
            raise ChainUnavailable(f"batch: {exc.__class__.__name__}") from exc
        if not isinstance(responses, list):
            refused = responses.get("error") if isinstance(responses, Mapping) else responses
            raise ChainUnavailable(f"batch refused: {refused}")
        if all(isinstance(r, Mapping) and r.get("id") is not None for r in responses):
            responses.sort(key=lambda r: r["id"])  # JSON-RPC does not promise the order
        return [self._result(calls[0][0], r) for r in responses]

    @staticmethod
    def _result(method: str, response: Mapping[str, Any]) -> Any:
        error = response.get("error")
        if error is not None:
            raise _RpcError(f"{method}: {error}")
        return response.get("result")

    # --------------------------------------------------------------------- reads

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _int(self._request("eth_chainId", []))
        return self._chain_id

    def block(self, tag: BlockTag = "latest") -> Block | None:
        return _block(self._request("eth_getBlockByNumber", [_tag(tag), False]))

    def blocks(self, tags: Sequence[BlockTag]) -> list[Block | None]:
        raws = self._batch([("eth_getBlockByNumber", [_tag(tag), False]) for tag in tags])
        return [_block(raw) for raw in raws]

    def block_number(self) -> int:
        return _int(self._request("eth_blockNumber", []))

    def nonce(self, address: str, tag: BlockTag = "latest") -> int:
        return _int(self._request("eth_getTransactionCount", [address, _tag(tag)]))

    def balance(self, address: str) -> int:
        return _int(self._request("eth_getBalance", [address, "latest"]))

    def code_size(self, address: str) -> int:
        return len(self.code(address))

    def code(self, address: str) -> bytes:
        return _bytes(self._request("eth_getCode", [address, "latest"]))

    def priority_fee(self) -> int:
        try:
            return _int(self._request("eth_maxPriorityFeePerGas", []))
        except _RpcError:  # nodes without the method
            return 10**9

    def _simulate(self, method: str, tx: dict[str, Any], *extra: Any) -> Any:
        """`eth_call`, `eth_estimateGas` or `eth_createAccessList` over raw JSON-RPC; a revert
        becomes its domain error."""
        response = self._send(method, [tx, *extra])
        error = response.get("error")
        if error is None:
            return response.get("result")
        data = error.get("data") if isinstance(error, Mapping) else None
        if isinstance(data, Mapping):
            data = data.get("data")
        message = str(error.get("message", "")) if isinstance(error, Mapping) else str(error)
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            raise domain_error(self._errors.decode(_bytes(data)))
        if "revert" in message.lower():
            raise domain_error(None)
        raise _RpcError(f"{method}: {message}")

    def call(
        self, to: str, data: bytes, *, sender: str | None = None, tag: BlockTag = "latest"
    ) -> bytes:
        tx: dict[str, Any] = {"to": to, "data": "0x" + data.hex()}
        if sender is not None:
            tx["from"] = sender
        return _bytes(self._simulate("eth_call", tx, _tag(tag)))

    def estimate_gas(self, sender: str, to: str, data: bytes, value: int = 0) -> int:
        """The gas the transaction needs, in gas units, from one execution where the node
        offers EIP-2930's `eth_createAccessList` (anvil, geth, reth, Nethermind, Erigon):
        `eth_estimateGas` searches for the limit by running the transaction again and again
        (on anvil, 50-70 ms for a 200-earn batch against 6-8 ms for one run, and the node's
        CPU; geth runs it until the list is stable, twice or so). A node that does not know the
        method (JSON-RPC -32601, "not found", "not supported") gets `eth_estimateGas` from
        then on; another error, or an answer that reports a failed run without its revert
        data (geth's `error` field), gets `eth_estimateGas` for this call (its revert is the
        domain error)."""
        tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "value": hex(value)}
        if self._access_lists:
            try:
                run = self._simulate("eth_createAccessList", tx, "latest")
            except _RpcError as exc:
                if _unknown_method(str(exc)):
                    log.info("the node does not create access lists (%s): eth_estimateGas", exc)
                    self._access_lists = False
                # else (a rate limit, geth checking the balance against its gas cap): this once
            else:
                needed = gas_needed(run)
                if needed is not None:
                    return needed
        return _int(self._simulate("eth_estimateGas", tx))

    # ------------------------------------------------------------------- writes

    def send_raw(self, raw: bytes) -> None:
        error: Any = self._send("eth_sendRawTransaction", ["0x" + raw.hex()]).get("error")
        if error is None:
            return
        message = error.get("message", "") if isinstance(error, Mapping) else error
        message = str(message) or str(error)
        reason = classify_rejection(message)
        if reason is not None:
            raise BroadcastRejected(reason, message)

    # ----------------------------------------------------------------- lookups

    def receipts(self, tx_hashes: Sequence[str]) -> dict[str, Receipt | None]:
        results = self._batch([("eth_getTransactionReceipt", [h]) for h in tx_hashes])
        found: dict[str, Receipt | None] = {}
        for tx_hash, raw in zip(tx_hashes, results, strict=True):
            if raw is None or raw.get("blockNumber") is None:
                found[tx_hash] = None
                continue
            found[tx_hash] = Receipt(
                tx_hash=tx_hash,
                status=_int(raw["status"]),
                block_number=_int(raw["blockNumber"]),
                block_hash=str(raw["blockHash"]),
                gas_used=_int(raw["gasUsed"]),
                logs=tuple(parse_log(item) for item in raw["logs"]),
            )
        return found

    def transaction_known(self, tx_hash: str) -> bool:
        return self._request("eth_getTransactionByHash", [tx_hash]) is not None

    def block_transactions(self, number: int) -> list[TxRef]:
        raw = self._request("eth_getBlockByNumber", [hex(number), True])
        if raw is None:
            return []
        return [
            TxRef(str(tx["hash"]), to_checksum_address(tx["from"]), _int(tx["nonce"]))
            for tx in raw["transactions"]
        ]

    def logs(self, addresses: Sequence[str], from_block: int, to_block: int) -> list[Log]:
        raw = self._request(
            "eth_getLogs",
            [{"address": list(addresses), "fromBlock": hex(from_block), "toBlock": hex(to_block)}],
        )
        return [parse_log(item) for item in raw]

    def block_timestamps(self, numbers: Sequence[int]) -> dict[int, int]:
        unique = sorted(set(numbers))
        blocks = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in unique])
        return {n: _int(b["timestamp"]) for n, b in zip(unique, blocks, strict=True) if b}
