"""A database restored from an older backup, beside the chain it was made for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.chain import Anvil, applied_op_ids
from support.flows import earn
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for


def database_files(env: dict[str, str]) -> tuple[Path, Path]:
    """The gateway's SQLite file and its backup's, beside it."""
    path = Path(env["LEDGER_DATABASE_URL"].removeprefix("sqlite:///"))
    return path, path.with_name("backup.db")


def copy_database_file(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, live or not (SQLite's online backup)."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)


def test_a_restored_database_hands_out_op_ids_past_those_the_chain_used(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A trial (`pg_dump`, more earns, `pg_restore`): the restored brands' op-id counters were
    behind the ids the chain had used since, and every new earn failed `operation_used`
    (hundreds per brand). The index moves a brand's counter past every op id it sees used, so
    once it has caught up with the chain a new earn takes a fresh id and is credited."""
    anvil, manifest = own_chain
    path, backup = database_files(own_env)
    alice = Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        earn(brand, alice, 1_000)
        copy_database_file(path, backup)  # a consistent copy of the live database
        since = [earn(brand, alice, 1_000)["op_id"] for _ in range(3)]
    copy_database_file(backup, path)  # the restore, over the newer database
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
    path, backup = database_files(own_env)
    alice = Member()
    body = {"member": alice.address, "amount_cents": 1_000, "order_ref": "order-after-backup"}
    review = {"member": alice.address, "kind": "review", "ref": "review-after-backup"}
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        earn(brand, alice, 1_000)
        copy_database_file(path, backup)
        for route, sent in (("/v1/earn/purchase", body), ("/v1/earn/engagement", review)):
            credited = brand.api.post(
                route, sent, headers={"Idempotency-Key": route}, params={"wait": "true"}
            )
            assert credited.json()["status"] == "confirmed", credited.text
    copy_database_file(backup, path)
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


def test_an_order_queued_in_the_backup_and_credited_since_is_confirmed_after_the_restore(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A new user's trial: the backup held a purchase and an engagement still queued; they were
    credited after it, and the restored database sent them again. Their op ids used on chain,
    both failed `operation_used` for good (a first attempt was never judged by its credit),
    and every retry of the order took the failed one's op id and failed again. Now the
    chain's credit under the op id decides: its own, so both read confirmed, naming the
    transaction that credited them, and a retry of the order is refused as a duplicate."""
    anvil, manifest = own_chain
    path, backup = database_files(own_env)
    alice = Member()
    body = {"member": alice.address, "amount_cents": 1_000, "order_ref": "queued-in-backup"}
    review = {"member": alice.address, "kind": "review", "ref": "queued-review"}
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
    with Gateway({**own_env, "LEDGER_SENDER_ENABLED": "false"}) as gateway:  # nothing sent
        api = gateway.api(brand.api_key)
        queued = [
            api.post(route, sent).json()
            for route, sent in (("/v1/earn/purchase", body), ("/v1/earn/engagement", review))
        ]
        assert [q["status"] for q in queued] == ["queued", "queued"], queued
        # and say why they wait (a trial's read `queued_reason: null`)
        assert {q.get("queued_reason") for q in queued} == {"sender_unavailable"}, queued
    copy_database_file(path, backup)
    with Gateway(own_env) as gateway:  # sent and credited after the backup
        api = gateway.api(brand.api_key)
        credited = [api.wait(q["operation_id"]) for q in queued]
        assert [c["status"] for c in credited] == ["confirmed"] * 2, credited
    copy_database_file(backup, path)
    with Gateway(own_env) as gateway:  # the restore: both queued again
        api = gateway.api(brand.api_key)
        finals = [api.wait(q["operation_id"]) for q in queued]
        assert [f["status"] for f in finals] == ["confirmed"] * 2, finals
        assert all(f["result"].get("applied_earlier") for f in finals), finals
        # the transaction that credited each, not the restored database's resend (a trial's
        # read the resend's hash and block, which credited nothing)
        applied_by = [(c["tx_hash"], c["block_number"]) for c in credited]
        assert [(f["tx_hash"], f["block_number"]) for f in finals] == applied_by, finals
        assert [f["result"]["applied_by_block"] for f in finals] == [b for _, b in applied_by]
        # and what each produced (its points), as the original's result said
        assert [{**c["result"], "applied_earlier": True} for c in credited] == [
            {k: v for k, v in f["result"].items() if k != "applied_by_block"} for f in finals
        ], finals
        again = api.post("/v1/earn/purchase", body)
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "duplicate_order", again.text
        (balance,) = api.get(f"/v1/members/{alice.address}").json()["balances"]
    used = applied_op_ids(anvil.web3(), manifest, brand.brand_id)
    assert sorted(used.values()) == [1, 1], used
    assert balance["balance"] == 100 + 5


def test_a_credit_the_chain_forgot_no_longer_holds_its_order(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The index records a credit no operation of this database stands for (an order credited
    after the backup it was restored from), and the intake refuses its order. A new user's
    trial: the chain then lost that credit's block (a node restarted from an older state), the
    index was rebuilt, and the order was still refused as a duplicate naming a transaction no
    node has: its points could never be credited. A rebuild drops the credits of the blocks
    past the chain's head."""
    anvil, manifest = own_chain
    env = {**own_env, "LEDGER_NODE_LAG_PATIENCE_S": "1"}
    path, backup = database_files(env)
    alice = Member()
    body = {"member": alice.address, "amount_cents": 1_000, "order_ref": "credit-forgotten"}
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        earn(brand, alice, 1_000)
        copy_database_file(path, backup)
        snapshot = anvil.rpc("evm_snapshot")
        credited = brand.api.post("/v1/earn/purchase", body, params={"wait": "true"})
        assert credited.json()["status"] == "confirmed", credited.text
    copy_database_file(backup, path)
    with Gateway(env) as gateway:
        api = gateway.api(brand.api_key)
        head = anvil.web3().eth.block_number
        wait_for(lambda: gateway.get_health()["index_block"] >= head, what="the index caught up")
        refused = api.post("/v1/earn/purchase", body)
        assert refused.json()["error"]["code"] == "duplicate_order", refused.text
        anvil.rpc("evm_revert", snapshot)  # the credit's block forgotten
        wait_for(
            lambda: any(
                e["type"] == "chain.rewound"
                for e in gateway.admin.get("/v1/events", params={"limit": 500}).json()["events"]
            ),
            what="the index rebuilt",
        )
        again = api.post("/v1/earn/purchase", body)
        assert again.status_code == 202, again.text
        assert api.wait(again.json()["operation_id"])["status"] == "confirmed", again.text
    used = applied_op_ids(anvil.web3(), manifest, brand.brand_id)
    assert sorted(used.values()) == [1, 1], used
