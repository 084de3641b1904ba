"""What the catalogue knows about the archive: where each archived file lives.

A table of its own (`archived_files`, on its own SQLAlchemy metadata in the catalogue's
database, created on first use under the write lock), because the catalogue's numbered
migrations belong to the catalogue room. Archived files the catalogue knows as clips also get
a `copies` row (volume = the bag's volume, status `archived`, verified `full`), so
`rushline catalog search on:LTO001` and the copy count see the archive like any other drive.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Index, Integer, Text, UniqueConstraint, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from pipeline.catalog.db import Catalog
from pipeline.catalog.facts import volume_name
from pipeline.catalog.record import CatalogLike, catalog_errors_only
from pipeline.catalog.schema import BigInt, Copy, varchar
from pipeline.catalog.search import hits
from pipeline.catalog.store import refresh, upsert
from pipeline.names import nfc


class ArchiveBase(DeclarativeBase):
    pass


class ArchivedFile(ArchiveBase):
    __tablename__ = "archived_files"
    __table_args__ = (
        UniqueConstraint("bag_path", "payload"),
        Index("ix_archived_source", "source"),
        Index("ix_archived_bag", "bag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bag: Mapped[str] = mapped_column(varchar(200))
    bag_path: Mapped[str] = mapped_column(Text)
    volume: Mapped[str] = mapped_column(varchar(400))
    payload: Mapped[str] = mapped_column(Text)  # data/... inside the bag, NFC
    source: Mapped[str] = mapped_column(Text)  # where it was archived from (absolute, NFC)
    clip_id: Mapped[int | None] = mapped_column(Integer)  # the catalogue clip, when known
    size: Mapped[int] = mapped_column(BigInt)
    sha256: Mapped[str | None] = mapped_column(varchar(64))
    archived_at: Mapped[str] = mapped_column(varchar(40))


@dataclass
class ArchivedEntry:
    """One file put in a bag (what records and exports are made from)."""

    payload: str  # data/...
    source: str  # absolute
    size: int
    digests: dict[str, str]


def ensure_tables(cat: Catalog) -> None:
    with cat.schema_lock("creating the archive table") as conn:
        ArchiveBase.metadata.create_all(conn, checkfirst=True)


def _clip_ids(s: Session, sources: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(0, len(sources), 500):
        part = list(sources[i : i + 500])
        q = select(Copy.path, Copy.clip_id).where(Copy.path.in_(part))
        out.update({p: cid for p, cid in s.execute(q)})
    return out


@catalog_errors_only
def catalog_entries(entries: Sequence[ArchivedEntry], *, catalog: CatalogLike) -> list[dict]:
    """The catalogue's record of each file being bagged (None for files it does not know)."""
    from pipeline.catalog.db import open_catalog

    cat = open_catalog(catalog)
    try:
        with cat.read("exporting catalogue entries") as s:
            ids = _clip_ids(s, [nfc(e.source) for e in entries])
            clips = {h.id: h.model_dump() for h in hits(s, sorted(set(ids.values())))}
    finally:
        if not isinstance(catalog, Catalog):
            cat.close()
    out = []
    for e in entries:
        cid = ids.get(nfc(e.source))
        out.append(
            {
                "payload": e.payload,
                "source": e.source,
                "size": e.size,
                **{k: v for k, v in e.digests.items()},
                "clip": clips.get(cid) if cid is not None else None,
            }
        )
    return out


@catalog_errors_only
def record_archive(
    bag_name: str, bag_path: str, entries: Sequence[ArchivedEntry], *, catalog: CatalogLike
) -> int:
    """Record where each archived file lives; returns how many were catalogue clips."""
    from pipeline.catalog.db import open_catalog

    cat = open_catalog(catalog)
    try:
        ensure_tables(cat)
        with cat.write("recording the archive") as s:
            return _write(s, bag_name, os.path.abspath(bag_path), entries)
    finally:
        if not isinstance(catalog, Catalog):
            cat.close()


def _write(s: Session, bag_name: str, bag_path: str, entries: Sequence[ArchivedEntry]) -> int:
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    volume = volume_name(bag_path)
    ids = _clip_ids(s, [nfc(e.source) for e in entries])
    rows: list[dict[str, Any]] = []
    copies: list[dict[str, Any]] = []
    for e in entries:
        cid = ids.get(nfc(e.source))
        where = nfc(os.path.join(bag_path, e.payload))
        row = {"bag": bag_name, "bag_path": nfc(bag_path), "volume": volume}
        row |= {"payload": nfc(e.payload), "source": nfc(e.source), "clip_id": cid}
        rows.append(row | {"size": e.size, "sha256": e.digests.get("sha256")})
        rows[-1]["archived_at"] = when
        if cid is not None:
            copies.append(
                {"clip_id": cid, "volume": volume, "root": nfc(bag_path), "path": where}
                | {"status": "archived", "verified": "full", "verified_at": when}
                | {"mhl_generation": None, "manifest": None}
            )
    keep = ["bag", "volume", "source", "clip_id", "size", "sha256", "archived_at"]
    upsert(s, ArchivedFile.__table__, rows, ["bag_path", "payload"], keep)
    upsert(s, Copy.__table__, copies, ["clip_id", "path"], ["status", "verified", "verified_at"])
    refresh(s, sorted({c["clip_id"] for c in copies}))
    return len(copies)


def where_archived(source_or_payload: str, *, catalog: CatalogLike = None) -> list[dict]:
    """Every bag holding a file archived from this path (or with this payload path)."""
    from pipeline.catalog.db import open_catalog

    cat = open_catalog(catalog)
    try:
        ensure_tables(cat)
        key = nfc(source_or_payload)
        with cat.read("looking up the archive") as s:
            q = select(ArchivedFile).where(
                (ArchivedFile.source == nfc(os.path.abspath(key))) | (ArchivedFile.payload == key)
            )
            return [
                {c: getattr(r, c) for c in ArchivedFile.__table__.columns.keys()}
                for r in s.scalars(q)
            ]
    finally:
        if not isinstance(catalog, Catalog):
            cat.close()
