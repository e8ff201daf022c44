"""API keys: random, shown once, stored as SHA-256 with a short visible prefix.

A key reads `lk_<prefix>_<secret>`. The prefix identifies the key in listings
and logs; only the hash of the whole key is stored. Brand keys act for one
brand; admin keys act for the alliance. `ApiKeys.authenticate` caches verified
keys for a few seconds; revocation in this process clears the cache at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger_api.db import Database
from ledger_api.db.models import ApiKey, Brand
from ledger_api.db.types import utcnow
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import Forbidden, Unauthorized, UnknownApiKey

KEY_SCHEME = "lk"


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


def _prefix_of(plaintext: str) -> str | None:
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1]:
        return None
    return parts[1]


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


class ApiKeys:
    """Verifies keys against the database, with a short positive cache."""

    def __init__(self, db: Database, *, admin_key: str | None, cache_s: float) -> None:
        self._db = db
        self._admin_hash = hash_key(admin_key) if admin_key else None
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, plaintext: str | None) -> Principal | None:
        """The caller from memory (settings admin key, or a key verified moments ago)."""
        if not plaintext:
            raise Unauthorized()
        digest = hash_key(plaintext)
        if self._admin_hash is not None and hmac.compare_digest(digest, self._admin_hash):
            return Principal(key_prefix="settings", is_admin=True)
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return None

    def authenticate(self, plaintext: str | None) -> Principal:
        """The caller; reads the database unless the key was verified moments ago."""
        known = self.cached(plaintext)
        if known is not None:
            return known
        assert plaintext is not None
        digest = hash_key(plaintext)
        now = time.monotonic()
        principal = self._lookup(plaintext, digest)
        with self._lock:
            self._cache[digest] = (now + self._cache_s, principal)
        return principal

    def _lookup(self, plaintext: str, digest: str) -> Principal:
        prefix = _prefix_of(plaintext)
        if prefix is None:
            raise Unauthorized("malformed API key")
        with self._db.read() as session:
            row = session.execute(
                select(ApiKey, Brand.ledger_id)
                .outerjoin(Brand, Brand.id == ApiKey.brand_id)
                .where(ApiKey.prefix == prefix)
            ).first()
        if row is None:
            raise Unauthorized("unknown API key")
        key, ledger_brand_id = row
        if key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
            raise Unauthorized("unknown or revoked API key")
        return Principal(
            key_prefix=key.prefix,
            is_admin=key.is_admin,
            brand_row_id=BrandRowId(key.brand_id) if key.brand_id is not None else None,
            ledger_brand_id=(
                LedgerBrandId(ledger_brand_id) if ledger_brand_id is not None else None
            ),
        )

    def forget(self) -> None:
        """Drops the cache (after a revocation or a brand's onboarding)."""
        with self._lock:
            self._cache.clear()

    def revoke(self, prefix: str) -> None:
        with self._db.write() as session:
            key = session.scalar(
                select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
            )
            if key is None:
                raise UnknownApiKey(f"no active API key with prefix {prefix}")
            key.revoked_at = utcnow()
        self.forget()

    def rotate(
        self, brand_row_id: BrandRowId, *, keep_old: bool = False, label: str = ""
    ) -> NewKey:
        """A new key for the brand; the brand's other keys are revoked unless `keep_old`."""
        with self._db.write() as session:
            if not keep_old:
                session.execute(
                    update(ApiKey)
                    .where(ApiKey.brand_id == brand_row_id, ApiKey.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
            new = create_key(session, brand_row_id=brand_row_id, is_admin=False, label=label)
        self.forget()
        return new

    def create_admin(self, label: str = "") -> NewKey:
        with self._db.write() as session:
            return create_key(session, brand_row_id=None, is_admin=True, label=label)
