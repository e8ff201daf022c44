"""Settings refuse insecure defaults outside development."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from ledger_api.settings import (
    DEV_ADMIN_PRIVATE_KEY,
    DEV_KEY_PASSPHRASE,
    Settings,
    get_settings,
    settings_problem,
    shown_url,
)
from ledger_api.settings_names import environment_names, unread_variables

STRONG_KEY = "0x" + "ab" * 32


def test_development_fills_in_the_local_chain_defaults() -> None:
    settings = Settings(env="development")
    assert settings.key_passphrase is None  # the data folder's own, generated (below)
    assert settings.admin_private_key is not None
    assert settings.admin_private_key.get_secret_value() == DEV_ADMIN_PRIVATE_KEY
    assert settings.signer_funding_wei > 0
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url == "sqlite:///data/ledger.db"
    assert settings.data_folder == Path("data").resolve()  # the real folder (links resolved)


def test_development_generates_one_passphrase_per_data_folder(tmp_path: Path) -> None:
    settings = Settings(env="development", database_url=f"sqlite:///{tmp_path}/ledger.db")
    passphrase = settings.passphrase()
    assert passphrase != DEV_KEY_PASSPHRASE and len(passphrase) >= 32
    assert (tmp_path / "keystore-passphrase").read_text().strip() == passphrase
    again = Settings(env="development", database_url=f"sqlite:///{tmp_path}/other.db")
    assert again.passphrase() == passphrase  # the same folder, the same passphrase


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"admin_private_key": STRONG_KEY}, "LEDGER_KEY_PASSPHRASE is missing"),
        ({"key_passphrase": "short", "admin_private_key": STRONG_KEY}, "shorter than 12"),
        (
            {"key_passphrase": DEV_KEY_PASSPHRASE, "admin_private_key": STRONG_KEY},
            "development passphrase",
        ),
        (
            {
                "key_passphrase": "long enough passphrase",
                "admin_private_key": DEV_ADMIN_PRIVATE_KEY,
            },
            "public anvil",
        ),
        (
            {
                "key_passphrase": "long enough passphrase",
                "admin_private_key": STRONG_KEY,
                "admin_api_key": "weak",
            },
            "LEDGER_ADMIN_API_KEY is shorter",
        ),
    ],
)
def test_production_refuses_insecure_settings(overrides: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings.model_validate({"env": "production", **overrides})


def test_production_runs_with_brand_keys_only_for_a_multisig_admin() -> None:
    """Issue 14: the admin may be a multisig; the gateway then holds no admin key."""
    settings = Settings(env="production", key_passphrase="long enough passphrase")
    assert settings.admin_private_key is None
    assert not settings.admin_signs


def test_production_accepts_explicit_secrets_and_funds_nobody() -> None:
    settings = Settings(
        env="production", key_passphrase="long enough passphrase", admin_private_key=STRONG_KEY
    )
    assert settings.signer_funding_wei == 0


def test_settings_come_from_ledger_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_PORT", "9123")
    monkeypatch.setenv("LEDGER_BATCH_MAX_OPS", "77")
    settings = Settings()
    assert settings.port == 9123 and settings.batch_max_ops == 77


@pytest.mark.parametrize("key", ["0xnothex" + "0" * 58, "0x" + "ab" * 31, "12" * 33])
def test_an_admin_key_that_is_not_one_is_refused_without_repeating_it(key: str) -> None:
    """It stopped the sender's start with a traceback while the gateway answered healthy (a new
    user's trial); `./ledger` names the variable, never the value. Empty is no key."""
    with pytest.raises(ValidationError) as refused:
        Settings(env="development", admin_private_key=key)
    problem = settings_problem(refused.value)
    assert (
        problem == "LEDGER_ADMIN_PRIVATE_KEY: not a private key: 64 hex digits, with or without 0x"
    )
    empty = Settings(env="development", admin_private_key="")
    assert empty.admin_private_key is not None  # development: the anvil key, as when unset
    assert empty.admin_private_key.get_secret_value() == DEV_ADMIN_PRIVATE_KEY


@pytest.mark.parametrize(
    "host", ["999.1.1.1", "1.2.3", "bad host", "-x.example", "", "a" * 40 + "_!", "x" * 300]
)
def test_a_host_to_listen_on_that_is_none_is_refused_as_a_setting(host: str) -> None:
    """`LEDGER_HOST=999.1.1.1` ended in uvicorn's "Name or service not known" (a trial), not
    in an `invalid_settings: LEDGER_HOST` line as the other variables."""
    with pytest.raises(ValidationError) as refused:
        Settings(env="development", host=host)
    assert str(settings_problem(refused.value)).startswith("LEDGER_HOST: an IP address")
    for good in ("127.0.0.1", "0.0.0.0", "::", "localhost", "gateway.internal", "ledger_api"):
        assert Settings(env="development", host=good).host == good


def test_the_process_reads_its_settings_once() -> None:
    get_settings.cache_clear()
    assert get_settings() is get_settings()


@pytest.mark.parametrize("written", ["0.5,1,2", "[0.5, 1, 2]", " 0.5 , 1 , 2 ", '["0.5", 1, 2]'])
def test_a_list_setting_is_json_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    """A new user's trial: `LEDGER_WEBHOOK_RETRY_SCHEDULE_S=0.5,0.5,...` stopped every command
    with a traceback (the environment's lists were read as JSON only, whatever the docs)."""
    monkeypatch.setenv("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", written)
    monkeypatch.setenv("LEDGER_REMINDER_OFFSETS_DAYS", written.replace("0.5", "14"))
    settings = Settings()
    assert settings.webhook_retry_schedule_s == [0.5, 1.0, 2.0]
    assert settings.reminder_offsets_days == [14, 1, 2]


@pytest.mark.parametrize(
    ("name", "written", "said"),
    [
        ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "5,-1", " (item 2): Input should be greater than 0"),
        ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "0", " (item 1): Input should be greater than 0"),
        ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "nan", " (item 1): Input should be a finite number"),
        ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "", ": empty: give the values"),
        ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", ",", ": a value is missing between commas"),
        ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "5,,60", ": a value is missing between commas"),
        ("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "[", ": a JSON list that does not close"),
        ("LEDGER_REMINDER_OFFSETS_DAYS", "", ": empty: give the values, comma-separated"),
        ("LEDGER_REMINDER_OFFSETS_DAYS", "7,-3", " (item 2): Input should be greater than or"),
        ("LEDGER_WEBHOOK_DISABLE_AFTER_S", "inf", ": Input should be a finite number"),
        ("LEDGER_WEBHOOK_TIMEOUT_S", "infinity", ": Input should be a finite number"),
    ],
)
def test_a_wait_that_is_not_one_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, written: str, said: str
) -> None:
    """A trial: an empty or negative retry schedule was taken without a word (an empty one
    dead-lettered every delivery at its first failure), and `inf` passed `gt=0`, then
    overflowed the first date it was added to; a second trial: `,` and `[` were taken as
    none, `5,,60` as `[5, 60]`. `[]` still says "no retries"."""
    monkeypatch.setenv(name, written)
    with pytest.raises(ValidationError) as refused:
        Settings()
    problem = settings_problem(refused.value)
    assert problem is not None and problem.startswith(name + said), problem


def test_an_empty_json_list_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_WEBHOOK_RETRY_SCHEDULE_S", "[]")
    monkeypatch.setenv("LEDGER_REMINDER_OFFSETS_DAYS", "[]")
    settings = Settings()
    assert settings.webhook_retry_schedule_s == [] and settings.reminder_offsets_days == []


@pytest.mark.parametrize(
    ("name", "written", "said"),
    [
        ("LEDGER_RPC_URL", "not-a-url", ": a node's JSON-RPC URL: http(s)://host"),
        ("LEDGER_RPC_URL", "ftp://x", ": a node's JSON-RPC URL: http(s)://host"),
        ("LEDGER_RPC_URL", "http://", ": a node's JSON-RPC URL: http(s)://host"),
        ("LEDGER_DATABASE_URL", "mysql://x", ": the mysql database is not supported"),
        ("LEDGER_DATABASE_URL", "nonsense", ": not a database URL: sqlite:///path"),
        # a second trial: passed the check, then a traceback or a 500 at the first use
        ("LEDGER_RPC_URL", "http://127.0.0.1:abc", ": a node's JSON-RPC URL: http(s)://host"),
        ("LEDGER_RPC_URL", "http://127.0.0.1:99999", ": a node's JSON-RPC URL: http(s)://host"),
        ("LEDGER_DATABASE_URL", "sqlite://", ": a SQLite database file: sqlite:///path"),
        ("LEDGER_DATABASE_URL", "sqlite:///:memory:", ": a SQLite database file: sqlite:///path"),
        ("LEDGER_DATABASE_URL", "sqlite:////", ": a SQLite database file: sqlite:///path"),
    ],
)
def test_a_node_or_database_url_that_is_not_one_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, written: str, said: str
) -> None:
    """A new user's trial: `not-a-url` and `ftp://x` for the node were taken (the gateway ran
    with an unhealthy chain and no word), and a MySQL or unparsable database URL stopped every
    command with a traceback. Each is now one line naming the variable."""
    monkeypatch.setenv(name, written)
    with pytest.raises(ValidationError) as refused:
        Settings()
    problem = settings_problem(refused.value)
    assert problem is not None and problem.startswith(name + said), problem


def test_a_postgresql_url_without_its_driver_means_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    for written in (
        "postgresql://u:p%40ss@db.example:5433/ledger",
        "postgres://u:p%40ss@db.example:5433/ledger",
    ):
        monkeypatch.setenv("LEDGER_DATABASE_URL", written)
        assert Settings().database_url == "postgresql+psycopg://u:p%40ss@db.example:5433/ledger"
    monkeypatch.setenv("LEDGER_DATABASE_URL", "sqlite:////tmp/x/ledger.db")
    assert Settings().database_url == "sqlite:////tmp/x/ledger.db"
    monkeypatch.setenv("LEDGER_RPC_URL", " https://rpc.example/v1/key ")
    assert Settings().rpc_url == "https://rpc.example/v1/key"


def test_a_database_password_is_shown_as_stars() -> None:
    """The CLI's first line, `ledger info` and `make run`'s banner show the database URL; a
    new user's trial saw its PostgreSQL password there in clear."""
    url = "postgresql+psycopg://ledger:s3cret@db.example:5432/ledger"
    assert shown_url(url) == "postgresql+psycopg://ledger:***@db.example:5432/ledger"
    assert shown_url("sqlite:////tmp/ledger.db") == "sqlite:////tmp/ledger.db"


def test_a_misspelled_variable_is_named_with_the_setting_it_meant(tmp_path: Path) -> None:
    """A new operator's `LEDGER_DATABSE_URL` was ignored in silence (the settings ignore the
    variables they have no field for) and the gateway ran on its default SQLite file. Each
    `LEDGER_*` variable no setting and no tool reads is named, from the environment and from
    `.env`, with the nearest setting; the other prefixes and the tools' own are not."""
    env_file = tmp_path / ".env"
    env_file.write_text("LEDGER_RPC_URLS=http://127.0.0.1:8545\nOTHER=1\n")
    names = environment_names(
        {"LEDGER_DATABSE_URL": "x", "ledger_port": "1", "LEDGER_DEPLOYER_KEY": "k", "HOME": "/"},
        env_file,
    )
    assert unread_variables(names) == [
        "LEDGER_DATABSE_URL is not a setting (did you mean LEDGER_DATABASE_URL?): ignored",
        "LEDGER_RPC_URLS is not a setting (did you mean LEDGER_RPC_URL?): ignored",
    ]
    # a tool's variable is the nearer: `LEDGER_PORT` would move the gateway (a trial)
    assert unread_variables(["LEDGER_CHAINPORT"]) == [
        "LEDGER_CHAINPORT is not a setting (did you mean LEDGER_CHAIN_PORT?): ignored"
    ]
    assert unread_variables(["LEDGER_MY_OWN_THING"]) == [
        "LEDGER_MY_OWN_THING is not a setting: ignored"
    ]
    assert environment_names({}, tmp_path / "none") == set()


def test_every_variable_the_tools_read_is_known() -> None:
    """The variables tools/, scripts/, the Makefile and the CI script read are not called
    misspelled: each is a setting or one of `OTHER_VARIABLES`."""
    root = Path(__file__).resolve().parents[2]
    read: set[str] = set()
    for path in [*root.glob("tools/*"), *root.glob("scripts/*.py"), root / "Makefile"]:
        if path.is_file() and path.suffix in {".sh", ".py", ""}:
            read |= set(re.findall(r"\bLEDGER_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert len(read) > 20, read
    assert unread_variables(read) == []


def test_every_setting_is_in_the_configuration_table() -> None:
    """A trial's operator found `LEDGER_RPC_TIMEOUT_S`, `LEDGER_PRIORITY_FEE_WEI`,
    `LEDGER_MAX_OP_ATTEMPTS` and a dozen more in no table: each setting's variable now has its
    row in docs/gateway.md's configuration table (a row may name several, related ones;
    `_BURST` after `LEDGER_X_PER_S` is `LEDGER_X_BURST`)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "gateway.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    named: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `LEDGER_"):
            continue
        names = re.findall(r"`(LEDGER_[A-Z0-9_]+|_[A-Z0-9_]+)`", row)
        named |= {
            n if n.startswith("LEDGER_") else names[0].removesuffix("_PER_S") + n for n in names
        }
    missing = {f"LEDGER_{name.upper()}" for name in Settings.model_fields} - named
    assert len(named) > 60, named
    assert missing == set(), sorted(missing)
