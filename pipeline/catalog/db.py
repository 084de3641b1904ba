"""Where the catalogue lives and how we talk to it: one engine, WAL, a busy timeout, and one
error type (CatalogError) for every database failure, so a caller (offload) can carry on.

`$RUSHLINE_CATALOG` is a path or an SQLAlchemy URL (`postgresql://...` for a facility), or `off`
(commands then record nothing); else `$XDG_DATA_HOME/rushline/catalog.sqlite`
(`~/.local/share/...`). On SQLite every write
transaction starts with BEGIN IMMEDIATE: the write lock is taken up front, so two commands
writing at once queue on the busy timeout instead of failing with "database is locked" when a
read lock cannot be upgraded.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.errors import RushlineError

ENV_VAR = "RUSHLINE_CATALOG"
BUSY_TIMEOUT_MS = 60_000
OFF_VALUES = frozenset({"off", "0", "no", "false", "none", "disabled"})


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


def _where(url: str) -> str:
    """How the user knows this catalogue: the file for SQLite, the URL without password else."""
    parsed = make_url(url)
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
        self.where = _where(url)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise CatalogError(
                f"cannot understand the catalogue address {url!r}: {exc}",
                hint=f"set ${ENV_VAR} to a file path or an SQLAlchemy URL",
            ) from exc
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database:
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self.error("cannot create the folder of", exc) from exc
        with self.guard("open"):
            self.engine = create_engine(url, future=True)
            if self.is_sqlite:
                _sqlite_events(self.engine)
        self._writer = sessionmaker(self.engine.execution_options(immediate=True))
        self._reader = sessionmaker(self.engine)

    def error(self, doing: str, exc: BaseException) -> CatalogError:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        hint = "check the file and its folder's permissions, then run the command again"
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
    def read(self, doing: str = "reading") -> Iterator[Session]:
        with self.guard(doing), self._reader() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def open_catalog(target: str | os.PathLike[str] | Catalog | None = None) -> Catalog:
    """Open (creating and migrating when needed) the catalogue at `target` or the default."""
    if isinstance(target, Catalog):
        return target
    from pipeline.catalog.migrate import upgrade

    cat = Catalog(catalog_url(target))
    upgrade(cat)
    return cat
