"""Where the catalogue lives and how we talk to it: one engine, WAL, a busy timeout, and one
error type (CatalogError) for every database failure, so a caller (offload) can carry on.

`$RUSHLINE_CATALOG` is a path or an SQLAlchemy URL (`postgresql://...` for a facility), or `off`
(commands then record nothing); else `$XDG_DATA_HOME/rushline/catalog.sqlite`
(`~/.local/share/...`). On SQLite every write
transaction starts with BEGIN IMMEDIATE: the write lock is taken up front, so two commands
writing at once queue on the busy timeout instead of failing with "database is locked" when a
read lock cannot be upgraded.

On PostgreSQL (`postgresql://`, served by psycopg 3) writes are ordinary READ COMMITTED
transactions whose upserts are ON CONFLICT statements, and schema changes (migrations, the
register and archive tables) serialise on a transaction-scoped advisory lock (`schema_lock`).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.errors import RushlineError

ENV_VAR = "RUSHLINE_CATALOG"
BUSY_TIMEOUT_MS = 60_000
OFF_VALUES = frozenset({"off", "0", "no", "false", "none", "disabled"})
DIALECTS = ("sqlite", "postgresql")
#: pg_advisory_xact_lock key for schema changes ("RUSHLINE" in ASCII, fits a bigint)
SCHEMA_LOCK_KEY = 0x5255_5348_4C49_4E45


class CatalogError(RushlineError):
    """The catalogue cannot be opened, read or written (names the database and what to do)."""


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rushline" / "catalog.sqlite"


def turned_off() -> bool:
    """True when $RUSHLINE_CATALOG says `off` (no catalogue is written by any command)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in OFF_VALUES


def catalog_url(target: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL of the catalogue: `target`, else $RUSHLINE_CATALOG, else the default."""
    if target is None and turned_off():
        raise CatalogError(
            f"the catalogue is turned off (${ENV_VAR}={os.environ[ENV_VAR].strip()})",
            hint=f"give --catalog FILE, or set ${ENV_VAR} to a file (or unset it for the default)",
        )
    raw = os.fspath(target) if target is not None else os.environ.get(ENV_VAR, "").strip()
    if not raw:
        raw = str(default_path())
    if "://" in raw:
        return raw
    return "sqlite:///" + str(Path(raw).expanduser().absolute())


def _driver_url(parsed: URL) -> URL:
    """`postgresql://` and `postgres://` mean psycopg 3 (the driver we install), not
    SQLAlchemy's default psycopg2."""
    if parsed.drivername in ("postgresql", "postgres"):  # no driver named: ours
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def _json_dumps(value: Any) -> str:
    """JSON for PostgreSQL, which refuses NaN and Infinity: a non-finite number is stored as
    null (a QC measurement of silence, -inf LUFS, must not fail the whole record)."""
    return json.dumps(_finite(value), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _where(url: str) -> str:
    """How the user knows this catalogue: the file for SQLite, the URL without password else."""
    parsed = _driver_url(make_url(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoint; safe in WAL mode
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Catalog:
    """An open catalogue: `read()` and `write()` give a Session inside one transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parsed = _driver_url(make_url(url))
            self.where = _where(url)
        except ArgumentError as exc:
            raise CatalogError(
                f"cannot understand the catalogue address {url!r}: {exc}",
                hint=f"set ${ENV_VAR} to a file path or an SQLAlchemy URL",
            ) from exc
        self.dialect = parsed.get_backend_name()
        self.is_sqlite = self.dialect == "sqlite"
        if self.dialect not in DIALECTS:
            raise CatalogError(
                f"catalogue {self.where}: {self.dialect} databases are not supported",
                hint=f"set ${ENV_VAR} to a file path (SQLite) or a postgresql:// URL",
            )
        if self.is_sqlite and parsed.database:
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self.error("cannot create the folder of", exc) from exc
        with self.guard("open"):
            if self.is_sqlite:
                self.engine = create_engine(url)
                _sqlite_events(self.engine)
            else:
                self.engine = _postgresql_engine(self, parsed)
        self._writer = sessionmaker(self.engine.execution_options(immediate=True))
        self._reader = sessionmaker(self.engine)

    def error(self, doing: str, exc: BaseException) -> CatalogError:
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
        hint = "check the file and its folder's permissions, then run the command again"
        if not self.is_sqlite:
            hint = "check that the server is up and the URL, user and password are right"
        low = reason.lower()
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            hint = (
                f"the file is damaged: move it aside (e.g. rename it to {Path(self.where).name}"
                ".damaged) and rebuild the catalogue with `rushline catalog import DRIVE` "
                "for each offloaded drive"
            )
        elif "locked" in low or "busy" in low:
            hint = "another command held the catalogue too long; run the command again"
        return CatalogError(f"catalogue {self.where}: {doing} failed: {reason}", hint=hint)

    @contextmanager
    def guard(self, doing: str) -> Iterator[None]:
        """Turn every database error into a CatalogError naming the catalogue."""
        try:
            yield
        except CatalogError:
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise self.error(doing, exc) from exc

    @contextmanager
    def write(self, doing: str = "writing") -> Iterator[Session]:
        """One write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
        with self.guard(doing), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def schema_lock(self, doing: str) -> Iterator[Connection]:
        """A transaction holding the write lock for schema changes: BEGIN IMMEDIATE on SQLite,
        an advisory lock on PostgreSQL (two commands creating the same table queue)."""
        with self.guard(doing), self.engine.execution_options(immediate=True).begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            yield conn

    @contextmanager
    def read(self, doing: str = "reading") -> Iterator[Session]:
        with self.guard(doing), self._reader() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _postgresql_engine(cat: Catalog, parsed: URL) -> Engine:
    try:
        return create_engine(_driver_url(parsed), json_serializer=_json_dumps, pool_pre_ping=True)
    except ImportError as exc:  # the driver is an extra: say which one
        raise CatalogError(
            f"catalogue {cat.where}: the PostgreSQL driver is not installed ({exc})",
            hint="install it: pip install 'psycopg[binary]'",
        ) from exc


def open_catalog(target: str | os.PathLike[str] | Catalog | None = None) -> Catalog:
    """Open (creating and migrating when needed) the catalogue at `target` or the default."""
    if isinstance(target, Catalog):
        return target
    from pipeline.catalog.migrate import upgrade

    cat = Catalog(catalog_url(target))
    upgrade(cat)
    return cat
