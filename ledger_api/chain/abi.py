"""ABI plumbing without web3 objects: calldata encoding, custom errors and event logs.

Everything is derived from the ABIs in the deployment manifest, so a contract
change that keeps names keeps working; selectors and topics are computed, never
hard-coded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, InsufficientDataBytes
from eth_abi.grammar import ABIType, BasicType, TupleType
from eth_abi.grammar import parse as parse_type
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

Abi = Sequence[Mapping[str, Any]]

_WORD_TYPE = re.compile(r"^(?:u?int\d*|address|bool|bytes(?:[1-9]|[12]\d|3[0-2]))$")


@lru_cache(maxsize=1 << 16)
def checksum(address: str) -> str:
    """EIP-55 form of a 0x address (cached: members and brands recur)."""
    return str(to_checksum_address(address.lower()))


def _decode_word(kind: str, word: bytes) -> Any:
    """One static ABI word, as eth_abi would decode it, without its per-call overhead."""
    if kind == "address":
        return checksum("0x" + word[12:].hex())
    if kind == "bool":
        return word[-1] != 0
    if kind.startswith("uint"):
        return int.from_bytes(word, "big")
    if kind.startswith("int"):
        return int.from_bytes(word, "big", signed=True)
    return bytes(word[: int(kind[5:])])


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples expanded: `(uint64,address)[]`."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(component) for component in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(entry: Mapping[str, Any]) -> str:
    return f"{entry['name']}({','.join(abi_type(p) for p in entry['inputs'])})"


@dataclass(frozen=True, slots=True)
class FunctionCodec:
    """Encodes calls to one function and decodes its return values."""

    name: str
    selector: bytes
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]

    @classmethod
    def from_abi(cls, entry: Mapping[str, Any]) -> FunctionCodec:
        return cls(
            name=str(entry["name"]),
            selector=keccak(text=signature(entry))[:4],
            input_types=tuple(abi_type(p) for p in entry["inputs"]),
            output_types=tuple(abi_type(p) for p in entry.get("outputs", [])),
        )

    def encode(self, *args: Any) -> bytes:
        return self.selector + abi_encode(self.input_types, args)

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """The return values, every address in EIP-55 form (eth_abi decodes addresses in lower
        case; the gateway answers and compares the checksum form everywhere)."""
        return checksummed(self.output_types, tuple(abi_decode(self.output_types, data)))


def checksummed(kinds: Sequence[str], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """eth_abi's decoded `values` of ABI types `kinds` with every address in them in EIP-55
    form (eth_abi decodes addresses in lower case)."""
    if not any("address" in kind for kind in kinds):
        return values
    return tuple(
        _with_checksums(parse_type(kind), value) for kind, value in zip(kinds, values, strict=False)
    )


def _with_checksums(kind: ABIType, value: Any) -> Any:
    """A decoded value of ABI type `kind` with each address in it in EIP-55 form."""
    if kind.is_array:
        return tuple(_with_checksums(kind.item_type, item) for item in value)
    if isinstance(kind, TupleType):
        return tuple(
            _with_checksums(part, item) for part, item in zip(kind.components, value, strict=True)
        )
    if isinstance(kind, BasicType) and kind.base == "address":
        return checksum(value)
    return value


class ContractCodec:
    """The functions of one contract, by name."""

    def __init__(self, abi: Abi) -> None:
        self._functions: dict[str, FunctionCodec] = {}
        for entry in abi:
            if entry.get("type") == "function":
                codec = FunctionCodec.from_abi(entry)
                # overloaded names keep the first; the gateway calls none of them
                self._functions.setdefault(codec.name, codec)

    def __getitem__(self, name: str) -> FunctionCodec:
        return self._functions[name]

    def has(self, name: str) -> bool:
        return name in self._functions


# ------------------------------------------------------------------------------ errors


@dataclass(frozen=True, slots=True)
class DecodedError:
    name: str
    args: dict[str, Any]
    selector: bytes


@dataclass(frozen=True, slots=True)
class _ErrorSpec:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]


_BUILTIN_ERRORS = {
    keccak(text="Error(string)")[:4]: _ErrorSpec("Error", ("reason",), ("string",)),
    keccak(text="Panic(uint256)")[:4]: _ErrorSpec("Panic", ("code",), ("uint256",)),
}


class ErrorRegistry:
    """Custom errors of every deployed contract, by selector."""

    def __init__(self, abis: Iterable[Abi]) -> None:
        self._specs: dict[bytes, _ErrorSpec] = dict(_BUILTIN_ERRORS)
        for abi in abis:
            for entry in abi:
                if entry.get("type") == "error":
                    spec = _ErrorSpec(
                        str(entry["name"]),
                        tuple(
                            str(p.get("name") or f"arg{i}") for i, p in enumerate(entry["inputs"])
                        ),
                        tuple(abi_type(p) for p in entry["inputs"]),
                    )
                    self._specs[keccak(text=signature(entry))[:4]] = spec

    def name_of(self, selector: bytes) -> str | None:
        spec = self._specs.get(bytes(selector))
        return spec.name if spec else None

    def decode(self, data: bytes) -> DecodedError | None:
        """Decodes revert data; None when it is empty or unknown."""
        if len(data) < 4:
            return None
        selector = bytes(data[:4])
        spec = self._specs.get(selector)
        if spec is None:
            return None
        try:
            values = checksummed(spec.types, tuple(abi_decode(spec.types, data[4:])))
        except (DecodingError, InsufficientDataBytes):  # malformed: keep the name only
            values = ()
        args = {name: _jsonable(value) for name, value in zip(spec.names, values, strict=False)}
        return DecodedError(spec.name, args, selector)


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class Log:
    """A log as the node returns it, with bytes instead of hex."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A decoded event."""

    contract: str
    name: str
    args: dict[str, Any]
    log: Log


@dataclass(frozen=True, slots=True)
class _EventSpec:
    contract: str
    name: str
    indexed: tuple[tuple[str, str], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    static_data: bool  # every data field is one ABI word: decoded by slicing


class EventRegistry:
    """Events of the deployed contracts, decoded by address and topic."""

    def __init__(self, contracts: Mapping[str, tuple[str, Abi]]) -> None:
        # key: (checksum address, topic0)
        self._specs: dict[tuple[str, bytes], _EventSpec] = {}
        self.topics: dict[str, bytes] = {}
        for contract, (address, abi) in contracts.items():
            for entry in abi:
                if entry.get("type") != "event" or entry.get("anonymous"):
                    continue
                topic = keccak(text=signature(entry))
                inputs = entry["inputs"]
                spec = _EventSpec(
                    contract=contract,
                    name=str(entry["name"]),
                    indexed=tuple((str(p["name"]), abi_type(p)) for p in inputs if p["indexed"]),
                    data_names=tuple(str(p["name"]) for p in inputs if not p["indexed"]),
                    data_types=tuple(abi_type(p) for p in inputs if not p["indexed"]),
                    static_data=all(
                        _WORD_TYPE.match(abi_type(p)) for p in inputs if not p["indexed"]
                    ),
                )
                self._specs[(to_checksum_address(address), topic)] = spec
                self.topics[f"{contract}.{spec.name}"] = topic

    def topic(self, contract: str, name: str) -> bytes:
        return self.topics[f"{contract}.{name}"]

    def decode(self, log: Log) -> Event | None:
        if not log.topics:
            return None
        spec = self._specs.get((checksum(log.address), log.topics[0]))
        if spec is None:
            return None
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(spec.indexed, log.topics[1:], strict=True):
            args[name] = _decode_word(kind, topic) if _WORD_TYPE.match(kind) else topic
        if spec.static_data:
            data = log.data
            for i, (name, kind) in enumerate(zip(spec.data_names, spec.data_types, strict=True)):
                args[name] = _decode_word(kind, data[32 * i : 32 * i + 32])
        elif spec.data_types:
            for name, value in zip(
                spec.data_names, abi_decode(spec.data_types, log.data), strict=True
            ):
                args[name] = value
        return Event(spec.contract, spec.name, args, log)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
