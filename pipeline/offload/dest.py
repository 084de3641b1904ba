"""Destinations: checking the arguments before anything is written, preparing each roll folder
(created, locked, its history read) and classifying what goes wrong on a destination."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline import mhl
from pipeline.errors import UserInputError
from pipeline.fsutil import atomic_write_bytes
from pipeline.names import nfc
from pipeline.offload.models import (
    PART_SUFFIX,
    STATE_DIR,
    DestinationResult,
    Failure,
    OffloadLockedError,
)
from pipeline.offload.scan import Scan


@dataclass
class Dest:
    """One destination while the offload runs."""

    result: DestinationResult
    roll_dir: Path
    lock_fd: int | None = None
    alive: bool = True
    history: mhl.History | None = None
    touched_dirs: set[str] = field(default_factory=set)
    entries: list[mhl.FileEntry] = field(default_factory=list)
    #: hashes the destination's history already holds, by NFC path
    known: dict[str, dict[str, str]] = field(default_factory=dict)
    #: roll sub-folders that are not plain folders here (a symlink, a file): {rel: why}
    blocked_dirs: dict[str, str] = field(default_factory=dict)

    def die(self, failure: Failure, message: str) -> None:
        self.alive = False
        self.result.fail(failure, message)

    def blocked(self, rel: str) -> str | None:
        """Why a file at `rel` cannot be written here (a parent folder is not a folder)."""
        parent = PurePosixPath(rel).parent
        while str(parent) != ".":
            why = self.blocked_dirs.get(str(parent))
            if why is not None:
                return why
            parent = parent.parent
        return None


_GONE_ERRNOS = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO, errno.ESTALE, errno.ENOTDIR}
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def classify_write_error(dest: Dest, exc: OSError) -> tuple[Failure, str]:
    root = Path(dest.result.root)
    if exc.errno in _GONE_ERRNOS or not root.is_dir() or not dest.roll_dir.is_dir():
        return Failure.DEST_GONE, f"destination {root} disappeared ({exc.strerror})"
    if exc.errno in _FULL_ERRNOS:
        return Failure.DEST_WRITE, f"destination {root} is full ({exc.strerror})"
    return Failure.DEST_WRITE, f"cannot write to destination {root}: {exc.strerror or exc}"


def part_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{PART_SUFFIX}")


def not_a_plain_entry(path: Path, st: os.stat_result) -> str:
    """Why a destination entry that is not ours is left alone (the message names the fix)."""
    if stat.S_ISLNK(st.st_mode):
        try:
            kind = f"a symbolic link (to {os.readlink(path)!r})"
        except OSError:
            kind = "a symbolic link"
    elif stat.S_ISDIR(st.st_mode):
        kind = "a folder"
    elif stat.S_ISFIFO(st.st_mode):
        kind = "a named pipe (FIFO)"
    else:
        kind = "not a regular file"
    return (
        f"{path} is {kind}, not a copy Rushline wrote; never read through or overwritten — "
        "remove it, then run the offload again"
    )


# ---------------------------------------------------------------- before any side effect


def _inside(a: str, b: str) -> bool:
    """Is real path `a` equal to or inside real path `b`?"""
    return a == b or a.startswith(b.rstrip("/") + "/")


def check_destinations(
    src_root: Path, destinations: Sequence[str | os.PathLike[str]], rendered: str
) -> list[Path]:
    """Every destination argument checked before anything is created or locked: given at least
    once, no duplicates, no roll folder overlapping the card (symlinks resolved) or another."""
    if not destinations:
        raise UserInputError("no destination given", hint="add --dest /path/to/drive")
    roots = [Path(d).absolute() for d in destinations]
    real_roots = [os.path.realpath(r) for r in roots]
    if len(set(real_roots)) != len(roots):
        raise UserInputError(
            "the same destination is given twice", hint="give each --dest once (another drive)"
        )
    real_src = os.path.realpath(src_root)
    real_rolls = [os.path.realpath(r / rendered) for r in roots]
    for root, real in zip(roots, real_rolls, strict=True):
        if _inside(real, real_src) or _inside(real_src, real):
            raise UserInputError(
                f"destination {root / rendered} overlaps the source {src_root}",
                path=root,
                hint="offload to another folder or drive; Rushline never writes into a source",
            )
    for i, a in enumerate(real_rolls):
        for b in real_rolls[i + 1 :]:
            if _inside(a, b) or _inside(b, a):
                raise UserInputError(
                    f"destination roll folders {a} and {b} overlap",
                    hint="give destinations on different drives or folders",
                )
    return roots


# ---------------------------------------------------------------- preparing each destination


def lock(dest: Dest) -> None:
    state = dest.roll_dir / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / "offload.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
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


def unlock(dest: Dest) -> None:
    if dest.lock_fd is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(dest.lock_fd, fcntl.LOCK_UN)
            os.close(dest.lock_fd)
        dest.lock_fd = None


def _foreign_folder(root: Path, rendered: str) -> str | None:
    """A folder on the way to the roll folder (or the roll folder) that is not a plain folder."""
    p = root
    for part in PurePosixPath(rendered).parts:
        p = p / part
        try:
            st = p.lstat()
        except FileNotFoundError:
            return None
        if not stat.S_ISDIR(st.st_mode):
            return not_a_plain_entry(p, st)
    return None


def _make_dirs(dest: Dest, scan: Scan) -> None:
    """The card's folder tree in the roll folder; a symlink or file in a folder's place blocks
    the files below it (reported per file), never followed."""
    for rel in scan.dirs:  # parents come before their children
        if dest.blocked(rel):
            continue
        p = dest.roll_dir / rel
        try:
            st = p.lstat()
        except FileNotFoundError:
            p.mkdir()
            continue
        if not stat.S_ISDIR(st.st_mode):
            dest.blocked_dirs[rel] = not_a_plain_entry(p, st)


def _copy_history(src_root: Path, dest: Dest) -> None:
    """Copy the card's ascmhl/ history to a destination that has none yet."""
    src_hist = src_root / mhl.MHL_FOLDER
    for p in sorted(src_hist.iterdir()):
        if p.is_file() and (p.suffix == ".mhl" or p.name == mhl.CHAIN_FILE):
            atomic_write_bytes(
                dest.roll_dir / mhl.MHL_FOLDER / p.name, p.read_bytes(), overwrite=False
            )


def prepare(dest: Dest, src_root: Path, src_history: mhl.History | None, scan: Scan) -> None:
    """Create and lock the roll folder, read (or start from the card's) history, make the tree.
    A destination that cannot be used is marked dead with its failure class; never raises."""
    root = Path(dest.result.root)
    if not root.is_dir():
        dest.die(
            Failure.DEST_GONE,
            f"destination {root} does not exist (drive not mounted?); not creating it",
        )
        return
    foreign = _foreign_folder(root, str(dest.roll_dir.relative_to(root)))
    if foreign is not None:
        dest.die(Failure.CONFLICT, foreign)
        return
    try:
        dest.roll_dir.mkdir(parents=True, exist_ok=True)
        lock(dest)
    except OffloadLockedError as exc:
        dest.die(Failure.LOCKED, str(exc))
        return
    except OSError as exc:
        dest.die(*classify_write_error(dest, exc))
        return
    try:
        dest.history = mhl.load_history(dest.roll_dir)
        if dest.history is None and src_history is not None:
            _copy_history(src_root, dest)
            dest.history = mhl.load_history(dest.roll_dir)
        if dest.history is not None:
            dest.known = {nfc(p): h for p, h in dest.history.known_hashes().items()}
        _make_dirs(dest, scan)
    except OSError as exc:
        dest.die(*classify_write_error(dest, exc))
