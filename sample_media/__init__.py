"""Rushline sample media: realistic camera/sound/photo cards, a QC programme master, bad inputs.

Everything is generated (ffmpeg, numpy, OpenCV, pyexiv2, a small DNG writer), deterministic where
the tools allow, and described in `out/manifest.json` so tests can compare what probe and QC
read with what was asked for.

manifest.json::

    {
      "generator_version": "3",          # bump when any output changes; ensure() rebuilds
      "root": "/abs/path/of/out",
      "elapsed_s": 24.1,                 # generation wall time
      "tools": {...},                    # pipeline.tools.tool_versions()
      "cards": {
        "A_XDCAM": {"path": "cards/A_XDCAM", "device": "camera", "camera": {...},
                    "files": [<file record>, ...]},
        "B_A001": {..., "reel": "A001"}, "C_SOUND": {...}, "D_PHOTO": {..., "raws_present": [...]}
      },
      "masters": {
        "PROGRAMME_MASTER": {"path": "masters/PROGRAMME_MASTER.mxf", "properties": {...},
                             "loudness": {...}, "expected": {...},
                             "expected_json": "masters/PROGRAMME_MASTER.expected.json"},
        "PROMO_MASTER": {"path": "masters/PROMO_MASTER.mxf", "properties": {...},
                         "loudness": {...}},   # clean programme for `rushline deliver`
        "WEB_MASTER": {"path": "masters/WEB_MASTER.mp4", "properties": {...}, "loudness": {...}}
      },
      "misc": {"not_a_video": {...}, "empty": {...}, "truncated": {...}, "leading_dash": {...}}
    }

A file record: {"path": relative to root (posix), "kind": "video"|"audio"|"photo"|"sidecar"|
"other", "size": bytes, and the properties asked for, named like `pipeline.assets.Asset`:
"container" (MediaInfo general Format: "MPEG-4", "MXF", "Wave", "JPEG", "DNG", "CRW"),
"container_profile", "duration_s", "start_timecode", "reel", "clip_name", "camera",
"video": {codec, codec_profile, width, height, frame_rate, scan_type, ...}, "audio": {codec,
channels, sample_rate, bit_depth}, "photo": {make, model, lens, iso, shutter, aperture, ...},
"bwf_originator", "bwf_time_reference", "bext": {...}}.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline.fsutil import atomic_write_text, fsync_dir
from sample_media.cards import CARD_BUILDERS
from sample_media.master import (
    build_programme_master,
    build_promo_master,
    build_web_master,
    expected_results,
)
from sample_media.misc import build_misc

GENERATOR_VERSION = "10"
MANIFEST = "manifest.json"

Manifest = dict[str, Any]


def _add_sizes(root: Path, node: Any) -> None:
    """Add "size" to every record that names a file (walks the manifest)."""
    if isinstance(node, dict):
        p = node.get("path")
        if isinstance(p, str) and (root / p).is_file():
            node.setdefault("size", (root / p).stat().st_size)
        for v in node.values():
            _add_sizes(root, v)
    elif isinstance(node, list):
        for v in node:
            _add_sizes(root, v)


def build_card(name: str, root: Path) -> dict[str, Any]:
    """Build one card (A_XDCAM, B_A001, C_SOUND, D_PHOTO) under `root/cards/<name>`.

    Cheap entry point for tests (determinism) and for rebuilding a single card."""
    try:
        builder = CARD_BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown card {name!r}; choose one of {sorted(CARD_BUILDERS)}") from None
    root.mkdir(parents=True, exist_ok=True)
    rec = builder(root)
    shutil.rmtree(root / ".tmp", ignore_errors=True)
    _add_sizes(root, rec)
    return rec


def _build_into(build: Path, final: Path, progress: Callable[[str], None]) -> Manifest:
    t0 = time.monotonic()
    tmp = build / ".tmp"
    tmp.mkdir(parents=True)
    mtmp = build / ".tmp-master"
    mtmp.mkdir()

    def master_job() -> dict[str, Any]:
        rec = build_programme_master(build, mtmp)
        progress("programme master")
        return rec

    # Two lanes on 2 cores: the long MPEG-2 master in one, everything else in the other.
    with ThreadPoolExecutor(max_workers=2) as pool:
        master_future = pool.submit(master_job)
        cards: dict[str, Any] = {}
        for name, builder in CARD_BUILDERS.items():
            cards[name] = builder(build)
            progress(f"card {name}")
        web = build_web_master(build, tmp)
        progress("web master")
        promo = build_promo_master(build, tmp)
        progress("promo master")
        misc = build_misc(build, tmp)
        progress("misc")
        programme = master_future.result()
    shutil.rmtree(tmp)
    shutil.rmtree(mtmp)
    expected = expected_results(programme)
    atomic_write_text(
        build / programme["expected_json"],
        json.dumps(expected, indent=2, ensure_ascii=False),
        overwrite=False,
    )
    programme["expected"] = expected
    manifest: Manifest = {
        "generator_version": GENERATOR_VERSION,
        "root": str(final.resolve()),
        "elapsed_s": None,
        "tools": _tools(),
        "cards": cards,
        "masters": {"PROGRAMME_MASTER": programme, "PROMO_MASTER": promo, "WEB_MASTER": web},
        "misc": misc,
    }
    _add_sizes(build, manifest)
    manifest["elapsed_s"] = round(time.monotonic() - t0, 1)
    atomic_write_text(
        build / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False), overwrite=False
    )
    return manifest


def _tools() -> dict[str, Any]:
    from pipeline.tools import tool_versions

    return tool_versions()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out: Path) -> None:
    """Remove build folders left by interrupted runs (their process is gone)."""
    for p in out.parent.glob(f".{out.name}.*-*"):
        with contextlib.suppress(ValueError):
            if p.is_dir() and not _pid_alive(int(p.name.rsplit("-", 1)[1])):
                shutil.rmtree(p, ignore_errors=True)


def generate(out: Path, progress: Callable[[str], None] | None = None) -> Manifest:
    """Build every sample into `out/` (replacing it) and write `out/manifest.json`.

    The build happens in a hidden sibling folder that is renamed into place at the end, so an
    interrupted run never leaves a folder that looks complete. Returns the manifest."""
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out)
    build = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    try:
        manifest = _build_into(build, out, progress or (lambda _msg: None))
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        build.rename(out)
        fsync_dir(out.parent)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return manifest


def load_manifest(out: Path) -> Manifest | None:
    """The manifest in `out/`, or None when there is none or it is unreadable."""
    try:
        return json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure(out: Path, force: bool = False) -> Manifest:
    """Return the manifest in `out/` if it was made by this generator version, else generate."""
    if not force:
        manifest = load_manifest(out)
        if manifest and manifest.get("generator_version") == GENERATOR_VERSION:
            return manifest
    return generate(out)


__all__ = ["GENERATOR_VERSION", "build_card", "ensure", "generate", "load_manifest"]
