"""Export a batch: worker processes started with `spawn` (LibRaw and fork do not mix), one
ExifTool session per worker, per-file errors that never stop the batch, then a checksum
manifest of the delivery folder.

The manifest is a SHA-256 list (`SHA256SUMS`, the `sha256sum -c` format) rather than an ASC
MHL history: an ASC MHL `ascmhl/` folder marks its root as an offloaded original, which the
rights room then refuses to embed into (see `pipeline.rights.embed.mhl_root`), and a client
receiving JPEGs checks them with `sha256sum -c`, a tool every system has.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pipeline.fsutil import atomic_write_text
from pipeline.photo.export import ExportResult, export_one
from pipeline.photo.presets import ExportPreset
from pipeline.rights.template import RightsTemplate

MANIFEST = "SHA256SUMS"
_session = None  # one ExifTool session per worker process


def _init_worker() -> None:
    # One LibRaw/OpenCV thread per process: the pool already uses every core.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)
    from multiprocessing.util import Finalize

    from pipeline.exiftool import ExifToolSession

    global _session
    _session = ExifToolSession().start()
    Finalize(_session, _session.close, exitpriority=10)


def _work(
    src: str, preset: ExportPreset, out_dir: str, template: RightsTemplate | None, force: bool,
    seq: int,
) -> ExportResult:  # fmt: skip
    return export_one(
        Path(src), preset, Path(out_dir), template=template, force=force, seq=seq,
        session=_session,
    )  # fmt: skip


def export_batch(
    sources: Sequence[Path],
    preset: ExportPreset,
    out_dir: Path,
    *,
    template: RightsTemplate | None = None,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[ExportResult], None] | None = None,
) -> list[ExportResult]:
    """Export every source (results in source order); a failed file never stops the others."""
    out_dir.mkdir(parents=True, exist_ok=True)
    n = max(1, min(workers or os.cpu_count() or 1, len(sources)))
    results: list[ExportResult | None] = [None] * len(sources)
    if n == 1:
        from pipeline.exiftool import ExifToolSession

        with ExifToolSession() as s:
            for i, src in enumerate(sources):
                res = export_one(src, preset, out_dir, template=template, force=force,
                                 seq=i + 1, session=s)  # fmt: skip
                results[i] = res
                if progress:
                    progress(res)
        return [r for r in results if r is not None]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {
            pool.submit(_work, str(src), preset, str(out_dir), template, force, i + 1): i
            for i, src in enumerate(sources)
        }
        for fut, i in futures.items():
            try:
                res = fut.result()
            except Exception as exc:  # a worker died (out of memory, a crash in LibRaw)
                why = f"{sources[i]}: the export worker stopped ({exc})"
                res = ExportResult(source=str(sources[i]), preset=preset.name, error=why)
            results[i] = res
            if progress:
                progress(res)
    return [r for r in results if r is not None]


def write_manifest(out_dir: Path, results: Sequence[ExportResult]) -> Path | None:
    """SHA-256 of every file delivered by this batch plus those listed before, sorted by name.

    Lines from an earlier manifest are kept for files still there; the manifest is rewritten
    atomically. Returns None when nothing was delivered.
    """
    entries: dict[str, str] = {}
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            digest, sep, name = line.partition("  ")
            if sep and (out_dir / name).is_file():
                entries[name] = digest
    for r in results:
        if r.status == "exported" and r.output:
            p = Path(r.output)
            entries[p.name] = sha256_file(p)
    if not entries:
        return None
    text = "".join(f"{entries[name]}  {name}\n" for name in sorted(entries))
    atomic_write_text(manifest, text, overwrite=True)
    return manifest


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
