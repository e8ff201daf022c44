"""The `ledger` command line, run as the operator would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from support.chain import ROOT
from support.cli import ledger
from support.flows import earn, signed_redemption
from support.gateway import Gateway, Member
from support.progress import wait_for

from ledger_api.db.migrate import packaged_head

KEY = re.compile(r"(lk_[0-9a-f]{8}_\S+)")


def test_db_upgrade_says_which_revisions_it_went_through(
    env: dict[str, str], tmp_path: Path
) -> None:
    """It printed "up to date" also when it had just migrated (session 24's trial)."""
    fresh = {**env, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    first = ledger(fresh, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    head = packaged_head()
    assert f"database schema migrated from revision (none: new) to {head}" in first.stdout
    again = ledger(fresh, "db", "upgrade")
    assert f"database schema is up to date (revision {head})" in again.stdout, again.stdout


def test_operator_adds_a_brand_lists_it_and_rotates_its_key(env: dict[str, str]) -> None:
    upgraded = ledger(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr

    added = ledger(
        env, "brand", "add", "Cli Brand", "--value-micro-usd", "10000", "--daily-cap", "5000"
    )
    assert added.returncode == 0, added.stderr
    onboarded = json.loads(added.stdout)  # piped: one JSON object (new-user trial)
    assert onboarded["name"] == "Cli Brand" and onboarded["brand_id"] >= 1
    first_key = KEY.fullmatch(onboarded["api_key"])
    assert first_key is not None

    listed = [
        json.loads(line) for line in ledger(env, "brand", "list", "--json").stdout.splitlines()
    ]
    (brand,) = [b for b in listed if b["name"] == "Cli Brand"]
    # the cap is the chain's (set right after the onboarding); the list shows it once indexed
    assert brand["status"] == "active"
    table = ledger(env, "brand", "list", "--table")
    assert "Cli Brand" in table.stdout and "active" in table.stdout, table.stdout

    rotated = ledger(env, "key", "rotate", "Cli Brand")
    assert rotated.returncode == 0, rotated.stderr
    new_key = KEY.fullmatch(json.loads(rotated.stdout)["api_key"])
    assert new_key is not None

    admin = ledger(env, "admin-key", "create")
    assert admin.returncode == 0, admin.stderr
    admin_key = KEY.fullmatch(json.loads(admin.stdout)["api_key"])
    assert admin_key is not None
    shown = ledger(env, "admin-key", "create", "--table")  # what a terminal shows
    assert "shown once" in shown.stdout and KEY.search(shown.stdout) is not None

    with Gateway(env) as gateway:
        old = gateway.api(first_key.group(1))
        assert (
            old.post(
                "/v1/earn/purchase",
                {"member": Member().address, "amount_cents": 100, "order_ref": "o"},
            ).status_code
            == 401
        )
        api = gateway.api(new_key.group(1))
        response = api.post(
            "/v1/earn/purchase",
            {"member": Member().address, "amount_cents": 100, "order_ref": "o"},
            params={"wait": "true"},
        )
        assert response.status_code == 200 and response.json()["status"] == "confirmed", (
            response.text
        )
        assert gateway.api(admin_key.group(1)).get("/v1/admin/brands").status_code == 200

        def indexed_cap() -> bool:
            brands = gateway.admin.get("/v1/admin/brands").json()
            return next(b for b in brands if b["name"] == "Cli Brand")["daily_cap_points"] == 5000

        wait_for(indexed_cap, what="the brand's cap, as the chain's index has it")


def test_brand_add_while_the_gateway_runs_lets_the_gateway_send(env: dict[str, str]) -> None:
    with Gateway(env) as gateway:
        added = ledger(env, "brand", "add", "Live Brand", "--table")
        assert added.returncode == 0, added.stderr + added.stdout
        assert "onboarded" in added.stdout
        key = KEY.search(added.stdout)
        assert key is not None
        response = gateway.api(key.group(1)).post(
            "/v1/earn/engagement",
            {"member": Member().address, "kind": "share"},
            params={"wait": "true"},
        )
        assert response.json()["status"] == "confirmed", response.text


def test_a_command_under_another_passphrase_is_refused_and_seals_nothing(
    env: dict[str, str],
) -> None:
    """A new user's trial: `ledger brand add` under another `LEDGER_KEY_PASSPHRASE` exited 0
    and sealed the new brand's keys with it, so the gateway could never send for that brand
    (and its start then stopped every brand's sending). A passphrase that opens none of the
    database's sealed keys is now refused before anything is sealed, with its stable code."""
    with Gateway(env) as gateway:
        gateway.create_brand("Sealed Here")
    other = {**env, "LEDGER_KEY_PASSPHRASE": "not the passphrase of this database"}
    added = ledger(other, "brand", "add", "Sealed Elsewhere")
    assert added.returncode == 2, added.stderr + added.stdout
    refusal = added.stderr.strip().splitlines()[-1]  # after the line saying where it runs
    assert refusal.startswith("error: key_passphrase_mismatch: "), added.stderr
    assert (
        "not the passphrase" not in added.stderr and "Traceback" not in added.stderr
    )  # the value is never echoed
    listed = ledger(env, "brand", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    names = [json.loads(line)["name"] for line in listed.stdout.splitlines()]
    assert "Sealed Here" in names and "Sealed Elsewhere" not in names, names


def test_a_lost_passphrase_file_is_not_replaced_beside_sealed_keys(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A trial: with the data folder's `keystore-passphrase` lost, a command generated a new
    random one ("keep it with the data"), then refused: restoring the backup meant
    overwriting a file that looked right. The new file is removed and the refusal says what
    was lost."""
    data = tmp_path / "data"
    folder = {**env, "LEDGER_DATABASE_URL": f"sqlite:///{data / 'ledger.db'}"}
    del folder["LEDGER_KEY_PASSPHRASE"]
    first = ledger(folder, "db", "upgrade")  # a new folder: its passphrase made and kept
    assert first.returncode == 0, first.stderr
    assert "generated the keystore passphrase" in first.stderr, first.stderr
    with Gateway(folder) as gateway:
        gateway.create_brand("Sealed Here")
    passphrase = data / "keystore-passphrase"
    kept = passphrase.read_text()
    passphrase.unlink()
    listed = ledger(folder, "brand", "list")
    assert listed.returncode == 2, listed.stderr + listed.stdout
    assert "keystore-passphrase file was missing" in listed.stderr, listed.stderr
    # nor said to be kept just before (it was: "generated ... keep it with the data")
    assert "generated the keystore passphrase" not in listed.stderr, listed.stderr
    assert not passphrase.exists()
    passphrase.write_text("\n")  # an empty file: one line, not a traceback (the trial)
    emptied = ledger(folder, "brand", "list")
    assert emptied.returncode == 2, emptied.stderr
    assert "error: key_passphrase_mismatch: " in emptied.stderr and "is empty" in emptied.stderr
    assert "Traceback" not in emptied.stderr, emptied.stderr
    passphrase.write_text(kept)  # restored from the backup
    again = ledger(folder, "brand", "list", "--json")
    assert again.returncode == 0, again.stderr
    assert [json.loads(line)["name"] for line in again.stdout.splitlines()] == ["Sealed Here"]


def test_unknown_brand_is_an_error(env: dict[str, str]) -> None:
    assert ledger(env, "db", "upgrade").returncode == 0
    result = ledger(env, "key", "rotate", "Nobody")
    assert result.returncode != 0
    assert "no onboarded brand 'Nobody': no brand is onboarded yet" in result.stderr


def test_a_setting_that_is_not_valid_is_one_line_naming_its_variable(
    env: dict[str, str],
) -> None:
    """A value the settings refuse stops a command with `error: invalid_settings: ...` naming
    the variable, not a traceback (a new user's trial)."""
    for name, value in (("LEDGER_PORT", "eighty"), ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "soon")):
        result = ledger({**env, name: value}, "info")
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: invalid_settings: "), result.stderr
        assert name in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) <= 3, result.stderr


def test_a_misspelled_variable_is_said_on_stderr(env: dict[str, str]) -> None:
    """A new operator's misspelled `LEDGER_DATABSE_URL` was ignored in silence; every command
    now says it under its first line, with the setting meant, and still runs."""
    assert ledger(env, "db", "upgrade").returncode == 0
    misspelled = {**env, "LEDGER_DATABSE_URL": "postgresql://elsewhere/ledger"}
    for args in (("info",), ("brand", "list")):
        result = ledger(misspelled, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert (
            "ledger: LEDGER_DATABSE_URL is not a setting (did you mean LEDGER_DATABASE_URL?):"
            " ignored" in result.stderr.splitlines()
        ), (args, result.stderr)
    assert "LEDGER_" not in ledger(env, "info").stderr  # nothing to say without it
    # a refused setting says the misspelling behind it too (a trial's LEDGER_KEY_PASSPRASE)
    production = {**env, "LEDGER_ENV": "production", "LEDGER_KEY_PASSPRASE": "x" * 20}
    refused = ledger(production, "brand", "list")
    assert refused.returncode == 2 and "error: invalid_settings: " in refused.stderr
    assert "LEDGER_KEY_PASSPRASE is not a setting (did you mean LEDGER_KEY_PASSPHRASE?)" in (
        refused.stderr
    ), refused.stderr


def test_help_and_version_import_nothing_heavy() -> None:
    """`ledger --help` stays fast (issue 13 item 6: web3 was imported for it): no web3, no
    SQLAlchemy, no gateway runtime is imported until a command runs."""
    probe = (
        "import sys\n"
        "from ledger_api.cli import main\n"
        "codes = [main(['--help']), main(['--version']), main(['brand', '--help'])]\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('web3', 'sqlalchemy', 'eth_account', 'fastapi', 'uvicorn') "
        "or m.startswith('ledger_api.process'))\n"
        "print(codes, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[0, 0, 0] []"), result.stdout
    assert "ledger 0.1.0" in result.stdout
    for command in ("brand", "liability", "positions", "key", "webhooks", "info"):
        assert command in result.stdout


def test_read_commands_show_brands_liability_positions_keys_and_webhooks(
    env: dict[str, str],
) -> None:
    with Gateway(env) as gateway:
        shop = gateway.create_brand("Show Brand")
        other = gateway.create_brand("Other Brand")
        member = Member()
        earn(shop, member, 10_000)  # 1,000 points of Show Brand
        redemption = signed_redemption(other, member, shop.brand_id, 300, "cli-order")
        response = other.api.post("/v1/redemptions", redemption, params={"wait": "true"})
        assert response.json()["status"] == "confirmed", response.text
        other.api.wait(response.json()["operation_id"])
        hook = shop.api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook"})
        assert hook.status_code == 201, hook.text

        where = ledger(env, "liability", "--json")
        assert env["LEDGER_DATABASE_URL"] in where.stderr and env["LEDGER_RPC_URL"] in where.stderr
        rows = {r["brand_id"]: r for r in map(json.loads, where.stdout.splitlines())}
        assert rows[shop.brand_id]["issued"] == 1000 and rows[shop.brand_id]["redeemed"] == 300
        assert rows[shop.brand_id]["outstanding"] == 700

        shown = json.loads(ledger(env, "brand", "show", "Show Brand", "--json").stdout)
        assert shown["brand_id"] == shop.brand_id and shown["liability"]["outstanding"] == 700
        # the keys once (a trial read `api_keys` and `keys`), the rule as pairs, not a dict
        assert "api_keys" not in shown and all(k["revoked_at"] is None for k in shown["keys"])
        table = ledger({**env, "COLUMNS": "200"}, "brand", "show", str(shop.brand_id), "--table")
        assert "points_per_usd 10" in table.stdout and "{" not in table.stdout, table.stdout
        assert "outstanding" in ledger(env, "brand", "show", str(shop.brand_id)).stdout
        # the table's columns add up: issued = redeemed + expired + reversed + outstanding (a
        # trial's table left `reversed` out)
        run = ledger({**env, "COLUMNS": "200"}, "brand", "show", str(shop.brand_id), "--table")
        liability_table = run.stdout[run.stdout.index("liability (points)") :]
        # titled by the brand, not by the argument ("1", a trial's)
        assert run.stdout.lstrip().startswith(f"Show Brand (brand {shop.brand_id})"), run.stdout
        assert all(w in liability_table for w in ("reversed", "pending", "outstanding")), run
        # a name it does not know lists the brands there are (a trial: "Acme" for "Acme Outdoor")
        partial = ledger(env, "brand", "show", "Show")
        assert partial.returncode != 0
        assert f"the brands are Show Brand ({shop.brand_id}), " in partial.stderr, partial.stderr
        for name in ("show BRAND", "  Show   brand "):  # any letter case and spacing
            folded = json.loads(ledger(env, "brand", "show", name, "--json").stdout)
            assert folded["brand_id"] == shop.brand_id, name
        # a name of digits no brand has for its id is a name (a trial: "2024" not found)
        digits = gateway.create_brand("2024")
        named = json.loads(ledger(env, "brand", "show", "2024", "--json").stdout)
        assert named["brand_id"] == digits.brand_id, named

        listed = map(json.loads, ledger(env, "positions", "--json").stdout.splitlines())
        # the chain is the suite's: other tests' brands may owe each other too
        ours = {shop.brand_id, other.brand_id}
        (position,) = (p for p in listed if {p["debtor_brand_id"], p["creditor_brand_id"]} == ours)
        assert position["debtor_brand_id"] == shop.brand_id
        assert position["creditor_brand_id"] == other.brand_id
        assert position["amount_micro_usd"] == 300 * 10_000

        keys = [
            json.loads(line)
            for line in ledger(env, "key", "list", "Show Brand").stdout.splitlines()
        ]
        (key,) = keys
        assert key["brand_id"] == shop.brand_id and key["revoked_at"] is None
        assert ledger(env, "key", "revoke", key["prefix"]).returncode == 0
        assert gateway.api(shop.api_key).get(f"/v1/members/{member.address}").status_code == 401
        (revoked,) = map(json.loads, ledger(env, "key", "list", "Show Brand").stdout.splitlines())
        assert revoked["revoked_at"] is not None

        (webhook,) = map(json.loads, ledger(env, "webhooks", "Show Brand").stdout.splitlines())
        assert webhook["url"] == "http://127.0.0.1:9/hook" and "secret" not in webhook
        assert ledger(env, "webhooks", "Other Brand").stdout == ""  # JSON Lines: no line
        empty = ledger(env, "webhooks", "Other Brand", "--table").stdout
        assert "webhooks" in empty and "none" in empty, empty  # a table says so


def test_arguments_the_request_refuses_get_its_code_not_a_traceback(env: dict[str, str]) -> None:
    """A trial: `ledger brand add ''`, `--daily-cap -5` and a cap past 2^256 printed
    pydantic's traceback (exit 1). They now print the code and message `POST
    /v1/admin/brands` answers for the same body, in one line (exit 2), onboarding nothing."""
    assert ledger(env, "db", "upgrade").returncode == 0
    for args, code in (
        (("",), "invalid_request"),
        (("Foo", "--daily-cap", "-5"), "invalid_amount"),
        (("Foo", "--daily-cap", "9" * 80), "invalid_amount"),
        (("Foo", "--value-micro-usd", "0"), "invalid_amount"),
    ):
        refused = ledger(env, "brand", "add", *args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert refused.stderr.startswith(f"error: {code}: "), (args, refused.stderr)
        assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) == 1
    listed = ledger(env, "brand", "list", "--json")  # JSON lines: none
    assert listed.returncode == 0 and listed.stdout.strip() == "", listed.stdout


def test_a_command_that_reads_makes_no_database(tmp_path: Path) -> None:
    """A new user's trial: `ledger brand list` on a mistyped folder made it, with a new database
    and keystore passphrase, and listed nothing (exit 0). The commands that read (and those
    that change what exists) now say there is no database there, and make nothing."""
    folder = tmp_path / "mistyped"
    env = {"LEDGER_DATABASE_URL": f"sqlite:///{folder / 'ledger.db'}"}
    for args in (
        ("brand", "list"),
        ("brand", "show", "1"),
        ("liability",),
        ("positions",),
        ("key", "list"),
        ("key", "revoke", "abc"),
        ("webhooks",),
        ("admin-key", "create"),  # printed a key the gateway answered 401 (a second trial)
        ("brand", "add", "Mistyped"),
    ):
        result = ledger(env, *args)
        assert result.returncode != 0, (args, result.stdout)
        assert f"no database at {folder / 'ledger.db'}" in result.stderr, (args, result.stderr)
        assert "LEDGER_DATA_DIR" in result.stderr and "Traceback" not in result.stderr
    assert not folder.exists()


def test_db_copy_refuses_a_target_or_source_that_is_not_one_in_a_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A trial: `--to mysql://x` or `not-a-url` printed a traceback, and a source database that
    was not there was made empty (with a migrated target) before a 75-line traceback. Each is
    now one line, and nothing is made; nor beside a gateway running on the source."""
    for target, said in (
        ("mysql://x", "the mysql database is not supported"),
        ("not-a-url", "not a database URL"),
        ("sqlite://", "a SQLite database file"),
    ):
        refused = ledger(env, "db", "copy", "--to", target)
        assert refused.returncode != 0 and f"--to: {said}" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr, refused.stderr
    source = tmp_path / "nowhere" / "ledger.db"
    copy = tmp_path / "copy" / "ledger.db"
    missing = ledger(
        {**env, "LEDGER_DATABASE_URL": f"sqlite:///{source}"},
        "db",
        "copy",
        "--to",
        f"sqlite:///{copy}",
    )
    assert missing.returncode != 0 and f"no database at {source}" in missing.stderr
    assert not source.parent.exists() and not copy.parent.exists()
    # a target that does not answer is named as the target, its password hidden (a trial:
    # "the database (LEDGER_DATABASE_URL): connection failed", the source blamed)
    assert ledger(env, "db", "upgrade").returncode == 0
    away = ledger(env, "db", "copy", "--to", "postgresql+psycopg://ledger:pw-9z@127.0.0.1:1/x")
    assert away.returncode != 0, away.stderr
    assert "the target (--to postgresql+psycopg://ledger:***@127.0.0.1:1/x)" in away.stderr
    assert "pw-9z" not in away.stderr and "Traceback" not in away.stderr, away.stderr
    # beside a running gateway the copy would miss what it writes after (a trial's did)
    with Gateway(env):
        busy = ledger(env, "db", "copy", "--to", f"sqlite:///{copy}")
    assert busy.returncode != 0 and "error: database_in_use: " in busy.stderr, busy.stderr
    assert not copy.parent.exists()


def test_a_development_copy_carries_its_passphrase_beside_a_sqlite_target(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A trial: `db copy` into a SQLite file of another folder said only "now set
    LEDGER_DATABASE_URL"; the gateway on the copy then stopped at its start with
    `key_passphrase_mismatch` (the copy's folder had no `keystore-passphrase`). In development
    the source's passphrase now goes beside the target, and the success line names it."""
    dev = {k: v for k, v in env.items() if k != "LEDGER_KEY_PASSPHRASE"}
    dev["LEDGER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'dev' / 'ledger.db'}"
    assert ledger(dev, "db", "upgrade").returncode == 0
    added = ledger(dev, "brand", "add", "Sealed In Dev", "--json")
    assert added.returncode == 0, added.stderr
    copy = tmp_path / "copy" / "ledger.db"
    done = ledger(dev, "db", "copy", "--to", f"sqlite:///{copy}")
    assert done.returncode == 0, done.stderr
    carried = copy.parent / "keystore-passphrase"
    assert f"the keystores' passphrase: {carried}" in done.stdout, done.stdout
    assert carried.read_text() == (tmp_path / "dev" / "keystore-passphrase").read_text()
    moved = {**dev, "LEDGER_DATABASE_URL": f"sqlite:///{copy}"}
    second = ledger(moved, "brand", "add", "Sealed In The Copy", "--json")
    assert second.returncode == 0, second.stderr  # its sealed keys open: no mismatch
    assert ledger(env, "db", "upgrade").returncode == 0  # a passphrase of the environment
    keep = ledger(env, "db", "copy", "--to", f"sqlite:///{tmp_path / 'pw' / 'ledger.db'}")
    assert "keep LEDGER_KEY_PASSPHRASE" in keep.stdout, keep.stdout


def test_brand_add_that_times_out_still_hands_out_the_brands_key(env: dict[str, str]) -> None:
    """A trial: `ledger brand add` whose onboarding did not land within `--timeout` printed
    only "stored, onboarding queued" and exited 1; the API key, shown once, was lost and the
    name taken (`brand_exists` on a second try). It now prints the key, the operation, and a
    multisig admin's transaction; the key works once the brand is onboarded."""
    upgraded = ledger(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    added = ledger(env, "brand", "add", "Slow Brand", "--timeout", "0")
    assert added.returncode == 1, added.stdout + added.stderr
    assert "stored, onboarding" in added.stderr, added.stderr
    shown = json.loads(added.stdout)  # piped: one JSON object
    assert shown["name"] == "Slow Brand" and shown["state"] in ("queued", "submitted"), shown
    key = KEY.fullmatch(shown["api_key"])
    assert key is not None and shown["operation_id"], shown
    with Gateway(env) as gateway:  # the gateway sends what the command queued
        onboarded = gateway.admin.get(
            f"/v1/operations/{shown['operation_id']}", headers={"Prefer": "wait=60"}
        ).json()
        assert onboarded["status"] == "confirmed", onboarded
        response = gateway.api(key.group(1)).post(
            "/v1/earn/engagement",
            {"member": Member().address, "kind": "share"},
            params={"wait": "true"},
        )
        assert response.json()["status"] == "confirmed", response.text


def test_brand_add_under_a_multisig_admin_hands_out_the_transaction_at_once(
    env: dict[str, str],
) -> None:
    """A trial: under a multisig admin (no admin key: only the multisig lands the
    onboarding, from the transaction the command prints) `ledger brand add` waited out its
    `--timeout` (60 s by default) for nothing, then exited 1 as if it had failed. It now hands
    out the transaction, the operation and the key at once, and exits 0."""
    multisig = {**env, "LEDGER_ENV": "production", "LEDGER_ADMIN_PRIVATE_KEY": ""}
    upgraded = ledger(multisig, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    # a --timeout past the runner's own 120 s: a command that waited would fail the test
    added = ledger(
        multisig, "brand", "add", "Multisig Brand", "--daily-cap", "700", "--timeout", "600"
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert "onboarding queued for the multisig to execute" in added.stderr, added.stderr
    shown = json.loads(added.stdout)
    assert shown["state"] == "queued" and shown["operation_id"], shown
    # the cap's own transaction comes once the onboarding lands: its operation is named (a
    # trial: nothing said a second transaction was to come)
    assert shown["daily_cap_operation_id"], shown
    assert KEY.fullmatch(shown["api_key"]) is not None, shown
    transaction = shown["admin_transaction"]
    manifest = json.loads(Path(env["LEDGER_MANIFEST"]).read_text())
    ledger_address = manifest["contracts"]["AllianceLedger"]["address"]
    assert transaction["to"].lower() == ledger_address.lower(), transaction
