"""What each room tells the catalogue. Every function is one transaction, safe to call twice
(upserts), and raises CatalogError only: a caller (offload, probe, QC) catches that one type,
warns, and carries on."""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.catalog import timecode
from pipeline.catalog.db import Catalog, CatalogError, open_catalog
from pipeline.catalog.facts import CopyFact, RecordSummary, locate, volume_name
from pipeline.catalog.identity import PROBED, SOURCE, Arrival, adopt, clip_from_source, mark_sources
from pipeline.catalog.schema import Clip, Copy, OffloadRun, QCRecord, RightsRecord, Roll
from pipeline.catalog.store import (
    ensure_clips,
    refresh,
    roll_id,
    set_verdicts,
    upsert,
    write_facts,
)
from pipeline.errors import UserInputError
from pipeline.mhl import MHL_FOLDER
from pipeline.names import nfc

if TYPE_CHECKING:
    from pipeline.assets import Asset
    from pipeline.offload import OffloadResult
    from pipeline.qc.findings import QCResult

P = ParamSpec("P")
R = TypeVar("R")
CatalogLike = Catalog | str | os.PathLike[str] | None
_GEN_RE = re.compile(r"^(\d{4,})_")


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def catalog_errors_only(func: Callable[P, R]) -> Callable[P, R]:
    """Whatever goes wrong inside, the caller sees a CatalogError (never sqlite3 or a bug)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (CatalogError, UserInputError):
            raise
        except Exception as exc:  # a bug here must not fail an offload: report it as ours
            raise CatalogError(
                f"the catalogue was not updated ({func.__name__}: {type(exc).__name__}: {exc})",
                hint="this is a bug in Rushline; run again with --debug and report the output",
            ) from exc

    return wrapper


def _with_catalog(catalog: CatalogLike, work: Callable[[Catalog], R]) -> R:
    cat = open_catalog(catalog)
    try:
        return work(cat)
    finally:
        if not isinstance(catalog, Catalog):
            cat.close()


def _generation(manifest: str | None) -> int | None:
    m = _GEN_RE.match(Path(manifest).name) if manifest else None
    return int(m.group(1)) if m else None


def offload_facts(
    result: OffloadResult, volumes: Mapping[str, str] | None = None
) -> list[CopyFact]:
    """One CopyFact per file verified on a destination (failed copies are not copies)."""
    dests = {d.root: d for d in result.destinations}
    names = {r: (volumes or {}).get(r) or volume_name(r) for r in dests}
    gens = {r: _generation(d.manifest) for r, d in dests.items()}
    when = result.finished or _now()
    facts = []
    for rec in result.files:
        rel = nfc(rec.path)
        for out in rec.outcomes:
            d = dests.get(out.destination)
            if d is None or out.failure is not None or out.status == "failed":
                continue
            copy_path = d.roll_dir.rstrip("/") + "/" + rec.path
            facts.append(
                CopyFact(
                    path=rel,
                    size=rec.size,
                    mtime=rec.mtime,
                    hashes=dict(rec.hashes),
                    copy_path=nfc(copy_path),
                    root=d.root,
                    volume=names[d.root],
                    status=str(out.status),
                    verified=out.verified or "size",
                    verified_at=when,
                    generation=gens[d.root],
                    manifest=d.manifest,
                )
            )
    return facts


@catalog_errors_only
def record_offload(
    result: OffloadResult,
    *,
    catalog: CatalogLike = None,
    volumes: Mapping[str, str] | None = None,
) -> RecordSummary:
    """Record every verified file of an offload: roll, clip, size, hashes, each copy (volume,
    level, when, MHL generation), and the run itself. `volumes` names destination roots."""
    facts = offload_facts(result, volumes)
    source = nfc(os.path.abspath(result.source))
    cards = {f.path: source + "/" + f.path for f in facts}
    arrivals = [Arrival(f.path, f.size, cards[f.path]) for f in {f.path: f for f in facts}.values()]

    def work(cat: Catalog) -> RecordSummary:
        with cat.write("recording the offload") as s:
            rid = roll_id(s, nfc(result.roll), result.source, result.started)
            s.execute(
                update(Roll).where(Roll.id == rid, Roll.source.is_(None)).values(source=source)
            )
            adopt(s, rid, arrivals)
            summary = write_facts(s, nfc(result.roll), result.source, facts)
            mark_sources(s, rid, volume_name(source), source, cards)
            run = {
                "roll_id": rid,
                "source": result.source,
                "started": result.started,
                "finished": result.finished,
                "exit_code": result.exit_code,
                "files": len(result.files),
                "bytes_total": result.bytes_total,
                "hash_formats": ",".join(result.hash_formats),
                "destinations": "\n".join(d.root for d in result.destinations),
            }
            record_run(s, run)
        landed = {f.path for f in facts}
        summary.skipped = [r.path for r in result.files if nfc(r.path) not in landed]
        return summary

    return _with_catalog(catalog, work)


_RUN_KEY = ("roll_id", "source", "started")


def record_run(s: Session, run: dict[str, Any]) -> None:
    """One row per offload run, keyed by roll, card and start (to the second). The same run
    recorded again replaces its row. Two offloads of one card started in the same second to
    other drives (two machines, two commands) share the key: their row then lists every
    destination and keeps the worst exit code, where an upsert would keep the last only."""
    t = OffloadRun.__table__
    upsert(s, t, [run], _RUN_KEY)  # DO NOTHING: inserted, or waited for the other's commit
    where = [t.c[k] == run[k] for k in _RUN_KEY]
    row = s.execute(select(t).where(*where).with_for_update()).mappings().one()
    old, new = row["destinations"].split("\n"), run["destinations"].split("\n")
    if set(old) == set(new):  # this run again: its latest facts
        values = {k: run[k] for k in ("finished", "exit_code", "files", "bytes_total")}
    else:
        values = {
            "destinations": "\n".join(dict.fromkeys(old + new)),
            "finished": max(row["finished"] or "", run["finished"] or "") or None,
            "exit_code": max(row["exit_code"], run["exit_code"]),
            "files": max(row["files"], run["files"]),
            "bytes_total": max(row["bytes_total"], run["bytes_total"]),
        }
    s.execute(t.update().where(*where).values(**values))


def _find_clip(s: Session, file: str) -> int | None:
    """The clip a file is a copy of (by its exact copy path)."""
    q = select(Copy.clip_id).where(Copy.path == nfc(os.path.abspath(file))).limit(1)
    return s.execute(q).scalar()


def _clip_for_file(s: Session, file: str, *, create: bool) -> int | None:
    """The clip of a file: a known copy, else (create) a clip in the roll the file sits in."""
    cid = _find_clip(s, file)
    if cid is not None:
        return cid
    absolute = nfc(os.path.abspath(file))
    on_card = clip_from_source(s, absolute)
    if on_card is not None:  # a card an offload was recorded from: the clip's source
        cid, card, _ = on_card
        row = {"clip_id": cid, "volume": volume_name(card), "root": card, "path": absolute}
        upsert(s, Copy.__table__, [{**row, "status": SOURCE}], ["clip_id", "path"])
        return cid
    if not create:
        return None
    roll, rel, root = locate(file)
    fact = CopyFact(
        path=rel,
        size=None,
        mtime=None,
        hashes={},
        copy_path=absolute,
        root=root,
        volume=volume_name(root),
        status=PROBED,
        verified=None,
        verified_at=None,
    )
    rid = roll_id(s, roll, None, _now())
    cid = ensure_clips(s, rid, [fact])[rel]
    row = {"clip_id": cid, "volume": fact.volume, "root": root, "path": absolute}
    upsert(s, Copy.__table__, [{**row, "status": PROBED}], ["clip_id", "path"])
    return cid


def _bookkeeping(file: str) -> bool:
    """A file of an offload's own (its ASC MHL history, its lock), not a camera file."""
    parts = Path(os.path.abspath(file)).parts[:-1]
    return MHL_FOLDER in parts or "_rushline" in parts


def probe_facts(asset: Asset) -> dict[str, Any]:
    """The clip columns an Asset fills (None values never erase what is known)."""
    v = asset.video[0] if asset.video else None
    fps = v.frame_rate if v else None
    facts: dict[str, Any] = {
        "kind": str(asset.kind),
        "size": asset.size,
        "container": asset.container,
        "codec": " ".join(x for x in (v.codec, v.codec_profile) if x) if v else None,
        "width": v.width if v else (asset.photo.width if asset.photo else None),
        "height": v.height if v else (asset.photo.height if asset.photo else None),
        "fps": fps,
        "duration_s": asset.duration_s,
        "reel": asset.reel,
        "camera": asset.camera,
        "lens": asset.photo.lens if asset.photo else None,
        "audio_channels": asset.audio_channels or None,
        "sample_rate": asset.audio[0].sample_rate if asset.audio else None,
        "probed_at": _now(),
    }
    if asset.clip_name:
        facts["name"] = asset.clip_name
    if asset.photo and asset.photo.captured:
        facts["capture_date"] = asset.photo.captured[:10].replace(":", "-")
    facts.update(_timecode_facts(asset.start_timecode, fps, v.frame_count if v else None, asset))
    return {k: val for k, val in facts.items() if val is not None}


def _timecode_facts(
    start: str | None, fps: float | None, frames: int | None, asset: Asset
) -> dict[str, Any]:
    if not start or not fps or timecode.parse(start) is None:
        return {}
    base = timecode.nominal(fps)
    count = frames or round((asset.duration_s or 0) * fps)
    end = timecode.end_of(start, fps, count)
    tc_in = timecode.label_seconds(start, base)
    tc_out = timecode.label_seconds(end, base) if end else None
    if tc_in is not None and tc_out is not None and tc_out < tc_in:
        tc_out += 86400  # the clip runs past midnight
    return {"start_tc": start, "end_tc": end, "tc_in_s": tc_in, "tc_out_s": tc_out, "tc_base": base}


@catalog_errors_only
def record_probe(
    assets: Iterable[Asset], *, catalog: CatalogLike = None, known_only: bool = False
) -> RecordSummary:
    """Record what each file is. A file already known as a copy updates its clip; an unknown
    file becomes a clip of the roll it sits in (the folder holding its `ascmhl/`, else its
    folder), listed with an unverified copy — unless `known_only` (then it is skipped: an
    imported drive's manifests and reports are not clips). Assets with an error are skipped."""
    items = list(assets)

    def work(cat: Catalog) -> RecordSummary:
        summary = RecordSummary()
        touched: list[int] = []
        with cat.write("recording probe results") as s:
            for a in items:
                if not a.ok:
                    summary.skipped.append(f"{a.path}: {a.error}")
                    continue
                if _bookkeeping(a.path):
                    summary.skipped.append(f"{a.path}: an offload's manifest or lock, not a clip")
                    continue
                cid = _clip_for_file(s, a.path, create=not known_only)
                if cid is None:
                    summary.skipped.append(f"{a.path}: not a catalogued copy")
                    continue
                s.execute(update(Clip).where(Clip.id == cid).values(**probe_facts(a)))
                touched.append(cid)
            refresh(s, touched)
        summary.clips = len(set(touched))
        return summary

    return _with_catalog(catalog, work)


@catalog_errors_only
def record_qc(
    results: QCResult | Iterable[QCResult], *, catalog: CatalogLike = None
) -> RecordSummary:
    """Record QC verdicts with their key measurements (one row per file and profile). A clip's
    verdict is the worst of its QC records. Files the catalogue does not know are kept too."""
    from pipeline.qc.findings import QCResult as _QC

    items = [results] if isinstance(results, _QC) else list(results)

    def work(cat: Catalog) -> RecordSummary:
        summary = RecordSummary()
        with cat.write("recording QC results") as s:
            clips = set()
            for r in items:
                cid = _find_clip(s, r.file)
                errs = [f.message for f in r.findings if f.severity == "error"]
                warns = [f.message for f in r.findings if f.severity == "warning"]
                row = {
                    "clip_id": cid,
                    "file": nfc(os.path.abspath(r.file)),
                    "profile": r.profile,
                    "verdict": str(r.verdict),
                    "errors": len(errs),
                    "warnings": len(warns),
                    "summary": "\n".join((errs + warns)[:5]) or r.error,
                    "measurements": r.measurements,
                    "recorded_at": _now(),
                }
                keep = [k for k in row if k not in ("file", "profile")]
                upsert(s, QCRecord.__table__, [row], ["file", "profile"], keep)
                if cid is not None:
                    clips.add(cid)
                else:
                    summary.skipped.append(f"{r.file}: not in the catalogue (kept as a file)")
            set_verdicts(s, sorted(clips))
        summary.clips = len(clips)
        return summary

    return _with_catalog(catalog, work)


@catalog_errors_only
def record_rights(
    files: Iterable[str | os.PathLike[str]],
    template: str,
    *,
    fields: Mapping[str, Any] | None = None,
    fields_by_file: Mapping[str, Mapping[str, Any]] | None = None,
    catalog: CatalogLike = None,
) -> RecordSummary:
    """Record that the rights template `template` (with these field values, or each file's
    own in `fields_by_file`, keyed by absolute path) was applied to each file (deliverables the
    catalogue does not know are kept by path)."""
    paths = [nfc(os.path.abspath(f)) for f in files]
    own = {nfc(os.path.abspath(k)): dict(v) for k, v in (fields_by_file or {}).items()}
    when = _now()

    def work(cat: Catalog) -> RecordSummary:
        summary = RecordSummary()
        with cat.write("recording rights") as s:
            rows = []
            for p in paths:
                cid = _find_clip(s, p)
                summary.clips += cid is not None
                rows.append(
                    {
                        "clip_id": cid,
                        "file": p,
                        "template": template,
                        "fields": own.get(p, dict(fields or {})),
                        "applied_at": when,
                    }
                )
            upsert(
                s,
                RightsRecord.__table__,
                rows,
                ["file", "template"],
                ["clip_id", "fields", "applied_at"],
            )
        return summary

    return _with_catalog(catalog, work)


@catalog_errors_only
def record_rating(
    files: Iterable[str | os.PathLike[str]],
    *,
    rating: int | None = None,
    labels: Sequence[str] | None = None,
    catalog: CatalogLike = None,
) -> RecordSummary:
    """Set the rating (0-5) and/or labels of the clips these files are copies of."""
    paths = [os.fspath(f) for f in files]
    values: dict[str, Any] = {}
    if rating is not None:
        values["rating"] = rating
    if labels is not None:
        values["labels"] = ",".join(lbl.strip() for lbl in labels if lbl.strip())

    def work(cat: Catalog) -> RecordSummary:
        summary = RecordSummary()
        with cat.write("recording ratings") as s:
            ids = []
            for p in paths:
                cid = _clip_for_file(s, p, create=True)
                assert cid is not None
                if values:
                    s.execute(update(Clip).where(Clip.id == cid).values(**values))
                ids.append(cid)
            refresh(s, ids)
        summary.clips = len(set(ids))
        return summary

    return _with_catalog(catalog, work)
