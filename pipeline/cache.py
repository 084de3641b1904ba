"""Answers from earlier measurements: a QC or a probe of a file that has not changed.

A QC entry is keyed on what the measurement reads: the file's content (xxh128), the resolved
profile (its validated content, so an edited YAML is a miss whatever its name), Rushline's
version and code, the tools that measure (ffmpeg, MediaInfo) and what beside the file the probe
reads (the camera's XML sidecar, the name's extension). Hashing a 5 GB master takes seconds,
so the content hash is memoised per stat signature (device, inode, size, mtime_ns, ctime_ns):
a file whose signature changed is hashed again.

A probe entry is keyed on the stat signature and the path, not on the content: MediaInfo
reads a file's headers in milliseconds, and hashing every byte of a card to save that would
make a first probe minutes longer.

One JSON file per entry under `$RUSHLINE_CACHE`, else `$XDG_CACHE_HOME/rushline`
(`~/.cache/rushline`); `RUSHLINE_CACHE=off` turns it off. Every write is temp + fsync + rename,
so two processes writing at once leave one whole entry or the other; an entry that cannot be
read or parsed is a miss with a one-line warning, and a cache that cannot be written is a
warning: the cache never changes a command's outcome. Results that could not be measured
(verdict "error", a probe error) are never kept.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pipeline
from pipeline.errors import RushlineError
from pipeline.fsutil import atomic_write_text

if TYPE_CHECKING:
    from pipeline.assets import Asset
    from pipeline.profiles import Profile
    from pipeline.qc.findings import QCResult

ENV_VAR = "RUSHLINE_CACHE"
OFF_VALUES = frozenset({"off", "0", "no", "false", "none", "disabled"})
LAYOUT = 1  # the entry layout: a new one orphans older entries
QC_TOOLS = ("ffmpeg", "mediainfo")
PROBE_TOOLS = ("mediainfo", "exiftool", "pymediainfo", "exifread", "rawpy")
#: the modules whose code decides a measurement (see code_digest)
MEASURING_CODE = ("qc/*.py", "probe.py", "assets.py", "profiles.py", "provenance.py",
                  "exiftool.py", "hashing.py", "cache.py")  # fmt: skip

log = logging.getLogger("rushline.cache")

Signature = tuple[int, int, int, int, int]
_UNWRITABLE: set[Path] = set()  # cache folders already warned about


def turned_off() -> bool:
    """True when $RUSHLINE_CACHE says `off`."""
    return os.environ.get(ENV_VAR, "").strip().lower() in OFF_VALUES


def cache_dir() -> Path:
    """$RUSHLINE_CACHE, else $XDG_CACHE_HOME/rushline, else ~/.cache/rushline."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw:
        return Path(raw).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rushline"


def signature(path: str | os.PathLike[str]) -> Signature:
    """What changes when a file is written, replaced or touched (ctime: even a write that
    puts mtime back). Raises OSError for a missing file."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@functools.cache
def code_digest() -> str:
    """Rushline's version and the code that measures, as installed (each module's size and
    mtime): a developer's edit to a check must not be answered by an older measurement."""
    h = hashlib.sha256(pipeline.__version__.encode())
    root = Path(pipeline.__file__).parent
    for part in MEASURING_CODE:
        for f in sorted(root.glob(part)):
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def profile_digest(profile: Profile) -> str:
    """The resolved profile's content (every value after validation), not its name."""
    data = json.dumps(profile.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def _sidecar_digest(p: Path) -> str | None:
    """The camera sidecar the probe reads beside a clip (`C0001M01.XML`), by content."""
    for cand in (p.with_name(f"{p.stem}M01.XML"), p.with_name(f"{p.stem}M01.xml")):
        try:
            return hashlib.sha256(cand.read_bytes()).hexdigest()[:16]
        except OSError:
            continue
    return None


def _digest(parts: Mapping[str, Any]) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


class Cache:
    """The store: `hash/` (content hash per stat signature), `qc/` and `probe/` entries."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0

    @classmethod
    def open(cls, *, on: bool = True) -> Cache | None:
        """The user's cache, or None when turned off (`on=False` or $RUSHLINE_CACHE=off)."""
        if not on or turned_off():
            return None
        return cls(cache_dir())

    # --- content hash, memoised per stat signature ----------------------------------------

    def content_hash(self, path: str | os.PathLike[str]) -> str:
        """The file's xxh128, from the memo when its stat signature is unchanged. Raises
        OSError when the file cannot be read (not a regular file, missing)."""
        from pipeline.hashing import hash_file

        sig = signature(path)
        memo = self.root / "hash" / f"{sig[0]}-{sig[1]}.json"
        found = self._read(memo)
        if found is not None and found.get("sig") == list(sig) and found.get("xxh128"):
            return str(found["xxh128"])
        digest = hash_file(path, ["xxh128"])["xxh128"]
        if signature(path) == sig:  # not written to while we read it
            self._write(memo, {"sig": list(sig), "xxh128": digest})
        return digest

    # --- entries ----------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        entry = self._read(self._entry(kind, key))
        if entry is None:
            return None
        if entry.get("layout") != LAYOUT or not isinstance(entry.get("value"), dict):
            self.warn(self._entry(kind, key), "not an entry this version can read")
            return None
        return entry

    def put(self, kind: str, key: str, value: dict[str, Any], **extra: Any) -> None:
        self._write(self._entry(kind, key), {"layout": LAYOUT, "value": value, **extra})

    def _entry(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.json"

    def _read(self, path: Path) -> dict[str, Any] | None:
        """An entry's JSON; None when absent, and a warning when unreadable or damaged."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.warn(path, f"cannot read it ({exc})")
            return None
        try:
            data = json.loads(text)
        except ValueError:
            self.warn(path, "damaged (not JSON)")
            return None
        if not isinstance(data, dict):
            self.warn(path, "damaged (not an entry)")
            return None
        return data

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        try:
            text = json.dumps(data, ensure_ascii=False, allow_nan=True)
            atomic_write_text(path, text, overwrite=True)
        except (OSError, ValueError, RushlineError) as exc:
            if self.root not in _UNWRITABLE:  # once per process, not once per file
                _UNWRITABLE.add(self.root)
                log.warning("cache %s not written (%s); measuring without it", self.root, exc)

    def warn(self, path: Path, why: str) -> None:
        """One line: the entry is ignored and measured again (then replaced)."""
        log.warning("cache entry %s ignored: %s; measuring again", path, why)


# --- QC -------------------------------------------------------------------------------------


def qc_key(store: Cache, path: Path, profile: Profile, tools: Mapping[str, Any]) -> str:
    """What a QC result depends on (see the module docstring). Raises OSError."""
    return _digest(
        {
            "content": store.content_hash(path),
            "suffix": path.suffix.lower(),
            "sidecar": _sidecar_digest(path),
            "profile": profile_digest(profile),
            "rushline": pipeline.__version__,
            "code": code_digest(),
            "tools": {t: tools.get(t) for t in QC_TOOLS},
        }
    )


def qc_file_cached(
    path: str | os.PathLike[str],
    profile: Profile,
    *,
    thumbnails_dir: str | os.PathLike[str] | None = None,
    tools: dict[str, str | None] | None = None,
    cache: bool = True,
    measure: Callable[..., QCResult] | None = None,
) -> QCResult:
    """`pipeline.qc.run.qc_file`, answered from the cache when the file, the profile, Rushline
    and its tools are unchanged (the result then says `cached`). `measure` replaces qc_file
    with an equivalent measurement (a split QC, whose merged result equals one pass).

    A measurement always writes its thumbnails (into a scratch folder when none is asked for)
    and the entry keeps them, so a later hit that needs them for an HTML report has them.
    """
    from pipeline.qc.run import qc_file as one_pass
    from pipeline.tools import tool_versions

    qc_file = measure or one_pass
    store = Cache.open(on=cache)
    if store is None:
        return qc_file(path, profile, thumbnails_dir=thumbnails_dir, tools=tools)
    started = time.monotonic()
    p = Path(path)
    tools = tools if tools is not None else tool_versions()
    try:
        sig = signature(p)
        key = qc_key(store, p, profile, tools)
    except OSError as exc:  # missing, a FIFO, unreadable: qc_file says what is wrong
        log.debug("%s: not cached: %s", p, exc)
        return qc_file(p, profile, thumbnails_dir=thumbnails_dir, tools=tools)
    hit = _qc_hit(store, key, p, thumbnails_dir)
    if hit is not None:
        store.hits += 1
        hit.elapsed_s = round(time.monotonic() - started, 3)
        return hit
    with tempfile.TemporaryDirectory(prefix="rushline-thumbs-") as scratch:
        thumbs = Path(thumbnails_dir) if thumbnails_dir is not None else Path(scratch) / "t"
        result = qc_file(p, profile, thumbnails_dir=thumbs, tools=tools)
        if str(result.verdict) != "error" and _unchanged(p, sig):
            _keep(store, key, result, thumbs)
    if thumbnails_dir is None:
        for f in result.findings:
            f.thumbnail = None
    return result


def _unchanged(p: Path, sig: Signature) -> bool:
    try:
        return signature(p) == sig
    except OSError:
        return False


def _qc_value(result: QCResult) -> dict[str, Any]:
    """The result as kept: thumbnails by file name only (the folder is the caller's)."""
    value = result.model_dump(mode="json")
    for f in value["findings"]:
        if f.get("thumbnail"):
            f["thumbnail"] = f["thumbnail"].rsplit("/", 1)[-1]
    return value


def _keep(store: Cache, key: str, result: QCResult, folder: Path) -> None:
    """Store the result with its thumbnails' bytes (a few small JPEGs, kept in the entry so
    that one rename makes the entry whole)."""
    images = {}
    try:
        for f in result.findings:
            if f.thumbnail:
                name = f.thumbnail.rsplit("/", 1)[-1]
                images[name] = base64.b64encode((folder / name).read_bytes()).decode("ascii")
    except OSError as exc:  # a thumbnail we cannot read back: measure again next time
        log.debug("%s: not cached: %s", result.file, exc)
        return
    store.put("qc", key, _qc_value(result), thumbnails=images)


def _qc_hit(
    store: Cache, key: str, p: Path, thumbnails_dir: str | os.PathLike[str] | None
) -> QCResult | None:
    """The kept result for this file, its thumbnails written where asked; None on a miss."""
    from pydantic import ValidationError

    from pipeline.fsutil import atomic_write_bytes
    from pipeline.qc.findings import QCResult

    entry = store.get("qc", key)
    if entry is None:
        return None
    where = store.root / "qc" / f"{key}.json"
    try:
        result = QCResult.model_validate(entry["value"])
        thumbs = entry.get("thumbnails") or {}
        images = {n: base64.b64decode(thumbs[n], validate=True) for n in _wanted(result)}
    except (ValidationError, KeyError, ValueError, TypeError) as exc:
        store.warn(where, f"damaged ({type(exc).__name__})")
        return None
    folder = Path(thumbnails_dir) if thumbnails_dir is not None else None
    for f in result.findings:
        if f.thumbnail and folder is not None:
            atomic_write_bytes(folder / f.thumbnail, images[f.thumbnail], overwrite=True)
            f.thumbnail = f"{folder.name}/{f.thumbnail}"
        else:
            f.thumbnail = None
    result.file = str(p)
    result.cached = True
    return result


def _wanted(result: QCResult) -> set[str]:
    return {f.thumbnail for f in result.findings if f.thumbnail}


# --- probe ----------------------------------------------------------------------------------


def probe_key(path: Path, tools: Mapping[str, Any]) -> str:
    """What a probe depends on: the file as it stands (stat signature and path), its camera
    sidecar, Rushline and the probing tools. Raises OSError."""
    return _digest(
        {
            "file": signature(path),
            "path": os.path.abspath(path),
            "sidecar": _sidecar_digest(path),
            "rushline": pipeline.__version__,
            "code": code_digest(),
            "tools": {t: tools.get(t) for t in PROBE_TOOLS},
        }
    )


def probe_paths_cached(
    paths: Iterable[str | os.PathLike[str]], *, cache: bool = True
) -> tuple[list[Asset], int]:
    """`pipeline.probe.probe_paths` with media files answered from the cache when unchanged;
    returns the assets in order and how many came from the cache."""
    from pipeline.assets import Kind
    from pipeline.probe import iter_files, probe_paths

    store = Cache.open(on=cache)
    if store is None:
        return probe_paths(paths), 0
    from pipeline.tools import tool_versions

    tools = tool_versions()
    media = {Kind.VIDEO, Kind.AUDIO, Kind.PHOTO}  # sidecars and others cost nothing to probe
    files = list(iter_files(paths))
    keys: dict[int, str] = {}
    found: dict[int, Asset] = {}
    for i, f in enumerate(files):
        try:
            keys[i] = probe_key(f, tools)
        except OSError:  # missing, dangling: the probe names the problem
            continue
        hit = _probe_hit(store, keys[i], f)
        if hit is not None:
            found[i] = hit
    missed = [i for i in range(len(files)) if i not in found]
    for i, asset in zip(missed, probe_paths([files[i] for i in missed]), strict=True):
        found[i] = asset
        if i in keys and asset.ok and asset.kind in media and _same(files[i], keys[i], tools):
            store.put("probe", keys[i], asset.model_dump(mode="json"))
    store.hits = len(files) - len(missed)
    return [found[i] for i in range(len(files))], store.hits


def _same(p: Path, key: str, tools: Mapping[str, Any]) -> bool:
    try:
        return probe_key(p, tools) == key
    except OSError:
        return False


def _probe_hit(store: Cache, key: str, p: Path) -> Asset | None:
    from pydantic import ValidationError

    from pipeline.assets import Asset

    entry = store.get("probe", key)
    if entry is None:
        return None
    try:
        asset = Asset.model_validate(entry["value"])
    except ValidationError:
        store.warn(store.root / "probe" / f"{key}.json", "damaged (not a probe result)")
        return None
    asset.path = str(p)
    return asset
