"""Safe writes: a temp name in the destination folder, fsync, rename; no silent overwrite."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pipeline.errors import RushlineError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    dest: str | os.PathLike[str], *, mode: str = "wb", overwrite: bool = True
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
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        # mkstemp makes the file 0600; what we deliver gets the usual mode (0666 & ~umask).
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)  # fails if dest appeared meanwhile
            except FileExistsError:
                raise RushlineError(
                    f"{dest} appeared while writing; not overwriting it", path=dest
                ) from None
            os.unlink(tmp)
        fsync_dir(dest.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(
    dest: str | os.PathLike[str], data: bytes, *, overwrite: bool = True
) -> None:
    with atomic_writer(dest, mode="wb", overwrite=overwrite) as fh:
        fh.write(data)


def atomic_write_text(dest: str | os.PathLike[str], text: str, *, overwrite: bool = True) -> None:
    atomic_write_bytes(dest, text.encode("utf-8"), overwrite=overwrite)
