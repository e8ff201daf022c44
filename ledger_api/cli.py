"""`ledger`: the operator's command line.

    ledger serve                      run the gateway (uvicorn, settings host/port)
    ledger work                       run only the sender and the indexer (no HTTP)
    ledger db upgrade                 apply the database migrations
    ledger brand add NAME [...]       onboard a brand; prints its API key once
    ledger brand list                 list brands
    ledger key rotate BRAND           new API key for a brand (old ones revoked)
    ledger key revoke PREFIX          revoke an API key
    ledger admin-key create           new admin API key, printed once

`brand add` stores the brand and its operations, then waits until the chain
confirms them: when a gateway is running it does the sending; otherwise this
command runs the admin sender itself until the brand is onboarded.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from ledger_api.access.apikeys import Principal
from ledger_api.db.models import Brand, Operation
from ledger_api.domain import OPEN_OP_STATUSES, OpStatus
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import LedgerError
from ledger_api.model import schemas
from ledger_api.process import supervision
from ledger_api.process.runtime import Runtime
from ledger_api.settings import get_settings
from ledger_api.usecases.brands import BrandsService
from ledger_api.usecases.context import RequestContext
from ledger_api.usecases.status import StatusService

log = logging.getLogger("ledger")
ADMIN = Principal(key_prefix="cli", is_admin=True)


def _runtime() -> Runtime:
    runtime = Runtime(get_settings())
    runtime.migrate()
    return runtime


def _context() -> RequestContext:
    return RequestContext(ADMIN, f"cli-{uuid.uuid4()}", uuid.uuid4().hex)


def cmd_serve(args: argparse.Namespace) -> int:
    supervision.serve(get_settings(), args.host, args.port, args.log_level)
    return 0


def cmd_work(_: argparse.Namespace) -> int:
    """The sender and the indexer alone; a status line (JSON) on stdout every second."""
    return supervision.run_work(get_settings())


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    _runtime()
    print("database schema is up to date")
    return 0


def cmd_db_copy(args: argparse.Namespace) -> int:
    """Copies this gateway's database (`LEDGER_DATABASE_URL`) into an empty one (`--to`)."""
    from ledger_api.db import Database
    from ledger_api.db.copy import TargetNotEmpty, copy_database

    settings = get_settings()
    source, target = Database(settings.database_url), Database(args.to)
    try:
        counts = copy_database(source, target)
    except TargetNotEmpty as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    finally:
        source.dispose()
        target.dispose()
    for table, rows in counts.items():
        print(f"{table}: {rows} rows")
    print(f"copied {sum(counts.values())} rows; now set LEDGER_DATABASE_URL={args.to}")
    return 0


def _wait_for_operations(runtime: Runtime, uids: Sequence[str], timeout: float) -> list[Operation]:
    """Waits until the operations are final; sends them itself when no gateway holds the lock."""
    sending = runtime.send_if_free()
    try:
        deadline = time.monotonic() + timeout
        while True:
            with runtime.db.read() as session:
                ops = list(session.scalars(select(Operation).where(Operation.uid.in_(uids))))
            if all(OpStatus(op.status).final for op in ops) or time.monotonic() > deadline:
                return ops
            time.sleep(0.2)
    finally:
        if sending:
            runtime.stop_sending()


def _brands(runtime: Runtime) -> BrandsService:
    return BrandsService(runtime, StatusService(runtime))


def cmd_brand_add(args: argparse.Namespace) -> int:
    runtime = _runtime()
    runtime.contracts()  # fails early without a deployment
    request = schemas.BrandCreateRequest(
        name=args.name,
        symbol=args.symbol or "".join(c for c in args.name.upper() if c.isalnum())[:8] or "PTS",
        value_micro_usd=args.value_micro_usd,
        earn_rule=schemas.EarnRuleModel(
            points_per_usd=args.points_per_usd,
            points_per_review=args.points_per_review,
            points_per_share=args.points_per_share,
            points_per_event=args.points_per_event,
            points_per_referral=args.points_per_referral,
        ),
        daily_cap_points=args.daily_cap,
    )
    brands = _brands(runtime)
    _, body = brands.create_sync(_context(), request)
    with runtime.db.read() as session:
        uids = list(
            session.scalars(
                select(Operation.uid).where(
                    Operation.brand_id.is_(None), Operation.status.in_(OPEN_OP_STATUSES)
                )
            )
        )
    ops = _wait_for_operations(runtime, uids, args.timeout)
    onboard = next((op for op in ops if op.uid == body["operation_id"]), None)
    if onboard is None or onboard.status != OpStatus.CONFIRMED:
        state = onboard.status if onboard else "unknown"
        error = (
            f" ({onboard.error_code}: {onboard.error_message})"
            if onboard and onboard.error_code
            else ""
        )
        print(f"brand {args.name!r} stored, onboarding {state}{error}", file=sys.stderr)
        return 1
    with runtime.db.read() as session:
        brand = session.scalar(select(Brand).where(Brand.name == args.name))
        assert brand is not None
        ledger_brand_id = brand.ledger_id
    signer = body["brand"]["signer"]
    print(f"brand {args.name!r} onboarded: brand_id={ledger_brand_id} signer={signer}")
    print(f"API key (shown once, keep it secret): {body['api_key']}")
    return 0


def cmd_brand_list(_: argparse.Namespace) -> int:
    runtime = _runtime()
    brands = _brands(runtime)
    for view in brands.list_brands(ADMIN):
        print(json.dumps(view.model_dump(mode="json")))
    return 0


def _ledger_brand_id(runtime: Runtime, brand: str) -> LedgerBrandId:
    """A brand named by its ledger id or its name."""
    with runtime.db.read() as session:
        if brand.isdigit():
            found = session.scalar(select(Brand.ledger_id).where(Brand.ledger_id == int(brand)))
        else:
            found = session.scalar(select(Brand.ledger_id).where(Brand.name == brand))
    if found is None:
        raise SystemExit(f"no onboarded brand {brand!r}")
    return LedgerBrandId(found)


def cmd_key_rotate(args: argparse.Namespace) -> int:
    runtime = _runtime()
    brands = _brands(runtime)
    request = schemas.RotateKeyRequest(keep_old=args.keep_old, label="rotated with the CLI")
    _, body = brands.rotate_key_sync(_context(), _ledger_brand_id(runtime, args.brand), request)
    print(f"new API key for brand {body['brand_id']} (shown once): {body['api_key']}")
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    runtime = _runtime()
    runtime.api_keys.revoke(args.prefix)
    print(f"revoked {args.prefix}")
    return 0


def cmd_admin_key_create(_: argparse.Namespace) -> int:
    runtime = _runtime()
    key = runtime.api_keys.create_admin(label="created with the CLI")
    print(f"admin API key (shown once, keep it secret): {key.plaintext}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ledger", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=cmd_serve)
    commands.add_parser("work", help="run only the sender and the indexer").set_defaults(
        run=cmd_work
    )

    db = commands.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(run=cmd_db_upgrade)
    copy = db.add_parser("copy", help="copy the data into an empty database (e.g. PostgreSQL)")
    copy.add_argument("--to", required=True, help="SQLAlchemy URL of the empty target")
    copy.set_defaults(run=cmd_db_copy)

    brand = commands.add_parser("brand", help="brands").add_subparsers(
        dest="brand_command", required=True
    )
    add = brand.add_parser("add", help="onboard a brand and print its API key once")
    add.add_argument("name")
    add.add_argument("--symbol")
    add.add_argument("--value-micro-usd", type=int, default=10_000)
    add.add_argument("--points-per-usd", type=int, default=10)
    add.add_argument("--points-per-review", type=int, default=5)
    add.add_argument("--points-per-share", type=int, default=3)
    add.add_argument("--points-per-event", type=int, default=10)
    add.add_argument("--points-per-referral", type=int, default=20)
    add.add_argument("--daily-cap", type=int, default=None, help="points per UTC day")
    add.add_argument("--timeout", type=float, default=60.0)
    add.set_defaults(run=cmd_brand_add)
    brand.add_parser("list", help="list brands").set_defaults(run=cmd_brand_list)

    key = commands.add_parser("key", help="API keys").add_subparsers(
        dest="key_command", required=True
    )
    rotate = key.add_parser("rotate", help="new API key for a brand (name or id)")
    rotate.add_argument("brand")
    rotate.add_argument("--keep-old", action="store_true")
    rotate.set_defaults(run=cmd_key_rotate)
    revoke = key.add_parser("revoke", help="revoke an API key by prefix")
    revoke.add_argument("prefix")
    revoke.set_defaults(run=cmd_key_revoke)

    admin = commands.add_parser("admin-key", help="admin API keys").add_subparsers(
        dest="admin_command", required=True
    )
    admin.add_parser("create", help="create an admin API key").set_defaults(
        run=cmd_admin_key_create
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except LedgerError as exc:
        print(f"error: {exc.error_code}: {exc.message}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
