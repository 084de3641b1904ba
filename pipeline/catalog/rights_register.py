"""The rights register's table: external sources (music cues, archive footage, stills) the
production licensed, one row per register reference.

Its own SQLAlchemy metadata in the catalogue's database (created on first use, under the write
lock), not a step in the catalogue's numbered migrations: those belong to the catalogue room
and a table of ours must not change what its version 1 means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pipeline.catalog.db import Catalog
from pipeline.catalog.schema import varchar
from pipeline.catalog.store import upsert


class RegisterBase(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class RegisterEntry(RegisterBase):
    __tablename__ = "rights_register"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(varchar(200), unique=True)
    kind: Mapped[str] = mapped_column(varchar(20))
    title: Mapped[str] = mapped_column(Text)
    rights_holder: Mapped[str] = mapped_column(Text)
    licence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(varchar(20))
    uses: Mapped[list[str]] = mapped_column(JSON, default=list)
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    start: Mapped[str | None] = mapped_column(varchar(10))
    end: Mapped[str | None] = mapped_column(varchar(10))  # None: in perpetuity
    fee_reference: Mapped[str | None] = mapped_column(Text)
    ai: Mapped[str | None] = mapped_column(varchar(20))  # None / generated / composited
    linked: Mapped[list[str]] = mapped_column(JSON, default=list)  # clip names or file paths
    notes: Mapped[str | None] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(Text)
    source_line: Mapped[int] = mapped_column()
    imported_at: Mapped[str] = mapped_column(varchar(40))


COLUMNS = [c for c in RegisterEntry.__table__.columns.keys() if c != "id"]


def ensure_tables(cat: Catalog) -> None:
    with cat.schema_lock("creating the rights register table") as conn:
        RegisterBase.metadata.create_all(conn, checkfirst=True)


def write_entries(cat: Catalog, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or update register rows by `ref`, all in one transaction."""
    ensure_tables(cat)
    with cat.write("importing the rights register") as s:
        keep = [c for c in COLUMNS if c != "ref"]
        upsert(s, RegisterEntry.__table__, list(rows), ["ref"], keep)
    return len(rows)


def read_entries(cat: Catalog) -> list[dict[str, Any]]:
    ensure_tables(cat)
    with cat.read("reading the rights register") as s:
        found = s.scalars(select(RegisterEntry).order_by(RegisterEntry.ref))
        return [{c: getattr(r, c) for c in COLUMNS} for r in found]
