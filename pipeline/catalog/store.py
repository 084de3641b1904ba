"""Upserts and the derived columns (verified copy count, free-text index) the record functions
share. Every write here is idempotent: recording the same facts twice changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from pipeline.catalog.facts import CopyFact, RecordSummary, clip_name
from pipeline.catalog.schema import Clip, Copy, Hash, Roll

CHUNK = 500


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update (or DO NOTHING), many rows at once.

    On SQLite the statement goes straight to the driver's executemany (an offload of 10 000
    files is three of these; SQLAlchemy's per-row parameter processing would dominate)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        cols = list(rows[0])
        action = (
            "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
            if update
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES "
            f"({', '.join('?' for _ in cols)}) ON CONFLICT ({', '.join(keys)}) {action}"
        )
        data = [tuple(_driver_value(r[c]) for c in cols) for r in rows]
        session.connection().exec_driver_sql(sql, data)
        return
    stmt = postgresql.insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(stmt, list(rows))


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
    wanted = list(dict.fromkeys(paths))
    out: dict[str, int] = {}
    for i in range(0, len(wanted), CHUNK):
        q = select(Clip.path, Clip.id).where(
            Clip.roll_id == rid, Clip.path.in_(wanted[i : i + CHUNK])
        )
        out.update({p: cid for p, cid in session.execute(q)})
    return out


def ensure_clips(session: Session, rid: int, facts: Sequence[CopyFact]) -> dict[str, int]:
    """Insert the clips of a roll (name, size, mtime refreshed); returns path -> id."""
    rows = [
        {
            "roll_id": rid,
            "path": f.path,
            "name": clip_name(f.path),
            "size": f.size,
            "mtime": f.mtime,
            "capture_date": (f.mtime or "")[:10] or None,
            "verified_copies": 0,
        }
        for f in {f.path: f for f in facts}.values()
    ]
    upsert(session, Clip.__table__, rows, ["roll_id", "path"], ["size", "mtime"])
    return clip_ids(session, rid, (f.path for f in facts))


def write_facts(
    session: Session, roll: str, source: str | None, facts: Sequence[CopyFact]
) -> RecordSummary:
    """Clips, hashes and copies of one roll; derived columns refreshed."""
    when = min((f.verified_at for f in facts if f.verified_at), default=None)
    rid = roll_id(session, roll, source, when)
    ids = ensure_clips(session, rid, facts)
    hashes = {
        (ids[f.path], fmt): {"clip_id": ids[f.path], "fmt": fmt, "value": value}
        for f in facts
        for fmt, value in f.hashes.items()
    }
    upsert(session, Hash.__table__, list(hashes.values()), ["clip_id", "fmt"], ["value"])
    copies = {
        (ids[f.path], f.copy_path): {
            "clip_id": ids[f.path],
            "volume": f.volume,
            "root": f.root,
            "path": f.copy_path,
            "status": f.status,
            "verified": f.verified,
            "verified_at": f.verified_at,
            "mhl_generation": f.generation,
            "manifest": f.manifest,
        }
        for f in facts
    }
    keep = ["volume", "root", "status", "verified", "verified_at", "mhl_generation", "manifest"]
    upsert(session, Copy.__table__, list(copies.values()), ["clip_id", "path"], keep)
    refresh(session, list(ids.values()))
    return RecordSummary(rolls=[roll], clips=len(ids), copies=len(copies))


_FTS_TEXT = (
    "c.name || ' ' || c.path || ' ' || r.name || ' ' || coalesce(c.reel, '') || ' ' || "
    "coalesce(c.camera, '') || ' ' || coalesce(c.lens, '') || ' ' || coalesce(c.codec, '') "
    "|| ' ' || coalesce(c.labels, '') || ' ' || coalesce(c.capture_date, '')"
)


def refresh(session: Session, ids: Sequence[int]) -> None:
    """Recount verified copies and rewrite the free-text entries of these clips."""
    fts = session.get_bind().dialect.name == "sqlite"
    for i in range(0, len(ids), CHUNK):
        part = list(ids[i : i + CHUNK])
        marks = ",".join(str(int(x)) for x in part)  # ints from our own query: safe inline
        session.execute(
            text(
                "UPDATE clips SET verified_copies = (SELECT count(*) FROM copies k WHERE "
                f"k.clip_id = clips.id AND k.verified IS NOT NULL) WHERE id IN ({marks})"
            )
        )
        if fts:
            session.execute(text(f"DELETE FROM clip_fts WHERE rowid IN ({marks})"))
            session.execute(
                text(
                    f"INSERT INTO clip_fts(rowid, text) SELECT c.id, {_FTS_TEXT} "
                    f"FROM clips c JOIN rolls r ON r.id = c.roll_id WHERE c.id IN ({marks})"
                )
            )
