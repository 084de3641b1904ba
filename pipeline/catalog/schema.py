"""The catalogue's tables (SQLAlchemy 2.0 typed models).

A Roll holds Clips (one per file, keyed by its path inside the roll, NFC). A Clip has Hashes
(one per format), Copies (one per place it was verified: volume, path, level, when, MHL
generation), probe facts (codec, picture, timecode, reel, camera, lens, capture date), its
latest QC verdict (every QC run is a QCRecord), the rights templates applied (RightsRecord),
a rating and labels. `clip_fts` (FTS5, SQLite only) indexes the free text of each clip.

Dialects: the same models create on SQLite and PostgreSQL. Case-insensitive lookups are
indexed per dialect: `COLLATE NOCASE` indexes on SQLite (what its LIKE optimisation needs),
functional `lower(col)` indexes on PostgreSQL (`text_pattern_ops`, so a prefix LIKE uses them);
each index is created only on its own dialect (`ddl_if`). On PostgreSQL a size is a BIGINT and
a length-limited string is TEXT: SQLite enforces neither, and the same facts must land on both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

#: a byte count: 64-bit on PostgreSQL (INTEGER there is 32-bit; SQLite's is 64-bit already)
BigInt = Integer().with_variant(BigInteger(), "postgresql")


def varchar(length: int) -> TypeEngine[str]:
    """VARCHAR(length) on SQLite (which never enforces it), TEXT on PostgreSQL (which would
    refuse a longer value a SQLite catalogue takes)."""
    return String(length).with_variant(Text(), "postgresql")


def nocase(name: str, column: str, *more: str) -> Index:
    """A SQLite index on `column COLLATE NOCASE` (plus `more` columns); SQLite only."""
    return Index(name, text(f"{column} COLLATE NOCASE"), *more).ddl_if(dialect="sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class SchemaVersion(Base):
    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    description: Mapped[str] = mapped_column(varchar(200))
    applied_at: Mapped[str] = mapped_column(varchar(40))


class Roll(Base):
    __tablename__ = "rolls"
    #: `reel:`/`roll:` are case-insensitive prefix searches: LIKE 'A001%' uses a NOCASE index
    __table_args__ = (nocase("ix_rolls_name_nocase", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(varchar(400), unique=True)
    source: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[str | None] = mapped_column(varchar(40))
    clips: Mapped[list[Clip]] = relationship(back_populates="roll")


class Clip(Base):
    __tablename__ = "clips"
    __table_args__ = (
        UniqueConstraint("roll_id", "path"),
        Index("ix_clips_name", "name"),
        nocase("ix_clips_reel_nocase", "reel"),  # migration step 2
        Index("ix_clips_capture_date", "capture_date"),
        Index("ix_clips_tc", "tc_in_s", "tc_out_s"),
        Index("ix_clips_verdict", "qc_verdict"),
        Index("ix_clips_copies", "verified_copies"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("rolls.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)  # inside the roll, POSIX separators, NFC
    name: Mapped[str] = mapped_column(Text)  # the clip name (file stem unless probe says)
    size: Mapped[int | None] = mapped_column(BigInt)
    mtime: Mapped[str | None] = mapped_column(varchar(40))
    kind: Mapped[str | None] = mapped_column(varchar(20))
    container: Mapped[str | None] = mapped_column(varchar(80))
    codec: Mapped[str | None] = mapped_column(varchar(120))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    start_tc: Mapped[str | None] = mapped_column(varchar(16))
    end_tc: Mapped[str | None] = mapped_column(varchar(16))  # exclusive (first frame after)
    #: timecode labels as seconds (hh*3600+mm*60+ss+ff/base) so `tc:` works at any rate
    tc_in_s: Mapped[float | None] = mapped_column(Float)
    tc_out_s: Mapped[float | None] = mapped_column(Float)
    tc_base: Mapped[int | None] = mapped_column(Integer)  # nominal timecode rate (24, 25, 30)
    reel: Mapped[str | None] = mapped_column(varchar(200))
    camera: Mapped[str | None] = mapped_column(varchar(200))
    lens: Mapped[str | None] = mapped_column(varchar(200))
    capture_date: Mapped[str | None] = mapped_column(varchar(10))  # YYYY-MM-DD
    audio_channels: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    probed_at: Mapped[str | None] = mapped_column(varchar(40))
    qc_verdict: Mapped[str | None] = mapped_column(varchar(10))
    qc_profile: Mapped[str | None] = mapped_column(varchar(200))
    rating: Mapped[int | None] = mapped_column(Integer)
    labels: Mapped[str | None] = mapped_column(Text)  # comma separated
    verified_copies: Mapped[int] = mapped_column(Integer, default=0)  # kept by record.py

    roll: Mapped[Roll] = relationship(back_populates="clips")
    hashes: Mapped[list[Hash]] = relationship(cascade="all, delete-orphan")
    copies: Mapped[list[Copy]] = relationship(cascade="all, delete-orphan")


class Hash(Base):
    __tablename__ = "hashes"
    __table_args__ = (UniqueConstraint("clip_id", "fmt"), Index("ix_hashes_value", "value"))

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    fmt: Mapped[str] = mapped_column(varchar(20))
    value: Mapped[str] = mapped_column(varchar(200))


class Copy(Base):
    """One place a clip lives, and whether (and when, how) it was verified there."""

    __tablename__ = "copies"
    __table_args__ = (
        UniqueConstraint("clip_id", "path"),
        nocase("ix_copies_volume", "volume", "clip_id"),
        Index("ix_copies_path", "path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    volume: Mapped[str] = mapped_column(varchar(400))
    root: Mapped[str] = mapped_column(Text)  # the destination folder given to offload
    path: Mapped[str] = mapped_column(Text)  # absolute path of this copy
    status: Mapped[str] = mapped_column(varchar(20))  # copied / identical / indexed / probed
    verified: Mapped[str | None] = mapped_column(varchar(20))  # size / full / source / mhl
    verified_at: Mapped[str | None] = mapped_column(varchar(40))
    mhl_generation: Mapped[int | None] = mapped_column(Integer)
    manifest: Mapped[str | None] = mapped_column(Text)


class QCRecord(Base):
    __tablename__ = "qc"
    __table_args__ = (UniqueConstraint("file", "profile"), Index("ix_qc_clip", "clip_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="SET NULL"))
    file: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(varchar(200))
    verdict: Mapped[str] = mapped_column(varchar(10))
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str | None] = mapped_column(Text)  # the first error/warning messages
    measurements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[str] = mapped_column(varchar(40))


class RightsRecord(Base):
    __tablename__ = "rights_applied"
    __table_args__ = (UniqueConstraint("file", "template"), Index("ix_rights_clip", "clip_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="SET NULL"))
    file: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(varchar(400))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applied_at: Mapped[str] = mapped_column(varchar(40))


class OffloadRun(Base):
    __tablename__ = "offloads"
    __table_args__ = (UniqueConstraint("roll_id", "source", "started"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("rolls.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(Text)
    started: Mapped[str] = mapped_column(varchar(40))
    finished: Mapped[str | None] = mapped_column(varchar(40))
    exit_code: Mapped[int] = mapped_column(Integer, default=0)
    files: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInt, default=0)
    hash_formats: Mapped[str] = mapped_column(varchar(100), default="")
    destinations: Mapped[str] = mapped_column(Text, default="")


def _lower(name: str, column: Any, *more: Any, prefix: bool) -> Index:
    """A PostgreSQL index on lower(column) (plus `more` columns); `prefix`: text_pattern_ops,
    so lower(col) LIKE 'a001%' uses it whatever the database's collation."""
    expr = func.lower(column).label(f"{column.name}_lower")
    ops = {expr.name: "text_pattern_ops"} if prefix else {}
    return Index(name, expr, *more, postgresql_ops=ops).ddl_if(dialect="postgresql")


#: PostgreSQL's counterparts of the NOCASE indexes (migration step 2 makes sure of them)
PG_INDEXES = (
    _lower("ix_rolls_name_lower", Roll.__table__.c.name, prefix=True),
    _lower("ix_clips_reel_lower", Clip.__table__.c.reel, prefix=True),
    _lower(
        "ix_copies_volume_lower", Copy.__table__.c.volume, Copy.__table__.c.clip_id, prefix=False
    ),
)

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS clip_fts USING fts5("
    "text, tokenize = 'unicode61 remove_diacritics 2')"
)
