"""Gateway configuration: one validated `Settings`, read from `LEDGER_*` variables.

Outside development the settings refuse to start with an insecure default: a
missing keystore passphrase, the public development admin key, or a weak admin
API key. Production needs no admin signing key: without `LEDGER_ADMIN_PRIVATE_KEY`
the alliance admin is an outside account (a multisig) and admin operations answer
with the transaction it executes (`background.multisig`); the gateway then runs
with brand keys only. In development the well-known anvil account #0 key is used so that `make run`
works on a fresh machine (public knowledge: it must never guard real value), and
without `LEDGER_KEY_PASSPHRASE` the keystore passphrase is the data folder's own,
random, generated at the first start (`db.files.folder_passphrase`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

log = logging.getLogger(__name__)

#: a secp256k1 private key as the settings take it
_PRIVATE_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
#: one wait of the webhook retry schedule, in seconds
RetryDelay = Annotated[float, Field(gt=0, le=30 * 86_400)]


def _node_url(value: str) -> str:
    """An http(s) URL with a host and a port from 1 to 65535, if any (the chain port speaks
    JSON-RPC over HTTP): `not-a-url`, `ftp://x` and `:abc` were taken, and the gateway then
    ran with an unhealthy chain, or answered 500 (new users' trials)."""
    parts = urlsplit(value.strip())
    try:
        port = parts.port
    except ValueError:
        port = 0
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValueError("a node's JSON-RPC URL: http(s)://host[:port][/path]")
    return value.strip()


#: a label of a host name (RFC 1123; `_` too, as container service names have it)
_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def _listen_host(value: str) -> str:
    """An IP address or a host name to listen on: `999.1.1.1` passed the settings, then
    uvicorn stopped with `[Errno -2] Name or service not known` (a trial)."""
    host = value.strip()
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host.strip("[]")))
    numeric = host.replace(".", "").isdigit()  # dotted digits are an IPv4 address or nothing
    labels = host.removesuffix(".").split(".")
    named = 0 < len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
    if numeric or not named:
        raise ValueError("an IP address (127.0.0.1, 0.0.0.0, ::) or a host name to listen on")
    return host


def shown_url(url: str) -> str:
    """A database URL as it is shown (banner, `ledger info`, the CLI's first line): its
    password as `***` (a new user's trial saw a PostgreSQL password on every command)."""
    from sqlalchemy.engine import make_url  # here: the settings load without SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def database_url(value: str) -> str:
    """`sqlite:///path` or `postgresql+psycopg://user:pass@host/db` (`postgresql://` and
    `postgres://` mean the latter): anything else stopped a command with a traceback (a
    trial: a driver not installed, or no URL at all)."""
    from sqlalchemy.engine import make_url  # here: the settings load without SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    text = value.strip()
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError("not a database URL: sqlite:///path or postgresql+psycopg://...") from None
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if url.drivername not in ("sqlite", "postgresql+psycopg"):
        raise ValueError(
            f"the {url.drivername} database is not supported: sqlite:///path or "
            "postgresql+psycopg://user:pass@host/db"
        )
    file = url.database or ""
    if url.drivername == "sqlite" and (file in ("", ":memory:") or file.endswith("/")):
        # in memory, or a folder: a traceback at the first use (a trial)
        raise ValueError("a SQLite database file: sqlite:///path/to/ledger.db")
    return text


NodeUrl = Annotated[str, AfterValidator(_node_url)]
DatabaseUrl = Annotated[str, AfterValidator(database_url)]
#: anvil's first development account: public, for local chains only.
DEV_ADMIN_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#: the passphrase earlier versions used in development; published, so keystores sealed with it
#: are re-encrypted at start (`access.sealing.reseal_keystores`) and production refuses it.
DEV_KEY_PASSPHRASE = "development-only-passphrase"
MIN_SECRET_LENGTH = 24


class Settings(BaseSettings):
    """Everything the gateway reads from its environment (prefix `LEDGER_`)."""

    # no `inf`/`nan` durations: `LEDGER_WEBHOOK_DISABLE_AFTER_S=inf` passed `gt=0`, then
    # overflowed the first date it was added to
    model_config = SettingsConfigDict(
        env_prefix="LEDGER_", env_file=".env", extra="ignore", allow_inf_nan=False
    )

    env: Literal["development", "production"] = "development"

    # HTTP
    host: Annotated[str, AfterValidator(_listen_host)] = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=32)
    access_log: bool = True
    log_format: Literal["text", "json"] = "text"  # `process.logs`: uvicorn's lines included

    # Storage and chain
    database_url: DatabaseUrl = "sqlite:///data/ledger.db"
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "FULL"
    # Short SQLite reads (balances, statuses, the cross-process poll) run on the event loop:
    # a local WAL read takes about half a millisecond and never waits for a writer, while a
    # hop to a worker thread and back costs two GIL hand-offs under load. PostgreSQL reads
    # (network round trips) always go to worker threads.
    sqlite_inline_reads: bool = True
    rpc_url: NodeUrl = "http://127.0.0.1:8545"
    rpc_timeout_s: float = Field(default=10.0, gt=0)
    manifest: Path = Path("data/deployment.json")

    # Secrets
    key_passphrase: SecretStr | None = None
    admin_private_key: SecretStr | None = None
    admin_api_key: SecretStr | None = None
    keystore_kdf_iterations: int = Field(default=200_000, ge=1)

    # Sender
    sender_enabled: bool = True
    # `ledger serve` runs the sender and the indexer in a process of their own beside the
    # HTTP server (one more core for the HTTP path; wake-ups cross by polling every 20 ms).
    sender_process: bool = False
    # How often a process polls the database for what another process did: new operations
    # (the sender), settled operations and the index height (waiting HTTP requests).
    cross_process_poll_s: float = Field(default=0.01, gt=0)
    # Wake-ups between processes (`background.wakeup`): Unix sockets in this folder (`ledger
    # serve` makes one and hands it to its children), LISTEN/NOTIFY on PostgreSQL. With them,
    # an idle consumer (a signer, the sender's supervisor, a waiting request's notifier)
    # only re-checks every `wake_safety_poll_s`, in case a wake-up was lost.
    wake_dir: Path | None = None
    wake_safety_poll_s: float = Field(default=5.0, gt=0)
    batch_max_ops: int = Field(default=200, ge=1, le=2000)
    # Transactions a signer keeps in flight, sent and not yet final. A bulk import keeps the
    # window full: its operations in flight are this times `batch_max_ops`, and each round
    # trip waits for a block. Issue 15, `make bench --phases bulk` (100 ms blocks, 200 per
    # transaction): 2,224 confirmed/s at 4, 2,813 at 8, 3,378 at 16, 3,486 at 32 (then the
    # process's CPU bounds it); single earns 1,334 / 1,263 at 4, 1,374 / 1,299 at 16. 16 is
    # also what a geth node guarantees an account in its pool (`txpool.accountslots`).
    inflight_window: int = Field(default=16, ge=1, le=64)
    # Under load, a signer waits this long after its previous transaction so the next one is
    # fuller. Issue 15: 0.05 s cost more than it batched. On the bench's 100 ms blocks, four
    # interleaved runs each: confirmation p50 188 / 150 / 139 / 194 ms at 0.05, 131 / 126 /
    # 129 / 129 at 0.02; p99 320 / 243 / 232 / 322, then 223 / 206 / 235 / 253; single earns
    # 936 / 1,098 / 1,079 / 997 confirmed/s, then 1,368 / 1,496 / 1,005 / 1,264; gas per
    # batched earn 24,900 -> 25,500 (29 earns per transaction instead of 48).
    batch_linger_s: float = Field(default=0.02, ge=0)
    # On a chain that seals blocks at a steady pace between these bounds (a dev chain, a fast
    # L2), send one batch per block just before the block is due instead of lingering: with
    # blocks much longer than the linger, lingering sends many small transactions per block.
    # Faster blocks are batched well by the linger, which adds less latency.
    block_align: bool = True
    block_align_min_interval_s: float = Field(default=0.5, ge=0)
    block_align_max_interval_s: float = Field(default=2.0, gt=0)
    block_send_guard_s: float = Field(default=0.03, ge=0)
    poll_interval_s: float = Field(default=0.01, gt=0)
    idle_poll_s: float = Field(default=0.25, gt=0)
    confirmations: int = Field(default=0, ge=0)
    gas_margin_pct: int = Field(default=25, ge=0, le=400)
    max_tx_gas: int = Field(default=15_000_000, ge=100_000)
    priority_fee_wei: int | None = Field(default=None, ge=0)
    stuck_after_s: float = Field(default=30.0, gt=0)
    max_op_attempts: int = Field(default=5, ge=1)
    backoff_max_s: float = Field(default=5.0, gt=0)
    foreign_nonce_scan_blocks: int = Field(default=256, ge=0)
    #: how often each signer checks that the block of its newest confirmed transaction is
    #: still on the chain (a node restarted from an older snapshot, a deep reorg)
    chain_check_s: float = Field(default=1.0, gt=0)
    #: the same check while the signer is idle (nothing in flight, nothing queued): a signer
    #: woken by new operations checks first when `chain_check_s` has passed, and the indexer,
    #: which checks its own last block at every chunk, makes every signer check at once when
    #: that block left the chain; this slower pace is the backstop (issue 15: an idle gateway
    #: of 20 brands spent most of its CPU on one block read per signer every 5 s)
    chain_check_idle_s: float = Field(default=30.0, gt=0)
    node_lag_patience_s: float = Field(default=30.0, ge=0)  # a node behind: `chain.lag`
    fund_signers_wei: int | None = Field(default=None, ge=0)
    #: PostgreSQL: how often a process's sender counts the live senders and claims its share
    #: of the signers (a dead process's signers move within about this long)
    signer_claim_s: float = Field(default=1.0, gt=0)

    # Indexer
    indexer_enabled: bool = True
    indexer_chunk_blocks: int = Field(default=2_000, ge=1)
    index_poll_s: float = Field(default=0.1, gt=0)
    # after polls that found no new block, the indexer waits longer, up to this (the sender
    # wakes it when one of its transactions is mined)
    index_idle_poll_s: float = Field(default=2.0, gt=0)

    # Intake and limits
    intake_max_batch: int = Field(default=500, ge=1)
    rate_limit_per_s: float = Field(default=100.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    wait_max_s: float = Field(default=30.0, gt=0)
    # per client address, before authentication (requests without a key or with a bad one too)
    address_rate_limit_per_s: float = Field(default=200.0, gt=0)
    address_rate_limit_burst: int = Field(default=400, ge=1)
    max_active_keys_per_brand: int = Field(default=5, ge=1, le=100)
    #: /v1/health: how long the database's write probe may take before the database
    #: counts as failing, and how long a probe's result is reused
    health_db_timeout_s: float = Field(default=2.0, gt=0)
    health_probe_max_age_s: float = Field(default=1.0, ge=0)
    signature_ttl_s: int = Field(default=3_600, ge=60)
    # What one request may cost, checked before any parsing or authentication (413, 400)
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    max_json_depth: int = Field(default=32, ge=2, le=200)
    # The latest deadline a member may sign for, from now (422 invalid_deadline beyond)
    max_deadline_ahead_s: int = Field(default=30 * 86_400, ge=60)

    _folder_passphrase: str | None = PrivateAttr(default=None)

    # Quarterly tier reviews (issue 10, `background.reviews`): members per `reviewTiers`
    # batch, and how often the process holding the sender lock looks for a new quarter
    tier_reviews: bool = True
    tier_review_batch: int = Field(default=100, ge=1, le=1_000)
    tier_review_poll_s: float = Field(default=30.0, gt=0)
    # how often due referrals are credited (issue 16, `background.campaigns`)
    campaign_referral_poll_s: float = Field(default=2.0, gt=0)

    # Webhooks, the event outbox and reminders (issue 12)
    webhooks_enabled: bool = True
    # `points.expiring` reminders, days before a lot expires (one per lot and offset)
    reminder_offsets_days: Annotated[list[Annotated[int, Field(ge=0, le=365)]], NoDecode] = Field(
        default_factory=lambda: [30, 7]
    )
    reminder_poll_s: float = Field(default=60.0, gt=0)
    # seconds between a failed attempt and the next (then dead-lettered): about 24 h in all;
    # each more than 0 and at most 30 days (a negative one was taken without a word); `[]`:
    # dead-lettered at the first failure
    webhook_retry_schedule_s: Annotated[list[RetryDelay], NoDecode] = Field(
        default_factory=lambda: (
            [5.0, 60.0, 300.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0] + [28800.0]
        )
    )
    webhook_retry_jitter: float = Field(default=0.2, ge=0, le=1)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_concurrency_per_endpoint: int = Field(default=4, ge=1, le=64)
    webhook_concurrency_per_owner: int = Field(default=8, ge=1, le=512)
    webhook_workers: int = Field(default=32, ge=1, le=512)
    webhook_poll_s: float = Field(default=0.5, gt=0)
    #: with nothing to fan out or deliver, the deliverer waits up to this long (or until the
    #: next retry is due); new events wake it (`Runtime.wake_webhooks`), this is the safety poll
    webhook_idle_poll_s: float = Field(default=5.0, gt=0)
    # a claimed delivery belongs to its process this long (then another may take it)
    webhook_lease_s: float = Field(default=60.0, gt=0)
    # an endpoint failing without a success for this long is disabled
    webhook_disable_after_s: float = Field(default=86_400.0, gt=0)
    webhook_allow_private: bool = False
    # loopback targets: default allowed in development only
    webhook_allow_loopback: bool | None = None

    @field_validator("admin_private_key", mode="before")
    @classmethod
    def _a_private_key(cls, value: object) -> object:
        """32 bytes in hex (`0x` optional), or empty (none): a key that is not one stopped the
        sender's start with a traceback while the gateway answered healthy (a new user's
        trial). The value is never repeated in the error (`settings_problem`)."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text == "":
            return None
        if isinstance(text, str) and not _PRIVATE_KEY.fullmatch(text.strip()):
            raise ValueError("not a private key: 64 hex digits, with or without 0x")
        return value

    @field_validator("reminder_offsets_days", "webhook_retry_schedule_s", mode="before")
    @classmethod
    def _list_from_text(cls, value: object) -> object:
        """`[30, 7]` (JSON) or `30,7`, from the environment as written (`NoDecode`: the
        environment's lists were read as JSON only, and `0.5,1` stopped every command). An
        empty value is refused (it had meant "none" without a word): `[]` says none."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                with contextlib.suppress(ValueError):
                    return json.loads(text)  # `[]`: none; `["5"]` as `[5]`
                if not text.endswith("]"):
                    raise ValueError("a JSON list that does not close: [5, 60, 300]")
                text = text[1:-1].strip()
            elif not text:
                raise ValueError("empty: give the values, comma-separated, or [] for none")
            parts = [part.strip() for part in text.split(",")]
            if "" in parts:  # `5,,60`, `,` or `[`: not a list of values
                raise ValueError("a value is missing between commas (or [] for none)")
            return parts
        return value

    @property
    def webhook_loopback_allowed(self) -> bool:
        if self.webhook_allow_loopback is not None:
            return self.webhook_allow_loopback
        return self.is_development

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    def sender_idle_poll_s(self) -> float:
        """How long an idle signer that no wake-up reaches sleeps: the cross-process poll
        (one reached by every process that accepts operations sleeps until woken:
        `SignerWorker._sleep_s`)."""
        alone = self.workers == 1 and not self.sender_process and self.is_sqlite
        return self.idle_poll_s if alone else min(self.idle_poll_s, self.cross_process_poll_s)

    @property
    def admin_signs(self) -> bool:
        """True when the gateway holds the admin key; False: the admin is a multisig and
        admin operations answer with the transaction to execute (`background.multisig`)."""
        return self.admin_private_key is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def signer_funding_wei(self) -> int:
        """Gas money the admin sends a new brand signer (dev chains only by default)."""
        if self.fund_signers_wei is not None:
            return self.fund_signers_wei
        return 100 * 10**18 if self.is_development else 0

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Self:
        if self.is_development:
            if self.admin_private_key is None:
                self.admin_private_key = SecretStr(DEV_ADMIN_PRIVATE_KEY)
            return self
        problems: list[str] = []
        if self.key_passphrase is None or len(self.key_passphrase.get_secret_value()) < 12:
            problems.append("LEDGER_KEY_PASSPHRASE is missing or shorter than 12 characters")
        elif self.key_passphrase.get_secret_value() == DEV_KEY_PASSPHRASE:
            problems.append("LEDGER_KEY_PASSPHRASE is the development passphrase")
        if (
            self.admin_private_key is not None
            and self.admin_private_key.get_secret_value().lower() == DEV_ADMIN_PRIVATE_KEY
        ):
            problems.append("LEDGER_ADMIN_PRIVATE_KEY is the public anvil development key")
        if (
            self.admin_api_key is not None
            and len(self.admin_api_key.get_secret_value()) < MIN_SECRET_LENGTH
        ):
            problems.append(f"LEDGER_ADMIN_API_KEY is shorter than {MIN_SECRET_LENGTH} characters")
        if problems:
            raise ValueError(f"insecure settings for env={self.env}: " + "; ".join(problems))
        return self

    @property
    def data_folder(self) -> Path:
        """The folder of the SQLite database file, links resolved (`db.files.sqlite_path`:
        every spelling of the database's path finds the same passphrase), else of the
        manifest: see `db.files`."""
        if self.is_sqlite:
            from ledger_api.db.files import sqlite_path

            database = sqlite_path(self.database_url)
            if database is not None:
                return database.parent
        return self.manifest.parent

    @property
    def _spelled_data_folder(self) -> Path | None:
        """The folder the database URL names before links are resolved, where versions before
        2026-12-03 kept the generated passphrase; None when it is the data folder."""
        if not self.is_sqlite:
            return None
        from sqlalchemy.engine import make_url

        database = make_url(self.database_url).database
        if not database or database.startswith("file:"):
            return None
        folder = Path(os.path.abspath(database)).parent
        return folder if folder.resolve() != self.data_folder else None

    def passphrase(self) -> str:
        """`LEDGER_KEY_PASSPHRASE`, else (development) the data folder's generated one."""
        if self.key_passphrase is not None:
            return self.key_passphrase.get_secret_value()
        if self._folder_passphrase is None:
            from ledger_api.db.files import folder_passphrase

            self._folder_passphrase = folder_passphrase(
                self.data_folder, earlier=self._spelled_data_folder
            )
        return self._folder_passphrase


def settings_problem(error: BaseException) -> str | None:
    """What is wrong with the settings, in one line naming each variable (`LEDGER_PORT: ...`),
    when `error` is the settings' refusal; None for any other error. Values are not echoed:
    a refused one may be a secret."""
    if isinstance(error, SettingsError):  # a value its source could not decode
        found = re.search(r'field "(\w+)"', str(error))
        name = f"LEDGER_{found.group(1).upper()}: " if found else ""
        return f"{name}{str(error).split(' from source')[0]}"
    if isinstance(error, ValidationError) and error.title == Settings.__name__:
        return "; ".join(
            _variable(e["loc"]) + e["msg"].removeprefix("Value error, ") for e in error.errors()
        )
    return None


def _variable(loc: tuple[int | str, ...]) -> str:
    """`LEDGER_PORT: `, `LEDGER_WEBHOOK_RETRY_SCHEDULE_S (item 2): `; empty for the settings
    as a whole (a rule across several)."""
    if not loc:
        return ""
    items = "".join(f" (item {part + 1})" for part in loc[1:] if isinstance(part, int))
    return f"LEDGER_{str(loc[0]).upper()}{items}: "


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
