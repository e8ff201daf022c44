"""Examples for the OpenAPI document, built from the JSON schemas themselves.

`example_of(schema, components)` returns a value that the schema accepts: an explicit
`default`, `examples`, `const` or `enum` first; else a realistic value for the known string
patterns (addresses, 32-byte hex, signatures, names) and the schema's bounds. Every route
(whoever adds it) gets examples this way; `tests/api/api/test_openapi_spec.py` validates each
example against its schema.
"""

from __future__ import annotations

import re
from typing import Any

#: realistic strings, tried in order: the first one that the pattern and the lengths accept wins
_CANDIDATES = (
    "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4",  # an address
    "0x" + "9c" * 32,  # bytes32 (order and claim references, hashes)
    "0x" + "1f" * 32 + "3a" * 32 + "1b",  # a 65-byte signature, v = 27, s in the lower half
    "order-10042",
    "Acme Outdoor",
    "ACME",
    "https://brand.example/hooks/ledger",
    "points.earned",
    "example",
    "1",
    "a",
)
_ADDRESS = _CANDIDATES[0]
#: realistic strings for well-known field names (used when the schema accepts them)
_STRINGS = {
    **dict.fromkeys(
        ("member", "to", "holder", "address", "signer", "counterparty", "verifyingContract"),
        _ADDRESS,
    ),
    "referrer": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",  # another member than `member`
    "key": "import-2026-12-01-0001",  # a bulk item's own idempotency key
    "operation_id": "3f2b8e44-6f3c-4f5e-9a61-0c8a1e2b7d55",  # a UUID, as every operation's
    "kind": "earn",
    "order_ref": "order-10042",
    "claim_ref": "claim-77",
    "ref": "review-88121",
    "name": "Acme Outdoor",
    "symbol": "ACME",
    "tx_hash": "0x" + "9c" * 32,
    "url": "https://brand.example/hooks/ledger",
    "uri": "https://brand.example/badges/1.json",
    "label": "back-office",
    "prefix": "lk_070184d5",
    "api_key": "lk_070184d5_sbCF71e_LA5rmRdnOjlO8qybqblBKgV5oY8ecKpmvJI",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "code": "invalid_address",
    "message": "member: not a valid address",
    "id": "wh_01jd8z3k6q4v9m2n",
}
_FORMATS = {
    "date-time": "2026-12-01T09:30:00Z",
    "date": "2026-12-01",
    "uri": "https://brand.example/hooks/ledger",
    "email": "ops@brand.example",
    "uuid": "3f2b8e44-6f3c-4f5e-9a61-0c8a1e2b7d55",
}
#: friendlier numbers for well-known field names (used when the bounds allow them)
_NUMBERS = {
    "amount_cents": 2599,
    "amount": 250,
    "points": 260,
    "multiplier_pct": 100,
    "value_micro_usd": 10_000,
    "points_per_usd": 10,
    "brand": 1,
    "brand_id": 1,
    "at_brand": 2,
    "nonce": 0,
    "deadline": 1_796_083_200,
    "chain_id": 31337,
}
_MAX_DEPTH = 12


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        resolved: dict[str, Any] = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        schema = {**resolved, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _string(schema: dict[str, Any], name: str | None) -> str:
    if schema.get("format") in _FORMATS and "pattern" not in schema:
        return _FORMATS[str(schema["format"])]
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10**9)
    pattern = schema.get("pattern")
    hinted = [_STRINGS[name]] if name in _STRINGS else []
    if pattern is None and not hinted:
        hinted = ["example"]
    for candidate in (*hinted, *_CANDIDATES):
        if not low <= len(candidate) <= high:
            continue
        if pattern is None or re.search(pattern, candidate):
            return candidate
    return "x" * max(int(low), 1)


def _number(schema: dict[str, Any], name: str | None) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
    high = schema.get("maximum", schema.get("exclusiveMaximum", 2**63) - 1)
    wanted = _NUMBERS.get(name or "", 1)
    value = wanted if low <= wanted <= high else max(low, min(high, 1))
    return float(value) if schema.get("type") == "number" else int(value)


def _object(schema: dict[str, Any], components: dict[str, Any], depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    if properties:
        return {
            key: example_of(value, components, depth + 1, key) for key, value in properties.items()
        }
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        return {"1": example_of(extra, components, depth + 1)}
    return {}


def _declared(schema: dict[str, Any]) -> tuple[bool, Any]:
    """The value the schema itself gives (const, default, examples, enum), if any."""
    for key in ("const", "default"):
        if key in schema and not (key == "default" and schema[key] is None):
            return True, schema[key]
    if schema.get("examples"):
        return True, schema["examples"][0]
    if schema.get("enum"):
        return True, schema["enum"][0]
    return False, None


def _combined(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    """The one schema to follow for anyOf / oneOf (the first non-null branch) or allOf."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if _resolve(b, components).get("type") != "null"]
            chosen: dict[str, Any] = (branches or schema[key])[0]
            return chosen
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, components))
        return merged
    return None


def example_of(
    schema: dict[str, Any], components: dict[str, Any], depth: int = 0, name: str | None = None
) -> Any:
    """A value `schema` accepts (`components`: the document's `components.schemas`)."""
    schema = _resolve(schema, components)
    found, value = _declared(schema)
    if found:
        return value
    combined = _combined(schema, components)
    if combined is not None:
        return example_of(combined, components, depth, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if depth > _MAX_DEPTH or kind == "null":
        return None
    if kind == "object" or "properties" in schema:
        return _object(schema, components, depth)
    if kind == "array":
        item = example_of(schema.get("items", {}), components, depth + 1, name)
        return [item] * max(1, schema.get("minItems", 1))
    return _scalar(kind, schema, name)


def _scalar(kind: Any, schema: dict[str, Any], name: str | None) -> Any:
    if kind == "string":
        return _string(schema, name)
    if kind in ("integer", "number"):
        return _number(schema, name)
    if kind == "boolean":
        return False
    return None
