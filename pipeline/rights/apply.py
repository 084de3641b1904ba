"""`apply_rights`: one template onto a batch of files, each the way its format expects.

Decision per file (the safe default is a sidecar):
- camera RAW, and any file under an ASC MHL-managed folder (an offloaded original): XMP
  sidecar only, whatever the options;
- with `embed=True` (the user says these are our deliverables): JPEG/TIFF/DNG, MP4/MOV and
  BWF WAV get the rights inside; formats that cannot carry them (MXF...) get a sidecar and a
  line saying so;
- otherwise: a sidecar.

Embedding never touches the file in place: ExifTool (one `-stay_open` process for the batch)
or the BWF writer produces a temp copy next to it, the copy is read back by ExifTool and
compared field by field, fsynced, then renamed over the file. A field ExifTool skipped, or that
does not read back, is reported as not written.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import RightsError, RushlineError
from pipeline.exiftool import ExifToolSession
from pipeline.fsutil import fsync_dir
from pipeline.provenance import read_c2pa
from pipeline.rights import bwf
from pipeline.rights.embed import (
    Engine,
    engine_for,
    image_assignments,
    is_camera_raw,
    mhl_root,
    quicktime_assignments,
    tag_to_field,
    write_jpeg_exiv2,
)
from pipeline.rights.fields import expected_values, same, values_from_exiftool
from pipeline.rights.template import FileContext, RightsTemplate, expand, uses_file_metadata
from pipeline.rights.xmp import (
    SidecarStyle,
    merge_rights,
    render,
    sidecar_path,
    writable,
    write_sidecar,
)

log = logging.getLogger("rushline.rights")

Action = Literal["embedded", "sidecar", "unchanged", "error"]
_TMP_TAG = ".rushline-tmp"
BATCH = 64  # files written before one read-back command verifies them all


class RightsResult(BaseModel):
    """What happened to one file (the JSON truth of `rights apply`)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    action: Action
    target: str | None = None  # the file that now carries the rights (file or sidecar)
    written: list[str] = Field(default_factory=list)  # fields read back with the right value
    not_written: dict[str, str] = Field(default_factory=dict)  # field -> why
    notes: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.action != "error" and not self.not_written


@dataclass
class _Job:
    path: Path
    template: RightsTemplate
    mode: Literal["embed", "sidecar"]
    result: RightsResult
    engine: Engine | None = None
    tmp: Path | None = None
    sidecar: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named, and files under folders named (hidden files, sidecars and temps skipped)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "ascmhl")
                for name in sorted(files):
                    if name.startswith(".") or name.lower().endswith(".xmp"):
                        continue
                    out.append(Path(root) / name)
        else:
            out.append(p)
    return out


def decide(
    path: Path, *, embed: bool, made_here: bool = False
) -> tuple[Literal["embed", "sidecar"], str | None]:
    """Sidecar or embed for one file, and the note explaining a sidecar when embed was asked.

    `made_here`: the caller has just made these files (deliverables): an ASC MHL history above
    them (a delivery folder's own manifest) does not make them offloaded originals.
    """
    root = None if made_here else mhl_root(path.parent.resolve())
    if root is not None:
        return "sidecar", (
            f"offloaded original (ASC MHL history in {root}): never modified, wrote a sidecar"
        )
    if is_camera_raw(path):
        return "sidecar", "camera RAW: never modified, wrote a sidecar" if embed else None
    if not embed:
        return "sidecar", None
    if path.is_symlink():
        # Embedding renames a new file over the name: the link would become a copy and its
        # target, wherever it is, would keep no rights. Name the file itself to embed.
        return "sidecar", "a symbolic link: wrote a sidecar (give the file it points to, to embed)"
    if engine_for(path) is None:
        kind = path.suffix.lstrip(".").upper() or "this format"
        return "sidecar", f"{kind} cannot carry XMP rights reliably; wrote a sidecar"
    return "embed", None


def _capture_info(session: ExifToolSession, files: Sequence[Path]) -> dict[str, dict[str, Any]]:
    rows = session.read_json(files, ["DateTimeOriginal", "CreateDate", "Make", "Model"])
    out: dict[str, dict[str, Any]] = {}
    for path, row in rows.items():
        info: dict[str, Any] = {}
        for key, value in row.items():
            tag = key.split(":")[-1]
            if tag in ("DateTimeOriginal", "CreateDate") and "captured" not in info:
                with contextlib.suppress(ValueError, TypeError):
                    when = _dt.datetime.strptime(str(value)[:19], "%Y:%m:%d %H:%M:%S")
                    if when.year > 1900:
                        info["captured"] = when
            elif tag in ("Make", "Model"):
                info[tag] = str(value).strip()
        make, model = info.get("Make", ""), info.get("Model", "")
        camera = (
            model
            if make and model.lower().startswith(make.lower().split()[0])
            else (f"{make} {model}".strip())
        )
        info["camera"] = camera or None
        out[path] = info
    return out


def apply_rights(
    paths: Iterable[str | os.PathLike[str]],
    template: RightsTemplate,
    *,
    embed: bool = False,
    sidecar_style: SidecarStyle = "name",
    sidecar_dir: str | os.PathLike[str] | None = None,
    break_c2pa: bool = False,
    session: ExifToolSession | None = None,
    made_here: bool = False,
) -> list[RightsResult]:
    """Write the template's rights to every file: a sidecar, or embedded (see module doc).

    Never raises for one file's problem: that file's result has action "error" and the batch
    goes on. Raises RushlineError only when nothing can run (ExifTool missing).
    """
    files = iter_files(paths)
    sdir = Path(sidecar_dir) if sidecar_dir is not None else None
    if sdir is not None:
        sdir.mkdir(parents=True, exist_ok=True)
    own = session is None
    s = session or ExifToolSession()
    try:
        s.start()
        return _apply(files, template, embed, sidecar_style, sdir, break_c2pa, s, made_here)
    finally:
        if own:
            s.close()


def _apply(
    files: list[Path],
    template: RightsTemplate,
    embed: bool,
    style: SidecarStyle,
    sdir: Path | None,
    break_c2pa: bool,
    s: ExifToolSession,
    made_here: bool = False,
) -> list[RightsResult]:
    results: list[RightsResult] = []
    for path in files:
        res = RightsResult(path=str(path), action="error")
        results.append(res)
        if not path.is_file():
            res.error = f"{path} does not exist or is not a file; check the path"
    readable = [Path(r.path) for r in results if not r.error]
    info = _capture_info(s, readable) if uses_file_metadata(template) and readable else {}
    jobs = _plan(results, template, info, embed=embed, style=style, sdir=sdir, mine=made_here)
    sidecars = [j for j in jobs if j.mode == "sidecar"]
    for job in sidecars:
        _do_sidecar(job)
    _verify(s, [j for j in sidecars if j.result.action != "error"], after_rename=True)
    embeds = [j for j in jobs if j.mode == "embed"]
    for start in range(0, len(embeds), BATCH):
        _embed_chunk(s, embeds[start : start + BATCH], break_c2pa)
    return results


def _plan(
    results: list[RightsResult],
    template: RightsTemplate,
    info: dict[str, dict[str, Any]],
    *,
    embed: bool,
    style: SidecarStyle,
    sdir: Path | None,
    mine: bool = False,
) -> list[_Job]:
    """One job per readable file: the template expanded for it, sidecar or embed."""
    jobs: list[_Job] = []
    claimed: dict[Path, Path] = {}
    seq = 0
    for res in results:
        if res.error:
            continue
        path = Path(res.path)
        seq += 1
        meta = info.get(os.path.abspath(path), {})
        ctx = FileContext(path, seq=seq, captured=meta.get("captured"), camera=meta.get("camera"))
        try:
            t = expand(template, ctx)
        except (KeyError, ValueError, IndexError) as exc:
            res.error = f"cannot expand the template for {path}: {exc}"
            continue
        mode, note = decide(path, embed=embed, made_here=mine)
        if note:
            res.notes.append(note)
        job = _Job(path, t, mode, res)
        if mode == "sidecar":
            job.sidecar = sidecar_path(path, style, sdir)
            other = claimed.get(job.sidecar)
            if other is not None:
                res.error = (
                    f"{path} and {other.name} would share the sidecar {job.sidecar.name}; "
                    "use --sidecar-style ext (name.ext.xmp) to keep them apart"
                )
                continue
            claimed[job.sidecar] = path
        else:
            job.engine = engine_for(path)
        jobs.append(job)
    return jobs


def _embed_chunk(s: ExifToolSession, chunk: list[_Job], break_c2pa: bool) -> None:
    """Write temp copies, verify them all in one read, then rename each over its file."""
    for job in chunk:
        _write_embedded(s, job, break_c2pa)
    pending = [j for j in chunk if j.tmp is not None]
    _verify(s, pending, after_rename=False)
    dirs: set[Path] = set()
    for job in pending:
        _commit(job)
        dirs.add(job.path.parent)
    for d in dirs:
        with contextlib.suppress(OSError):
            fsync_dir(d)


def _do_sidecar(job: _Job) -> None:
    res = job.result
    assert job.sidecar is not None
    try:
        if job.sidecar.exists() and not writable(job.sidecar):
            raise RightsError(
                f"the sidecar {job.sidecar} is read-only; not modifying it",
                path=job.sidecar,
                hint="make it writable (chmod u+w) or give --sidecar-dir",
            )
        _written, changed = write_sidecar(job.sidecar, job.template)
    except RushlineError as exc:
        res.error = str(exc)
        return
    except OSError as exc:
        res.error = f"cannot write the sidecar {job.sidecar}: {exc.strerror}"
        return
    res.action = "sidecar" if changed else "unchanged"
    res.target = str(job.sidecar)


def _tmp_for(path: Path) -> Path:
    return path.with_name(f".{path.stem}{_TMP_TAG}{path.suffix}")


def _write_embedded(s: ExifToolSession, job: _Job, break_c2pa: bool) -> None:
    res, path = job.result, job.path
    # Mode bits as well as access(): root may write anything, but a file someone made
    # read-only is a file someone wants left alone.
    if not writable(path):
        res.error = (
            f"{path} is read-only; not modifying it (make it writable if it is really a "
            "deliverable, or drop --embed to write a sidecar)"
        )
        return
    if not writable(path.parent):
        res.error = f"cannot write in {path.parent} (folder not writable); {path} left as it was"
        return
    c2 = read_c2pa(path)
    if c2.present:
        who = c2.signer or c2.claim_generator or "unknown signer"
        if not break_c2pa:
            res.error = (
                f"{path} carries C2PA Content Credentials ({who}); embedding would break the "
                "signature. Drop --embed to write a sidecar, or pass --break-c2pa to embed anyway"
            )
            return
        res.notes.append(
            f"C2PA Content Credentials ({who}) are now invalid: the file changed after signing"
        )
    tmp = _tmp_for(path)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left by an interrupted run: the original is intact, start again
    try:
        if job.engine is Engine.BWF:
            tree_bytes = _fresh_packet(job.template)
            res.notes.extend(bwf.write_bwf(path, tmp, job.template, tree_bytes))
        elif job.engine is Engine.EXIV2_JPEG:
            write_jpeg_exiv2(path, tmp, job.template, res.notes)
            _fsync_file(tmp)
            shutil.copymode(path, tmp)
        else:
            maker = (
                image_assignments if job.engine is Engine.EXIFTOOL_IMAGE else quicktime_assignments
            )
            assignments = maker(job.template, res.notes)
            report = s.write(path, assignments, out=tmp)
            if not report.ok:
                first = (report.errors or ["unknown error"])[0].removeprefix("Error: ")
                raise RightsError(f"ExifTool could not write rights into {path}: {first}")
            for tag, why in report.not_written.items():
                fld = tag_to_field(tag)
                if fld:
                    job.skipped[fld] = f"ExifTool skipped it: {why}"
            _fsync_file(tmp)
            shutil.copymode(path, tmp)
    except RushlineError as exc:
        res.error = str(exc).split(" - /")[0]
        _drop(tmp)
        return
    except OSError as exc:
        res.error = f"cannot write rights into {path}: {exc.strerror}; file left as it was"
        _drop(tmp)
        return
    job.tmp = tmp


def _fresh_packet(t: RightsTemplate) -> bytes:
    from lxml import etree

    from pipeline.rights.xmp import _new_packet

    tree: etree._ElementTree = _new_packet()
    merge_rights(tree, t)
    return render(tree, had_packet=False)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _verify(s: ExifToolSession, jobs: list[_Job], *, after_rename: bool) -> None:
    """Read every written file back with ExifTool; record written / not written per field."""
    if not jobs:
        return
    targets = [j.sidecar if after_rename else j.tmp for j in jobs]
    # XMP only: where every field is verified. Not -fast: WAV and MP4 keep XMP at the end.
    rows = s.read_json([t for t in targets if t is not None], ["XMP:all"])
    for job, target in zip(jobs, targets, strict=True):
        res = job.result
        row = rows.get(os.path.abspath(target)) if target else None
        if row is None or "Error" in row:
            why = (row or {}).get("Error", "ExifTool could not read it back")
            res.error = f"rights written to {target} could not be read back: {why}"
            res.action = "error"
            if not after_rename:
                _drop(job.tmp)
                job.tmp = None
            continue
        found = values_from_exiftool(row)
        for fld, want in expected_values(job.template).items():
            got = found.get(fld)
            if got is not None and same(want, got[0]) and got[1].startswith("XMP"):
                res.written.append(fld)
            elif fld in job.skipped:
                res.not_written[fld] = job.skipped[fld]
            else:
                res.not_written[fld] = (
                    "not found when read back" if got is None else f"read back as {got[0]!r}"
                )


def _commit(job: _Job) -> None:
    res = job.result
    if job.tmp is None:
        return
    try:
        os.replace(job.tmp, job.path)
    except OSError as exc:
        _drop(job.tmp)
        res.error = f"cannot replace {job.path}: {exc.strerror}; file left as it was"
        res.action = "error"
        return
    job.tmp = None
    res.action = "embedded"
    res.target = str(job.path)


def summarize(results: Sequence[RightsResult]) -> dict[str, int]:
    """Counts for a report line."""
    out = {"embedded": 0, "sidecar": 0, "unchanged": 0, "error": 0, "incomplete": 0}
    for r in results:
        out[r.action] += 1
        if r.action != "error" and r.not_written:
            out["incomplete"] += 1
    return out
