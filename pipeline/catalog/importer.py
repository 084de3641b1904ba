"""Rebuild the catalogue from the drives alone: every roll folder holding an ASC MHL history
(`ascmhl/`) under a path becomes a roll, each file its manifests list a clip with its hashes,
and the file on this drive a copy verified when the history last verified it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.catalog.db import Catalog
from pipeline.catalog.facts import CopyFact, volume_name
from pipeline.catalog.identity import Arrival, adopt
from pipeline.catalog.record import CatalogLike, _with_catalog, catalog_errors_only
from pipeline.catalog.store import roll_id, write_facts
from pipeline.errors import RushlineError, UserInputError
from pipeline.mhl import MHL_FOLDER, History, load_history
from pipeline.names import nfc

_SKIP_DIRS = {MHL_FOLDER, "_rushline"}


@dataclass
class ImportSummary:
    rolls: list[str] = field(default_factory=list)
    clips: int = 0
    copies: int = 0
    missing: list[str] = field(default_factory=list)  # listed in a history, absent on the drive
    problems: list[str] = field(default_factory=list)  # damaged/tampered histories


def find_roll_roots(path: Path) -> Iterator[Path]:
    """Every folder under `path` (itself included) that holds an `ascmhl/` history."""
    for here, dirs, _files in os.walk(path, followlinks=False):
        if MHL_FOLDER in dirs:
            yield Path(here)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)


def history_facts(history: History, volume: str) -> tuple[list[CopyFact], list[str]]:
    """One CopyFact per file of the history; and the files absent from the drive."""
    latest: dict[str, tuple[int, str | None, int, str]] = {}  # path -> (gen, when, size, mtime)
    for gen in history.generations:
        for fe in gen.files:
            good = [h for h in fe.hashes if h.action != "failed"]
            if not good:
                continue
            when = max((h.hashdate.isoformat() for h in good if h.hashdate), default=gen.creation)
            latest[fe.path] = (gen.sequence, when or None, fe.size, fe.mtime.isoformat())
    known = history.known_hashes()
    root = history.root
    facts, missing = [], []
    for rel, (seq, when, size, mtime) in sorted(latest.items()):
        on_disk = root / rel
        if not on_disk.is_file():
            missing.append(str(on_disk))
            continue
        manifest = next(g.path for g in history.generations if g.sequence == seq)
        facts.append(
            CopyFact(
                path=nfc(rel),
                size=size,
                mtime=mtime,
                hashes=known.get(rel, {}),
                copy_path=nfc(str(on_disk)),
                root=str(root.parent),
                volume=volume,
                status="indexed",
                verified="mhl",
                verified_at=when,
                generation=seq,
                manifest=str(manifest),
            )
        )
    return facts, missing


@catalog_errors_only
def import_path(
    path: str | os.PathLike[str], *, catalog: CatalogLike = None, volume: str | None = None
) -> ImportSummary:
    """Index every offloaded roll under `path` from its ASC MHL history (no file is read
    again: the history says what was verified, and when). Safe to run twice."""
    base = Path(os.path.abspath(path))
    if not base.is_dir():
        raise UserInputError(f"{base} is not a folder", hint="give the drive or a roll folder")
    summary = ImportSummary()
    work: list[tuple[str, list[CopyFact]]] = []
    for root in find_roll_roots(base):
        try:
            history = load_history(root)
        except RushlineError as exc:
            summary.problems.append(str(exc))
            continue
        if history is None or not history.generations:
            continue
        for name in history.tampered:
            summary.problems.append(
                f"{root / MHL_FOLDER / name}: changed after it was written "
                "(its C4 does not match the chain); indexed anyway"
            )
        facts, missing = history_facts(history, volume or volume_name(base))
        summary.missing.extend(missing)
        if facts:
            work.append((nfc(root.name), facts))

    def write(cat: Catalog) -> ImportSummary:
        with cat.write(f"importing {base}") as s:
            for roll, facts in work:  # a probe-only clip of the same file is adopted
                rid = roll_id(s, roll, None, None)
                adopt(s, rid, {Arrival(f.path, f.size, None) for f in facts})
                done = write_facts(s, roll, None, facts)
                summary.rolls.append(roll)
                summary.clips += done.clips
                summary.copies += done.copies
        return summary

    return _with_catalog(catalog, write)
