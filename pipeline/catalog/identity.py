"""One camera file, one clip — whatever order things are recorded in.

A clip is keyed by its roll and its path inside the roll (`clips.roll_id, clips.path`). An
offload names the roll after the card folder (`B_A001`) and knows each file's path on the card;
a probe of a card that was never offloaded only knows the file, so it files a *probe-only* clip
(no hash, no verified copy) under the folder the file sits in. When the offload of that card is
recorded, its files *adopt* those probe-only clips: found by the card path (a copy row at
`<source>/<path>`), else by file name and size (the card mounted elsewhere), each adoption unique
both ways. An adopted clip moves into the offload's roll (it keeps its id), or, if the roll
already holds the file, is merged into it (facts filled in, copies, hashes, QC and rights moved).

The card itself is the clip's *source* (`copies.status = 'source'`, never verified, never
counted, never an `on:` volume): the card is wiped and reused, so it is no copy, but where a
clip came from is provenance a DIT is asked about, and it lets a later probe or QC of the card
path land on the same clip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, exists, func, literal, select, update
from sqlalchemy.orm import Session

from pipeline.catalog.schema import Clip, Copy, Hash, OffloadRun, QCRecord, RightsRecord, Roll
from pipeline.catalog.store import CHUNK, refresh, set_verdicts, upsert_tuples

SOURCE = "source"  # copies.status of the card a clip was offloaded from
PROBED = "probed"  # copies.status of a place a file was probed, not verified
#: clip columns a merge fills in from the dropped clip where the kept one has nothing
FACT_COLS = (
    "size", "mtime", "kind", "container", "codec", "width", "height", "fps", "duration_s",
    "start_tc", "end_tc", "tc_in_s", "tc_out_s", "tc_base", "reel", "camera", "lens",
    "capture_date", "audio_channels", "sample_rate", "probed_at", "qc_verdict", "qc_profile",
    "rating", "labels",
)  # fmt: skip


@dataclass(frozen=True)
class Arrival:
    """A file an offload (or an import) brings into a roll."""

    path: str  # inside the roll, POSIX, NFC
    size: int | None
    source: str | None  # its absolute path on the card, when known


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def probe_only(s: Session, ids: Iterable[int] | None = None) -> dict[int, tuple[str, int | None]]:
    """id -> (path, size) of clips with no verified copy and no hash (known only by a probe)."""
    q = select(Clip.id, Clip.path, Clip.size).where(
        Clip.verified_copies == 0, ~exists().where(Hash.clip_id == Clip.id)
    )
    if ids is not None:
        q = q.where(Clip.id.in_(list(ids)))
    return {cid: (path, size) for cid, path, size in s.execute(q)}


def any_probe_only(s: Session) -> bool:
    """Whether the catalogue holds any probe-only clip (one indexed query): when it holds none,
    the usual case (cards are offloaded before anything probes them), nothing can be adopted."""
    q = select(literal(1)).where(
        Clip.verified_copies == 0, ~exists().where(Hash.clip_id == Clip.id)
    )
    return s.execute(q.limit(1)).first() is not None


def _by_source(s: Session, arrivals: list[Arrival]) -> dict[Arrival, int]:
    """Arrivals whose card path is a place a clip was probed (the copy row at that path)."""
    wanted = {a.source: a for a in arrivals if a.source}
    found: dict[Arrival, int] = {}
    paths = list(wanted)
    for i in range(0, len(paths), CHUNK):
        q = select(Copy.path, Copy.clip_id).where(Copy.path.in_(paths[i : i + CHUNK]))
        for path, cid in s.execute(q):
            found.setdefault(wanted[path], cid)
    orphans = probe_only(s, set(found.values()))
    return {a: cid for a, cid in found.items() if cid in orphans}


def _by_name_and_size(s: Session, arrivals: list[Arrival], taken: set[int]) -> dict[Arrival, int]:
    """Arrivals matching exactly one probe-only clip by file name and size, and vice versa."""
    key = {(_base(a.path), a.size): a for a in arrivals if a.size is not None}
    if not key:
        return {}
    count: dict[tuple[str, int | None], int] = {}
    for a in arrivals:
        count[(_base(a.path), a.size)] = count.get((_base(a.path), a.size), 0) + 1
    matches: dict[tuple[str, int | None], list[int]] = {}
    for cid, (path, size) in probe_only(s).items():
        k = (_base(path), size)
        if k in key and cid not in taken:
            matches.setdefault(k, []).append(cid)
    return {key[k]: ids[0] for k, ids in matches.items() if len(ids) == 1 and count[k] == 1}


def adopt(s: Session, rid: int, arrivals: Iterable[Arrival]) -> list[int]:
    """Give each arriving file the probe-only clip of the same camera file, moved into roll
    `rid` at the file's path (or merged into the clip already there). Returns the clip ids
    touched; rolls left empty are dropped."""
    items = list(arrivals)
    if not items or not any_probe_only(s):
        return []
    found = _by_source(s, items)
    found.update(_by_name_and_size(s, [a for a in items if a not in found], set(found.values())))
    if not found:
        return []
    here = dict(s.execute(select(Clip.path, Clip.id).where(Clip.roll_id == rid)).all())
    touched = []
    for a, orphan in found.items():
        target = here.get(a.path)
        if target == orphan:
            continue
        if target is None:
            s.execute(update(Clip).where(Clip.id == orphan).values(roll_id=rid, path=a.path))
            here[a.path] = target = orphan
        else:
            merge_clip(s, target, orphan)
        touched.append(target)
    drop_empty_rolls(s)
    return touched


def merge_clip(s: Session, keep: int, drop: int) -> None:
    """Fold clip `drop` into clip `keep`: missing facts filled in, hashes, copies, QC and
    rights records moved over, then `drop` deleted (its free-text row too)."""
    cols = Clip.__table__.c
    a = s.execute(select(cols).where(Clip.id == keep)).mappings().one()
    b = s.execute(select(cols).where(Clip.id == drop)).mappings().one()
    values: dict[str, Any] = {c: b[c] for c in FACT_COLS if a[c] is None and b[c] is not None}
    if b["probed_at"] and not a["probed_at"]:
        values["name"] = b["name"]  # the probe's clip name (metadata) over the file stem
    if values:
        s.execute(update(Clip).where(Clip.id == keep).values(**values))
    hashes = s.execute(select(Hash.fmt, Hash.value).where(Hash.clip_id == drop)).all()
    upsert_tuples(
        s, Hash.__table__, ("clip_id", "fmt", "value"), [(keep, f, v) for f, v in hashes],
        ["clip_id", "fmt"],
    )  # fmt: skip
    kept_paths = select(Copy.path).where(Copy.clip_id == keep).scalar_subquery()
    s.execute(
        update(Copy).where(Copy.clip_id == drop, Copy.path.not_in(kept_paths)).values(clip_id=keep)
    )
    for model in (QCRecord, RightsRecord):
        s.execute(update(model).where(model.clip_id == drop).values(clip_id=keep))
    for model in (Hash, Copy):
        s.execute(delete(model).where(model.clip_id == drop))
    if s.get_bind().dialect.name == "sqlite":
        s.connection().exec_driver_sql("DELETE FROM clip_fts WHERE rowid = ?", (drop,))
    s.execute(delete(Clip).where(Clip.id == drop))
    set_verdicts(s, [keep])


def drop_empty_rolls(s: Session) -> None:
    """Rolls no clip and no offload refers to any more (left by an adoption)."""
    s.execute(
        delete(Roll).where(
            ~exists().where(Clip.roll_id == Roll.id),
            ~exists().where(OffloadRun.roll_id == Roll.id),
        )
    )


def mark_sources(s: Session, rid: int, volume: str, root: str, sources: Mapping[str, str]) -> None:
    """Record each file's card path (`sources`: path in roll -> absolute card path) as the
    clip's source: a place it was only probed becomes its source; a verified copy at that path
    (an offload from a backup drive) stays a copy."""
    ids = dict(s.execute(select(Clip.path, Clip.id).where(Clip.roll_id == rid)).all())
    rows = [(ids[p], volume, root, src, SOURCE) for p, src in sources.items() if p in ids]
    _probed_to_source(s, [r[3] for r in rows])
    cols = ("clip_id", "volume", "root", "path", "status")
    upsert_tuples(s, Copy.__table__, cols, rows, ["clip_id", "path"])


_PROBED_TO_SOURCE = (
    f"UPDATE copies SET status = '{SOURCE}' WHERE path IN (SELECT value FROM json_each(?)) "
    f"AND status = '{PROBED}' AND verified IS NULL"
)


def _probed_to_source(s: Session, paths: list[str]) -> None:
    """Copies at these paths that were only probed become sources (on SQLite one statement,
    the paths as one JSON array; elsewhere one per chunk of paths)."""
    if paths and s.get_bind().dialect.name == "sqlite":
        s.connection().exec_driver_sql(_PROBED_TO_SOURCE, (json.dumps(paths),))
        return
    for i in range(0, len(paths), CHUNK):
        s.execute(
            update(Copy)
            .where(Copy.path.in_(paths[i : i + CHUNK]), Copy.status == PROBED)
            .where(Copy.verified.is_(None))
            .values(status=SOURCE)
        )


def clip_from_source(s: Session, file: str) -> tuple[int, str, str] | None:
    """(clip id, card root, path in roll) of a file on a card an offload was recorded from."""
    f = literal(file)
    q = (
        select(Clip.id, Roll.source, Clip.path)
        .join(Roll, Roll.id == Clip.roll_id)
        .where(Roll.source.is_not(None))
        .where(func.substr(f, 1, func.length(Roll.source) + 1) == Roll.source + "/")
        .where(Clip.path == func.substr(f, func.length(Roll.source) + 2))
        .limit(1)
    )
    row = s.execute(q).first()
    return (row[0], row[1], row[2]) if row else None


def merge_duplicates(s: Session) -> int:
    """Fold every probe-only clip into the offloaded clip of the same camera file (by the
    card path its offload recorded, else by a unique file name and size). Returns how many
    clips were merged. The migration step for catalogues written before clips had one
    identity; safe to run again (it then finds nothing)."""
    orphans = probe_only(s)
    if not orphans:
        return 0
    merged: dict[int, int] = {}
    for drop, (keep, card) in _targets(s, orphans).items():
        merge_clip(s, keep, drop)
        if card:
            s.execute(
                update(Copy)
                .where(Copy.clip_id == keep, Copy.path == card, Copy.status == PROBED)
                .values(status=SOURCE)
            )
        merged[drop] = keep
    drop_empty_rolls(s)
    refresh(s, sorted(set(merged.values())))
    return len(merged)


def _places(s: Session, orphans: Mapping[int, Any]) -> list[tuple[int, str, str]]:
    ids = list(orphans)
    out = []
    for i in range(0, len(ids), CHUNK):
        q = select(Copy.clip_id, Copy.path, Copy.root).where(Copy.clip_id.in_(ids[i : i + CHUNK]))
        out.extend((c, p, r) for c, p, r in s.execute(q))
    return out


def _targets(s: Session, orphans: Mapping[int, tuple[str, int | None]]) -> dict[int, Any]:
    """probe-only clip id -> (offloaded clip id, its card path or None)."""
    out: dict[int, tuple[int, str | None]] = {}
    for cid, path, _root in _places(s, orphans):
        hit = clip_from_source(s, path)
        if hit and hit[0] != cid and hit[0] not in orphans and cid not in out:
            out[cid] = (hit[0], path)
    rest = {cid: v for cid, v in orphans.items() if cid not in out and v[1] is not None}
    if rest:
        sizes = sorted({v[1] for v in rest.values() if v[1] is not None})
        cands: dict[tuple[str, int | None], list[int]] = {}
        for i in range(0, len(sizes), CHUNK):
            q = select(Clip.id, Clip.path, Clip.size).where(
                Clip.size.in_(sizes[i : i + CHUNK]), Clip.verified_copies > 0
            )
            for cid, path, size in s.execute(q):
                cands.setdefault((_base(path), size), []).append(cid)
        seen: dict[tuple[str, int | None], list[int]] = {}
        for cid, (path, size) in rest.items():
            seen.setdefault((_base(path), size), []).append(cid)
        for k, drops in seen.items():
            if len(drops) == 1 and len(cands.get(k, [])) == 1:
                out[drops[0]] = (cands[k][0], None)
    return out


def merge_in_migration(conn: Connection) -> None:
    """Migration step: merge duplicated clips on this connection (inside the step's lock)."""
    with Session(bind=conn) as s:
        merge_duplicates(s)
        s.flush()
