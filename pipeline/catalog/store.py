"""Upserts and the derived columns (verified copy count, free-text index) the record functions
share. Every write here is idempotent: recording the same facts twice changes nothing.

SQLite: raw driver executemany (speed) and FTS5 rows; PostgreSQL: SQLAlchemy's
postgresql.insert(...).on_conflict_do_update, and no free-text table (search falls back to
case-insensitive substring matches, see search.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from pipeline.catalog.db import CatalogError
from pipeline.catalog.facts import CopyFact, RecordSummary, clip_name
from pipeline.catalog.schema import Clip, Copy, Hash, QCRecord, Roll

CHUNK = 500
_VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update (or DO NOTHING), many rows at once."""
    if not rows:
        return
    if session.get_bind().dialect.name != "sqlite":  # JSON values go through the JSON type
        _upsert_rows(session, table, rows, keys, update)
        return
    cols = list(rows[0])
    data = [tuple(_driver_value(r[c]) for c in cols) for r in rows]
    upsert_tuples(session, table, cols, data, keys, update)


def upsert_tuples(
    session: Session,
    table: Table,
    cols: Sequence[str],
    data: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """`upsert` of rows given as tuples in `cols` order (plain values, JSON already dumped).

    On SQLite the statement goes straight to the driver's executemany: an offload of 10 000
    files is three of these, and per-row dicts or SQLAlchemy's parameter processing would
    cost more than SQLite itself."""
    if not data:
        return
    if session.get_bind().dialect.name == "sqlite":
        action = (
            "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
            if update
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES "
            f"({', '.join('?' for _ in cols)}) ON CONFLICT ({', '.join(keys)}) {action}"
        )
        session.connection().exec_driver_sql(sql, list(data))
        return
    rows = [dict(zip(cols, row, strict=True)) for row in data]
    _upsert_rows(session, table, rows, keys, update)


def _upsert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """The PostgreSQL upsert: INSERT ... ON CONFLICT through SQLAlchemy (batched VALUES).

    One statement may not touch a row twice on PostgreSQL, where SQLite's executemany runs
    row after row: rows with the same key are merged first as SQLite would leave them (the
    first row's values, then each later row's `update` columns)."""
    if session.get_bind().dialect.name != "postgresql":
        raise CatalogError(
            f"cannot write to a {session.get_bind().dialect.name} catalogue",
            hint="use a SQLite file or a postgresql:// URL",
        )
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if key in merged:
            merged[key].update({c: row[c] for c in update})
        else:
            merged[key] = dict(row)
    stmt = postgresql.insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(stmt, list(merged.values()))


def _driver_value(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def roll_id(session: Session, name: str, source: str | None, when: str | None) -> int:
    upsert(
        session,
        Roll.__table__,
        [{"name": name, "source": source, "first_seen": when}],
        ["name"],
    )
    return session.execute(select(Roll.id).where(Roll.name == name)).scalar_one()


def clip_ids(session: Session, rid: int, paths: Iterable[str]) -> dict[str, int]:
    """path -> clip id for these paths of roll `rid` (one query: a roll is one card)."""
    wanted = set(paths)
    q = select(Clip.path, Clip.id).where(Clip.roll_id == rid)
    return {p: cid for p, cid in session.execute(q) if p in wanted}


_CLIP_COLS = ("roll_id", "path", "name", "size", "mtime", "capture_date", "verified_copies")
_COPY_COLS = (
    "clip_id",
    "volume",
    "root",
    "path",
    "status",
    "verified",
    "verified_at",
    "mhl_generation",
    "manifest",
)


def ensure_clips(
    session: Session,
    rid: int,
    facts: Sequence[CopyFact],
    verified: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Insert the clips of a roll (name, size, mtime refreshed); returns path -> id.
    `verified`: the verified copy count of each new clip (a known clip keeps its own)."""
    counts = verified or {}
    rows = [
        (rid, f.path, clip_name(f.path), f.size, f.mtime, (f.mtime or "")[:10] or None, n)
        for f in {f.path: f for f in facts}.values()
        for n in (counts.get(f.path, 0),)
    ]
    upsert_tuples(session, Clip.__table__, _CLIP_COLS, rows, ["roll_id", "path"], ["size", "mtime"])
    return clip_ids(session, rid, (f.path for f in facts))


def write_facts(
    session: Session, roll: str, source: str | None, facts: Sequence[CopyFact]
) -> RecordSummary:
    """Clips, hashes and copies of one roll, one executemany each; derived columns refreshed."""
    when = min((f.verified_at for f in facts if f.verified_at), default=None)
    rid = roll_id(session, roll, source, when)
    known = clip_ids(session, rid, (f.path for f in facts))
    verified: dict[str, set[str]] = {}
    for f in facts:
        if f.verified is not None:
            verified.setdefault(f.path, set()).add(f.copy_path)
    ids = ensure_clips(session, rid, facts, {p: len(c) for p, c in verified.items()})
    hashes = {
        (ids[f.path], fmt): (ids[f.path], fmt, value)
        for f in facts
        for fmt, value in f.hashes.items()
    }
    upsert_tuples(
        session, Hash.__table__, ("clip_id", "fmt", "value"), list(hashes.values()),
        ["clip_id", "fmt"], ["value"],
    )  # fmt: skip
    copies = {
        (ids[f.path], f.copy_path): (
            ids[f.path],
            f.volume,
            f.root,
            f.copy_path,
            f.status,
            f.verified,
            f.verified_at,
            f.generation,
            f.manifest,
        )  # fmt: skip
        for f in facts
    }
    upsert_tuples(
        session, Copy.__table__, _COPY_COLS, list(copies.values()), ["clip_id", "path"],
        _COPY_COLS[1:3] + _COPY_COLS[4:],
    )  # fmt: skip
    # a new clip's copies are all in `facts` (count set above) and it has no free-text row yet.
    # Not so on PostgreSQL (READ COMMITTED): when two offloads add the same new clips at once,
    # the second waits on the first's rows, then its upsert lands on clips it did not know,
    # counted by the first alone. Recounting every clip written fixes that: these statements
    # run after the first commit and see its copies. SQLite writers are serialised (BEGIN
    # IMMEDIATE), so only the clips known beforehand need it there.
    sqlite = session.get_bind().dialect.name == "sqlite"
    refresh(session, list((known if sqlite else ids).values()))
    index_text(session, [cid for p, cid in ids.items() if p not in known])
    return RecordSummary(rolls=[roll], clips=len(ids), copies=len(copies))


_FTS_TEXT = (
    "c.name || ' ' || c.path || ' ' || r.name || ' ' || coalesce(c.reel, '') || ' ' || "
    "coalesce(c.camera, '') || ' ' || coalesce(c.lens, '') || ' ' || coalesce(c.codec, '') "
    "|| ' ' || coalesce(c.labels, '') || ' ' || coalesce(c.capture_date, '')"
)


_RECOUNT = (
    "UPDATE clips SET verified_copies = (SELECT count(*) FROM copies k WHERE "
    "k.clip_id = clips.id AND k.verified IS NOT NULL) WHERE id IN ({ids})"
)


_EACH = "SELECT value FROM json_each(?)"


def index_text(session: Session, ids: Sequence[int]) -> None:
    """Write the free-text rows of these clips (which have none yet), in one statement."""
    if ids and session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(
            f"INSERT INTO clip_fts(rowid, text) SELECT c.id, {_FTS_TEXT} "
            f"FROM clips c JOIN rolls r ON r.id = c.roll_id WHERE c.id IN ({_EACH})",
            (json.dumps([int(x) for x in ids]),),
        )


def refresh(session: Session, ids: Sequence[int]) -> None:
    """Recount verified copies and rewrite the free-text entries of these clips.

    On SQLite the ids go in as one JSON array (json_each): three statements for any number of
    clips, the FTS rows written in bulk by one INSERT ... SELECT."""
    if not ids:
        return
    if session.get_bind().dialect.name == "sqlite":
        conn = session.connection()
        param = (json.dumps([int(x) for x in ids]),)
        conn.exec_driver_sql(_RECOUNT.format(ids=_EACH), param)
        conn.exec_driver_sql(f"DELETE FROM clip_fts WHERE rowid IN ({_EACH})", param)
        index_text(session, ids)
        return
    for i in range(0, len(ids), CHUNK):
        marks = ",".join(str(int(x)) for x in ids[i : i + CHUNK])  # ints: safe inline
        session.execute(text(_RECOUNT.format(ids=marks)))


def set_verdicts(session: Session, ids: Iterable[int]) -> None:
    """A clip's verdict is the worst of its QC records; its profiles, in the order run."""
    for cid in ids:
        found = session.execute(
            select(QCRecord.verdict, QCRecord.profile)
            .where(QCRecord.clip_id == cid)
            .order_by(QCRecord.recorded_at)
        ).all()
        if not found:
            continue
        worst = max((v for v, _ in found), key=lambda v: _VERDICT_RANK.get(v, 0))
        profiles = ", ".join(dict.fromkeys(p for _, p in found))
        session.execute(
            update(Clip).where(Clip.id == cid).values(qc_verdict=worst, qc_profile=profiles)
        )
