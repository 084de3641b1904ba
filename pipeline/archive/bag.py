"""Pack a roll, a delivery or a whole project as a BagIt bag (RFC 8493) for cold storage.

The bag is built under a hidden temporary folder in the destination and renamed to its final
name only when every file has been copied, fsynced and read back, and every tag file written:
a bag under a final name is always complete. The source is only ever read.

Manifests are SHA-256 (and SHA-512 when asked): xxh128, our offload hash, is not a BagIt
algorithm. The digests come from the one read of the source made while copying; the copy is
then re-read from the device and compared (copy.py). The ASC MHL history (`ascmhl/`) of each
roll is payload like any file, so it stays beside the media it describes. The catalogue's
entries for the bagged files are two tag files, `rushline-catalog.json` and `.csv`.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline.archive.copy import copy_all, sync_tree
from pipeline.archive.errors import ArchiveError
from pipeline.archive.naming import check_name
from pipeline.archive.records import ArchivedEntry
from pipeline.catalog.db import CatalogError
from pipeline.exitcodes import ArchiveExit
from pipeline.fsutil import fsync_dir
from pipeline.names import printable

log = logging.getLogger("rushline.archive")

ALGORITHMS = ("sha256", "sha512")
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
CATALOG_JSON = "rushline-catalog.json"
CATALOG_CSV = "rushline-catalog.csv"
TAG_MARGIN = 4 * 1024 * 1024  # room kept for manifests and tag files when checking space
AGENT = "Rushline (BagIt 1.0, written to be read by bagit-python and any RFC 8493 tool)"


@dataclass
class Item:
    src: Path  # absolute path of a regular file
    payload: str  # data/<top>/<path>, POSIX separators, as named on disk
    size: int


@dataclass
class BagResult:
    name: str
    path: str
    files: int
    bytes: int
    algorithms: tuple[str, ...]
    entries: list[ArchivedEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not archived, with the reason
    catalog_note: str | None = None  # set when the catalogue could not be read or updated
    clips_recorded: int = 0


def check_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    algs = tuple(dict.fromkeys(a.lower() for a in algorithms)) or ("sha256",)
    bad = [a for a in algs if a not in ALGORITHMS]
    if bad:
        raise ArchiveError(
            f"manifest algorithm {', '.join(bad)} is not offered: use sha256 (and sha512)",
            exit_code=ArchiveExit.BAD_NAME,
        )
    return algs


def encode_path(payload: str) -> str:
    """A manifest path as bagit-python writes and reads it: CR and LF percent-encoded."""
    return payload.replace("\r", "%0D").replace("\n", "%0A")


def _walk_source(src: Path, top: str, items: list[Item], skipped: list[str]) -> None:
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for d in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            skipped.append(f"{printable(os.path.join(dirpath, d))}: a symlink to a folder")
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        rel_dir = PurePosixPath(*Path(dirpath).relative_to(src).parts)
        for fn in sorted(filenames):
            full = Path(dirpath) / fn
            st = os.lstat(full)
            if not full.is_file() or full.is_symlink():
                skipped.append(f"{printable(str(full))}: not a regular file (symlink or device)")
                continue
            items.append(Item(full, str(PurePosixPath("data", top, rel_dir, fn)), st.st_size))


def collect(sources: Sequence[str | os.PathLike[str]]) -> tuple[list[Item], list[str]]:
    """Every regular file of the sources, each under data/<source name>/ (symlinks skipped)."""
    items: list[Item] = []
    skipped: list[str] = []
    tops: dict[str, Path] = {}
    for raw in sources:
        src = Path(os.path.abspath(raw))
        if not src.exists() or src.is_symlink():
            raise ArchiveError(
                f"{printable(str(src))}: not found or a symlink; give the folder or file itself",
                exit_code=ArchiveExit.BAG_INVALID,
                path=src,
            )
        top = src.name
        if top in tops:
            raise ArchiveError(
                f"two sources are both named {printable(top)!r} ({printable(str(tops[top]))} "
                f"and {printable(str(src))}); archive them in separate bags",
                exit_code=ArchiveExit.CONFLICT,
            )
        tops[top] = src
        if src.is_file():
            items.append(Item(src, str(PurePosixPath("data", top)), src.stat().st_size))
        else:
            _walk_source(src, top, items, skipped)
    for it in items:
        if "%0a" in it.payload.lower() or "%0d" in it.payload.lower():
            raise ArchiveError(
                f"{printable(str(it.src))}: the name contains '%0A' or '%0D', which a BagIt "
                "manifest cannot tell from an encoded line break; rename it before archiving",
                exit_code=ArchiveExit.BAD_NAME,
                path=it.src,
            )
    return items, skipped


def check_destination(sources: Sequence[Path], dest: Path, total: int) -> None:
    """The destination is outside every source and has room for the whole bag."""
    dest_abs = Path(os.path.realpath(dest))
    for src in sources:
        real = Path(os.path.realpath(src))
        if dest_abs == real or real in dest_abs.parents:
            raise ArchiveError(
                f"the destination {printable(str(dest))} is inside the source "
                f"{printable(str(src))}; a bag is never written into its source",
                exit_code=ArchiveExit.CONFLICT,
            )
    free = shutil.disk_usage(dest).free
    if free < total + TAG_MARGIN:
        raise ArchiveError(
            f"{printable(str(dest))} has {free / 1e9:.2f} GB free, the bag needs "
            f"{(total + TAG_MARGIN) / 1e9:.2f} GB; nothing was written",
            exit_code=ArchiveExit.DEST_FULL,
            path=dest,
            hint="choose a larger destination or give several volumes to span the archive",
        )


def copy_payload(
    items: Sequence[Item],
    staging: Path,
    algorithms: tuple[str, ...],
    progress: Callable[[Item], None] | None = None,
) -> list[ArchivedEntry]:
    """Copy every item into the staging bag, each read once and its copy read back."""

    def done(i: int) -> None:
        if progress:
            progress(items[i])

    jobs = [(it.src, staging / it.payload) for it in items]
    copied = copy_all(jobs, algorithms, done=done)
    return [
        ArchivedEntry(it.payload, str(it.src), c.size, c.digests)
        for it, c in zip(items, copied, strict=True)
    ]


def bag_info(name: str, entries: Sequence[ArchivedEntry], extra: dict[str, str]) -> str:
    """bag-info.txt: one `Label: value` per line (values on one line: CR/LF dropped)."""
    info = {
        "Bag-Software-Agent": AGENT,
        "Bagging-Date": dt.date.today().isoformat(),
        "External-Identifier": name,
        "Payload-Oxum": f"{sum(e.size for e in entries)}.{len(entries)}",
        **extra,
    }
    lines = [f"{k}: {' '.join(str(v).splitlines())}" for k, v in sorted(info.items())]
    return "\n".join(lines) + "\n"


def catalog_tag_files(export: list[dict], note: str | None) -> tuple[str, str]:
    doc = {"catalogue_note": note, "files": export}
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"
    buf = io.StringIO()
    cols = ["payload", "source", "size", "sha256", "roll", "clip", "reel", "camera", "codec"]
    cols += ["start_tc", "end_tc", "verdict", "verified_copies"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for e in export:
        c = e.get("clip") or {}
        w.writerow(
            [e["payload"], e["source"], e["size"], e.get("sha256", "")]
            + [c.get("roll"), c.get("name")]
            + [c.get(k) for k in ("reel", "camera", "codec", "start_tc", "end_tc", "verdict")]
            + [c.get("verified_copies")]
        )
    return text, buf.getvalue()


def _write_new(path: Path, data: bytes) -> None:
    """A new file in the staging bag, fsynced. No temporary name or folder fsync of its own:
    the staging folder is the temporary (publish fsyncs every folder once, then renames it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tag_files(
    staging: Path,
    entries: Sequence[ArchivedEntry],
    algorithms: tuple[str, ...],
    tags: dict[str, str],
) -> None:
    """Manifests, bagit.txt, bag-info.txt, extra tag files, then the tag manifests (hashed from
    the bytes written, not read again)."""
    files = {name: text.encode("utf-8") for name, text in tags.items()}
    files["bagit.txt"] = BAGIT_TXT.encode("utf-8")
    for alg in algorithms:
        lines = sorted(f"{e.digests[alg]}  {encode_path(e.payload)}\n" for e in entries)
        files[f"manifest-{alg}.txt"] = "".join(lines).encode("utf-8")
    listed = sorted(files)  # a tag manifest does not list the tag manifests
    for alg in algorithms:
        lines = [f"{hashlib.new(alg, files[f]).hexdigest()} {f}\n" for f in listed]
        files[f"tagmanifest-{alg}.txt"] = "".join(lines).encode("utf-8")
    for fname, data in files.items():
        _write_new(staging / fname, data)


def publish(staging: Path, final: Path) -> None:
    """Give the finished bag its final name (refusing to replace anything there)."""
    sync_tree(staging)
    if os.path.lexists(final):
        raise ArchiveError(
            f"{printable(str(final))} appeared while archiving; not replacing it",
            exit_code=ArchiveExit.CONFLICT,
            path=final,
        )
    os.rename(staging, final)
    fsync_dir(final.parent)


def make_staging(dest: Path, name: str) -> Path:
    staging = dest / f".{name}.{secrets.token_hex(4)}.part"
    (staging / "data").mkdir(parents=True)
    return staging


def discard(staging: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(staging)


def full_error(dest: Path, exc: OSError) -> ArchiveError:
    return ArchiveError(
        f"{printable(str(dest))} filled up while archiving ({exc.strerror}); the unfinished "
        "bag was removed, nothing was left under a final name",
        exit_code=ArchiveExit.DEST_FULL,
        path=dest,
        hint="free some space, choose a larger destination or give several volumes to span",
    )


def load_catalog_export(
    entries: Sequence[ArchivedEntry], catalog: object
) -> tuple[list[dict], str | None]:
    """The catalogue's entries for these files; a catalogue that fails never stops an archive."""
    from pipeline.archive.records import catalog_entries

    try:
        return catalog_entries(entries, catalog=catalog), None  # type: ignore[arg-type]
    except CatalogError as exc:
        log.warning("%s", exc)
        bare = [{"payload": e.payload, "source": e.source, "size": e.size} for e in entries]
        rows = [b | e.digests | {"clip": None} for b, e in zip(bare, entries, strict=True)]
        return rows, f"catalogue not read: {exc}"


def build_bag(
    items: Sequence[Item],
    dest: Path,
    name: str,
    *,
    algorithms: tuple[str, ...] = ("sha256",),
    info: dict[str, str] | None = None,
    catalog: object = None,
    progress: Callable[[Item], None] | None = None,
    extra_tags: dict[str, str] | None = None,
) -> BagResult:
    """Copy these items into a new bag DEST/NAME (temporary folder, then renamed)."""
    final = dest / check_name(name)
    if os.path.lexists(final):
        raise ArchiveError(
            f"{printable(str(final))} exists already; not overwriting it",
            exit_code=ArchiveExit.CONFLICT,
            path=final,
            hint="choose another --name or sequence number",
        )
    staging = make_staging(dest, name)
    try:
        entries = copy_payload(items, staging, algorithms, progress)
        export, note = load_catalog_export(entries, catalog)
        as_json, as_csv = catalog_tag_files(export, note)
        tags = {"bag-info.txt": bag_info(name, entries, info or {})}
        tags |= {CATALOG_JSON: as_json, CATALOG_CSV: as_csv, **(extra_tags or {})}
        write_tag_files(staging, entries, algorithms, tags)
        publish(staging, final)
    except OSError as exc:
        discard(staging)
        if exc.errno in (28, 122):  # ENOSPC, EDQUOT
            raise full_error(dest, exc) from exc
        raise
    except BaseException:
        discard(staging)
        raise
    total = sum(e.size for e in entries)
    return BagResult(name, str(final), len(entries), total, algorithms, entries, [], note)
