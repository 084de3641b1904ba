"""`offload()`: the steps in order — check every argument, read the card's history and scan it,
prepare the destinations, copy and settle file by file, write each manifest, sum up."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline import mhl
from pipeline.errors import UserInputError
from pipeline.hashing import CHUNK_SIZE, check_formats
from pipeline.names import nfc
from pipeline.offload import dest as destinations_
from pipeline.offload.dest import Dest
from pipeline.offload.engine import Pending, begin
from pipeline.offload.manifest import (
    Originals,
    check_against_history,
    finish_destination,
    record_entries,
)
from pipeline.offload.models import (
    DEFAULT_IGNORE,
    DEFAULT_TEMPLATE,
    DestinationResult,
    Failure,
    FileRecord,
    Notice,
    NoVerifiedCopyError,
    OffloadResult,
    VerifyLevel,
)
from pipeline.offload.scan import Scan, SourceFile, ignored, render_template, scan_source
from pipeline.offload.settle import SMALL_FILE, make_durable, settle

_BATCH_FILES = 256
_BATCH_BYTES = 64 * 1024 * 1024


@dataclass
class _Plan:
    """The checked arguments of one offload (nothing was written to check them)."""

    src_root: Path
    roots: list[Path]
    rendered: str
    values: dict[str, str]
    level: VerifyLevel
    formats: list[str]


def _plan(
    source: str | os.PathLike[str],
    destinations: Sequence[str | os.PathLike[str]],
    template: str,
    values: dict[str, str] | None,
    hashes: Sequence[str],
    verify: VerifyLevel | str,
) -> _Plan:
    """Every argument checked before any side effect: source, template, levels, formats,
    destinations (duplicates, overlap with the card or with each other)."""
    src_root = Path(source).absolute()
    if not src_root.is_dir():
        raise UserInputError(
            f"source {src_root} is not a folder", path=src_root, hint="point at the card's root"
        )
    try:
        level = VerifyLevel(verify)
    except ValueError:
        raise UserInputError(
            f"unknown verification level {verify!r}", hint="use size, full or source"
        ) from None
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
    roots = destinations_.check_destinations(src_root, destinations, rendered)
    return _Plan(src_root, roots, rendered, vals, level, formats)


def _card_history(plan: _Plan, result: OffloadResult) -> tuple[mhl.History | None, Originals]:
    """The card's own ASC MHL history: checked while copying, then extended on every copy."""
    src_history = mhl.load_history(plan.src_root)
    if src_history is None:
        return None, {}
    result.source_history_generations = len(src_history.generations)
    for name in src_history.tampered + src_history.missing_manifests:
        result.notices.append(
            Notice(
                path=f"{mhl.MHL_FOLDER}/{name}",
                kind="history",
                message="manifest changed or missing since it was written (chain C4 differs)",
            )
        )
        result.failures.append(Failure.SOURCE_HISTORY)
    originals = {nfc(p): v for p, v in src_history.original_entries().items()}
    # hash in the card's own formats too, so its history can be checked in the same read
    plan.formats = check_formats([*plan.formats, *(h.fmt for _, h in originals.values())])
    result.hash_formats = plan.formats
    return src_history, originals


def _scan(
    plan: _Plan, result: OffloadResult, ignore: Sequence[str],
    src_history: mhl.History | None, originals: Originals,
) -> Scan:  # fmt: skip
    scan = scan_source(plan.src_root, ignore, frozenset(originals))
    result.notices.extend(scan.notices)
    result.dirs = scan.dirs
    for rel, why in scan.unreadable:
        result.notices.append(Notice(path=rel, kind="unreadable", message=why))
        result.failures.append(Failure.SOURCE_READ)
    if src_history is None:
        return scan
    present = {nfc(f.rel) for f in scan.files}
    ignore_hist = src_history.ignore_patterns()
    for key in sorted(set(originals) - present):
        if ignored(PurePosixPath(key).name, [*ignore, *ignore_hist]):
            continue
        result.notices.append(
            Notice(
                path=key,
                kind="missing-from-card",
                message="listed in the card's ASC MHL history but missing on the card",
            )
        )
        result.failures.append(Failure.SOURCE_HISTORY)
    return scan


def _twin_record(src: SourceFile, other: str) -> FileRecord:
    """A name that equals another file's after NFC: copying both would merge them on macOS,
    exFAT and in the ASC MHL, so neither is copied and both are reported."""
    return FileRecord(
        path=src.rel,
        size=src.size,
        mtime=dt.datetime.fromtimestamp(src.mtime_ns / 1e9, dt.UTC).isoformat(),
        failure=Failure.CONFLICT,
        error=(
            f"{src.abs} not copied: its name equals {other!r} after Unicode normalisation (NFC); "
            "macOS and exFAT destinations and the ASC MHL would see one file — copy the two by "
            "hand under distinct names"
        ),
    )


class _Copier:
    """Copies the scanned files in batches (small files share one syncfs) and settles them."""

    def __init__(
        self, plan: _Plan, result: OffloadResult, dests: list[Dest], originals: Originals,
        chunk_size: int, progress: Callable[[int], None] | None,
        on_file_done: Callable[[FileRecord], None] | None, pool: ThreadPoolExecutor,
    ) -> None:  # fmt: skip
        self.plan, self.result, self.dests, self.originals = plan, result, dests, originals
        self.chunk_size, self.progress, self.on_file_done = chunk_size, progress, on_file_done
        self.pool = pool
        self.primary = "xxh128" if "xxh128" in plan.formats else plan.formats[0]
        self.order = {d.result.root: i for i, d in enumerate(dests)}
        self.batch: list[Pending] = []

    def run(self, scan: Scan) -> None:
        pending_bytes = 0  # running total: re-summing the batch per file was quadratic
        for src in scan.files:
            if src.rel in scan.twins:
                self._done(_twin_record(src, scan.twins[src.rel]), src)
                continue
            small = src.size <= SMALL_FILE
            self.batch.append(
                begin(
                    src, self.dests, self.plan.formats, self.chunk_size, self.progress,
                    sync=not small,
                )
            )  # fmt: skip
            pending_bytes += src.size
            if not small or len(self.batch) >= _BATCH_FILES or pending_bytes >= _BATCH_BYTES:
                self._settle_batch()
                pending_bytes = 0
        self._settle_batch()

    def _settle_batch(self) -> None:
        make_durable(self.batch, self.dests)
        for p in self.batch:
            rec = settle(p, self.primary, self.plan.level, self.pool)
            rec.outcomes.sort(key=lambda o: self.order[o.destination])  # the --dest order
            check_against_history(rec, self.originals)
            self._done(rec, p.src)
        self.batch.clear()

    def _done(self, rec: FileRecord, src: SourceFile) -> None:
        self.result.files.append(rec)
        self.result.bytes_total += src.size if rec.hashes else 0
        record_entries(rec, src, self.dests)
        if self.on_file_done:
            self.on_file_done(rec)


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
    in the result (see the package docstring for failure classes); raises UserInputError for
    bad arguments only, before anything is written. Ctrl-C (KeyboardInterrupt, also from a
    callback) removes the part files, writes the history of what was verified, unlocks, and
    propagates.
    """
    from pipeline.tools import tool_versions

    plan = _plan(source, destinations, template, values, hashes, verify)
    t_start = time.monotonic()
    result = OffloadResult(
        source=str(plan.src_root),
        roll=PurePosixPath(plan.rendered).name,
        template=template,
        values={k: str(v) for k, v in plan.values.items()},
        hash_formats=plan.formats,
        verify=plan.level,
        started=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        cascade_from=cascade_from,
    )
    src_history, originals = _card_history(plan, result)
    scan = _scan(plan, result, ignore, src_history, originals)
    dests = _open_destinations(plan, result, src_history, scan)
    pool = ThreadPoolExecutor(max_workers=len(dests) + 1, thread_name_prefix="verify")
    try:
        copier = _Copier(plan, result, dests, originals, chunk_size, progress, on_file_done, pool)
        copier.run(scan)
    finally:
        pool.shutdown(wait=True)
        for d in dests:
            try:
                finish_destination(d, result, scan, plan.formats, ignore, comment)
            finally:
                destinations_.unlock(d)
    result.settle_exit_code()
    result.duration_s = round(time.monotonic() - t_start, 3)
    result.finished = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    if result.duration_s > 0:
        result.throughput_mb_s = round(result.bytes_total / 1e6 / result.duration_s, 1)
    result.tools = tool_versions()
    return result


def _open_destinations(
    plan: _Plan, result: OffloadResult, src_history: mhl.History | None, scan: Scan
) -> list[Dest]:
    """Prepare every destination (a bad one is recorded, the others go on); on Ctrl-C the
    ones already locked are unlocked."""
    dests: list[Dest] = []
    try:
        for root in plan.roots:
            roll_dir = root / plan.rendered
            dr = DestinationResult(root=str(root), roll_dir=str(roll_dir))
            d = Dest(result=dr, roll_dir=roll_dir)
            dests.append(d)
            result.destinations.append(dr)
            destinations_.prepare(d, plan.src_root, src_history, scan)
    except BaseException:
        for d in dests:
            destinations_.unlock(d)
        raise
    return dests


# ---------------------------------------------------------------- cascade


def cascade_origin(result: OffloadResult) -> DestinationResult:
    """The first destination holding a complete, verified copy with its manifest."""
    for d in result.destinations:
        if d.ok and not d.files_failed and d.manifest:
            return d
    err = NoVerifiedCopyError(
        f"no verified copy of {result.source} to cascade from: every destination failed",
        hint="fix the first step, run it again, then cascade",
    )
    err.exit_code = result.exit_code or err.exit_code  # the first step's failure class
    raise err


def cascade(
    result: OffloadResult,
    destinations: Sequence[str | os.PathLike[str]],
    **kw: object,
) -> OffloadResult:
    """Offload on from the first verified copy of `result` to slower `destinations`, into the
    same roll folder path, with the same guarantees. `kw` are `offload()`'s keywords (not
    template/values: the roll folder is the first copy's). Raises NoVerifiedCopyError."""
    first = cascade_origin(result)
    rel = "/".join(Path(first.roll_dir).relative_to(first.root).parts)
    literal = rel.replace("{", "{{").replace("}", "}}")  # the folder path is literal text
    kw = {k: v for k, v in kw.items() if k not in ("template", "values")}
    return offload(
        first.roll_dir,
        destinations,
        template=literal,
        values={},
        cascade_from=first.roll_dir,
        **kw,  # type: ignore[arg-type]
    )
