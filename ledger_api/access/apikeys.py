"""API keys: random, shown once, stored as SHA-256 with a short visible prefix.

A key reads `lk_<prefix>_<secret>`. The prefix identifies the key in listings
and logs; only the hash of the whole key is stored. Brand keys act for one
brand; admin keys act for the alliance. `ApiKeys.authenticate` looks the key up
by its hash on every request (one indexed read, no cache), so a revocation holds
in every process at once; any bad key (unknown, wrong secret, revoked, malformed)
costs the same look-up and gets the same answer. The look-up is one statement
built once and run on a pooled connection without an ORM session (the session
and the statement's construction were two thirds of its cost: issue 15).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ledger_api.db import Database
from ledger_api.db.models import ApiKey, Brand
from ledger_api.db.types import utcnow
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import Forbidden, TooManyApiKeys, Unauthorized, UnknownApiKey

KEY_SCHEME = "lk"
BAD_KEY = "invalid or revoked API key"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: `plaintext` is shown to its owner once and never stored."""

    plaintext: str
    prefix: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an admin, or a brand (its database row and its ledger id)."""

    key_prefix: str
    is_admin: bool
    brand_row_id: BrandRowId | None = None
    ledger_brand_id: LedgerBrandId | None = None

    @property
    def scope(self) -> str:
        """The idempotency scope: keys of the same brand share their Idempotency-Keys."""
        return "admin" if self.is_admin else f"brand:{self.brand_row_id}"

    def require_brand(self) -> BrandRowId:
        """The calling brand's row id; `Forbidden` for an admin key (the one brand-key rule)."""
        if self.is_admin or self.brand_row_id is None:
            raise Forbidden("this call needs a brand API key")
        return self.brand_row_id

    def require_admin(self) -> None:
        """`Forbidden` unless the admin API key calls (the one admin-key rule)."""
        if not self.is_admin:
            raise Forbidden("this call needs the admin API key")


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key() -> tuple[NewKey, str]:
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext, prefix), hash_key(plaintext)


def create_key(
    session: Session, *, brand_row_id: BrandRowId | None, is_admin: bool, label: str = ""
) -> NewKey:
    """Adds a key in the caller's transaction."""
    new, digest = generate_key()
    session.add(
        ApiKey(
            prefix=new.prefix,
            key_hash=digest,
            brand_id=brand_row_id,
            is_admin=is_admin,
            label=label,
        )
    )
    return new


def check_key_cap(session: Session, brand_row_id: BrandRowId, cap: int, adding: int = 1) -> None:
    """`TooManyApiKeys` if the brand would hold more than `cap` active keys."""
    active = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.brand_id == brand_row_id, ApiKey.revoked_at.is_(None))
    )
    if (active or 0) + adding > cap:
        raise TooManyApiKeys(max_active_keys=cap)


# The active key with a given SHA-256 (`digest`), with its brand's ledger id.
_ACTIVE_KEY = (
    select(ApiKey.prefix, ApiKey.is_admin, ApiKey.brand_id, Brand.ledger_id)
    .outerjoin(Brand, Brand.id == ApiKey.brand_id)
    .where(ApiKey.key_hash == bindparam("digest"), ApiKey.revoked_at.is_(None))
)


class ApiKeys:
    """Verifies keys against the database on every request (revocation is seen at once)."""

    def __init__(self, db: Database, *, admin_key: str | None) -> None:
        self._db = db
        self._admin_hash = hash_key(admin_key) if admin_key else None

    def in_memory(self, plaintext: str | None) -> Principal | None:
        """The settings admin key without a database read; `Unauthorized` without a key."""
        if not plaintext:
            raise Unauthorized()
        if self._admin_hash is not None and hmac.compare_digest(
            hash_key(plaintext), self._admin_hash
        ):
            return Principal(key_prefix="settings", is_admin=True)
        return None

    def authenticate(self, plaintext: str | None) -> Principal:
        """The caller: the settings admin key, or an active key found by its hash."""
        known = self.in_memory(plaintext)
        if known is not None:
            return known
        assert plaintext is not None
        with self._db.read_engine.connect() as connection:
            row = connection.execute(_ACTIVE_KEY, {"digest": hash_key(plaintext)}).first()
        if row is None:
            raise Unauthorized(BAD_KEY)
        prefix, is_admin, brand_id, ledger_brand_id = row
        return Principal(
            key_prefix=prefix,
            is_admin=is_admin,
            brand_row_id=BrandRowId(brand_id) if brand_id is not None else None,
            ledger_brand_id=(
                LedgerBrandId(ledger_brand_id) if ledger_brand_id is not None else None
            ),
        )

    def revoke(self, prefix: str) -> None:
        with self._db.write() as session:
            key = session.scalar(
                select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
            )
            if key is None:
                raise UnknownApiKey(f"no active API key with prefix {prefix}")
            key.revoked_at = utcnow()

    def create_admin(self, label: str = "") -> NewKey:
        with self._db.write() as session:
            return create_key(session, brand_row_id=None, is_admin=True, label=label)
