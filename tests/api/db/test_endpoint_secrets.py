"""Webhook endpoint secrets at rest: the key derivation's iterations travel with the secret,
and a secret of the first format (none stored) is re-encrypted at start, while the setting
it was sealed under still stands, so a later change of `LEDGER_KEYSTORE_KDF_ITERATIONS`
breaks no endpoint (it broke every one: each delivery raised)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from support.gateway import settings_from

from ledger_api.background.webhooks import secrets
from ledger_api.db.webhook_models import WebhookEndpoint
from ledger_api.errors import KeyPassphraseMismatch
from ledger_api.process.runtime import Runtime

PASSPHRASE = "endpoint-secrets-test-passphrase"


def _first_format(secret: str, passphrase: str, iterations: int) -> bytes:
    """A secret as the first format sealed it: a 12-byte nonce and the AES-GCM ciphertext,
    under PBKDF2-SHA256 of the passphrase with the fixed salt (nothing else stored)."""
    salt = b"ledger-webhook-secrets-v1"
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, iterations, dklen=32)
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, secret.encode(), None)


def _runtime(tmp_path: Path, iterations: int) -> Runtime:
    return Runtime(
        settings_from(
            {
                "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'hooks.db'}",
                "LEDGER_KEY_PASSPHRASE": PASSPHRASE,
                "LEDGER_KEYSTORE_KDF_ITERATIONS": str(iterations),
            }
        )
    )


def _stored(runtime: Runtime, endpoint_id: str) -> bytes:
    with runtime.db.read() as session:
        return session.get_one(WebhookEndpoint, endpoint_id).secret_encrypted


def test_a_first_format_secret_is_resealed_at_start_and_survives_a_new_setting(
    tmp_path: Path,
) -> None:
    first = _runtime(tmp_path, 1000)
    first.migrate()
    old = _first_format("whsec_first", PASSPHRASE, 1000)
    unopenable = _first_format("whsec_other", "another passphrase", 1000)
    with first.db.write() as session:
        for endpoint_id, blob in (("we_old", old), ("we_elsewhere", unopenable)):
            session.add(
                WebhookEndpoint(
                    id=endpoint_id,
                    brand=None,
                    url="https://receiver.example/hooks",
                    event_types=[],
                    secret_encrypted=blob,
                    status="active",
                    created_at=datetime.now(UTC),
                )
            )
    first.migrate()  # the start after the upgrade, under the setting it was sealed with
    resealed = _stored(first, "we_old")
    assert resealed != old and resealed.startswith(b"LWS2")
    assert _stored(first, "we_elsewhere") == unopenable  # left: its deliveries say why
    first.migrate()
    assert _stored(first, "we_old") == resealed  # once
    first.db.dispose()

    hardened = _runtime(tmp_path, 3000)
    hardened.migrate()
    assert secrets.decrypt(_stored(hardened, "we_old"), PASSPHRASE, 3000) == "whsec_first"
    with pytest.raises(KeyPassphraseMismatch):  # the first format needs its setting
        secrets.decrypt(old, PASSPHRASE, 3000)
    assert secrets.decrypt(old, PASSPHRASE, 1000) == "whsec_first"
    hardened.db.dispose()
