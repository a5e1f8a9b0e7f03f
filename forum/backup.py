"""Backups and restores of the whole forum database, checked before and after.

SQLite is copied through the online backup API: a consistent snapshot taken while the server keeps
writing (copying the file of a live WAL database can capture a torn, unusable state). PostgreSQL goes
through pg_dump / pg_restore in the custom format, restored in one transaction so a failed restore
leaves the old data in place.

Every restore is checked twice. Before anything is overwritten the backup itself must be readable
to the end (SQLite: PRAGMA integrity_check; PostgreSQL: every COPY block of the archive is decoded)
and must contain the forum's tables. After the restore, the database must hold exactly as many rows
per table as the backup did.

A backup holds everything people wrote here, journals included: files are created 0600.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import psycopg
from sqlalchemy.engine import URL, make_url

# A file without these is not a Hearth backup, whatever else it holds.
REQUIRED_TABLES = ("users", "boards")
RESTORE_LOCK_TIMEOUT = "20s"
_COPY_LINE = re.compile(r"^COPY (?P<table>\S+) (?:\(.*\) )?FROM stdin;$")


class BackupError(Exception):
    """A backup or restore that was refused or failed; nothing was overwritten unless it says so."""


@dataclass
class BackupReport:
    path: Path
    backend: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def backup(database_uri: str, path: Path, *, overwrite: bool = False) -> BackupReport:
    """Write a consistent snapshot of the database to `path` (refused if it exists, unless `overwrite`)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise BackupError(f"{path} exists; pass --yes to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    url = make_url(database_uri)
    with _staging_file(path) as staging:
        if url.get_backend_name() == "sqlite":
            report = _backup_sqlite(_sqlite_path(url), staging)
        elif url.get_backend_name() == "postgresql":
            report = _backup_postgres(url, staging)
        else:
            raise BackupError(f"backups of {url.get_backend_name()} databases are not supported")
        os.replace(staging, path)
    report.path = path
    return report


def restore(database_uri: str, path: Path, *, overwrite: bool = False) -> BackupReport:
    """Replace the database's content with the backup at `path`, after checking the backup.

    Refused when the database already holds rows, unless `overwrite`. Stop the servers first:
    they would otherwise keep serving sessions and caches from before the restore.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        return _restore_sqlite(path, _sqlite_path(url), overwrite=overwrite)
    if url.get_backend_name() == "postgresql":
        return _restore_postgres(path, url, overwrite=overwrite)
    raise BackupError(f"restores into {url.get_backend_name()} databases are not supported")


@contextmanager
def _staging_file(final: Path) -> Iterator[Path]:
    # Next to the destination, so the final rename is atomic and a failed backup leaves no half file.
    handle, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
    os.close(handle)
    staging = Path(name)
    staging.chmod(0o600)
    try:
        yield staging
    finally:
        staging.unlink(missing_ok=True)


def _check_counts(expected: dict[str, int], actual: dict[str, int]) -> None:
    differing = {t: (n, actual.get(t)) for t, n in expected.items() if actual.get(t) != n}
    if differing:
        detail = ", ".join(f"{t}: backup {want}, database {got}" for t, (want, got) in sorted(differing.items()))
        raise BackupError(f"the restored database does not match the backup ({detail})")


def _require_forum_tables(rows: dict[str, int], path: Path) -> None:
    names = {name.rsplit(".", 1)[-1].strip('"') for name in rows}
    missing = [t for t in REQUIRED_TABLES if t not in names]
    if missing:
        raise BackupError(f"{path} is not a Hearth backup (no {', '.join(missing)} table)")


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(url.database)


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def _sqlite_integrity(conn: sqlite3.Connection, what: str) -> None:
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{what} is not a readable SQLite database ({error})") from error
    if result != ["ok"]:
        raise BackupError(f"{what} failed its integrity check: {'; '.join(result[:5])}")


def _sqlite_rows(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ]
    # Names come from the database's own catalogue; quoting keeps odd ones (FTS shadow tables) valid.
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}  # noqa: S608


def _backup_sqlite(source: Path, staging: Path) -> BackupReport:
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    with closing(_open_readonly(source)) as live, closing(sqlite3.connect(staging)) as copy:
        # One step (pages=-1): a single read transaction, so the snapshot is consistent; in WAL
        # mode it never blocks the server's writers.
        live.backup(copy)
        # A backup is one self-contained file, whatever journal mode the live database uses.
        copy.execute("PRAGMA journal_mode=DELETE")
        _sqlite_integrity(copy, "the new backup")
        rows = _sqlite_rows(copy)
    return BackupReport(staging, "sqlite", rows)


def _restore_sqlite(path: Path, target: Path, *, overwrite: bool) -> BackupReport:
    with closing(_open_readonly(path)) as saved:
        _sqlite_integrity(saved, str(path))
        expected = _sqlite_rows(saved)
        _require_forum_tables(expected, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(target, timeout=30)) as live:
            if not overwrite and any(_sqlite_rows(live).values()):
                raise BackupError(f"{target} already holds data; pass --yes to replace it with the backup.")
            # The backup API writes under the database's own locks: servers that are still
            # running wait rather than read a half-written file.
            saved.backup(live)
            _sqlite_integrity(live, f"{target} after the restore")
            _check_counts(expected, _sqlite_rows(live))
    return BackupReport(path, "sqlite", expected)


# --- PostgreSQL -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Libpq:
    """How to reach the database from libpq tools: a URL without the password, which travels in the env."""

    url: str
    env: dict[str, str]
    schema: str | None
    conninfo: str  # with the password, for our own in-process connections


def _libpq(url: URL) -> _Libpq:
    # SQLAlchemy's driver suffix (postgresql+psycopg) means nothing to libpq.
    plain = url.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if url.password is not None:
        # Never on the command line, where any local user can read it with ps.
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return _Libpq(plain.render_as_string(hide_password=False), env, _schema_from_options(url), conninfo)


def _schema_from_options(url: URL) -> str | None:
    """The first schema of a `?options=-csearch_path=...` in the URL: the schema this app lives in."""
    options = url.query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = re.search(r"-c\s*search_path=([^\s]+)", unquote(options or ""))
    if not match:
        return None
    first = match.group(1).split(",")[0].strip().strip('"')
    return first or None


def _with_option(url: URL, option: str) -> URL:
    existing = url.query.get("options")
    if isinstance(existing, tuple):
        existing = " ".join(existing)
    return url.update_query_dict({"options": f"{existing} {option}" if existing else option})


def _run(command: list[str], env: dict[str, str], *, hint: str = "") -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} is not installed (it comes with the PostgreSQL client tools)") from error
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}" + (f" ({hint})" if hint else ""))
    return result


def _backup_postgres(url: URL, staging: Path) -> BackupReport:
    pq = _libpq(url)
    command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={staging}"]
    if pq.schema:
        command.append(f"--schema={pq.schema}")
    _run([*command, f"--dbname={pq.url}"], pq.env)
    rows = _archive_rows(staging, pq.env)
    _require_forum_tables(rows, staging)
    return BackupReport(staging, "postgresql", rows)


def _archive_rows(path: Path, env: dict[str, str]) -> dict[str, int]:
    """Rows per table in a custom-format archive, by decoding every COPY block (a truncated file fails)."""
    command = ["pg_restore", "--data-only", "--file=-", str(path)]
    try:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    except FileNotFoundError as error:
        raise BackupError("pg_restore is not installed (it comes with the PostgreSQL client tools)") from error
    rows: dict[str, int] = {}
    table: str | None = None
    assert process.stdout is not None
    for line in process.stdout:
        if table is None:
            match = _COPY_LINE.match(line.rstrip("\n"))
            if match:
                table = match.group("table")
                rows[table] = 0
        elif line == "\\.\n":
            table = None
        else:
            rows[table] += 1  # COPY's text format escapes newlines: one line is one row
    stderr = process.stderr.read() if process.stderr else ""
    if process.wait() != 0 or table is not None:
        raise BackupError(f"{path} is not a readable pg_dump archive: {stderr.strip()[-2000:] or 'truncated'}")
    return rows


def _postgres_rows(pq: _Libpq, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(pq.conninfo) as conn:
        # The names were written by pg_dump, already quoted where they need it.
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]  # noqa: S608


def _postgres_has_rows(pq: _Libpq) -> bool:
    with psycopg.connect(pq.conninfo) as conn:
        names = conn.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(coalesce(%s, current_schemas(false)))",
            ([pq.schema] if pq.schema else None,),
        ).fetchall()
        return any(conn.execute(f"SELECT EXISTS (SELECT 1 FROM {name})").fetchone()[0] for (name,) in names)  # type: ignore[index]  # noqa: S608


def _restore_postgres(path: Path, url: URL, *, overwrite: bool) -> BackupReport:
    pq = _libpq(url)
    expected = _archive_rows(path, pq.env)
    _require_forum_tables(expected, path)
    if not overwrite and _postgres_has_rows(pq):
        raise BackupError("the database already holds data; pass --yes to replace it with the backup.")
    # --clean drops what the archive is about to create; one transaction, so an error changes nothing.
    # A server still running holds locks the drops would wait on forever: give up instead, and say why.
    target = _libpq(_with_option(url, f"-c lock_timeout={RESTORE_LOCK_TIMEOUT}"))
    _run(
        [
            "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
            "--single-transaction", "--exit-on-error", f"--dbname={target.url}", str(path),
        ],
        target.env,
        hint="if it waited on a lock, stop the servers using this database and try again",
    )  # fmt: skip
    _check_counts(expected, _postgres_rows(pq, list(expected)))
    return BackupReport(path, "postgresql", expected)
