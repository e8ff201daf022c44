"""Endpoint secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks), shown once
and stored encrypted (AES-256-GCM under a key derived from `LEDGER_KEY_PASSPHRASE`)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "whsec_"
_SALT = b"ledger-webhook-secrets-v1"


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
    """12-byte nonce + AES-GCM ciphertext of the secret."""
    nonce = os.urandom(12)
    return nonce + _cipher(passphrase, iterations).encrypt(nonce, secret.encode(), None)


def decrypt(blob: bytes, passphrase: str, iterations: int) -> str:
    return _cipher(passphrase, iterations).decrypt(blob[:12], blob[12:], None).decode()
