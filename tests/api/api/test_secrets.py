"""Secure by default (issue 9, item 7): a random keystore passphrase per data folder, private
files, one answer for every bad key, no signer addresses in the public health."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from sqlalchemy import text
from support.flows import earn
from support.gateway import Brand, Gateway, Member

from ledger_api.settings import DEV_KEY_PASSPHRASE

PASSPHRASE_FILE = "keystore-passphrase"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _folder_env(env: dict[str, str], data: Path) -> dict[str, str]:
    """The test environment with the database in `data/` and no passphrase given."""
    folder_env = {**env, "LEDGER_DATABASE_URL": f"sqlite:///{data / 'ledger.db'}"}
    del folder_env["LEDGER_KEY_PASSPHRASE"]
    return folder_env


def _keystore(gateway: Gateway, signer: str) -> str:
    with gateway.runtime.db.read() as session:
        keystore: str = session.execute(
            text("SELECT keystore FROM signers WHERE address = :a"), {"a": signer}
        ).scalar_one()
    return keystore


def _decrypts(keystore: str, passphrase: str) -> bool:
    try:
        Account.decrypt(json.loads(keystore), passphrase)
    except ValueError:
        return False
    return True


def test_without_a_passphrase_each_data_folder_gets_a_random_private_one(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with Gateway(_folder_env(env, data)) as gateway:
        brand = gateway.create_brand()
        keystore = _keystore(gateway, brand.signer)
        earn(brand, Member(), 1_000)  # the sender unlocks the key with the generated passphrase
        passphrase_file = data / PASSPHRASE_FILE
        assert passphrase_file.is_file()
        passphrase = passphrase_file.read_text().strip()
        assert len(passphrase) >= 32 and passphrase != DEV_KEY_PASSPHRASE
        assert _decrypts(keystore, passphrase)
        assert not _decrypts(keystore, DEV_KEY_PASSPHRASE)
        assert _mode(passphrase_file) == 0o600
        assert _mode(data) == 0o700
        database_files = [p for p in data.iterdir() if p.name.startswith("ledger.db")]
        assert {p.name for p in database_files} >= {"ledger.db", "ledger.db-wal"}
        assert {p.name: _mode(p) for p in database_files} == {p.name: 0o600 for p in database_files}
    other = tmp_path / "other"
    with Gateway(_folder_env(env, other)):
        assert (other / PASSPHRASE_FILE).read_text() != passphrase_file.read_text()


def test_an_existing_data_folder_is_tightened_and_its_builtin_passphrase_keys_resealed(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    with Gateway(_folder_env(env, data)) as gateway:
        brand = gateway.create_brand()
        key = Account.decrypt(
            json.loads(_keystore(gateway, brand.signer)),
            (data / PASSPHRASE_FILE).read_text().strip(),
        )
    # what a data folder of the previous version holds: keys sealed with the published
    # passphrase, no reference secrets, no passphrase file, files readable by everyone
    legacy = json.dumps(Account.encrypt(key, DEV_KEY_PASSPHRASE, kdf="pbkdf2", iterations=1000))
    with sqlite3.connect(data / "ledger.db") as connection:
        connection.execute(
            "UPDATE signers SET keystore = ?, keystore_sealing = NULL WHERE address = ?",
            (legacy, brand.signer),
        )
        connection.execute("UPDATE brands SET ref_secret = NULL")
    (data / PASSPHRASE_FILE).unlink()
    data.chmod(0o755)
    (data / "ledger.db").chmod(0o644)

    with Gateway(_folder_env(env, data)) as gateway:
        resealed = _keystore(gateway, brand.signer)
        passphrase = (data / PASSPHRASE_FILE).read_text().strip()
        assert not _decrypts(resealed, DEV_KEY_PASSPHRASE)
        assert _decrypts(resealed, passphrase)
        assert _mode(data) == 0o700 and _mode(data / "ledger.db") == 0o600
        again = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        earn(again, Member(), 1_000)  # the resealed key still signs


def test_every_bad_key_gets_the_same_answer(gateway: Gateway, brand: Brand) -> None:
    scheme, prefix, secret = brand.api_key.split("_", 2)
    bad_keys = [
        f"{scheme}_{prefix}_{secret[:-4]}AAAA",  # a known prefix, a wrong secret
        f"{scheme}_00000000_{secret}",  # an unknown prefix
        f"{scheme}_{prefix}",  # malformed
        "garbage",
    ]
    answers = set()
    for key in bad_keys:
        response = gateway.api(key).get(f"/v1/members/{Member().address}")
        assert response.status_code == 401
        answers.add(json.dumps(response.json(), sort_keys=True))
    assert len(answers) == 1, answers


@pytest.mark.parametrize("with_key", [False, True])
def test_health_shows_no_signer_address_to_anyone(
    gateway: Gateway, brand: Brand, with_key: bool
) -> None:
    earn(brand, Member(), 1_000)  # the brand's signer now sends
    headers = {"Authorization": f"Bearer {brand.api_key}"} if with_key else {}
    health = httpx.get(f"{gateway.base_url}/v1/health", headers=headers)
    assert health.status_code == 200
    assert brand.signer.lower() not in health.text.lower()
