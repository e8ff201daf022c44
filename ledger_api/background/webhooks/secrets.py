"""Endpoint secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks), shown once
and stored encrypted (AES-256-GCM under a key derived from `LEDGER_KEY_PASSPHRASE`)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING

from ledger_api.errors import KeyPassphraseMismatch

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from ledger_api.db import Database
    from ledger_api.settings import Settings

PREFIX = "whsec_"
_SALT = b"ledger-webhook-secrets-v1"
#: the second format's first bytes (the first began with its random nonce)
_FORMAT = b"LWS2"
_HEADER = len(_FORMAT) + 4


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


@lru_cache(maxsize=4)
def _key(passphrase: str, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), _SALT, iterations, dklen=32)


def _cipher(passphrase: str, iterations: int) -> AESGCM:
    # imported on first use: a gateway without webhook endpoints never needs cryptography
    # (about 9 MB per process: issue 15's `gateway_rss_mb`)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(_key(passphrase, iterations))


def encrypt(secret: str, passphrase: str, iterations: int) -> bytes:
    """`_FORMAT` + the key derivation's iterations (4 bytes, big-endian) + a 12-byte nonce +
    the AES-GCM ciphertext of the secret. The iterations travel with the secret, as a
    keystore's do: the blob still opens after `LEDGER_KEYSTORE_KDF_ITERATIONS` changes."""
    nonce = os.urandom(12)
    sealed = _cipher(passphrase, iterations).encrypt(nonce, secret.encode(), None)
    return _FORMAT + iterations.to_bytes(4, "big") + nonce + sealed


def decrypt(blob: bytes, passphrase: str, iterations: int) -> str:
    """The secret of `encrypt`; `iterations` for a blob of the first format (a bare nonce and
    ciphertext, derived with the settings' iterations). Raises `KeyPassphraseMismatch` when
    the passphrase does not open it."""
    from cryptography.exceptions import InvalidTag  # see `_cipher`

    stored = _stored_iterations(blob)
    if stored is not None:
        try:
            return _open(blob[_HEADER:], passphrase, stored)
        except InvalidTag:
            pass  # a first-format blob whose random nonce begins with `_FORMAT`
    try:
        return _open(blob, passphrase, iterations)
    except InvalidTag:
        raise KeyPassphraseMismatch(
            "the webhook endpoint's secret does not open with this gateway's keystore passphrase"
        ) from None


def resealed(blob: bytes, passphrase: str, iterations: int) -> bytes | None:
    """`blob` in the current format when it is of the first (opened with the settings'
    `iterations`, which it was sealed with while they stood); None when it is current
    already, or does not open (left as it is: its deliveries say why). Current means its
    header reads (`_stored_iterations`, no decryption), so a start with nothing to reseal
    imports no cryptography (see `_cipher`); a first-format blob whose nonce happens to
    begin so still opens (`decrypt`)."""
    if _stored_iterations(blob) is not None:
        return None
    from cryptography.exceptions import InvalidTag

    try:
        secret = _open(blob, passphrase, iterations)
    except InvalidTag:
        return None
    return encrypt(secret, passphrase, iterations)


def reseal_endpoint_secrets(db: Database, settings: Settings) -> int:
    """At start (`Runtime.migrate`): endpoint secrets of the first format re-encrypted with
    their iterations stored, so that a later change of `LEDGER_KEYSTORE_KDF_ITERATIONS` does
    not break them (one key derivation, then AES-GCM per endpoint). Returns how many."""
    from sqlalchemy import select, update

    from ledger_api.db.webhook_models import WebhookEndpoint

    passphrase, iterations = settings.passphrase(), settings.keystore_kdf_iterations
    with db.read() as session:
        rows = session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.secret_encrypted).where(
                WebhookEndpoint.deleted_at.is_(None)
            )
        ).all()
    changed = 0
    for endpoint_id, blob in rows:
        new = resealed(blob, passphrase, iterations)
        if new is None:
            continue
        with db.write() as session:  # only if no one resealed it meanwhile
            session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.secret_encrypted == blob)
                .values(secret_encrypted=new)
            )
        changed += 1
    return changed


def _stored_iterations(blob: bytes) -> int | None:
    """The iterations a blob of the current format carries in its header; None for one of
    the first format (read without decrypting)."""
    stored = int.from_bytes(blob[len(_FORMAT) : _HEADER], "big")
    current = blob.startswith(_FORMAT) and stored >= 1 and len(blob) > _HEADER + 12
    return stored if current else None


def _open(sealed: bytes, passphrase: str, iterations: int) -> str:
    return _cipher(passphrase, iterations).decrypt(sealed[:12], sealed[12:], None).decode()
