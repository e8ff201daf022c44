"""`ledger`: the operator's command line (Typer + Rich).

    ledger serve | work                 the gateway (HTTP, sender and indexer) | only the workers
    ledger db upgrade                   apply the database migrations
    ledger info                         the settings in use: database, chain, gateway (and health)
    ledger brand add NAME [...]         onboard a brand (waits for the chain); its API key once
    ledger brand list | show BRAND      brands; one brand with its liability and keys
    ledger liability [BRAND]            issued, redeemed, expired, outstanding per brand
    ledger positions                    net positions between brands
    ledger key list|rotate|revoke       API keys
    ledger admin-key create             a new admin API key, printed once
    ledger webhooks [BRAND]             webhook endpoints
    ledger member erase ADDRESS         erase a member's off-chain data (GDPR/CCPA)

It reads the same `LEDGER_*` settings as `make run` (`./ledger` sources its defaults: data
folder, chain port, gateway host and port) and prints on stderr which database, chain and
gateway it works with. `--help` and `--version` import nothing heavy: each command imports
what it needs (`ledger_api.cli_ops`) when it runs.

`brand add` stores the brand and its operations, then waits until the chain confirms them
(a spinner with the operation's state): when a gateway is running it does the sending;
otherwise this command runs the admin sender itself until the brand is onboarded.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledger_api import __version__

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="ledger",
    help="The alliance ledger's operator command line.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
brand_app = typer.Typer(help="Brands: add, list, show.", no_args_is_help=True)
key_app = typer.Typer(help="API keys: list, rotate, revoke.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
admin_key_app = typer.Typer(help="Admin API keys.", no_args_is_help=True)
member_app = typer.Typer(help="Members: erase a member's off-chain data.", no_args_is_help=True)
app.add_typer(brand_app, name="brand")
app.add_typer(key_app, name="key")
app.add_typer(db_app, name="db")
app.add_typer(admin_key_app, name="admin-key")
app.add_typer(member_app, name="member")

JsonOption = Annotated[
    bool | None,
    typer.Option("--json/--table", help="JSON lines (default when stdout is not a terminal)"),
]
BrandArg = Annotated[str, typer.Argument(help="the brand's name or ledger id")]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _where() -> None:
    """One line on stderr: the database, chain and gateway these settings name."""
    from ledger_api.settings import get_settings, shown_url

    settings = get_settings()
    print(
        f"ledger: database {shown_url(settings.database_url)} · chain {settings.rpc_url} · "
        f"gateway http://{settings.host}:{settings.port}",
        file=sys.stderr,
    )
    _say_unread()


def _say_unread() -> None:
    """A line on stderr per `LEDGER_*` variable no setting reads (a misspelled one)."""
    from ledger_api.settings_names import environment_names, unread_variables

    for line in unread_variables(environment_names()):
        print(f"ledger: {line}", file=sys.stderr)


def _as_json(flag: bool | None) -> bool:
    return not sys.stdout.isatty() if flag is None else flag


def _table(rows: list[dict[str, Any]], columns: Sequence[str], title: str, as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    if not rows:
        table.caption = "none"  # as JSON Lines (piped), nothing at all
    _console().print(table)


def _version(value: bool) -> None:
    if value:
        print(f"ledger {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """The alliance ledger's operator command line (settings: `LEDGER_*`, as `make run`)."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default LEDGER_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default LEDGER_PORT")] = None,
    log_level: str = "info",
) -> None:
    """Run the gateway (uvicorn; with LEDGER_SENDER_PROCESS, `ledger work` beside it)."""
    from ledger_api.process import supervision
    from ledger_api.settings import get_settings

    supervision.serve(get_settings(), host, port, log_level)


@app.command()
def work() -> None:
    """Run only the sender and the indexer; a status line (JSON) on stdout every second."""
    from ledger_api.process import supervision
    from ledger_api.settings import get_settings

    raise typer.Exit(supervision.run_work(get_settings()))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations; says from which revision to which."""
    from ledger_api.db.migrate import stored_revision
    from ledger_api.process.runtime import Runtime
    from ledger_api.settings import get_settings

    _where()
    rt = Runtime(get_settings())
    before = stored_revision(rt.db)
    rt.migrate()
    after = stored_revision(rt.db)
    if before == after:
        print(f"database schema is up to date (revision {after})")
    else:
        print(f"database schema migrated from revision {before or '(none: new)'} to {after}")


@db_app.command("copy")
def db_copy(
    to: Annotated[str, typer.Option("--to", help="SQLAlchemy URL of the empty target")],
) -> None:
    """Copy this gateway's database (`LEDGER_DATABASE_URL`) into an empty one (e.g. PostgreSQL)."""
    from ledger_api import cli_ops
    from ledger_api.db.copy import TargetNotEmpty
    from ledger_api.settings import database_url, get_settings, shown_url

    _where()
    try:  # as LEDGER_DATABASE_URL is checked (a trial: a traceback for `--to mysql://x`)
        to = database_url(to)
    except ValueError as refused:
        raise SystemExit(f"error: invalid_request: --to: {refused}") from None
    url = get_settings().database_url
    cli_ops.require_database(url)  # it made an empty one, then failed (a trial)
    try:
        counts = cli_ops.copy_into(url, to)
    except TargetNotEmpty as exc:
        print(f"error: target_not_empty: {exc}", file=sys.stderr)  # as every refusal says
        raise typer.Exit(1) from exc
    for table, rows in counts.items():
        print(f"{table}: {rows} rows")
    print(f"copied {sum(counts.values())} rows; now set LEDGER_DATABASE_URL={shown_url(to)}")
    print(cli_ops.carry_passphrase(to))


@app.command()
def info() -> None:
    """The settings in use and, when the gateway answers, its health."""
    import httpx

    from ledger_api.settings import get_settings, shown_url

    settings = get_settings()
    _say_unread()
    gateway = f"http://{settings.host}:{settings.port}"
    try:
        health = httpx.get(f"{gateway}/v1/health", timeout=3).json().get("status", "?")
    except (httpx.HTTPError, ValueError):
        health = "not answering"
    rows = [
        {"what": "database", "where": shown_url(settings.database_url)},
        {"what": "chain", "where": settings.rpc_url},
        {"what": "contracts", "where": str(settings.manifest)},
        {"what": "gateway", "where": f"{gateway} ({health})"},
        {"what": "OpenAPI", "where": f"{gateway}/docs"},
    ]
    _table(rows, ["what", "where"], f"ledger {__version__}", as_json=False)


@brand_app.command("add")
def brand_add(
    name: str,
    symbol: Annotated[str | None, typer.Option(help="default: the name's letters")] = None,
    value_micro_usd: int = 10_000,
    points_per_usd: int = 10,
    points_per_review: int = 5,
    points_per_share: int = 3,
    points_per_event: int = 10,
    points_per_referral: int = 20,
    daily_cap: Annotated[
        int | None,
        typer.Option(
            help="points per UTC day; 0 stops its earning until raised "
            "[default: the chain's 100,000,000]"
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the chain")] = 60.0,
    as_json: JsonOption = None,
) -> None:
    """Onboard a brand on chain and print its API key once (piped: one JSON object with
    `name`, `brand_id`, `signer` and `api_key`)."""
    from ledger_api import cli_ops
    from ledger_api.model import admin_schemas

    request = admin_schemas.BrandCreateRequest(  # refused arguments: one line, before anything
        name=name,
        symbol=symbol or admin_schemas.symbol_of(name),
        value_micro_usd=value_micro_usd,
        earn_rule=admin_schemas.EarnRuleModel(
            points_per_usd=points_per_usd,
            points_per_review=points_per_review,
            points_per_share=points_per_share,
            points_per_event=points_per_event,
            points_per_referral=points_per_referral,
        ),
        daily_cap_points=daily_cap,
    )
    _where()
    err = _console(stderr=True)
    with err.status(f"onboarding {name!r} on chain ...", spinner="dots") as status:

        def progress(state: str, waited: float) -> None:
            status.update(f"onboarding {name!r} on chain: {state} ({waited:.1f} s)")

        result = cli_ops.add_brand(request, timeout, progress)
    if not result["ok"]:
        _not_onboarded_yet(name, result, err, _as_json(as_json))
        # a multisig admin's onboarding is queued for the multisig: done here, not timed out
        awaits_multisig = result["admin_transaction"] is not None and result["state"] == "queued"
        raise typer.Exit(0 if awaits_multisig else 1)
    if _as_json(as_json):
        shown = {k: result[k] for k in ("brand_id", "signer", "api_key")}
        print(json.dumps({"name": name, **shown}))
        return
    print(f"brand {name!r} onboarded: brand_id={result['brand_id']} signer={result['signer']}")
    print(f"API key (shown once, keep it secret): {result['api_key']}")


def _not_onboarded_yet(name: str, result: dict[str, Any], err: Console, piped: bool) -> None:
    """A brand whose onboarding did not land within the wait: its state, and while it may
    still land, its API key (shown once: a trial's timeout lost it, and the name was taken),
    its operation and a multisig admin's transaction to execute."""
    error = f" ({result['error']})" if result["error"] else ""
    awaits = " for the multisig to execute" if result["admin_transaction"] is not None else ""
    err.print(f"brand {name!r} stored, onboarding {result['state']}{awaits}{error}")
    if result["state"] == "failed":
        return  # its key is revoked and its name freed (`domain.brands`)
    shown = {k: result[k] for k in ("state", "operation_id", "signer", "api_key")}
    for later in ("admin_transaction", "daily_cap_operation_id"):
        if result.get(later) is not None:
            shown[later] = result[later]
    if piped:
        print(json.dumps({"name": name, **shown}))
        return
    print(f"operation {result['operation_id']} (GET /v1/operations/{result['operation_id']})")
    if result["admin_transaction"] is not None:
        print(f"for the multisig to execute: {json.dumps(result['admin_transaction'])}")
    if (cap := result.get("daily_cap_operation_id")) is not None:  # queued once it lands
        print(f"then the daily cap: operation {cap}, whose `admin_transaction` GET shows")
    print(f"API key (shown once, keep it secret; it works once onboarded): {result['api_key']}")


@brand_app.command("list")
def brand_list(as_json: JsonOption = None) -> None:
    """All brands."""
    from ledger_api import cli_ops

    _where()
    rows = cli_ops.list_brands()
    columns = ["brand_id", "name", "symbol", "status", "value_micro_usd", "daily_cap_points"]
    _table(rows, columns, "brands", _as_json(as_json))


@brand_app.command("show")
def brand_show(brand: BrandArg, as_json: JsonOption = None) -> None:
    """One brand: its settings, liability (from the index) and API keys."""
    from ledger_api import cli_ops

    _where()
    shown = cli_ops.show_brand(brand)
    if _as_json(as_json):
        print(json.dumps(shown))
        return
    facts = {k: _cell(v) for k, v in shown.items() if k not in ("liability", "keys")}
    title = f"{shown['name']} (brand {shown['brand_id']})"  # not the argument: "1" (a trial)
    _table([{"field": k, "value": v} for k, v in facts.items()], ["field", "value"], title, False)
    _table([shown["liability"] or {}], _LIABILITY, "liability (points)", False)
    _table(shown["keys"], _KEYS, "API keys", False)


def _cell(value: Any) -> Any:
    """A nested value (the earn rule) as `name value` pairs, not a Python dict (a trial)."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return value


#: issued = redeemed + expired + reversed + outstanding; pending is part of outstanding (a
#: trial's table left reversed out and did not add up)
_LIABILITY = ["brand_id", "issued", "redeemed", "expired", "reversed", "outstanding", "pending"]
_KEYS = ["prefix", "brand", "admin", "label", "created_at", "revoked_at"]


@app.command()
def liability(
    brand: Annotated[str | None, typer.Argument(help="one brand (name or id)")] = None,
    as_json: JsonOption = None,
) -> None:
    """Issued, redeemed, expired, reversed and outstanding (of it pending) points per brand,
    from the index."""
    from ledger_api import cli_ops

    _where()
    rows = cli_ops.liabilities(brand)
    _table(rows, [*_LIABILITY, "outstanding_value_micro_usd"], "liability", _as_json(as_json))


@app.command()
def positions(as_json: JsonOption = None) -> None:
    """Net positions between brands (micro-USD): what each debtor owes each creditor."""
    from ledger_api import cli_ops

    _where()
    found = cli_ops.positions()
    columns = ["debtor_brand_id", "creditor_brand_id", "amount_micro_usd"]
    _table(found["positions"], columns, "settlement positions", _as_json(as_json))


@key_app.command("list")
def key_list(
    brand: Annotated[str | None, typer.Argument(help="one brand (name or id)")] = None,
    as_json: JsonOption = None,
) -> None:
    """API keys (prefixes, never the secrets)."""
    from ledger_api import cli_ops

    _where()
    _table(cli_ops.list_keys(brand), _KEYS, "API keys", _as_json(as_json))


@key_app.command("rotate")
def key_rotate(brand: BrandArg, keep_old: bool = False, as_json: JsonOption = None) -> None:
    """A new API key for a brand (its old ones revoked unless --keep-old)."""
    from ledger_api import cli_ops

    _where()
    body = cli_ops.rotate_key(brand, keep_old)
    if _as_json(as_json):
        print(json.dumps({"brand_id": body["brand_id"], "api_key": body["api_key"]}))
        return
    print(f"new API key for brand {body['brand_id']} (shown once): {body['api_key']}")


@key_app.command("revoke")
def key_revoke(prefix: str, as_json: JsonOption = None) -> None:
    """Revoke an API key by its prefix."""
    from ledger_api import cli_ops

    _where()
    cli_ops.revoke_key(prefix)
    print(json.dumps({"revoked": prefix}) if _as_json(as_json) else f"revoked {prefix}")


@admin_key_app.command("create")
def admin_key_create(as_json: JsonOption = None) -> None:
    """A new admin API key, printed once (piped: `{"api_key": ...}`)."""
    from ledger_api import cli_ops

    _where()
    key = cli_ops.create_admin_key()
    if _as_json(as_json):
        print(json.dumps({"api_key": key}))
        return
    print(f"admin API key (shown once, keep it secret): {key}")


@app.command()
def webhooks(
    brand: Annotated[str | None, typer.Argument(help="one brand (name or id)")] = None,
    as_json: JsonOption = None,
) -> None:
    """Webhook endpoints (never their secrets)."""
    from ledger_api import cli_ops

    _where()
    columns = ["id", "brand_id", "url", "event_types", "status", "created_at"]
    _table(cli_ops.webhooks(brand), columns, "webhooks", _as_json(as_json))


@member_app.command("erase")
def member_erase(
    address: Annotated[str, typer.Argument(help="the member's 0x address")],
    as_json: JsonOption = None,
) -> None:
    """Erase a member's off-chain data (birthday-week records, referrals), as `DELETE
    /v1/admin/members/{address}/profile`; prints what it erased, per kind. The ledger stays."""
    from ledger_api import cli_ops
    from ledger_api.model.schemas import checksum_address
    from ledger_api.usecases.erasure import erase_member_profile

    try:
        member = checksum_address(address)
    except ValueError as refused:
        raise SystemExit(f"error: invalid_address: {refused}") from None
    _where()
    answer = erase_member_profile(cli_ops.runtime().db, member, cli_ops.ADMIN)
    erased = answer.model_dump(mode="json")
    if _as_json(as_json):
        print(json.dumps(erased))
        return
    counts = [{"kind": k, "erased": v} for k, v in erased["erased"].items()]
    _table(counts, ["kind", "erased"], f"erased for {member}", False)


def main(argv: Sequence[str] | None = None) -> int:
    """The `ledger` entry point; a `LedgerError` is printed as `error: code: message`."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="ledger")
    except SystemExit as done:
        code = done.code
        if isinstance(code, str):
            print(code, file=sys.stderr)
            return 1
        return int(code or 0)
    except Exception as error:  # a LedgerError from a command: its stable code
        from sqlalchemy.exc import OperationalError

        from ledger_api.settings import settings_problem  # not imported for `--help`

        if isinstance(error, OperationalError):  # a database server away (a traceback before)
            said = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            print(
                f"error: unavailable: the database (LEDGER_DATABASE_URL): {said}", file=sys.stderr
            )
            return 2

        problem = settings_problem(error)
        if problem is not None:  # a LEDGER_* value the settings refuse
            print(f"error: invalid_settings: {problem}", file=sys.stderr)
            _say_unread()  # the misspelling behind a missing setting (a trial)
            return 2
        from pydantic import ValidationError

        code_name = getattr(error, "error_code", None)
        message = getattr(error, "message", error)
        if isinstance(error, ValidationError):
            # a command's arguments its request model refuses (a traceback before): the code
            # and message the HTTP API answers for the same body
            from ledger_api.error_bodies import validation_problems

            code_name, message, _ = validation_problems(error.errors())
        if code_name is None:
            raise
        print(f"error: {code_name}: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
