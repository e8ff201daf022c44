"""API keys: random, shown once, stored as SHA-256 with a short visible prefix.

A key reads `lk_<prefix>_<secret>`. The prefix identifies the key in listings
and logs; only the hash of the whole key is stored. Brand keys act for one
brand; admin keys act for the alliance. `ApiKeys.authenticate` looks the key up
by its hash (one statement built once, run on a pooled connection without an ORM
session); any bad key (unknown, wrong secret, revoked, malformed) costs the same
look-up and gets the same answer.

On SQLite (every process on one host) an active key's caller is kept in memory
(`KeyCache`) while the revocation epoch stays the same: a file beside the database
(`<db>.keys-epoch`) to which every revocation appends a byte once committed, in any
process (the gateway, `ledger work`, the CLI). A request compares the file's stamp
(inode, change time, size; one `stat`) with the one read before its entry was looked
up, so a revocation is refused at once in every process; entries also expire after
`KEY_CACHE_TTL_S` (for a revoker that died between its commit and its append). The
look-up was a third of the HTTP process's event-loop samples under load (py-spy,
issue 15). PostgreSQL (gateways on several hosts) looks every key up.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from ledger_api.access.audit import AuditAction, note, record
from ledger_api.db import Database
from ledger_api.db.models import ApiKey, Brand
from ledger_api.db.types import utcnow
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import Forbidden, TooManyApiKeys, Unauthorized, UnknownApiKey

KEY_SCHEME = "lk"
BAD_KEY = "invalid or revoked API key"
KEY_CACHE_TTL_S = 30.0  # the longest a cached caller lives, epoch unchanged (seconds)
KEY_CACHE_ENTRIES = 4_096


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


#: the caller of a key change made in code with no caller named (the audit trail's actor)
INTERNAL = Principal(key_prefix="internal", is_admin=True)


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


Stamp = tuple[int, int, int]


class KeyCache:
    """Callers of active keys by key hash, valid while the revocation epoch is unchanged.

    The epoch is `path`'s inode, change time and size: `bump` appends a byte (after a
    revocation commits), `stamp` reads them (`None` when the file cannot be read: nothing is
    cached then; a file removed and made again is a new epoch)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, tuple[Principal, Stamp, float]] = {}
        # a read-only folder: stamp() answers None and every request looks its key up
        with contextlib.suppress(OSError):
            path.touch(mode=0o600, exist_ok=True)

    def stamp(self) -> Stamp | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return (found.st_ino, found.st_ctime_ns, found.st_size)

    def bump(self) -> None:
        """Ends every process's cached callers (append-only: the epoch never repeats)."""
        with open(self.path, "ab") as epoch:
            epoch.write(b".")

    def get(self, digest: str, stamp: Stamp | None) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None or stamp is None:
            return None
        principal, seen, expires = entry
        if seen != stamp or time.monotonic() > expires:
            self._entries.pop(digest, None)
            return None
        return principal

    def put(self, digest: str, principal: Principal, stamp: Stamp | None) -> None:
        """Keeps `principal`, found after `stamp` was read (so a revocation committed
        meanwhile has bumped past it)."""
        if stamp is None:
            return
        if len(self._entries) >= KEY_CACHE_ENTRIES:
            self._entries.pop(next(iter(self._entries)), None)  # the oldest
        self._entries[digest] = (principal, stamp, time.monotonic() + KEY_CACHE_TTL_S)


class ApiKeys:
    """Verifies keys against the database; on SQLite through `KeyCache` (see the module)."""

    def __init__(self, db: Database, *, admin_key: str | None) -> None:
        self._db = db
        self._admin_hash = hash_key(admin_key) if admin_key else None
        epoch = db.companion(".keys-epoch")
        self._cache = KeyCache(epoch) if epoch is not None else None

    def in_memory(self, plaintext: str | None) -> Principal | None:
        """The settings admin key without a database read; `Unauthorized` without a key."""
        if not plaintext:
            raise Unauthorized()
        if self._admin_hash is not None and hmac.compare_digest(
            hash_key(plaintext), self._admin_hash
        ):
            return Principal(key_prefix="settings", is_admin=True)
        return None

    def known(self, plaintext: str | None) -> Principal | None:
        """`in_memory`, or a stored key this process has found before and that no revocation
        has ended since (its cached caller): no database read either way."""
        found = self.in_memory(plaintext)
        if found is None and self._cache is not None:
            found = self._cache.get(hash_key(str(plaintext)), self._cache.stamp())
        return found

    def authenticate(self, plaintext: str | None) -> Principal:
        """The caller: the settings admin key, or an active key found by its hash.

        Raises `Unauthorized` (401 `unauthorized`) for a missing, unknown or revoked key."""
        known = self.known(plaintext)
        if known is not None:
            return known
        assert plaintext is not None
        digest = hash_key(plaintext)
        # read before the look-up: a revocation committed meanwhile has bumped past it
        stamp = self._cache.stamp() if self._cache is not None else None
        with self._db.read_engine.connect() as connection:
            row = connection.execute(_ACTIVE_KEY, {"digest": digest}).first()
        if row is None:
            raise Unauthorized(BAD_KEY)
        prefix, is_admin, brand_id, ledger_brand_id = row
        principal = Principal(
            key_prefix=prefix,
            is_admin=is_admin,
            brand_row_id=BrandRowId(brand_id) if brand_id is not None else None,
            ledger_brand_id=(
                LedgerBrandId(ledger_brand_id) if ledger_brand_id is not None else None
            ),
        )
        # a brand not yet on chain gets its ledger id later: looked up until then
        if self._cache is not None and (is_admin or ledger_brand_id is not None):
            self._cache.put(digest, principal, stamp)
        return principal

    def revoke_in(self, session: Session, keys: Iterable[ApiKey]) -> None:
        """Revokes `keys` in the caller's transaction; once it commits, every process's
        cached callers end (the epoch's bump). Every revocation goes through here."""
        now = utcnow()
        for key in keys:
            key.revoked_at = now
        cache = self._cache
        if cache is not None:
            event.listen(session, "after_commit", lambda _session: cache.bump(), once=True)

    def revoke(self, prefix: str, *, by: Principal | None = None) -> None:
        """Revokes the active key `prefix`, audited as `by`'s act (`api_key.revoked`; None:
        `INTERNAL`); `UnknownApiKey` (404) if there is none."""
        with self._db.write() as session:
            key = session.scalar(
                select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
            )
            if key is None:
                raise UnknownApiKey(f"no active API key with prefix {prefix}")
            self.revoke_in(session, [key])
            audited = note(
                by or INTERNAL,
                AuditAction.API_KEY_REVOKED,
                brand_id=key.brand_id,
                target=prefix,
                key_scope="admin" if key.is_admin else "brand",
            )
            record(session, audited)

    def create_admin(self, label: str = "", *, by: Principal | None = None) -> NewKey:
        """A new admin key, audited as `by`'s act (`admin_key.created`; None: `INTERNAL`)."""
        with self._db.write() as session:
            new = create_key(session, brand_row_id=None, is_admin=True, label=label)
            audited = note(
                by or INTERNAL, AuditAction.ADMIN_KEY_CREATED, target=new.prefix, label=label
            )
            record(session, audited)
            return new
