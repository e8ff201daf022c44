"""Bounded field types of the request models: ids, nonces, deadlines, signatures, amounts and
multipliers.

Each validator raises a `PydanticCustomError` whose type is a stable error code of
`ledger_api.errors` (`invalid_id`, `invalid_nonce`, `invalid_deadline`, `invalid_signature`,
`invalid_amount`, `invalid_multiplier`, `invalid_tier`);
each type's JSON schema states its exact bounds or pattern (issue 9: out-of-range input is
a 422, never a 500; the OpenAPI document says what is accepted).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

_HEX_SIG = re.compile(r"^0x[0-9a-fA-F]{130}$")

#: the pattern of a request's free text (a reference, a label, a name, a URI): no control
#: character, C0 or C1, and no DEL. A NUL cannot be stored in PostgreSQL's text, so a key label
#: holding one answered 500 (a review of 2026-12-06); the others are no part of an order id or
#: a name (a C1 CSI, U+009B, colours a terminal that prints the audit trail).
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"

#: the largest id or counter the database holds (SQLite INTEGER, PostgreSQL BIGINT: signed 64-bit);
#: the chain's uint256 brand and badge type ids and nonces never reach it in practice
MAX_DB_INT = 2**63 - 1

#: every bound of 2^53 or more that a type of this module states, by its float: FastAPI's
#: OpenAPI models hold `minimum` and `maximum` as floats, which round these (2^63-1 to 2^63,
#: 2^96-1 to 2^96); the document takes the exact bound back from here (`exact_bound`)
_LARGE_BOUNDS: dict[float, int] = {}


def _stated(bound: int) -> int:
    """`bound`, kept where `exact_bound` finds it again when a JSON schema states it."""
    if abs(bound) >= 2**53:
        known = _LARGE_BOUNDS.setdefault(float(bound), bound)
        if known != bound:  # two bounds one float apart: the document could not tell them
            raise ValueError(f"bounds {known} and {bound} round to the same float")
    return bound


def exact_bound(rounded: float) -> int:
    """The bound a field type stated, from the float FastAPI's OpenAPI models made of it."""
    return _LARGE_BOUNDS.get(rounded, int(rounded))


def _as_sent(value: Any) -> str:
    """What was sent instead of a number, when a reader could take it for one: a string of
    digits read as a number in a message (`{"debtor": "1"}`, a trial: "must be a whole number
    from 1")."""
    return f", a JSON number, not the string {value!r}" if isinstance(value, str) else ""


def _bounded(code: str, what: str, low: int) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_DB_INT:
            raise PydanticCustomError(
                code, f"{what} must be a whole number from {low} to 2^63-1{_as_sent(value)}"
            )
        return value

    return check


def _whole_between(
    code: str, low: int, high: int, what: str
) -> tuple[BeforeValidator, WithJsonSchema]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PydanticCustomError(
                code, f"{what} must be a whole number from {low:,} to {high:,}{_as_sent(value)}"
            )
        return value

    schema = {"type": "integer", "minimum": _stated(low), "maximum": _stated(high)}
    return BeforeValidator(check), WithJsonSchema(schema)


def amount_between(low: int, high: int, what: str) -> tuple[BeforeValidator, WithJsonSchema]:
    """An amount of points, value (micro-USD, cents) or tokens (badge units) from `low` to
    `high`, as its field's metadata (`Annotated[int, *amount_between(...)]`): anything else, a
    bool, a float or a string included, is `invalid_amount` (`schemas.Amount` is the 1 to 1e12
    points of the members' moves); the JSON schema states the bounds."""
    return _whole_between("invalid_amount", low, high, what)


def multiplier_between(low: int, high: int, what: str) -> tuple[BeforeValidator, WithJsonSchema]:
    """A multiplier in whole percent from `low` to `high`, as `amount_between` but
    `invalid_multiplier` (`schemas.Multiplier` is an earn's 1 to 1000)."""
    return _whole_between("invalid_multiplier", low, high, what)


def _path_id(value: Any) -> int:
    """A path id arrives as text: digits only, then the same bounds as a body id."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    return int(_bounded("invalid_id", "an id", 1)(value))


#: secp256k1's group order; a signature with s above half of it is the malleable twin of one
#: below (EIP-2; OpenZeppelin's ECDSA and the ledger refuse it)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _signature(value: Any) -> str:
    """65 bytes r || s || v as 0x-hex; v 0/1 (hardware wallets) becomes 27/28; a high s, a zero
    r or s, an r past the group order, or any other v is refused (`invalid_signature`), as the
    contract would refuse it on chain."""
    if not isinstance(value, str) or not _HEX_SIG.match(value):
        raise PydanticCustomError("invalid_signature", "a signature is 65 bytes as 0x-hex")
    raw = bytes.fromhex(value[2:])
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise PydanticCustomError("invalid_signature", "a signature's v must be 27 or 28 (or 0/1)")
    if not (0 < r < SECP256K1_N and s):  # no key signs these (an all-zero signature)
        raise PydanticCustomError(
            "invalid_signature", "a signature's r must be 1 to n - 1 and its s nonzero"
        )
    if s > SECP256K1_N // 2:
        raise PydanticCustomError(
            "invalid_signature", "a signature's s must be in the lower half of the curve order"
        )
    return "0x" + (raw[:64] + bytes([v])).hex()


Signature = Annotated[
    str,
    BeforeValidator(_signature),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _HEX_SIG.pattern,
            "description": "65 bytes r||s||v; v 27/28 (0/1 accepted), s in the lower half",
        }
    ),
]


def _int_schema(low: int, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "integer",
            "minimum": _stated(low),
            "maximum": _stated(MAX_DB_INT),
            "description": description,
        }
    )


#: a ledger id in a request body: a brand, a badge type (`invalid_id`)
LedgerId = Annotated[
    int, BeforeValidator(_bounded("invalid_id", "an id", 1)), _int_schema(1, "a ledger id")
]
BrandId = LedgerId
#: a ledger id in a URL path (`/v1/brands/{brand_id}/...`)
PathId = Annotated[int, BeforeValidator(_path_id), _int_schema(1, "a ledger id")]


def _text_id(pattern: str, what: str, example: str) -> Any:
    """A text id of the form the gateway hands out; hex digits in either case (returned in
    lower case, as stored). Anything else is `invalid_id` (422), not a look-up that finds
    nothing (404)."""
    form = re.compile(pattern)

    def check(value: Any) -> str:
        if not isinstance(value, str) or not form.fullmatch(value):
            raise PydanticCustomError("invalid_id", f"not {what}: one looks like {example}")
        return value.lower()

    schema = {"type": "string", "pattern": f"^{pattern}$", "description": what}
    return (BeforeValidator(check), WithJsonSchema({**schema, "examples": [example]}))


_HEX = "[0-9a-fA-F]"
#: an operation's id (`operation_id`): a UUID, 8-4-4-4-12 hex digits
OperationId = Annotated[
    str,
    *_text_id(
        f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}",
        "an operation id",
        "3f2b8e44-6f3c-4f5e-9a61-0c8a1e2b7d55",
    ),
]
#: a webhook endpoint's id: `we_` and 32 hex digits
WebhookId = Annotated[
    str, *_text_id(f"we_{_HEX}{{32}}", "a webhook endpoint id", "we_" + "0c8a1e2b" * 4)
]
#: a webhook delivery's id: `dlv_` and 32 hex digits
DeliveryId = Annotated[
    str, *_text_id(f"dlv_{_HEX}{{32}}", "a webhook delivery id", "dlv_" + "6f3c4f5e" * 4)
]
#: an API key's visible prefix (`lk_<prefix>_...`): 8 hex digits
KeyPrefix = Annotated[str, *_text_id(f"{_HEX}{{8}}", "an API key prefix", "9a610c8a")]

Nonce = Annotated[
    int, BeforeValidator(_bounded("invalid_nonce", "a nonce", 0)), _int_schema(0, "the nonce")
]
#: a request's true/false: JSON's own only (a lax bool took "yes", "on", 1 and "1": one flipped
#: the alliance's pause, a trial)
Flag = Annotated[bool, Strict()]
#: unix seconds; the usecases refuse one further ahead than `Settings.max_deadline_ahead_s`
Deadline = Annotated[
    int,
    BeforeValidator(_bounded("invalid_deadline", "a deadline", 0)),
    _int_schema(0, "unix seconds; at most LEDGER_MAX_DEADLINE_AHEAD_S (30 days) ahead"),
]


def _tier(value: Any) -> int:
    """A tier in a URL path: 1 (Silver), 2 (Gold) or 3 (Diamond)."""
    if isinstance(value, str) and value in ("1", "2", "3"):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3:
        return value
    raise PydanticCustomError(
        "invalid_tier", "the tier must be 1 (Silver), 2 (Gold) or 3 (Diamond)"
    )


TierPath = Annotated[
    int,
    BeforeValidator(_tier),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 3, "description": "the tier"}),
]


def _eligibility_ref(value: Any, info: ValidationInfo) -> int:
    """A poll's eligibility reference: under `min_tier` a tier, 1 to 3 (`invalid_tier`, as
    AlliancePolls' `PollsInvalidTier` would refuse it on chain); under `badge`, or when
    `eligibility` is itself refused, an achievement badge type id (`invalid_id`)."""
    if (info.data or {}).get("eligibility") != "min_tier":
        return int(_bounded("invalid_id", "a badge type id", 1)(value))
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise PydanticCustomError(
            "invalid_tier", "under min_tier the reference is a tier: 1 (Silver) to 3 (Diamond)"
        )
    return value


#: `eligibility_ref` of a poll; declared after `eligibility`, which it reads
EligibilityRef = Annotated[
    int,
    BeforeValidator(_eligibility_ref),
    _int_schema(1, "the lowest tier (1-3), or an achievement type id"),
]
