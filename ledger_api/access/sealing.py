"""Secrets sealed at rest with the keystore passphrase, and order references bound per brand.

- Brand signing keys are keystores (PBKDF2 + AES-128-CTR, `chain.signing`). A keystore that
  earlier versions sealed with the published development passphrase (`keystore_sealing` NULL)
  is re-encrypted with the data folder's passphrase at start (`reseal_keystores`).
- Each brand has a reference secret (32 random bytes), sealed the same way in
  `brands.ref_secret`, generated with the brand (or at start for brands from before) and
  never shown. An order reference goes on chain as HMAC-SHA256(secret, reference), so it
  cannot be reversed by hashing guesses; the same reference at the same brand always gives
  the same value, at two brands two values.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading

from eth_account import Account
from sqlalchemy import select, update

from ledger_api.db import Database
from ledger_api.db.files import GENERATED, PASSPHRASE_FILE
from ledger_api.db.models import Brand, Signer
from ledger_api.domain.ids import BrandRowId
from ledger_api.errors import KeyPassphraseMismatch, UnknownBrand
from ledger_api.settings import DEV_KEY_PASSPHRASE, Settings

log = logging.getLogger(__name__)

#: `signers.keystore_sealing` of a keystore sealed with the current passphrase
SEALED = "passphrase"
#: how many sealed keys `check_passphrase` tries before it refuses the passphrase
PASSPHRASE_WITNESSES = 8


BRAND_SECRET_REFUSED = (
    "this brand's sealed keys do not open with the gateway's keystore passphrase; "
    "the alliance's operator must restore it"
)


def seal(secret: bytes, passphrase: str, iterations: int) -> str:
    """`secret` (32 bytes) as keystore JSON, like a signing key."""
    return json.dumps(Account.encrypt(secret, passphrase, kdf="pbkdf2", iterations=iterations))


def unseal(sealed: str, passphrase: str) -> bytes:
    """The secret of `seal`; `ValueError` for a wrong passphrase."""
    return bytes(Account.decrypt(json.loads(sealed), passphrase))


def new_ref_secret(settings: Settings) -> str:
    """A brand's reference secret, sealed (random: a fresh key pair's private key)."""
    return seal(
        bytes(Account.create().key), settings.passphrase(), settings.keystore_kdf_iterations
    )


def bind_reference(secret: bytes, reference: str) -> str:
    """The on-chain form of an order (or claim, or engagement) reference: 0x + 64 hex."""
    return "0x" + hmac.new(secret, reference.encode(), hashlib.sha256).hexdigest()


def reseal_keystores(db: Database, settings: Settings) -> int:
    """Re-encrypts keystores sealed with the published development passphrase; marks the
    others. Raises `KeyPassphraseMismatch` if a keystore opens with neither (a lost
    passphrase file)."""
    passphrase = settings.passphrase()
    with db.read() as session:
        rows = session.execute(
            select(Signer.id, Signer.address, Signer.keystore).where(
                Signer.keystore.is_not(None), Signer.keystore_sealing.is_(None)
            )
        ).all()
    resealed = 0
    for row_id, address, keystore in rows:
        assert keystore is not None
        try:
            unseal(keystore, passphrase)
            new = keystore
        except ValueError:
            try:
                key = unseal(keystore, DEV_KEY_PASSPHRASE)
            except ValueError:
                raise KeyPassphraseMismatch(
                    f"the keystore of signer {address} opens with neither the keystore "
                    "passphrase nor the old built-in one; restore the data folder's "
                    "keystore-passphrase file or set LEDGER_KEY_PASSPHRASE"
                ) from None
            new = seal(key, passphrase, settings.keystore_kdf_iterations)
            resealed += 1
        with db.write() as session:
            session.execute(
                update(Signer)
                .where(Signer.id == row_id, Signer.keystore_sealing.is_(None))
                .values(keystore=new, keystore_sealing=SEALED)
            )
    if resealed:
        log.warning(
            "re-encrypted %d signing keys sealed with the old built-in passphrase", resealed
        )
    return resealed


def check_passphrase(db: Database, settings: Settings) -> None:
    """Whether this process's keystore passphrase is the database's: it must open one of the
    first `PASSPHRASE_WITNESSES` sealed keys, the earliest brands' reference secrets first
    (one key derivation when it does, a bounded number when it does not: trying every key of
    a thousand brands took about 100 s before the refusal).

    Raises `KeyPassphraseMismatch` when it opens none, so that a process under another
    passphrase (`LEDGER_KEY_PASSPHRASE` set in one shell and not in another) refuses to
    start rather than seal new keys no other process can open, or send for no brand (a new
    user's trial: `ledger brand add` under another passphrase exited 0). A database whose
    brands disagree starts: each brand whose keys do not open is refused on its own
    (`BrandRefs.secret`, the sender's `unsealable` signers)."""
    passphrase = settings.passphrase()
    with db.read() as session:
        sealed = [
            *session.scalars(
                select(Brand.ref_secret)
                .where(Brand.ref_secret.is_not(None))
                .order_by(Brand.id)
                .limit(PASSPHRASE_WITNESSES)
            ),
            *session.scalars(
                select(Signer.keystore)
                .where(Signer.keystore.is_not(None), Signer.keystore_sealing == SEALED)
                .order_by(Signer.id)
                .limit(PASSPHRASE_WITNESSES)
            ),
        ][:PASSPHRASE_WITNESSES]
    for value in sealed:
        try:
            unseal(value, passphrase)
        except ValueError:
            continue
        return
    generated = settings.data_folder / PASSPHRASE_FILE
    if sealed and settings.key_passphrase is None and generated in GENERATED:
        generated.unlink(missing_ok=True)  # sealed nothing: the lost one is to be restored
        GENERATED.discard(generated)
        raise KeyPassphraseMismatch(
            f"the data folder's {PASSPHRASE_FILE} file was missing (a new one was generated, "
            "and removed again): restore it from a backup of the data folder, or set "
            "LEDGER_KEY_PASSPHRASE; the database's sealed keys open with no other"
        )
    if sealed:
        raise KeyPassphraseMismatch(
            f"the keystore passphrase opens none of the database's first {len(sealed)} sealed "
            "keys; run with the passphrase they were sealed with (LEDGER_KEY_PASSPHRASE, else the "
            "data folder's keystore-passphrase file)"
        )
    if generated in GENERATED:  # kept: said now, not before a refusal removes it again
        GENERATED.discard(generated)
        log.warning("generated the keystore passphrase %s (keep it with the data)", generated)


def backfill_ref_secrets(db: Database, settings: Settings) -> None:
    """A reference secret for each brand created before they existed (first writer wins)."""
    with db.read() as session:
        missing = session.scalars(select(Brand.id).where(Brand.ref_secret.is_(None))).all()
    for brand_id in missing:
        sealed = new_ref_secret(settings)
        with db.write() as session:
            session.execute(
                update(Brand)
                .where(Brand.id == brand_id, Brand.ref_secret.is_(None))
                .values(ref_secret=sealed)
            )


class BrandRefs:
    """Binds references with a brand's secret, unsealed once per process and kept.

    Unsealing derives a key (PBKDF2, a few hundred milliseconds): the first requests of a
    brand after a start wait for one derivation instead of each running its own (a restarted
    gateway under load spent seconds deriving the same key in every request thread)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._secrets: dict[BrandRowId, bytes] = {}
        self._refused: dict[BrandRowId, str] = {}  # sealed values that did not open
        self._lock = threading.Lock()
        self._unsealing: dict[BrandRowId, threading.Lock] = {}

    def cached(self, brand: BrandRowId) -> bytes | None:
        with self._lock:
            return self._secrets.get(brand)

    def secret(self, brand: BrandRowId) -> bytes:
        """The brand's secret (blocking: a database read and a key derivation the first time).

        Raises `UnknownBrand`, or `KeyPassphraseMismatch` when the secret was sealed with
        another passphrase (each request of that brand then answers 503, not 500; a sealed
        value that did not open is not derived again until it changes)."""
        known = self.cached(brand)
        if known is not None:
            return known
        with self._lock:
            flight = self._unsealing.setdefault(brand, threading.Lock())
        with flight:  # one derivation per brand; the others wait for it
            known = self.cached(brand)
            if known is not None:
                return known
            with self._db.read() as session:
                sealed = session.scalar(select(Brand.ref_secret).where(Brand.id == brand))
            if sealed is None:
                raise UnknownBrand()
            if self._refused.get(brand) == sealed:
                raise KeyPassphraseMismatch(BRAND_SECRET_REFUSED)
            try:
                secret = unseal(sealed, self._settings.passphrase())
            except ValueError:
                self._refused[brand] = sealed
                log.error("brand %s: its reference secret does not unseal", brand)
                raise KeyPassphraseMismatch(BRAND_SECRET_REFUSED) from None
            with self._lock:
                self._secrets[brand] = secret
            return secret

    async def admit(self, brand: BrandRowId) -> None:
        """Whether the brand's sealed keys open (`Intake.submit`): its reference secret,
        sealed with its signing key, is the witness; `KeyPassphraseMismatch` when it does
        not. Known after the first request: a lookup on the hot path."""
        if self.cached(brand) is None:
            await asyncio.to_thread(self.secret, brand)

    def bind(self, brand: BrandRowId, reference: str) -> str:
        return bind_reference(self.secret(brand), reference)
