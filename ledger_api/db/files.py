"""The data folder's files, private to the gateway's user.

The data folder is the real folder of the SQLite database file (links resolved, `sqlite_path`;
on PostgreSQL, the deployment manifest's folder). It holds the database, the chain state of
`make run` and, unless `LEDGER_KEY_PASSPHRASE` is given, the passphrase that encrypts the
brands' signing keys and reference secrets (`keystore-passphrase`, generated at the first
start). The folder is made mode 0700 and these files 0600; SQLite creates its `-wal` and `-shm`
files with the mode of the database file, and the ones found at start are tightened too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url

from ledger_api.errors import KeyPassphraseMismatch

log = logging.getLogger(__name__)

PASSPHRASE_FILE = "keystore-passphrase"
#: the passphrase files this process generated (`folder_passphrase`): one generated beside
#: sealed keys means the data folder's was lost (`access.sealing.check_passphrase`)
GENERATED: set[Path] = set()
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names, links resolved (the path SQLite opens; relative to the
    working folder), or None for an in-memory database. A `file:` URI (`?uri=true`, as
    SQLAlchemy's pysqlite dialect takes it) counts by its path: `file:/a/b.db`,
    `file:///a/b.db`, `file:b.db`, percent-decoded; `file::memory:` or `mode=memory` is in
    memory. Every file named after the database (its lock files, the key epoch, the
    generated passphrase's folder) derives from this one path."""
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        return None
    if str(parsed.query.get("uri", "")).lower() in {"true", "1"} and database.startswith("file:"):
        if str(parsed.query.get("mode", "")) == "memory":
            return None
        path = database.removeprefix("file:")
        if path.startswith("//"):  # an authority: empty or localhost, as SQLite allows
            authority, _, rest = path[2:].partition("/")
            if authority not in {"", "localhost"}:
                raise ValueError(f"a SQLite file: URI names a host ({authority!r}): {url}")
            path = "/" + rest
        path = unquote(path.partition("#")[0])
        if not path or path == ":memory:":
            return None
        database = path
    return Path(os.path.realpath(database))


def private_folder(folder: Path) -> None:
    """Creates `folder` with mode 0700, or tightens an existing one the gateway's user owns.

    A shared folder is left alone: one with the sticky bit (`/tmp`), the user's home, `/`."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    shared = bool(info.st_mode & stat.S_ISVTX) or folder.resolve() in {
        Path.home().resolve(),
        Path("/"),
    }
    if shared or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) == 0o700:
        return
    folder.chmod(0o700)
    log.info("data folder %s made private (mode 0700)", folder)


def private_file(path: Path, *, create: bool = True) -> None:
    """Makes `path` mode 0600 (creating it empty first if `create` and it does not exist).

    An existing file is never opened: for a database file, closing any descriptor of it drops
    every POSIX lock this process's SQLite connections hold on it (another `Database` on the
    same file may be live), and another process's last connection to close would then delete
    the WAL under them (`db.durability.DatabaseFiles`)."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            path.chmod(0o600)
    except FileNotFoundError:
        pass


def private_sqlite(database: Path) -> None:
    """The database's folder 0700, the database and its companions 0600 (before SQLite opens
    it: SQLite gives a new `-wal`/`-shm` the database file's mode). Through a symbolic link,
    the file it leads to, beside which SQLite keeps the companions."""
    database = Path(os.path.realpath(database))
    private_folder(database.parent)
    for suffix in SQLITE_COMPANIONS:
        private_file(database.with_name(database.name + suffix), create=not suffix)


def folder_passphrase(folder: Path, *, earlier: Path | None = None) -> str:
    """The data folder's keystore passphrase (`keystore-passphrase`), generated at the first
    call: 256 random bits, written to a temporary file (0600) and linked into place, so that
    processes starting together all read the one that won. When `folder` has none and the
    `earlier` folder has one (the folder of a link to the database, where versions before
    2026-12-03 kept it), that one is copied in instead: the keys it sealed stay readable.
    Raises `KeyPassphraseMismatch` when the file is empty."""
    file = folder / PASSPHRASE_FILE
    if not file.exists():
        private_folder(folder)
        found = earlier / PASSPHRASE_FILE if earlier is not None else None
        kept = found.read_bytes() if found is not None and found.exists() else None
        part = folder / f".{PASSPHRASE_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, kept or (secrets.token_urlsafe(32) + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(part, file)  # fails if another process linked its own first
            if kept is not None:
                log.warning(
                    "copied the keystore passphrase of %s to %s, the database's real folder "
                    "(keep it with the data)",
                    earlier,
                    folder,
                )
            else:
                GENERATED.add(file)  # said once kept (`sealing.check_passphrase`)
        except FileExistsError:
            pass
        finally:
            part.unlink()
    private_file(file, create=False)
    passphrase = file.read_text().strip()
    if not passphrase:
        raise KeyPassphraseMismatch(f"{file} is empty; restore it from a backup of the data folder")
    return passphrase
