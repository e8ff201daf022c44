"""What the `ledger` commands do (database, chain, usecases), apart from the command line.

`ledger_api.cli` imports this module only inside a command, so `ledger --help` and
`ledger --version` never load web3, SQLAlchemy or the gateway's runtime. Each function
returns plain data; `cli` renders it (Rich tables, or JSON).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from ledger_api.access.apikeys import Principal
from ledger_api.db import Database
from ledger_api.db.models import ApiKey, Brand, Operation
from ledger_api.domain import OPEN_OP_STATUSES, OpStatus
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.model import admin_schemas
from ledger_api.process.runtime import Runtime
from ledger_api.settings import get_settings, shown_url
from ledger_api.usecases.brands import BrandsService, same_name
from ledger_api.usecases.context import RequestContext
from ledger_api.usecases.reads import ReadsService
from ledger_api.usecases.status import StatusService

ADMIN = Principal(key_prefix="cli", is_admin=True)
#: called while waiting: (operation status, seconds waited)
Progress = Callable[[str, float], None]


class NoSuchBrand(SystemExit):
    """Exit with the brands there are, by name and id (a trial's `brand show Acme` said only
    "no onboarded brand 'Acme'" for "Acme Outdoor")."""

    def __init__(self, brand: str, known: Sequence[tuple[str, int]] = ()) -> None:
        listed = ", ".join(f"{name} ({ledger_id})" for name, ledger_id in known[:20])
        more = f" and {len(known) - 20} more (`ledger brand list`)" if len(known) > 20 else ""
        hint = f": the brands are {listed}{more}" if known else ": no brand is onboarded yet"
        super().__init__(f"no onboarded brand {brand!r}{hint}")


def runtime() -> Runtime:
    """The gateway's runtime on the `LEDGER_*` settings, its database migrated. A SQLite
    database that is not there is an error, never made (a trial's `brand list` on a mistyped
    folder made one, with a new passphrase, and listed nothing; `admin-key create` there
    printed a key no gateway knew): the gateway makes it, and `db upgrade`."""
    settings = get_settings()
    require_database(settings.database_url)
    rt = Runtime(settings)
    rt.migrate()
    return rt


def require_database(url: str) -> None:
    """Exits when `url` names a SQLite database that is not there (never made here)."""
    from ledger_api.db.files import sqlite_path

    database = sqlite_path(url) if url.startswith("sqlite") else None
    if database is not None and not database.exists():
        raise SystemExit(
            f"no database at {database}: the gateway makes it at its first start (`make "
            "run`); for another system set LEDGER_DATA_DIR (or LEDGER_DATABASE_URL)"
        )


def _context() -> RequestContext:
    return RequestContext(ADMIN, f"cli-{uuid.uuid4()}", uuid.uuid4().hex)


def _brands(rt: Runtime) -> BrandsService:
    return BrandsService(rt, StatusService(rt))


def wait_for_operations(
    rt: Runtime, uids: Sequence[str], timeout: float, progress: Progress | None = None
) -> list[Operation]:
    """Waits until the operations exist and are final; sends them itself when no gateway holds
    the lock (the sender queues some itself, e.g. a brand's cap after its onboarding).
    `progress` hears the least advanced status about every 0.2 s."""
    sending = rt.send_if_free()
    started = time.monotonic()
    try:
        while True:
            with rt.db.read() as session:
                ops = list(session.scalars(select(Operation).where(Operation.uid.in_(uids))))
            open_ops = [op.status for op in ops if not OpStatus(op.status).final]
            if len(ops) < len(set(uids)):
                open_ops.append(OpStatus.QUEUED.value)
            if progress is not None:
                progress(open_ops[0] if open_ops else "confirmed", time.monotonic() - started)
            if not open_ops or time.monotonic() - started > timeout:
                return ops
            time.sleep(0.2)
    finally:
        if sending:
            rt.stop_sending()


def _confirmed(op: Operation) -> bool:
    return op.status == OpStatus.CONFIRMED


def add_brand(
    request: admin_schemas.BrandCreateRequest, timeout: float, progress: Progress | None = None
) -> dict[str, Any]:
    """Stores the brand and its onboarding, waits for the chain. `{"ok", "brand_id",
    "signer", "api_key", "state", "error", "operation_id", "admin_transaction"}`. A multisig
    admin's onboarding (`admin_transaction`) is not waited for: only the multisig lands it,
    from that transaction (a trial's command waited out its `--timeout` for nothing)."""
    rt = runtime()
    rt.contracts()  # fails early without a deployment
    _, body = _brands(rt).create_sync(_context(), request)
    if body.get("admin_transaction") is not None:
        timeout = 0.0
    with rt.db.read() as session:
        uids = list(
            session.scalars(
                select(Operation.uid).where(
                    Operation.brand_id.is_(None), Operation.status.in_(OPEN_OP_STATUSES)
                )
            )
        )
    if body.get("daily_cap_operation_id"):  # queued once the onboarding lands
        uids.append(body["daily_cap_operation_id"])
    ops = wait_for_operations(rt, uids, timeout, progress)
    by_uid = {op.uid: op for op in ops}
    wanted = [body["operation_id"]] + (
        [body["daily_cap_operation_id"]] if body.get("daily_cap_operation_id") else []
    )
    # the first of the brand's operations (onboarding, then its cap) that did not land
    stuck = [by_uid.get(uid) for uid in wanted if uid not in by_uid or not _confirmed(by_uid[uid])]
    first = stuck[0] if stuck else None
    result: dict[str, Any] = {
        "ok": not stuck,
        "state": "confirmed" if not stuck else first.status if first else "unknown",
        "error": f"{first.error_code}: {first.error_message}"
        if first is not None and first.error_code
        else None,
        "signer": body["brand"]["signer"],
        "api_key": body["api_key"],
        "brand_id": None,
        "operation_id": body["operation_id"],
        "admin_transaction": body.get("admin_transaction"),  # a multisig admin executes it
        "daily_cap_operation_id": body.get("daily_cap_operation_id"),
    }
    with rt.db.read() as session:
        brand = session.scalar(select(Brand).where(Brand.name == request.name))
        result["brand_id"] = brand.ledger_id if brand is not None else None
    return result


def list_brands(rt: Runtime | None = None) -> list[dict[str, Any]]:
    return [view.model_dump(mode="json") for view in _brands(rt or runtime()).list_brands(ADMIN)]


def ledger_brand_id(rt: Runtime, brand: str) -> LedgerBrandId:
    """A brand named by its ledger id or its name; `NoSuchBrand` (exit) else."""
    with rt.db.read() as session:
        found = None
        if brand.isdigit() and len(brand) <= 18:
            found = session.scalar(select(Brand.ledger_id).where(Brand.ledger_id == int(brand)))
        if found is None:  # as named, in any letter case (names are unique so: `BrandExists`);
            # digits too, when no brand has them for its id (a trial's brand named "2024")
            name = same_name(
                session.scalars(select(Brand.name)), admin_schemas.normalized_name(brand)
            )
            found = session.scalar(select(Brand.ledger_id).where(Brand.name == name))
        if found is None:
            known = session.execute(
                select(Brand.name, Brand.ledger_id)
                .where(Brand.ledger_id.is_not(None))
                .order_by(Brand.ledger_id)
            ).all()
            raise NoSuchBrand(brand, [(n, int(i)) for n, i in known if i is not None])
    return LedgerBrandId(found)


def show_brand(brand: str) -> dict[str, Any]:
    """The brand, its liability (from the index) and its API keys (`keys`, revoked ones too;
    the view's `api_keys`, the active prefixes alone, is left out: a trial read both)."""
    rt = runtime()
    brand_id = ledger_brand_id(rt, brand)
    view = next(b for b in list_brands(rt) if b["brand_id"] == brand_id)
    view.pop("api_keys", None)
    return {**view, "liability": _liability(rt, brand_id), "keys": list_keys(brand, rt)}


def _liability(rt: Runtime, brand_id: LedgerBrandId) -> dict[str, Any] | None:
    from ledger_api.errors import LedgerError

    with rt.db.read() as session:
        try:
            return ReadsService().liability(session, ADMIN, brand_id).model_dump(mode="json")
        except LedgerError:  # not indexed yet
            return None


def liabilities(brand: str | None) -> list[dict[str, Any]]:
    """Issued, redeemed, expired and outstanding per brand (one brand, or every onboarded)."""
    rt = runtime()
    ids = (
        [ledger_brand_id(rt, brand)]
        if brand
        else [LedgerBrandId(b["brand_id"]) for b in list_brands(rt) if b["brand_id"] is not None]
    )
    found = [_liability(rt, i) for i in ids]
    return [f for f in found if f is not None]


def positions() -> dict[str, Any]:
    rt = runtime()
    with rt.db.read() as session:
        return ReadsService().positions(session, ADMIN).model_dump(mode="json")


def list_keys(brand: str | None, rt: Runtime | None = None) -> list[dict[str, Any]]:
    """API keys (never their secret): prefix, brand, admin, label, created, revoked."""
    rt = rt or runtime()
    query = select(ApiKey, Brand.ledger_id, Brand.name).outerjoin(
        Brand, Brand.id == ApiKey.brand_id
    )
    if brand:
        query = query.where(Brand.ledger_id == ledger_brand_id(rt, brand))
    with rt.db.read() as session:
        rows = session.execute(query.order_by(ApiKey.id)).all()
        return [
            {
                "prefix": key.prefix,
                "brand_id": brand_id,
                "brand": name,
                "admin": key.is_admin,
                "label": key.label,
                "created_at": key.created_at.isoformat(timespec="seconds"),
                "revoked_at": key.revoked_at.isoformat(timespec="seconds")
                if key.revoked_at
                else None,
            }
            for key, brand_id, name in rows
        ]


def rotate_key(brand: str, keep_old: bool) -> dict[str, Any]:
    rt = runtime()
    request = admin_schemas.RotateKeyRequest(keep_old=keep_old, label="rotated with the CLI")
    _, body = _brands(rt).rotate_key_sync(_context(), ledger_brand_id(rt, brand), request)
    return body


def revoke_key(prefix: str) -> None:
    runtime().api_keys.revoke(prefix, by=ADMIN)


def create_admin_key() -> str:
    # a key of a database no gateway uses answers 401 there (a trial's mistyped folder)
    return runtime().api_keys.create_admin("created with the CLI", by=ADMIN).plaintext


def webhooks(brand: str | None) -> list[dict[str, Any]]:
    """Webhook endpoints (every brand's, or one brand's), without their secrets."""
    from ledger_api.usecases.webhooks import WebhooksService

    rt = runtime()
    found = WebhooksService(rt.settings, rt.db).list(ADMIN).webhooks
    rows = [w.model_dump(mode="json") for w in found]
    if brand:
        brand_id = ledger_brand_id(rt, brand)
        rows = [r for r in rows if r.get("brand_id") == brand_id]
    return rows


def reachable_target(target: Database, to: str) -> None:
    """Raises SystemExit naming `--to` when the target database does not answer (a trial:
    the message blamed LEDGER_DATABASE_URL, the source)."""
    try:
        with target.engine.connect():
            pass
    except OperationalError as error:
        said = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise SystemExit(f"error: unavailable: the target (--to {shown_url(to)}): {said}") from None


def copy_into(url: str, to: str) -> dict[str, int]:
    """`ledger db copy`: the database at `url` into the empty one at `to`; rows per table.
    Raises SystemExit when a gateway runs on the source or the target does not answer (then
    nothing is made), `TargetNotEmpty` when the target holds rows."""
    from ledger_api.db.copy import copy_database

    source = Database(url)
    try:
        with quiet_source(source):  # before the target is made
            target = Database(to)
            try:
                reachable_target(target, to)
                return copy_database(source, target)
            finally:
                target.dispose()
    finally:
        source.dispose()


@contextmanager
def quiet_source(source: Database) -> Iterator[None]:
    """Holds the source database's sender lock while it is copied; raises SystemExit when a
    gateway holds it (a trial copied a database beside its running gateway, and the copy
    missed what the gateway wrote after: operations accepted, then gone)."""
    from ledger_api.process.lock import SenderLock

    lock = SenderLock(source)
    if not lock.acquire():
        raise SystemExit(
            "error: database_in_use: a gateway (`ledger serve` or `ledger work`) runs on this"
            " database: stop it first, or the copy misses what it writes after"
        )
    try:
        yield
    finally:
        lock.release()


def carry_passphrase(to: str) -> str:
    """After a copy: what keeps the copied keystores readable, in one line. In development
    without `LEDGER_KEY_PASSPHRASE`, a SQLite target's folder gets the source's generated
    `keystore-passphrase` (when it has none): a trial's copy in another folder then failed
    at its start with `key_passphrase_mismatch`, the success line having said nothing."""
    from ledger_api.db.files import PASSPHRASE_FILE, folder_passphrase, sqlite_path

    settings = get_settings()
    if settings.key_passphrase is not None:
        return "keep LEDGER_KEY_PASSPHRASE: the copied keystores are sealed with it"
    source = settings.data_folder / PASSPHRASE_FILE
    target = sqlite_path(to) if to.startswith("sqlite") else None
    if target is None or not source.exists():
        return (
            f"keep this data folder's {source} (or set LEDGER_KEY_PASSPHRASE to its content):"
            " the copied keystores are sealed with it"
        )
    if target.parent != settings.data_folder:
        folder_passphrase(target.parent, earlier=settings.data_folder)
    return f"the keystores' passphrase: {target.parent / PASSPHRASE_FILE}"
