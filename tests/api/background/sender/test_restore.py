"""A database restored from an older backup, beside the chain it was made for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.chain import Anvil, applied_op_ids
from support.flows import earn
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for


def test_a_restored_database_hands_out_op_ids_past_those_the_chain_used(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A trial (`pg_dump`, more earns, `pg_restore`): the restored brands' op-id counters were
    behind the ids the chain had used since, and every new earn failed `operation_used`
    (hundreds per brand). The index moves a brand's counter past every op id it sees used, so
    once it has caught up with the chain a new earn takes a fresh id and is credited."""
    anvil, manifest = own_chain
    path = Path(own_env["LEDGER_DATABASE_URL"].removeprefix("sqlite:///"))
    backup = path.with_name("backup.db")
    alice = Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        earn(brand, alice, 1_000)
        with sqlite3.connect(path) as source, sqlite3.connect(backup) as copy:
            source.backup(copy)  # a consistent copy of the live database
        since = [earn(brand, alice, 1_000)["op_id"] for _ in range(3)]
    with sqlite3.connect(backup) as copy, sqlite3.connect(path) as target:
        copy.backup(target)  # the restore, over the newer database
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        head = anvil.web3().eth.block_number
        wait_for(lambda: gateway.get_health()["index_block"] >= head, what="the index caught up")
        after = earn(brand, alice, 1_000)
        balance = brand.api.get(f"/v1/members/{alice.address}").json()["balances"][0]["balance"]
    assert after["status"] == "confirmed", after
    assert after["op_id"] > max(since), (after["op_id"], since)
    used = applied_op_ids(anvil.web3(), manifest, brand.brand_id)
    assert all(used[op_id] == 1 for op_id in [*since, after["op_id"]]), used
    assert balance == 5 * 100


def test_an_order_credited_after_the_backup_is_not_credited_again_after_the_restore(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The restored database had not seen the operations made after the backup: an order
    credited then, sent again after the restore (a brand retrying a request of the outage,
    under its old or a new Idempotency-Key), was credited twice. The index records each
    credit no operation stands for (`chain_credits`), and the intake refuses the order."""
    path = Path(own_env["LEDGER_DATABASE_URL"].removeprefix("sqlite:///"))
    backup = path.with_name("backup.db")
    alice = Member()
    body = {"member": alice.address, "amount_cents": 1_000, "order_ref": "order-after-backup"}
    review = {"member": alice.address, "kind": "review", "ref": "review-after-backup"}
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        earn(brand, alice, 1_000)
        with sqlite3.connect(path) as source, sqlite3.connect(backup) as copy:
            source.backup(copy)
        for route, sent in (("/v1/earn/purchase", body), ("/v1/earn/engagement", review)):
            credited = brand.api.post(
                route, sent, headers={"Idempotency-Key": route}, params={"wait": "true"}
            )
            assert credited.json()["status"] == "confirmed", credited.text
    with sqlite3.connect(backup) as copy, sqlite3.connect(path) as target:
        copy.backup(target)
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        head = anvil.web3().eth.block_number
        wait_for(lambda: gateway.get_health()["index_block"] >= head, what="the index caught up")
        for route, sent, code in (
            ("/v1/earn/purchase", body, "duplicate_order"),
            ("/v1/earn/engagement", review, "duplicate_engagement"),
        ):
            for key in (route, f"{route}-again"):  # the outage's key, and a new one
                again = brand.api.post(route, sent, headers={"Idempotency-Key": key})
                assert again.status_code == 409, again.text
                error = again.json()["error"]
                assert error["code"] == code, error
                assert error["details"]["operation_id"] is None and error["details"]["tx_hash"]
        balance = brand.api.get(f"/v1/members/{alice.address}").json()["balances"][0]["balance"]
    assert balance == 100 + 100 + 5
