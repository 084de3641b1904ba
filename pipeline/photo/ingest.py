"""Photo ingest: the verified offload of a card, then a renamed set beside it.

Why a renamed set beside the card mirror, not a rename in place: an ASC MHL history has no
"rename"; every later generation keeps the card's names, so renaming the offloaded files would
leave `rushline verify` / `ascmhl verify` reporting every original as missing forever. So the
roll folder stays the exact card with its true history (as Photo Mechanic's ingest keeps a
backup under the card's names), and `<roll>-renamed/` receives the renamed files with its own
ASC MHL history, whose first generation records the new names with the hashes the offload
verified. Both folders verify.

Each renamed file is placed atomically and never over anything: a hard link for proprietary
RAW files (no program writes into a CR3 or NEF, they use sidecars; zero bytes copied), a copy
(reflinked where the file system can) for files programs do write metadata into (JPEG, TIFF,
DNG, HEIC) and for sidecars, so editing a renamed file never alters an original. A copy is
re-hashed against the offload's hash before it gets its final name.

Names: files sharing a base name in one folder (`IMG_0001.CR3`, `IMG_0001.JPG`,
`IMG_0001.xmp`, `IMG_0001.CR3.xmp`) form one shot and get one new base name. Shots are
numbered in order of capture time, sub-second and camera serial (never by file number, which
wraps at 9999 and repeats across cameras); the plan is written before the first file is
placed, so re-running finishes an interrupted rename with the same names and numbers new
shots after the last one.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import fcntl
import io
import json
import os
import shutil
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from pipeline import mhl
from pipeline.errors import UserInputError
from pipeline.fsutil import atomic_write_text, fsync_dir
from pipeline.hashing import hash_file
from pipeline.offload import STATE_DIR, FileStatus, OffloadResult, offload, part_path
from pipeline.probe import PHOTO_EXT, RAW_EXT

DEFAULT_RENAME = "{date}_{seq:04}"
RENAMED_SUFFIX = "-renamed"
MAP_NAME = "rename-map"
FIELDS = ("date", "time", "year", "client", "project", "seq", "camera", "serial", "original",
          "ext", "roll")  # fmt: skip
# Files programs write metadata into: copied, never hard-linked to the original.
WRITTEN_INTO = {".jpg", ".jpeg", ".tif", ".tiff", ".dng", ".heic", ".heif", ".png", ".xmp"}
_FICLONE = 0x40049409  # Linux ioctl: share extents copy-on-write (btrfs, XFS)


class RenameEntry(BaseModel):
    """One file: where it came from, what it is called now, and its verified hashes."""

    shot: int
    original: str  # relative to the roll, as on the card
    new: str  # name in the renamed folder
    size: int
    hashes: dict[str, str] = Field(default_factory=dict)
    captured: str | None = None
    camera: str | None = None
    serial: str | None = None


class RenameMap(BaseModel):
    """The rename map: nothing is lost, every new name leads back to the card's."""

    roll: str
    template: str
    entries: list[RenameEntry] = Field(default_factory=list)


class DestinationIngest(BaseModel):
    roll_dir: str
    renamed_dir: str
    manifest: str | None = None
    linked: int = 0
    copied: int = 0
    already: int = 0
    errors: list[str] = Field(default_factory=list)


class IngestResult(BaseModel):
    offload: OffloadResult
    template: str
    map: RenameMap
    destinations: list[DestinationIngest] = Field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.offload.ok:
            return self.offload.exit_code
        return 1 if any(d.errors for d in self.destinations) else 0


@dataclass
class Shot:
    """Files of one folder that share a base name: a RAW, its JPEG, their sidecars."""

    folder: str
    base: str
    files: list[tuple[str, str]] = field(default_factory=list)  # (relative path, tail)
    when: tuple[str, str] = ("", "")  # (ISO capture time with sub-seconds, serial)
    camera: str = ""

    @property
    def ext(self) -> str:
        exts = [t.split(".")[1].lower() for _, t in self.files if t.count(".") == 1]
        raw = [e for e in exts if f".{e}" in RAW_EXT]
        return (raw or exts or [""])[0]


# -- template ----------------------------------------------------------------------------------
def check_template(template: str) -> None:
    """Refuse a template with unknown fields before any work starts."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise UserInputError(f"rename template {template!r}: {exc}") from None
    unknown = sorted({n for n in names if n not in FIELDS})
    if unknown or "" in names:
        raise UserInputError(
            f"rename template {template!r} uses unknown fields {unknown or ['{}']}",
            hint="use " + ", ".join("{" + f + "}" for f in FIELDS),
        )


def _clean(text: str) -> str:
    """A name part safe on every file system: no separators or control characters."""
    out = "".join("_" if (c in '/\\:*?"<>|' or not c.isprintable()) else c for c in text)
    return unicodedata.normalize("NFC", out.strip().replace(" ", "-")) or "x"


def render_name(template: str, shot: Shot, seq: int, values: dict[str, str]) -> str:
    when = shot.when[0]
    fields = {
        "date": when[:10] or "undated",
        "time": when[11:19].replace(":", "") or "000000",
        "year": when[:4] or "undated",
        "client": values.get("client", ""),
        "project": values.get("project", ""),
        "seq": seq,
        "camera": shot.camera or "camera",
        "serial": shot.when[1] or "",
        "original": shot.base,
        "ext": shot.ext,
        "roll": values.get("roll", ""),
    }
    try:
        return _clean(template.format(**fields))
    except (ValueError, KeyError) as exc:
        raise UserInputError(f"rename template {template!r}: {exc}") from None


# -- shots and capture times -------------------------------------------------------------------
def split_name(name: str) -> tuple[str, str]:
    """'IMG_0001.CR3.xmp' -> ('IMG_0001', '.CR3.xmp'); 'IMG_0001.JPG' -> ('IMG_0001', '.JPG')."""
    core = name[:-4] if name.lower().endswith(".xmp") else name
    base = PurePosixPath(core).stem if "." in core.lstrip(".") else core
    return base, name[len(base) :]


def group_shots(paths: Sequence[str]) -> list[Shot]:
    """Shots of the roll: files sharing folder and base name; only shots holding a photo."""
    shots: dict[tuple[str, str], Shot] = {}
    for rel in paths:
        p = PurePosixPath(rel)
        if STATE_DIR in p.parts or mhl.MHL_FOLDER in p.parts:
            continue
        base, tail = split_name(p.name)
        key = (str(p.parent), unicodedata.normalize("NFC", base).casefold())
        shots.setdefault(key, Shot(str(p.parent), base)).files.append((rel, tail))
    return [
        s
        for s in shots.values()
        if any(PurePosixPath(r).suffix.lower() in PHOTO_EXT for r, _ in s.files)
    ]


def _tag(row: dict, name: str) -> str:
    for key, value in row.items():
        if key == name or key.endswith(f":{name}"):
            return str(value).strip()
    return ""


def _capture(row: dict) -> tuple[str, str, str]:
    """(ISO time with sub-seconds, serial, camera) from one ExifTool row."""
    raw = _tag(row, "DateTimeOriginal") or _tag(row, "CreateDate")
    iso = ""
    with contextlib.suppress(ValueError):
        iso = dt.datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    sub = _tag(row, "SubSecTimeOriginal") or _tag(row, "SubSecTime")
    if iso and sub.isdigit():
        iso += "." + sub.ljust(6, "0")[:6]
    serial = _tag(row, "SerialNumber") or _tag(row, "InternalSerialNumber")
    model = _tag(row, "Model")
    return iso, serial, model


def read_captures(root: Path, rels: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """Capture time, serial and camera of each photo, in one ExifTool command."""
    from pipeline.exiftool import ExifToolSession
    from pipeline.tools import has_exiftool

    if not rels or not has_exiftool():
        return {}
    tags = ["-DateTimeOriginal", "-CreateDate", "-SubSecTimeOriginal", "-SubSecTime",
            "-SerialNumber", "-InternalSerialNumber", "-Model"]  # fmt: skip
    plain = [r for r in rels if "\n" not in r and "\r" not in r]
    groups = [plain] + [[r] for r in rels if r not in plain]
    by_abs = {os.path.abspath(root / r): r for r in rels}
    out: dict[str, tuple[str, str, str]] = {}
    with ExifToolSession() as et:
        for group in (g for g in groups if g):
            res = et.execute(["-j", "-G1", *tags, *(os.path.abspath(root / r) for r in group)])
            with contextlib.suppress(json.JSONDecodeError):
                for row in json.loads(res.stdout or "[]"):
                    rel = by_abs.get(os.path.abspath(row.get("SourceFile", "")))
                    if rel is not None:
                        out[rel] = _capture(row)
    return out


def order_shots(shots: list[Shot], root: Path) -> list[Shot]:
    """Shots in capture order: time + sub-second, then camera serial, then name."""
    photos = [r for s in shots for r, _ in s.files if PurePosixPath(r).suffix.lower() in PHOTO_EXT]
    caps = read_captures(root, photos)
    for s in shots:
        found = [caps[r] for r, _ in s.files if r in caps and caps[r][0]]
        if found:
            iso, serial, model = max(found, key=lambda c: (bool(c[1]), bool(c[2])))
            s.when, s.camera = (iso, serial), model
        else:  # no capture time: the file's modification time is the best we have
            with contextlib.suppress(OSError):
                mtime = (root / s.files[0][0]).stat().st_mtime
                s.when = (dt.datetime.fromtimestamp(mtime).isoformat(timespec="microseconds"), "")
    return sorted(shots, key=lambda s: (s.when[0], s.when[1], s.camera, s.folder, s.base))


# -- the plan ----------------------------------------------------------------------------------
def load_map(path: Path) -> RenameMap | None:
    try:
        return RenameMap.model_validate_json(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise UserInputError(
            f"{path}: the rename map is damaged ({exc.__class__.__name__})",
            path=path,
            hint="restore it from another destination (each holds a copy) before renaming again",
        ) from None


def plan(
    result: OffloadResult, root: Path, template: str, values: dict[str, str],
    previous: RenameMap | None,
) -> RenameMap:  # fmt: skip
    """The rename map: earlier assignments kept as they were, new shots numbered after them."""
    records = {r.path: r for r in result.files if r.ok}
    rmap = previous or RenameMap(roll=result.roll, template=template)
    done = {e.original for e in rmap.entries}
    taken = {unicodedata.normalize("NFC", e.new).casefold() for e in rmap.entries}
    seq = max((e.shot for e in rmap.entries), default=0)
    fresh = [s for s in group_shots(sorted(records)) if not any(r in done for r, _ in s.files)]
    for shot in order_shots(fresh, root):
        seq += 1
        base = render_name(template, shot, seq, {**values, "roll": result.roll})
        n = 1
        name = base
        while any(f"{name}{t}".casefold() in taken for _, t in shot.files):
            n += 1  # the template does not make names unique (no {seq}): say so in the name
            name = f"{base}-{n}"
        for rel, tail in shot.files:
            rec = records[rel]
            new = unicodedata.normalize("NFC", f"{name}{tail}")
            taken.add(new.casefold())
            rmap.entries.append(
                RenameEntry(
                    shot=seq,
                    original=rel,
                    new=new,
                    size=rec.size,
                    hashes=dict(rec.hashes),
                    captured=shot.when[0] or None,
                    camera=shot.camera or None,
                    serial=shot.when[1] or None,
                )  # fmt: skip
            )
    return rmap


# -- placing files -----------------------------------------------------------------------------
def _clone_or_copy(src: Path, dst: Path, want: dict[str, str]) -> None:
    """Copy `src` to the new name `dst` (reflink when possible), re-read from the device and
    checked against the card's hash before it gets its final name (linked: never replaces)."""
    part = part_path(dst)
    try:
        with open(src, "rb") as fin, open(part, "wb") as fout:
            try:
                fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
            except OSError:
                shutil.copyfileobj(fin, fout, 8 * 1024 * 1024)
            fout.flush()
            os.fsync(fout.fileno())
        fmt = next(iter(sorted(want)), None)
        if fmt is not None and hash_file(part, [fmt], from_device=True)[fmt] != want[fmt]:
            raise OSError(errno.EIO, f"the copy's {fmt} differs from the card's", str(dst))
        os.link(part, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)


def _same_file(a: Path, b: Path, want: dict[str, str]) -> bool:
    """True when `b` (already there) is `a`'s hard link or holds the recorded content."""
    sa, sb = a.stat(), b.stat(follow_symlinks=False)
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
        return True
    if not b.is_file() or b.is_symlink() or sb.st_size != sa.st_size or not want:
        return False
    fmt = sorted(want)[0]
    return hash_file(b, [fmt])[fmt] == want[fmt]


def place(src: Path, dst: Path, want: dict[str, str]) -> str:
    """Give `src` its new name `dst`: 'linked', 'copied' or 'already'; never overwrites."""
    if os.path.lexists(dst):
        if _same_file(src, dst, want):
            return "already"
        raise FileExistsError(errno.EEXIST, "a different file already has this name", str(dst))
    if src.suffix.lower() not in WRITTEN_INTO:
        try:
            os.link(src, dst)  # atomic, and fails rather than replace anything
            return "linked"
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
    _clone_or_copy(src, dst, want)
    return "copied"


def _ok_on(result: OffloadResult, roll_dir: str) -> set[str]:
    """Files whose copy on this destination is verified."""
    dest = next(d for d in result.destinations if d.roll_dir == roll_dir)
    return {
        rec.path
        for rec in result.files
        for o in rec.outcomes
        if o.destination in (dest.root, dest.roll_dir) and o.failure is None
        and o.status != FileStatus.FAILED
    }  # fmt: skip


def apply_map(rmap: RenameMap, roll_dir: Path, renamed: Path, ok: set[str]) -> DestinationIngest:
    """Place every file of the map in the renamed folder; a failure is that file's error."""
    out = DestinationIngest(roll_dir=str(roll_dir), renamed_dir=str(renamed))
    renamed.mkdir(parents=True, exist_ok=True)
    for e in rmap.entries:
        if e.original not in ok:
            out.errors.append(f"{e.original}: not verified on this destination; not renamed")
            continue
        try:
            how = place(roll_dir / e.original, renamed / e.new, e.hashes)
        except OSError as exc:
            out.errors.append(f"{e.original} -> {e.new}: {exc.strerror or exc}")
            continue
        setattr(out, how, getattr(out, how) + 1)
    fsync_dir(renamed)
    return out


def write_map(rmap: RenameMap, renamed: Path) -> tuple[Path, Path]:
    """The rename map as JSON (the truth) and CSV (for people), in the renamed folder's state."""
    state = renamed / STATE_DIR
    js, cs = state / f"{MAP_NAME}.json", state / f"{MAP_NAME}.csv"
    atomic_write_text(js, rmap.model_dump_json(indent=2) + "\n", overwrite=True)
    buf = io.StringIO()
    fmts = sorted({f for e in rmap.entries for f in e.hashes})
    w = csv.writer(buf)
    w.writerow(["shot", "original", "new", "size", "captured", "camera", "serial", *fmts])
    for e in rmap.entries:
        w.writerow([e.shot, e.original, e.new, e.size, e.captured or "", e.camera or "",
                    e.serial or "", *(e.hashes.get(f, "") for f in fmts)])  # fmt: skip
    atomic_write_text(cs, buf.getvalue(), overwrite=True)
    return js, cs


def record_generation(rmap: RenameMap, renamed: Path, formats: Sequence[str]) -> Path | None:
    """A generation of the renamed folder's own ASC MHL history for files it does not list
    yet; the hashes are the ones the offload verified (the bytes are the same)."""
    history = mhl.load_history(renamed)
    known = set(history.known_hashes()) if history else set()
    entries = []
    for e in rmap.entries:
        p = renamed / e.new
        if e.new in known or not e.hashes or not p.is_file():
            continue
        st = p.stat()
        entries.append(
            mhl.FileEntry(
                path=e.new,
                size=st.st_size,
                mtime=dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
                hashes=[mhl.HashRecord(f, v) for f, v in e.hashes.items() if f in formats],
            )  # fmt: skip
        )
    if not entries:
        return None
    return mhl.write_generation(
        renamed, entries, formats=list(formats), process="transfer",
        ignore=[STATE_DIR, f"{STATE_DIR}/"],
        comment=f"Rushline photo ingest: renamed files of roll {rmap.roll} "
        f"(template {rmap.template}); rename map in {STATE_DIR}/{MAP_NAME}.json",
    )  # fmt: skip


def ingest(
    card: str | os.PathLike[str],
    destinations: Sequence[str | os.PathLike[str]],
    *,
    rename: str | None = DEFAULT_RENAME,
    values: dict[str, str] | None = None,
    hashes: Sequence[str] = ("xxh128",),
    verify: str = "full",
) -> IngestResult:
    """Offload the card (verified, ASC MHL) to every destination, then build the renamed set."""
    if rename:
        check_template(rename)
    vals = {k: v for k, v in (values or {}).items() if v}
    result = offload(card, destinations, values=vals, hashes=hashes, verify=verify)
    out = IngestResult(offload=result, template=rename or "", map=RenameMap(roll=result.roll,
                       template=rename or ""))  # fmt: skip
    live = [d for d in result.destinations if Path(d.roll_dir).is_dir()]
    if not rename or not live:
        return out
    renamed = [Path(f"{d.roll_dir}{RENAMED_SUFFIX}") for d in live]
    previous = next(
        (m for m in (load_map(r / STATE_DIR / f"{MAP_NAME}.json") for r in renamed) if m), None
    )
    out.map = plan(result, Path(live[0].roll_dir), rename, vals, previous)
    for d, target in zip(live, renamed, strict=True):
        write_map(out.map, target)  # the plan is on disk before the first file moves
        done = apply_map(out.map, Path(d.roll_dir), target, _ok_on(result, d.roll_dir))
        try:
            manifest = record_generation(out.map, target, result.hash_formats)
            done.manifest = str(manifest) if manifest else None
        except OSError as exc:
            done.errors.append(f"{target}: ASC MHL not written ({exc.strerror or exc})")
        out.destinations.append(done)
    return out
