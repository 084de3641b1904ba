"""Safe writes: a temp name in the destination folder, fsync, rename; no silent overwrite."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pipeline.errors import RushlineError


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_temp(dest: Path) -> tuple[int, str]:
    """A new hidden temp file beside `dest`, mode 0666 less the umask (as any new file gets).

    Not mkstemp: it makes 0600 files, and fixing the mode afterwards means reading the umask,
    which can only be done by setting it, a race with every other thread.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.part"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(dest.parent))


@contextlib.contextmanager
def atomic_writer(
    dest: str | os.PathLike[str], *, overwrite: bool, mode: str = "wb"
) -> Iterator[IO]:
    """Open a temporary file next to `dest`; on success fsync and rename it onto `dest`.

    With overwrite=False an existing `dest` is an error (checked again at rename time by
    linking, so two writers cannot both win). On any exception the temp file is removed.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and dest.exists():
        raise RushlineError(
            f"{dest} exists already; not overwriting it",
            path=dest,
            hint="move it away or choose another output",
        )
    fd, tmp = _create_temp(dest)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        place(Path(tmp), dest, overwrite=overwrite, synced=True)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def place(tmp: Path, dest: Path, *, overwrite: bool, synced: bool = False) -> None:
    """Give a finished temp file (written beside `dest`) its final name, durably.

    fsync it (unless `synced`), then rename it over `dest` (overwrite) or link it to `dest`,
    which fails if `dest` exists, so two writers cannot both win; then fsync the folder.
    """
    if not synced:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if overwrite:
        os.replace(tmp, dest)
    else:
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise RushlineError(
                f"{dest} exists already; not overwriting it",
                path=dest,
                hint="move it away, choose another output, or use --force",
            ) from None
        os.unlink(tmp)
    fsync_dir(dest.parent)


def atomic_write_bytes(dest: str | os.PathLike[str], data: bytes, *, overwrite: bool) -> None:
    with atomic_writer(dest, mode="wb", overwrite=overwrite) as fh:
        fh.write(data)


def atomic_write_text(dest: str | os.PathLike[str], text: str, *, overwrite: bool) -> None:
    atomic_write_bytes(dest, text.encode("utf-8"), overwrite=overwrite)
