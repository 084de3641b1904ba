"""Schema migrations: a numbered list of steps and a `schema_version` table, from release one.

Why not Alembic: the catalogue is usually one SQLite file per user, opened by every command;
migrations must run by themselves at open time, inside the same write lock as everything else
(two commands opening a new catalogue at once must not both migrate), without a script folder
to ship or an extra dependency. A step is a function of a Connection; adding a column later is
one more entry in MIGRATIONS. A facility on PostgreSQL gets the same steps; a step that must
differ branches on `conn.dialect.name`, its SQLite branch never changing once released. On
PostgreSQL the steps run under an advisory lock (`Catalog.schema_lock`) and use `conn.execute`
only, so their statements can be compiled and checked without a server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection, inspect, select
from sqlalchemy.schema import CreateIndex

from pipeline.catalog.db import Catalog, CatalogError
from pipeline.catalog.identity import merge_in_migration
from pipeline.catalog.schema import FTS_DDL, PG_INDEXES, Base, SchemaVersion


def _v1_initial(conn: Connection) -> None:
    Base.metadata.create_all(conn)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(FTS_DDL)


def _v2_nocase_prefix_indexes(conn: Connection) -> None:
    """`reel:` and `roll:` match case-insensitively by prefix: on SQLite a LIKE 'A001%' can
    only use an index declared COLLATE NOCASE (the binary one forced a scan of every clip).
    Idempotent: a new catalogue already has these from step 1's create_all of the models.
    PostgreSQL has no NOCASE: its counterparts are the lower(col) indexes of PG_INDEXES."""
    if conn.dialect.name == "postgresql":
        for index in PG_INDEXES:
            conn.execute(CreateIndex(index, if_not_exists=True))
        return
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_clips_reel")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_clips_reel_nocase ON clips (reel COLLATE NOCASE)"
    )
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_rolls_name_nocase ON rolls (name COLLATE NOCASE)"
    )


def _v3_one_clip_per_file(conn: Connection) -> None:
    """Catalogues written before clips had one identity may hold a camera file twice: a
    probe-only clip (the card probed before its offload was recorded, filed under the card's
    folder) beside the offloaded clip. Fold each into the offloaded one (facts, copies, QC and
    rights kept; the card path becomes the clip's source). Data only, both dialects; finds
    nothing on a new catalogue or a second run. (A mock connection, which only compiles DDL,
    has no rows to merge.)"""
    if isinstance(conn, Connection):
        merge_in_migration(conn)


#: (version, description, step) — append only; never edit a released step. Step 1 creates
#: the tables from the current models, so every later step must be idempotent (IF NOT EXISTS).
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "rolls, clips, hashes, copies, qc, rights, offloads; clip_fts", _v1_initial),
    (2, "case-insensitive prefix indexes for reel: and roll:", _v2_nocase_prefix_indexes),
    (3, "one clip per camera file: probe-only duplicates merged", _v3_one_clip_per_file),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    found = conn.execute(select(SchemaVersion.version).order_by(SchemaVersion.version.desc()))
    return found.scalar() or 0


def upgrade(cat: Catalog) -> int:
    """Bring the catalogue to the latest schema; returns the version it is at."""
    with cat.guard("checking the schema"), cat.engine.connect() as conn:
        version = current_version(conn)  # read first: no write lock when nothing to do
        conn.rollback()
    if version == LATEST:
        return version
    if version > LATEST:
        raise CatalogError(
            f"catalogue {cat.where} has schema version {version}, newer than this Rushline "
            f"({LATEST})",
            hint="upgrade Rushline, or point $RUSHLINE_CATALOG at another catalogue",
        )
    with cat.schema_lock("migrating the schema") as conn:
        version = current_version(conn)  # again, under the write lock
        for number, description, step in MIGRATIONS:
            if number <= version:
                continue
            step(conn)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            conn.execute(
                SchemaVersion.__table__.insert().values(
                    version=number, description=description, applied_at=now
                )
            )
            version = number
    return version
