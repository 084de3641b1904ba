"""Verified multi-destination offload of a card (roll) with an ASC MHL history on every copy.

One read, many copies: each block of a source file is read once, hashed once (in every format
asked for) and written to every destination by one writer thread per destination, so the
slowest device sets the pace. Every copy is written as `.<name>.rushline-part`, fsynced,
verified, then renamed: a file under its final name is always complete and verified.

Verification levels
    size    the copy has the source's size (fast; trusts the devices)
    full    after fsync, the copy's cached pages are dropped (posix_fadvise DONTNEED, Linux
            drops clean pages) and the copy is re-read from the device and hashed
    source  `full`, plus a second, independent read of the source (cache dropped first) to
            catch a flaky card reader that returned bad bytes the first time

Failure classes and exit codes (when several happen, the first in this list wins)
    12 verification mismatch (a copy or the second source read differs)
    13 a destination disappeared (unplugged, unmounted) or does not exist
    11 a destination could not be written (full, read-only, permissions)
    10 a source file could not be read (unreadable, truncated or changed while reading)
    15 a different file already exists at a destination under the same name (never overwritten)
    16 the source does not match its own ASC MHL history
    14 another offload holds the lock of the same roll on a destination
     0 every file copied (or found identical) and verified on every destination

Small files (<= 1 MiB) are written in batches made durable by one syncfs(2) per destination
(one journal commit instead of one per file; a per-file fsync where syncfs fails) before they
are verified and renamed, so per-file cost stays low on cards with thousands of photos.

Each roll folder holds `_rushline/` (the lock `offload.lock` and `reports/`); the MHL ignore
list names it, so `ascmhl verify` and `rushline verify` do not see it as new files.

One destination failing never stops the others; one file failing never stops the next.
Re-running the same command finishes the job: files already present and identical are
verified and skipped (never copied again), missing ones are copied.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import fnmatch
import os
import queue
import shutil
import stat
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from pipeline import mhl
from pipeline.errors import OffloadError, UserInputError
from pipeline.fsutil import atomic_write_bytes, fsync_dir
from pipeline.hashing import CHUNK_SIZE, MultiHasher, check_formats, hash_file

#: Names reported and not copied (macOS metadata droppings); the user can extend the list.
DEFAULT_IGNORE: tuple[str, ...] = (".DS_Store", "._*", ".Spotlight-V100", ".Trashes", ".fseventsd")
STATE_DIR = "_rushline"  # lock and reports, inside each roll folder, ignored by the MHL
PART_SUFFIX = ".rushline-part"
DEFAULT_TEMPLATE = "{roll}"
_QUEUE_DEPTH = 4  # buffers in flight per consumer: bounded memory, enough to overlap IO
#: Files up to this size are written in batches made durable with one syncfs per destination
#: (one journal commit instead of one per file) and verified inline.
SMALL_FILE = 1024 * 1024
_BATCH_FILES = 256
_BATCH_BYTES = 64 * 1024 * 1024


class VerifyLevel(StrEnum):
    SIZE = "size"
    FULL = "full"
    SOURCE = "source"


class Failure(IntEnum):
    """Failure classes; the value is the exit code."""

    SOURCE_READ = 10
    DEST_WRITE = 11
    MISMATCH = 12
    DEST_GONE = 13
    LOCKED = 14
    CONFLICT = 15
    SOURCE_HISTORY = 16


_PRECEDENCE = (
    Failure.MISMATCH,
    Failure.DEST_GONE,
    Failure.DEST_WRITE,
    Failure.SOURCE_READ,
    Failure.CONFLICT,
    Failure.SOURCE_HISTORY,
    Failure.LOCKED,
)


def exit_code_for(failures: Iterable[Failure]) -> int:
    """The exit code of a run: the most serious failure class, 0 when there is none."""
    present = set(failures)
    for f in _PRECEDENCE:
        if f in present:
            return int(f)
    return 0


class OffloadLockedError(OffloadError):
    exit_code = int(Failure.LOCKED)


class FileStatus(StrEnum):
    COPIED = "copied"
    IDENTICAL = "identical"  # already there with the same content: verified, not copied again
    FAILED = "failed"


class CopyOutcome(BaseModel):
    """What happened to one file on one destination."""

    destination: str
    status: FileStatus
    verified: str | None = None  # the level that passed: size / full / source
    failure: Failure | None = None
    error: str | None = None


class FileRecord(BaseModel):
    """One file of the roll: its hashes and its fate on every destination."""

    path: str  # relative to the roll, POSIX separators, exactly as on the card
    size: int
    mtime: str
    hashes: dict[str, str] = Field(default_factory=dict)
    outcomes: list[CopyOutcome] = Field(default_factory=list)
    failure: Failure | None = None
    error: str | None = None
    history: str | None = None  # source history check: matched / mismatch / new
    read_s: float = 0.0
    clip: dict[str, Any] | None = None  # probe summary for the report
    thumbnail: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and all(o.failure is None for o in self.outcomes)


class Notice(BaseModel):
    """Something on the card we did not copy, or noticed, and say so (never silently)."""

    path: str
    kind: str  # ignored / symlink / special / missing-from-card / history
    message: str


class DestinationResult(BaseModel):
    root: str
    roll_dir: str
    ok: bool = True
    failure: Failure | None = None
    error: str | None = None
    manifest: str | None = None
    files_copied: int = 0
    files_identical: int = 0
    files_failed: int = 0
    bytes_written: int = 0
    already_offloaded: bool = False
    history_extended: bool = False
    reports: list[str] = Field(default_factory=list)


class OffloadResult(BaseModel):
    """The truth about one offload; the JSON report is this model."""

    source: str
    roll: str
    template: str
    values: dict[str, str]
    hash_formats: list[str]
    verify: VerifyLevel
    started: str
    finished: str = ""
    duration_s: float = 0.0
    bytes_total: int = 0
    throughput_mb_s: float = 0.0
    files: list[FileRecord] = Field(default_factory=list)
    dirs: list[str] = Field(default_factory=list)
    destinations: list[DestinationResult] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)
    source_history_generations: int = 0
    cascade_from: str | None = None
    tools: dict[str, str | None] = Field(default_factory=dict)
    failures: list[Failure] = Field(default_factory=list)
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


# ---------------------------------------------------------------- names and templates


def render_template(template: str, values: dict[str, str]) -> str:
    """Render a destination folder template like `{project}/{date}/{camera}{roll}`.

    Values may not contain path separators or be `.`/`..`; the result must stay relative.
    """
    for key, val in values.items():
        if val is None:
            continue
        v = str(val)
        if "/" in v or "\\" in v or "\x00" in v or v in (".", "..") or v != v.strip():
            raise UserInputError(
                f"template value {key}={v!r} would leave the destination folder",
                hint="use a plain name without '/', '\\', '..' or surrounding spaces",
            )
    try:
        rendered = template.format(**{k: str(v) for k, v in values.items() if v is not None})
    except KeyError as exc:
        raise UserInputError(
            f"the destination template {template!r} needs a value for {exc.args[0]!r}",
            hint=f"pass --{exc.args[0]} or change --template",
        ) from None
    except (ValueError, IndexError) as exc:
        raise UserInputError(f"bad destination template {template!r}: {exc}") from None
    p = PurePosixPath(rendered)
    if rendered.startswith(("/", "\\")) or p.is_absolute() or not rendered.strip("/"):
        raise UserInputError(f"destination template {template!r} renders to {rendered!r}")
    if any(part in ("..", ".", "") for part in rendered.strip("/").split("/")):
        raise UserInputError(
            f"destination template {template!r} renders to {rendered!r}, "
            "which escapes or is not a plain folder path"
        )
    return rendered.strip("/")


# ---------------------------------------------------------------- scanning the card


@dataclass
class SourceFile:
    rel: str
    abs: str
    size: int
    mtime_ns: int


@dataclass
class Scan:
    files: list[SourceFile] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    dir_mtimes: dict[str, dt.datetime] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def _ignored(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def scan_source(
    source: Path, ignore: Sequence[str] = DEFAULT_IGNORE, keep: frozenset[str] = frozenset()
) -> Scan:
    """Walk the card: regular files and folders (empty ones too, spanned clips need the tree).

    `keep` holds (NFC) paths copied even when their name is on the ignore list: files the
    card's own ASC MHL history lists are part of the roll.

    Symlinks are not followed (a link may point off the card) and, like special files and
    ignored names, are reported as notices. The card's own `ascmhl/` folder is its history.
    """
    scan = Scan()

    def walk(abs_dir: str, rel_dir: str) -> None:
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            scan.unreadable.append((rel_dir or ".", exc.strerror or str(exc)))
            return
        for e in entries:
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            if not rel_dir and e.name in (mhl.MHL_FOLDER, STATE_DIR) and e.is_dir():
                # the roll's history (checked and extended, not copied as media) and, when the
                # source is itself a Rushline copy (cascade), its lock and reports
                continue
            if _ignored(e.name, ignore) and unicodedata.normalize("NFC", rel) not in keep:
                scan.notices.append(
                    Notice(path=rel, kind="ignored", message="not copied: on the ignore list")
                )
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as exc:
                scan.unreadable.append((rel, exc.strerror or str(exc)))
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(e.path)
                scan.notices.append(
                    Notice(
                        path=rel,
                        kind="symlink",
                        message=f"symbolic link to {target!r} not followed and not copied",
                    )
                )
            elif stat.S_ISDIR(st.st_mode):
                scan.dirs.append(rel)
                scan.dir_mtimes[rel] = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
                walk(e.path, rel)
            elif stat.S_ISREG(st.st_mode):
                scan.files.append(SourceFile(rel, e.path, st.st_size, st.st_mtime_ns))
            else:
                scan.notices.append(
                    Notice(path=rel, kind="special", message="not a regular file; not copied")
                )

    walk(str(source), "")
    return scan


# ---------------------------------------------------------------- destinations


@dataclass
class _Dest:
    result: DestinationResult
    roll_dir: Path
    lock_fd: int | None = None
    alive: bool = True
    history: mhl.History | None = None
    touched_dirs: set[str] = field(default_factory=set)
    entries: list[mhl.FileEntry] = field(default_factory=list)
    #: hashes the destination's history already holds, by NFC path
    known: dict[str, dict[str, str]] = field(default_factory=dict)

    def die(self, failure: Failure, message: str) -> None:
        self.alive = False
        self.result.ok = False
        self.result.failure = failure
        self.result.error = message


_GONE_ERRNOS = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO, errno.ESTALE, errno.ENOTDIR}
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _classify_write_error(dest: _Dest, exc: OSError) -> tuple[Failure, str]:
    root = Path(dest.result.root)
    if exc.errno in _GONE_ERRNOS or not root.is_dir() or not dest.roll_dir.is_dir():
        return Failure.DEST_GONE, f"destination {root} disappeared ({exc.strerror})"
    if exc.errno in _FULL_ERRNOS:
        return Failure.DEST_WRITE, f"destination {root} is full ({exc.strerror})"
    return Failure.DEST_WRITE, f"cannot write to destination {root}: {exc.strerror or exc}"


def _lock(dest: _Dest) -> None:
    state = dest.roll_dir / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / "offload.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        os.close(fd)
        raise OffloadLockedError(
            f"another offload is writing to {dest.roll_dir} ({holder or 'unknown process'})",
            path=dest.roll_dir,
            hint="wait for it to finish, then run this command again to verify and complete",
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}\n".encode(), 0)
    dest.lock_fd = fd


def _unlock(dest: _Dest) -> None:
    if dest.lock_fd is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(dest.lock_fd, fcntl.LOCK_UN)
            os.close(dest.lock_fd)
        dest.lock_fd = None


def _part_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{PART_SUFFIX}")


# ---------------------------------------------------------------- copying one file


def _throttle() -> float:
    """Bytes per second to crawl at, for tests that kill a run mid-file (only when set)."""
    v = os.environ.get("RUSHLINE_TEST_THROTTLE_MBPS")
    return float(v) * 1e6 if v else 0.0


class _SourceError(Exception):
    pass


class _Consumer(threading.Thread):
    """Takes buffers from its queue and writes (or hashes) them; None ends the stream."""

    def __init__(self, work: Callable[[bytes], None], finish: Callable[[], None] | None = None):
        super().__init__(daemon=True)
        self.q: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self.work = work
        self.finish = finish
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            buf = self.q.get()
            if buf is None:
                break
            if self.error is None:
                try:
                    self.work(buf)
                except BaseException as exc:  # kept and reported by the caller
                    self.error = exc
        if self.error is None and self.finish is not None:
            try:
                self.finish()
            except BaseException as exc:
                self.error = exc


def _write_all(fd: int, buf: bytes) -> None:
    view = memoryview(buf)
    while view:
        n = os.write(fd, view)
        view = view[n:]


@dataclass
class _Target:
    dest: _Dest
    final: Path
    part: Path
    fd: int = -1
    error: OSError | None = None


def _stream(
    src: SourceFile,
    targets: list[_Target],
    hasher: MultiHasher,
    chunk_size: int,
    progress: Callable[[int], None] | None,
    sync: bool = True,
) -> None:
    """Read the source once; hash and write every block to every target. Raises _SourceError.

    sync=False leaves small files unsynced: the caller makes a whole batch durable at once.
    """
    try:
        sfd = os.open(src.abs, os.O_RDONLY)
    except OSError as exc:
        raise _SourceError(f"cannot open: {exc.strerror}") from exc
    rate = _throttle()
    try:
        if src.size <= chunk_size and not rate:
            # small file: one read, everything inline (threads would cost more than they save)
            data = b""
            while True:
                try:
                    piece = os.read(sfd, chunk_size + 1 - len(data))
                except OSError as exc:
                    raise _SourceError(f"read error: {exc.strerror}") from exc
                if not piece:
                    break
                data += piece
                if len(data) > src.size:
                    break
            if len(data) != src.size:
                raise _SourceError(
                    f"size changed while reading ({src.size} bytes expected, {len(data)} read)"
                )
            hasher.update(data)
            for t in targets:
                if t.error is None:
                    try:
                        _write_all(t.fd, data)
                        if sync:
                            os.fsync(t.fd)
                    except OSError as exc:
                        t.error = exc
            if progress:
                progress(len(data))
            return

        hash_thread = _Consumer(hasher.update)
        writers: list[tuple[_Target, _Consumer]] = []
        for t in targets:
            if t.error is None:

                def work(buf: bytes, fd: int = t.fd) -> None:
                    _write_all(fd, buf)

                def finish(fd: int = t.fd) -> None:
                    os.fsync(fd)

                writers.append((t, _Consumer(work, finish)))
        consumers = [hash_thread] + [w for _, w in writers]
        for c in consumers:
            c.start()
        total = 0
        failure: _SourceError | None = None
        t0 = time.monotonic()
        try:
            while True:
                try:
                    buf = os.read(sfd, chunk_size)
                except OSError as exc:
                    failure = _SourceError(f"read error after {total} bytes: {exc.strerror}")
                    break
                if not buf:
                    break
                total += len(buf)
                for c in consumers:
                    c.q.put(buf)
                if progress:
                    progress(len(buf))
                if rate:
                    ahead = total / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        finally:
            for c in consumers:
                c.q.put(None)
            for c in consumers:
                c.join()
        if failure is not None:
            raise failure
        if total != src.size:
            raise _SourceError(
                f"size changed while reading ({src.size} bytes expected, {total} read): "
                "the card was removed or the file is truncated"
            )
        if hash_thread.error is not None:
            raise hash_thread.error
        for t, w in writers:
            if w.error is not None:
                t.error = w.error if isinstance(w.error, OSError) else OSError(str(w.error))
    finally:
        os.close(sfd)


def _link_into_place(part: Path, final: Path) -> None:
    """Give the verified part its final name, never replacing an existing file."""
    try:
        os.link(part, final)  # atomic "create if absent"
    except FileExistsError:
        raise
    except OSError:
        # file systems without hard links (exFAT, some NAS): we hold the roll lock, so a
        # check-then-rename is safe against other Rushline runs
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "exists", str(final)) from None
        os.rename(part, final)
        return
    os.unlink(part)


# ---------------------------------------------------------------- the offload


def _key(rel: str) -> str:
    return unicodedata.normalize("NFC", rel)


def _copy_history(src_root: Path, dest: _Dest) -> None:
    """Copy the card's ascmhl/ history to a destination that has none yet."""
    src_hist = src_root / mhl.MHL_FOLDER
    for p in sorted(src_hist.iterdir()):
        if p.is_file() and (p.suffix == ".mhl" or p.name == mhl.CHAIN_FILE):
            atomic_write_bytes(
                dest.roll_dir / mhl.MHL_FOLDER / p.name, p.read_bytes(), overwrite=False
            )


def offload(
    source: str | os.PathLike[str],
    destinations: Sequence[str | os.PathLike[str]],
    *,
    template: str = DEFAULT_TEMPLATE,
    values: dict[str, str] | None = None,
    hashes: Sequence[str] = ("xxh128",),
    verify: VerifyLevel | str = VerifyLevel.FULL,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    chunk_size: int = CHUNK_SIZE,
    comment: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_file_done: Callable[[FileRecord], None] | None = None,
    cascade_from: str | None = None,
) -> OffloadResult:
    """Copy the roll at `source` to every destination, verified, with an ASC MHL generation.

    Each destination receives `<dest>/<rendered template>/` holding the exact card tree plus
    `ascmhl/` (the card's own history, if any, extended by our `transfer` generation) and
    `_rushline/` (lock). Never raises for a file or a destination failing: those are recorded
    in the result (see the module docstring for failure classes); raises UserInputError for
    bad arguments only.
    """
    from pipeline.tools import tool_versions

    src_root = Path(source).absolute()
    if not src_root.is_dir():
        raise UserInputError(
            f"source {src_root} is not a folder", path=src_root, hint="point at the card's root"
        )
    if not destinations:
        raise UserInputError("no destination given", hint="add --dest /path/to/drive")
    roots = [Path(d).absolute() for d in destinations]
    if len({r.resolve() for r in roots}) != len(roots):
        raise UserInputError(
            "the same destination is given twice", hint="give each --dest once (another drive)"
        )
    level = VerifyLevel(verify)
    vals = {
        "roll": src_root.name,
        "source": src_root.name,
        "date": dt.date.today().isoformat(),
        "project": "",
        "camera": "",
        **{k: v for k, v in (values or {}).items() if v is not None},
    }
    rendered = render_template(template, vals)
    formats = check_formats(hashes)
    t_start = time.monotonic()
    result = OffloadResult(
        source=str(src_root),
        roll=PurePosixPath(rendered).name,
        template=template,
        values={k: str(v) for k, v in vals.items()},
        hash_formats=formats,
        verify=level,
        started=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        cascade_from=cascade_from,
    )
    failures: list[Failure] = []

    # -- the card's own history: verify against it while copying, then extend it
    src_history = mhl.load_history(src_root)
    originals: dict[str, tuple[mhl.FileEntry, mhl.HashRecord]] = {}
    if src_history is not None:
        result.source_history_generations = len(src_history.generations)
        for name in src_history.tampered + src_history.missing_manifests:
            result.notices.append(
                Notice(
                    path=f"{mhl.MHL_FOLDER}/{name}",
                    kind="history",
                    message="manifest changed or missing since it was written (chain C4 differs)",
                )
            )
            failures.append(Failure.SOURCE_HISTORY)
        originals = {_key(p): v for p, v in src_history.original_entries().items()}
        # hash in the card's own formats too, so its history can be checked in the same read
        formats = check_formats([*formats, *(h.fmt for _, h in originals.values())])
        result.hash_formats = formats
    primary = formats[0] if "xxh128" not in formats else "xxh128"

    scan = scan_source(src_root, ignore, frozenset(originals))
    result.notices.extend(scan.notices)
    result.dirs = scan.dirs
    for rel, why in scan.unreadable:
        result.notices.append(Notice(path=rel, kind="unreadable", message=why))
        failures.append(Failure.SOURCE_READ)
    if src_history is not None:
        present = {_key(f.rel) for f in scan.files}
        ignore_hist = src_history.ignore_patterns()
        for key in sorted(set(originals) - present):
            if _ignored(PurePosixPath(key).name, [*ignore, *ignore_hist]):
                continue
            result.notices.append(
                Notice(
                    path=key,
                    kind="missing-from-card",
                    message="listed in the card's ASC MHL history but missing on the card",
                )
            )
            failures.append(Failure.SOURCE_HISTORY)

    # -- prepare every destination; a bad one is recorded, the others go on
    dests: list[_Dest] = []
    for d in destinations:
        root = Path(d).absolute()
        roll_dir = root / rendered
        dr = DestinationResult(root=str(root), roll_dir=str(roll_dir))
        dest = _Dest(result=dr, roll_dir=roll_dir)
        dests.append(dest)
        result.destinations.append(dr)
        rp_src, rp_dst = src_root.resolve(), roll_dir.resolve()
        if rp_dst == rp_src or rp_src in rp_dst.parents or rp_dst in rp_src.parents:
            raise UserInputError(
                f"destination {roll_dir} overlaps the source {src_root}",
                hint="offload to another folder or drive; Rushline never writes into a source",
            )
        if not root.is_dir():
            dest.die(
                Failure.DEST_GONE,
                f"destination {root} does not exist (drive not mounted?); not creating it",
            )
            continue
        try:
            roll_dir.mkdir(parents=True, exist_ok=True)
            _lock(dest)
        except OffloadLockedError as exc:
            dest.die(Failure.LOCKED, str(exc))
            continue
        except OSError as exc:
            dest.die(*_classify_write_error(dest, exc))
            continue
        dest.history = mhl.load_history(roll_dir)
        try:
            if dest.history is None and src_history is not None:
                _copy_history(src_root, dest)
                dest.history = mhl.load_history(roll_dir)
            if dest.history is not None:
                dest.known = {_key(p): h for p, h in dest.history.known_hashes().items()}
            for rel in scan.dirs:
                (roll_dir / rel).mkdir(exist_ok=True)
        except OSError as exc:
            dest.die(*_classify_write_error(dest, exc))

    order = {d.result.root: i for i, d in enumerate(dests)}
    pool = ThreadPoolExecutor(max_workers=len(dests) + 1, thread_name_prefix="verify")
    try:
        batch: list[_Pending] = []

        def settle_batch() -> None:
            _make_durable(batch, dests)
            for p in batch:
                rec = _settle(p, primary, level, pool)
                # same order as the --dest list
                rec.outcomes.sort(key=lambda o: order[o.destination])
                _after_file(rec, p.src)
            batch.clear()

        def _after_file(rec: FileRecord, src: SourceFile) -> None:
            if originals and rec.failure is None:
                orig = originals.get(_key(src.rel))
                if orig is None:
                    rec.history = "new"
                elif rec.hashes.get(orig[1].fmt) == orig[1].value:
                    rec.history = "matched"
                else:
                    rec.history = "mismatch"
                    rec.failure = Failure.SOURCE_HISTORY
                    rec.error = (
                        f"differs from the card's ASC MHL history ({orig[1].fmt} "
                        f"{orig[1].value} recorded, {rec.hashes.get(orig[1].fmt)} now)"
                    )
            result.files.append(rec)
            result.bytes_total += src.size if rec.failure != Failure.SOURCE_READ else 0
            _record_entries(rec, src, dests, originals)
            if on_file_done:
                on_file_done(rec)

        throttled = bool(_throttle())
        pending_bytes = 0  # running total: re-summing the batch per file was quadratic
        for src in scan.files:
            small = src.size <= SMALL_FILE and not throttled
            batch.append(_begin(src, dests, formats, chunk_size, progress, sync=not small))
            pending_bytes += src.size
            if not small or len(batch) >= _BATCH_FILES or pending_bytes >= _BATCH_BYTES:
                settle_batch()
                pending_bytes = 0
        settle_batch()
    finally:
        pool.shutdown(wait=True)
        for dest in dests:
            try:
                _finish_destination(dest, result, scan, formats, ignore, comment)
            finally:
                _unlock(dest)

    for rec in result.files:
        if rec.failure is not None:
            failures.append(rec.failure)
        failures.extend(o.failure for o in rec.outcomes if o.failure is not None)
    failures.extend(d.failure for d in result.destinations if d.failure is not None)
    result.failures = sorted(set(failures))
    result.exit_code = exit_code_for(failures)
    result.duration_s = round(time.monotonic() - t_start, 3)
    result.finished = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    if result.duration_s > 0:
        result.throughput_mb_s = round(result.bytes_total / 1e6 / result.duration_s, 1)
    result.tools = tool_versions()
    return result


@dataclass
class _Pending:
    """A file read, hashed and written (maybe not yet durable), waiting to be verified."""

    src: SourceFile
    rec: FileRecord
    to_write: list[_Target]
    existing: list[_Target]
    hasher: MultiHasher
    synced: bool


def _begin(
    src: SourceFile,
    dests: list[_Dest],
    formats: list[str],
    chunk_size: int,
    progress: Callable[[int], None] | None,
    sync: bool,
) -> _Pending:
    """Phase 1: read the source once, hash it, write every part file."""
    rec = FileRecord(
        path=src.rel,
        size=src.size,
        mtime=dt.datetime.fromtimestamp(src.mtime_ns / 1e9, dt.UTC).isoformat(),
    )
    to_write: list[_Target] = []
    existing: list[_Target] = []
    for dest in dests:
        if not dest.alive:
            rec.outcomes.append(
                CopyOutcome(
                    destination=dest.result.root,
                    status=FileStatus.FAILED,
                    failure=dest.result.failure,
                    error=dest.result.error,
                )
            )
            continue
        final = dest.roll_dir / src.rel
        t = _Target(dest, final, _part_path(final))
        if os.path.lexists(final):
            existing.append(t)
            continue
        try:
            t.fd = os.open(t.part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            t.error = exc
        to_write.append(t)

    t0 = time.monotonic()
    source_error: str | None = None
    hasher = MultiHasher(formats)
    try:
        _stream(src, to_write, hasher, chunk_size, progress, sync=sync)
    except _SourceError as exc:
        source_error = str(exc)
    finally:
        for t in to_write:
            if t.fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(t.fd)
    rec.read_s = round(time.monotonic() - t0, 4)

    if source_error is not None:
        rec.failure = Failure.SOURCE_READ
        rec.error = f"cannot read {src.abs}: {source_error}; not copied, nothing written"
        for t in to_write:
            with contextlib.suppress(OSError):
                os.unlink(t.part)
    return _Pending(src, rec, to_write, existing, hasher, sync or src.size == 0)


def _settle(p: _Pending, primary: str, level: VerifyLevel, pool: ThreadPoolExecutor) -> FileRecord:
    """Phase 2 (once the parts are durable): verify, give verified parts their final name."""
    src, rec, to_write, existing, hasher = p.src, p.rec, p.to_write, p.existing, p.hasher
    if rec.failure is not None:
        return rec
    rec.hashes = hasher.digests()
    want = rec.hashes[primary]

    # verification re-reads run in parallel: each destination is its own device
    jobs: list[tuple[str, _Target | None, str]] = []
    if level == VerifyLevel.SOURCE:
        jobs.append(("source", None, src.abs))
    for t in to_write:
        if t.error is None and level != VerifyLevel.SIZE:
            jobs.append(("copy", t, str(t.part)))
    for t in existing:
        if os.path.getsize(t.final) == src.size:
            jobs.append(("existing", t, str(t.final)))

    def reread(path: str) -> str | OSError:
        try:
            return hash_file(path, [primary], from_device=True)[primary]
        except OSError as exc:
            return exc

    if src.size <= SMALL_FILE:
        values = [reread(path) for _, _, path in jobs]
    else:
        values = list(pool.map(reread, [path for _, _, path in jobs]))
    got: dict[int, str | OSError] = {}
    source_reread: str | OSError | None = None
    for (kind, t, _), value in zip(jobs, values, strict=True):
        if kind == "source":
            source_reread = value
        else:
            got[id(t)] = value

    if source_reread is not None and source_reread != want:
        rec.failure = Failure.MISMATCH
        what = (
            source_reread.strerror
            if isinstance(source_reread, OSError)
            else f"{primary} {source_reread} on the second read vs {want} on the first"
        )
        rec.error = (
            f"the card returned different bytes reading {src.abs} twice ({what}): "
            "flaky reader or card; nothing renamed, try another reader"
        )
        for t in to_write:
            with contextlib.suppress(OSError):
                os.unlink(t.part)
            rec.outcomes.append(
                CopyOutcome(
                    destination=t.dest.result.root,
                    status=FileStatus.FAILED,
                    failure=Failure.MISMATCH,
                    error=rec.error,
                )
            )
        return rec

    for t in to_write:
        out = CopyOutcome(destination=t.dest.result.root, status=FileStatus.FAILED)
        rec.outcomes.append(out)
        if t.error is not None:
            out.failure, out.error = _classify_write_error(t.dest, t.error)
            out.error = f"{out.error} while copying {src.rel}"
            with contextlib.suppress(OSError):
                os.unlink(t.part)
            if out.failure in (Failure.DEST_GONE, Failure.DEST_WRITE):
                t.dest.die(out.failure, out.error)
            continue
        try:
            if level == VerifyLevel.SIZE:
                if os.path.getsize(t.part) != src.size:
                    raise _Mismatch(f"size {os.path.getsize(t.part)} vs {src.size}")
            else:
                v = got[id(t)]
                if isinstance(v, OSError):
                    raise v
                if v != want:
                    raise _Mismatch(f"{primary} {v} re-read from the copy vs {want} from the card")
            os.utime(t.part, ns=(src.mtime_ns, src.mtime_ns))
            _link_into_place(t.part, t.final)
        except _Mismatch as exc:
            out.failure = Failure.MISMATCH
            out.error = f"copy of {src.rel} on {t.dest.result.root} does not verify: {exc}"
            with contextlib.suppress(OSError):
                os.unlink(t.part)
            continue
        except FileExistsError:
            out.failure = Failure.CONFLICT
            out.error = f"{t.final} appeared during the copy; not overwritten"
            with contextlib.suppress(OSError):
                os.unlink(t.part)
            continue
        except OSError as exc:
            out.failure, out.error = _classify_write_error(t.dest, exc)
            with contextlib.suppress(OSError):
                os.unlink(t.part)
            if out.failure == Failure.DEST_GONE:
                t.dest.die(out.failure, out.error)
            continue
        out.status = FileStatus.COPIED
        out.verified = level.value
        t.dest.result.bytes_written += src.size
        t.dest.touched_dirs.add(str(t.final.parent))

    for t in existing:
        out = CopyOutcome(destination=t.dest.result.root, status=FileStatus.FAILED)
        rec.outcomes.append(out)
        v = got.get(id(t))
        if isinstance(v, OSError):
            out.failure, out.error = _classify_write_error(t.dest, v)
        elif v == want:
            out.status = FileStatus.IDENTICAL
            out.verified = VerifyLevel.FULL.value
        else:
            out.failure = Failure.CONFLICT
            out.error = (
                f"{t.final} already exists with different content "
                f"({'different size' if v is None else primary + ' ' + v}); not overwritten"
            )
    return rec


class _Mismatch(Exception):
    pass


def _syncfs(path: Path) -> bool:
    """syncfs(2) on the file system holding `path`: every dirty page of it, one journal commit."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            return libc.syncfs(fd) == 0
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        return False


def _make_durable(batch: list[_Pending], dests: list[_Dest]) -> None:
    """Flush the parts of a batch of small files: one syncfs per destination, or one fsync per
    part where syncfs is unavailable or fails (the per-file fsync then reports the error)."""
    unsynced = [p for p in batch if not p.synced and p.rec.failure is None]
    if not unsynced:
        return
    for dest in dests:
        targets = [t for p in unsynced for t in p.to_write if t.dest is dest and t.error is None]
        if not targets:
            continue
        if _syncfs(dest.roll_dir):
            continue
        for t in targets:
            try:
                fd = os.open(t.part, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                t.error = exc
    for p in unsynced:
        p.synced = True


def _record_entries(
    rec: FileRecord,
    src: SourceFile,
    dests: list[_Dest],
    originals: dict[str, tuple[mhl.FileEntry, mhl.HashRecord]],
) -> None:
    """Remember the manifest entry of each good copy for its destination's new generation."""
    if not rec.hashes:
        return
    now = dt.datetime.now(dt.UTC)
    by_root = {d.result.root: d for d in dests}
    for out in rec.outcomes:
        dest = by_root[out.destination]
        if out.status == FileStatus.FAILED:
            dest.result.files_failed += 1
            continue
        if out.status == FileStatus.COPIED:
            dest.result.files_copied += 1
        else:
            dest.result.files_identical += 1
        known = dest.known.get(_key(src.rel), {})
        records = []
        for fmt, value in rec.hashes.items():
            prior = known.get(fmt)
            action = "original" if prior is None else "verified" if prior == value else "failed"
            records.append(mhl.HashRecord(fmt, value, action, now))
        dest.entries.append(
            mhl.FileEntry(
                path=src.rel,
                size=src.size,
                mtime=dt.datetime.fromtimestamp(src.mtime_ns / 1e9, dt.UTC),
                hashes=records,
            )
        )


def _finish_destination(
    dest: _Dest,
    result: OffloadResult,
    scan: Scan,
    formats: list[str],
    ignore: Sequence[str],
    comment: str | None,
) -> None:
    """Make the renames durable, sweep stale parts, write the generation (even after a failure,
    for the files that did make it: the history must tell the truth)."""
    if dest.lock_fd is None:
        return
    try:
        for d in sorted(dest.touched_dirs):
            fsync_dir(d)
        for dirpath, _dirs, names in os.walk(dest.roll_dir):
            for n in names:
                if n.endswith(PART_SUFFIX):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(dirpath, n))
        if not dest.entries:
            return
        ignore_patterns = [*ignore, STATE_DIR, f"{STATE_DIR}/", f".*{PART_SUFFIX}"]
        manifest = mhl.write_generation(
            dest.roll_dir,
            dest.entries,
            dirs=scan.dirs,
            dir_mtimes=scan.dir_mtimes,
            formats=formats,
            process="transfer",
            ignore=ignore_patterns,
            comment=comment
            or f"Rushline offload of {result.source} ({result.verify.value} verification)",
        )
        dest.result.manifest = str(manifest)
        dest.result.history_extended = dest.history is not None
        dest.result.already_offloaded = (
            dest.result.files_copied == 0
            and dest.result.files_identical > 0
            and dest.result.files_failed == 0
        )
    except OSError as exc:
        failure, msg = _classify_write_error(dest, exc)
        if dest.alive:
            dest.die(failure, f"{msg} while writing the ASC MHL manifest")


def clean_state(roll_dir: Path) -> None:
    """Remove a roll's `_rushline/` state folder (lock and reports), e.g. before archiving."""
    shutil.rmtree(roll_dir / STATE_DIR, ignore_errors=True)
