"""A brand's reference secret is unsealed once per process, however many requests need it at
once (a restarted gateway under load derived the same key in every request thread: seconds
of PBKDF2 before its first answers, issue 15's latency phase)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.gateway import settings_from
from support.rows import add_brand

from ledger_api.access import sealing
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.domain.ids import BrandRowId

THREADS = 8


def test_concurrent_first_requests_unseal_a_brands_secret_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(
        {
            "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'refs.db'}",
            "LEDGER_KEY_PASSPHRASE": "refs-test-passphrase",
        }
    )
    db = Database(settings.database_url)
    upgrade(db)
    with db.write() as session:
        brand = add_brand(session, "Refs", "REF", ref_secret=sealing.new_ref_secret(settings))
        brand_id = BrandRowId(brand.id)
    derivations: list[str] = []
    real_unseal = sealing.unseal

    def counted(sealed: str, passphrase: str) -> bytes:
        derivations.append(threading.current_thread().name)
        return real_unseal(sealed, passphrase)

    monkeypatch.setattr(sealing, "unseal", counted)
    refs = sealing.BrandRefs(db, settings)
    start = threading.Barrier(THREADS)

    def first_request(_: int) -> str:
        start.wait()
        return refs.bind(brand_id, "order-1")

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            bound = set(pool.map(first_request, range(THREADS)))
    finally:
        db.dispose()
    assert len(bound) == 1  # every request bound the reference with the same secret
    assert len(derivations) == 1, derivations
