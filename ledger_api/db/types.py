"""Column types the models share."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, DateTime, Dialect, Integer, String
from sqlalchemy.types import TypeDecorator

#: 64-bit integer primary keys that stay SQLite rowid aliases (autoincrement).
PkInteger = BigInteger().with_variant(Integer(), "sqlite")


class BigNum(TypeDecorator[int]):
    """An arbitrary-size integer (wei, micro-USD sums) stored as its decimal string."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | None:
        return None if value is None else str(int(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class Uint64(TypeDecorator[int]):
    """A uint64 of the chain (an operation id a brand may choose up to 2**64 - 1, calling the
    ledger itself) in a signed 64-bit column: values from 2**63 up are stored as their two's
    complement, so every backend's BIGINT holds them and equality (lookups, joins, uniqueness)
    is kept; order is kept below 2**63, where the gateway's own dense ids live."""

    impl = BigInteger()
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        value = int(value)
        if not 0 <= value < 2**64:
            raise ValueError(f"{value} is not a uint64")
        return value - 2**64 if value >= 2**63 else value

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value) % 2**64


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_text(value: Any) -> str:
    """A JSON column's text (the engines' `json_serializer`): orjson's encoder, about ten times
    the standard library's, which showed in the bulk path's profile (an operation's payload
    and result, two outbox events per earn; issue 15). orjson encodes integers of 64 bits at
    most: a value holding a larger one (uint256 amounts) is the standard library's, exact.
    Reading stays the standard library's: orjson reads such an integer back as a float."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)
