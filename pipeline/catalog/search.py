"""Find clips: free text (FTS5 on SQLite) and field filters, answering "where are the copies
of this clip, and are they verified?".

Filters: camera:FX6  reel:A001  roll:B_A001 (reel: and roll: both match the camera's reel or
the offload's roll, by prefix)  tc:14:23:10:00 (a timecode inside the clip)
date:2026-11-22 (or 2026-11-20..2026-11-22)  verdict:fail  on:SHUTTLE1 (a volume)
copies:<2 (verified copies; < <= > >= = or a number)  codec:ProRes  label:select  rating:>=3
name:A001C003. Anything else is free text; "double quotes" keep a phrase together.

Dialects: on SQLite free text is an FTS5 prefix match and case-insensitive filters are LIKE on
COLLATE NOCASE indexes; on PostgreSQL (no FTS table) each free-text term is a case-insensitive
substring of the clip's name, path, roll, reel, camera, lens, codec, labels or date, and the
filters are lower(col) LIKE lower(pattern) on the lower(col) indexes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.orm import Session

from pipeline.catalog import timecode
from pipeline.catalog.db import Catalog
from pipeline.catalog.identity import SOURCE
from pipeline.catalog.schema import Clip, Copy, Hash, Roll
from pipeline.errors import UserInputError
from pipeline.names import nfc

FIELDS = (
    "camera",
    "reel",
    "roll",
    "tc",
    "date",
    "verdict",
    "on",
    "copies",
    "codec",
    "label",
    "rating",
    "name",
)
_TOKEN_RE = re.compile(r'(\w+):"([^"]*)"|"([^"]*)"|(\S+)')
_CMP_RE = re.compile(r"^(<=|>=|<|>|=)?\s*(\d+)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CopyInfo(BaseModel):
    volume: str
    path: str
    status: str
    verified: str | None = None
    verified_at: str | None = None
    mhl_generation: int | None = None


class ClipHit(BaseModel):
    id: int
    roll: str
    path: str
    name: str
    size: int | None = None
    codec: str | None = None
    resolution: str | None = None
    fps: float | None = None
    start_tc: str | None = None
    end_tc: str | None = None
    reel: str | None = None
    camera: str | None = None
    lens: str | None = None
    capture_date: str | None = None
    verdict: str | None = None
    rating: int | None = None
    labels: str | None = None
    hashes: dict[str, str] = Field(default_factory=dict)
    audio_channels: int | None = None
    verified_copies: int = 0
    #: where the clip was offloaded from (the card): provenance, never a copy
    source: str | None = None
    copies: list[CopyInfo] = Field(default_factory=list)


class SearchResult(BaseModel):
    query: str
    total: int
    clips: list[ClipHit]


def tokens(query: str) -> list[tuple[str | None, str]]:
    """(field or None, value) for each term of a query."""
    out: list[tuple[str | None, str]] = []
    for m in _TOKEN_RE.finditer(query):
        if m[1] is not None:
            out.append((m[1].lower() if m[1].lower() in FIELDS else None, m[2]))
        elif m[3] is not None:
            out.append((None, m[3]))
        else:
            key, sep, value = m[4].partition(":")
            if sep and key.lower() in FIELDS and value:
                out.append((key.lower(), value))
            else:
                out.append((None, m[4]))
    return out


def _cmp(col: Any, spec: str, what: str) -> Any:
    m = _CMP_RE.match(spec.strip())
    if not m:
        raise UserInputError(f"cannot read {what}:{spec}", hint=f"write e.g. {what}:<2 or {what}:3")
    op, n = m[1] or "=", int(m[2])
    return {"<": col < n, "<=": col <= n, ">": col > n, ">=": col >= n, "=": col == n}[op]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tc_filter(value: str) -> Any:
    p = timecode.parse(value)
    if p is None:
        raise UserInputError(f"cannot read the timecode {value!r}", hint="write tc:14:23:10:00")
    hh, mm, ss, ff, _ = p
    whole = hh * 3600 + mm * 60 + ss
    at = whole + ff * 1.0 / Clip.tc_base
    longest = select(func.max(Clip.tc_out_s - Clip.tc_in_s)).scalar_subquery()
    # the first two terms are index-friendly bounds; the last two are exact at the clip's rate
    return and_(
        Clip.tc_in_s >= whole - longest,
        Clip.tc_in_s <= whole + 1,
        Clip.tc_out_s > whole,
        Clip.tc_in_s <= at,
        Clip.tc_out_s > at,
    )


def _date_filter(value: str) -> Any:
    lo, _, hi = value.partition("..")
    hi = hi or lo
    if not (_DATE_RE.match(lo) and _DATE_RE.match(hi)):
        raise UserInputError(f"cannot read the date {value!r}", hint="write date:2026-11-22")
    return Clip.capture_date.between(lo, hi)


def _ilike(col: Any, pattern: str, sqlite: bool) -> Any:
    """Case-insensitive LIKE. On SQLite plain LIKE already ignores ASCII case (as ilike's
    lower() does: SQLite folds ASCII only), and unlike lower() it keeps a prefix pattern on a
    COLLATE NOCASE index (the LIKE optimisation); on PostgreSQL lower(col) LIKE lower(pattern),
    which a lower(col) text_pattern_ops index serves (the planner folds lower('A001%'))."""
    if sqlite:
        return col.like(pattern, escape="\\")
    return func.lower(col).like(func.lower(pattern), escape="\\")


def _on_filter(value: str, *, drive: bool, sqlite: bool = True) -> Any:
    """Clips with a copy on volume `value`. A volume holds most clips: it drives the search
    (an id list from ix_copies_volume) only when nothing else narrows it; otherwise it is a
    per-clip check (EXISTS on the same index), after a more selective filter."""
    if sqlite:
        on_volume = Copy.volume.collate("NOCASE") == value
    else:  # ix_copies_volume_lower
        on_volume = func.lower(Copy.volume) == func.lower(value)
    on_volume = and_(on_volume, Copy.status != SOURCE)  # the card is no copy
    if drive:
        return Clip.id.in_(select(Copy.clip_id).where(on_volume))
    return select(Copy.clip_id).where(Copy.clip_id == Clip.id, on_volume).exists()


def _field_filter(key: str, value: str, *, sqlite: bool = True, alone: bool = False) -> Any:
    contains = f"%{_like(value)}%"
    starts = f"{_like(value)}%"
    if key in ("camera", "codec", "label", "name"):
        col = {"camera": Clip.camera, "codec": Clip.codec, "label": Clip.labels}.get(key, Clip.name)
        return _ilike(col, contains, sqlite)
    if key in ("reel", "roll"):  # the camera's reel or the offload's roll, either way:
        # two prefix searches on NOCASE indexes, unioned (a multi-index OR)
        rolls = select(Roll.id).where(_ilike(Roll.name, starts, sqlite))
        return or_(_ilike(Clip.reel, starts, sqlite), Clip.roll_id.in_(rolls))
    if key == "tc":
        return _tc_filter(value)
    if key == "date":
        return _date_filter(value)
    if key == "verdict":
        return (
            Clip.qc_verdict.is_(None)
            if value.lower() == "none"
            else Clip.qc_verdict == value.lower()
        )
    if key == "on":
        return _on_filter(value, drive=alone, sqlite=sqlite)
    if key == "copies":
        return _cmp(Clip.verified_copies, value, "copies")
    if key == "rating":
        return _cmp(Clip.rating, value, "rating")
    raise AssertionError(key)


def fts_expression(terms: Sequence[str]) -> str | None:
    """An FTS5 MATCH string: each term a quoted prefix phrase of its word tokens (user text is
    never FTS syntax). None when no term has a word character."""
    parts = []
    for term in terms:
        words = re.findall(r"[^\W_]+", term)
        if words:
            parts.append('"' + " ".join(words).replace('"', '""') + '"*')
    return " AND ".join(parts) or None


def build(query: str, *, fts: bool) -> Select[Any]:
    """The SELECT of the clip ids a query matches (`fts`: SQLite, with clip_fts)."""
    terms = tokens(query)
    stmt = select(Clip.id)
    alone = all(key == "on" for key, _ in terms)  # only volumes: let one drive the search
    free: list[str] = []
    for key, value in terms:
        if key is None:
            free.append(value)
        else:
            stmt = stmt.where(_field_filter(key, value, sqlite=fts, alone=alone))
    expr = fts_expression(free) if fts else None
    if expr:
        stmt = stmt.where(
            Clip.id.in_(
                text("SELECT rowid FROM clip_fts WHERE clip_fts MATCH :m").bindparams(m=expr)
            )
        )
    for term in free:
        if expr and re.search(r"[^\W_]", term):
            continue
        stmt = stmt.where(_substring(term, sqlite=fts))
    return stmt


_FREE_TEXT = (
    Clip.name,
    Clip.path,
    Clip.reel,
    Clip.camera,
    Clip.lens,
    Clip.codec,
    Clip.labels,
    Clip.capture_date,
)


def _substring(term: str, *, sqlite: bool) -> Any:
    """A free-text term FTS cannot take. SQLite (punctuation only, no word for FTS): a
    substring of the name or path. PostgreSQL (no FTS table): a substring of any column
    clip_fts indexes on SQLite, the roll's name included."""
    pat = f"%{_like(term)}%"
    if sqlite:
        return or_(_ilike(Clip.name, pat, True), _ilike(Clip.path, pat, True))
    rolls = select(Roll.id).where(_ilike(Roll.name, pat, False))
    return or_(*(_ilike(col, pat, False) for col in _FREE_TEXT), Clip.roll_id.in_(rolls))


def hits(s: Session, ids: Sequence[int]) -> list[ClipHit]:
    """Full records (copies and hashes included) for these clip ids, in that order."""
    if not ids:
        return []
    rows = s.execute(select(Clip, Roll.name).join(Roll).where(Clip.id.in_(ids))).all()
    copies: dict[int, list[CopyInfo]] = {}
    sources: dict[int, str] = {}
    for k in s.scalars(select(Copy).where(Copy.clip_id.in_(ids)).order_by(Copy.volume)):
        if k.status == SOURCE:
            sources.setdefault(k.clip_id, k.path)
            continue
        copies.setdefault(k.clip_id, []).append(
            CopyInfo(
                volume=k.volume,
                path=k.path,
                status=k.status,
                verified=k.verified,
                verified_at=k.verified_at,
                mhl_generation=k.mhl_generation,
            )
        )
    hashes: dict[int, dict[str, str]] = {}
    for h in s.scalars(select(Hash).where(Hash.clip_id.in_(ids))):
        hashes.setdefault(h.clip_id, {})[h.fmt] = h.value
    by_id = {}
    for c, roll in rows:
        by_id[c.id] = ClipHit(
            id=c.id,
            roll=roll,
            path=c.path,
            name=c.name,
            size=c.size,
            codec=c.codec,
            resolution=f"{c.width}x{c.height}" if c.width and c.height else None,
            fps=c.fps,
            start_tc=c.start_tc,
            end_tc=c.end_tc,
            reel=c.reel,
            camera=c.camera,
            lens=c.lens,
            capture_date=c.capture_date,
            verdict=c.qc_verdict,
            rating=c.rating,
            labels=c.labels,
            audio_channels=c.audio_channels,
            hashes=hashes.get(c.id, {}),
            verified_copies=c.verified_copies,
            source=sources.get(c.id),
            copies=copies.get(c.id, []),
        )
    return [by_id[i] for i in ids if i in by_id]


def every_hit(cat: Catalog, query: str = "") -> list[ClipHit]:
    """Every clip a query matches, in catalogue order (exports)."""
    stmt = build(query, fts=cat.is_sqlite).order_by(Clip.id)
    out: list[ClipHit] = []
    with cat.read("reading clips") as s:
        ids = list(s.scalars(stmt))
        for i in range(0, len(ids), 500):
            out.extend(hits(s, ids[i : i + 500]))
    return out


def search(cat: Catalog, query: str, *, limit: int = 100) -> SearchResult:
    """The clips matching `query` (first `limit`, in catalogue order) and how many match."""
    stmt = build(query, fts=cat.is_sqlite)
    with cat.read("searching") as s:
        total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        ids = list(s.scalars(stmt.order_by(Clip.id).limit(limit)))
        return SearchResult(query=query, total=total, clips=hits(s, ids))


def find_clip(cat: Catalog, ref: str) -> list[ClipHit]:
    """Clips a user means by `ref`: #id, a copy's path, roll/path, or a clip name."""
    ref = nfc(ref)
    absolute = nfc(os.path.abspath(ref))
    with cat.read("looking up a clip") as s:
        if ref.startswith("#") and ref[1:].isdigit():
            return hits(s, [int(ref[1:])])
        q = (
            select(Clip.id)
            .join(Roll)
            .outerjoin(Copy, Copy.clip_id == Clip.id)
            .where(
                or_(
                    Copy.path.in_([ref, absolute]),
                    Clip.name == ref,
                    Clip.path == ref,
                    (Roll.name + "/" + Clip.path) == ref,
                )
            )
            .distinct()
            .order_by(Clip.id)
            .limit(50)
        )
        return hits(s, list(s.scalars(q)))
