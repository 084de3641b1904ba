"""`archive restore BAG --to DIR`: copy a bag's payload back, each file checked against the
bag's manifest as it is read and re-read from the device once written.

Files land under DIR exactly as they were under the bag's data/ (a roll folder with its
`ascmhl/` history, so the restored roll verifies with `rushline verify`). Nothing in DIR is
overwritten: an identical file already there is skipped, a different one stops the restore
before anything is copied.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.archive.copy import copy_all, hash_path, sync_tree
from pipeline.archive.errors import ArchiveError
from pipeline.archive.verify import open_bag
from pipeline.exitcodes import ArchiveExit
from pipeline.names import printable


@dataclass
class RestoreResult:
    bag: str
    to: str
    restored: list[str] = field(default_factory=list)
    identical: list[str] = field(default_factory=list)  # already there, same bytes
    bytes: int = 0


def _plan(
    entries: dict[str, dict[str, str]], to: Path, alg: str
) -> tuple[list[tuple[str, Path]], list[str]]:
    todo, same, clash = [], [], []
    for rel in sorted(r for r in entries if r.startswith("data/")):
        target = to / rel.removeprefix("data/")
        if not os.path.lexists(target):
            todo.append((rel, target))
        elif target.is_file() and hash_path(target, (alg,))[alg] == entries[rel][alg]:
            same.append(rel)
        else:
            clash.append(printable(str(target)))
    if clash:
        raise ArchiveError(
            f"{len(clash)} file(s) in the restore folder differ from the bag, e.g. {clash[0]}; "
            "nothing was restored",
            exit_code=ArchiveExit.CONFLICT,
            hint="restore into an empty folder, or move those files away",
        )
    return todo, same


def restore_bag(
    bag_path: str | os.PathLike[str],
    to: str | os.PathLike[str],
    progress: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Copy every payload file of the bag into `to`, verified against the manifest."""
    bag = open_bag(bag_path)
    dest = Path(to)
    dest.mkdir(parents=True, exist_ok=True)
    algs = [a for a in ("sha512", "sha256") if a in bag.algorithms] or list(bag.algorithms)
    alg = algs[0]
    todo, same = _plan(bag.entries, dest, alg)
    result = RestoreResult(str(bag_path), str(dest), identical=same)
    for rel, _target in todo:
        src = Path(bag.path) / rel
        if not src.is_file():
            raise ArchiveError(
                f"{printable(str(src))} is listed in the manifest but missing from the bag",
                exit_code=ArchiveExit.MISSING,
                path=src,
            )

    def done(i: int) -> None:
        result.restored.append(todo[i][0])
        if progress:
            progress(todo[i][0])

    jobs = [(Path(bag.path) / rel, target) for rel, target in todo]
    expects = [{alg: bag.entries[rel][alg]} for rel, _target in todo]
    result.bytes = sum(c.size for c in copy_all(jobs, (alg,), expects, done))
    sync_tree(dest)
    return result
