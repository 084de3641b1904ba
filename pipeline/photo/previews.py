"""Culling previews: the camera's embedded JPEG, never a demosaic.

A RAW file carries a preview the camera rendered (often full size). LibRaw hands it over in
well under a millisecond (`extract_thumb()`); Pillow's `draft()` then decodes the JPEG at 1/2,
1/4 or 1/8 scale straight from its DCT coefficients, so a 45 MP preview costs a fraction of a
full decode. A JPEG original takes the same reduced decode. The preview is turned the way the
camera was held: a RAW's embedded JPEG no larger than the preview size is written as it is,
with an EXIF Orientation from LibRaw's `flip` (no decode, no re-encode); a JPEG original is
decoded reduced, turned by its EXIF Orientation and re-encoded.

Work is spread over worker processes started with `spawn` (LibRaw and `fork` do not mix), one
per core. A file without a usable preview (a DNG written without one, a truncated RAW, a format
LibRaw does not know) is that file's error; the batch goes on.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.fsutil import atomic_write_bytes
from pipeline.names import printable
from pipeline.probe import RAW_EXT

DEFAULT_LONG_EDGE = 2048
QUALITY = 85
_IMAGE_EXT = {".jpg", ".jpeg", ".tif", ".tiff", ".png", ".webp", ".heic", ".heif"}
# LibRaw's `flip`: 3 = upside down, 5 = turn left, 6 = turn right (as Pillow transposes).
_FLIP = {3: "ROTATE_180", 5: "ROTATE_90", 6: "ROTATE_270"}
_EXIF_ORIENTATION = {3: 3, 5: 8, 6: 6}


class Preview(BaseModel):
    """One preview: where it is, its size, or why there is none."""

    source: str
    preview: str | None = None
    width: int = 0
    height: int = 0
    how: str = ""  # embedded / embedded-bitmap / reduced-decode / already
    error: str | None = None


class PreviewRun(BaseModel):
    out_dir: str
    previews: list[Preview] = Field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    @property
    def per_second(self) -> float:
        return len(self.previews) / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> list[Preview]:
        return [p for p in self.previews if p.error]


def _fit(img, long_edge: int):  # type: ignore[no-untyped-def]
    from PIL import Image

    if max(img.size) > long_edge:
        img.thumbnail((long_edge, long_edge), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return img.convert("RGB") if img.mode != "RGB" else img


def _encode(img) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=QUALITY)
    return buf.getvalue()


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG with an EXIF Orientation segment first: turned without re-encoding."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    seg = exif.tobytes()
    seg = seg if seg.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + seg
    return jpeg[:2] + b"\xff\xe1" + (len(seg) + 2).to_bytes(2, "big") + seg + jpeg[2:]


def _from_raw(path: Path, long_edge: int) -> tuple[bytes, tuple[int, int], str]:
    import rawpy
    from PIL import Image

    with rawpy.imread(os.fspath(path)) as raw:
        flip = raw.sizes.flip
        thumb = raw.extract_thumb()
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        img = _fit(Image.fromarray(thumb.data), long_edge)
        if flip in _FLIP:
            img = img.transpose(getattr(Image.Transpose, _FLIP[flip]))
        return _encode(img), img.size, "embedded-bitmap"
    img = Image.open(io.BytesIO(thumb.data))  # reads the header only
    size = img.size
    if max(size) <= long_edge and img.mode in ("RGB", "L"):
        data = bytes(thumb.data)  # the camera's JPEG as it is: no decode at all
    else:
        img.draft("RGB", (long_edge, long_edge))  # decode at 1/2..1/8 scale
        img = _fit(img, long_edge)
        data, size = _encode(img), img.size
    if flip in _FLIP:
        data = with_orientation(data, _EXIF_ORIENTATION[flip])
        size = (size[1], size[0]) if flip in (5, 6) else size
    return data, size, "embedded"


def _from_image(path: Path, long_edge: int) -> tuple[bytes, tuple[int, int], str]:
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img.draft("RGB", (long_edge, long_edge))  # JPEG: decode at 1/2..1/8 scale
        img = ImageOps.exif_transpose(_fit(img, long_edge))
        return _encode(img), img.size, "reduced-decode"


def _why(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "LibRawNoThumbnailError":
        return (
            "no embedded preview in this file (saved without one, or a truncated copy); "
            "develop it with `rushline photo export` or copy it again from the card"
        )
    if name == "LibRawFileUnsupportedError":
        return "LibRaw cannot read this RAW (unsupported format or compression, e.g. JPEG XL DNG)"
    if name in ("LibRawIOError", "LibRawDataError") or "truncat" in str(exc).lower():
        return f"the file is damaged or truncated ({name}); copy it again from the card"
    return f"{name}: {exc}"


def preview_one(source: str, target: str, long_edge: int, overwrite: bool) -> Preview:
    """Write one preview (runs in a worker process); never raises for a bad file."""
    src, dst = Path(source), Path(target)
    out = Preview(source=source)
    if not overwrite and dst.exists():
        return out.model_copy(update={"preview": target, "how": "already"})
    try:
        ext = src.suffix.lower()
        if ext in RAW_EXT:
            data, size, how = _from_raw(src, long_edge)
        elif ext in _IMAGE_EXT:
            data, size, how = _from_image(src, long_edge)
        else:
            return out.model_copy(update={"error": f"{printable(source)}: not a photo"})
        atomic_write_bytes(dst, data, overwrite=overwrite)
    except Exception as exc:  # one file's problem, reported, never the batch's
        return out.model_copy(update={"error": f"{printable(source)}: {_why(exc)}"})
    return out.model_copy(
        update={"preview": target, "width": size[0], "height": size[1], "how": how}
    )


def preview_names(sources: Sequence[Path]) -> list[str]:
    """`IMG_0001.CR3` -> `IMG_0001.CR3.jpg` (a RAW and its JPEG twin both get one); the same
    name from two folders gets `-2`."""
    seen: set[str] = set()
    names = []
    for s in sources:
        base = s.name.replace("/", "_")
        name, n = f"{base}.jpg", 1
        while name.casefold() in seen:
            n += 1
            name = f"{base}-{n}.jpg"
        seen.add(name.casefold())
        names.append(name)
    return names


def make_previews(
    sources: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    long_edge: int = DEFAULT_LONG_EDGE,
    workers: int | None = None,
    overwrite: bool = False,
) -> PreviewRun:
    """Previews of every source into `out_dir`, on every core; per-file errors in the result."""
    paths = [Path(s) for s in sources]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    targets = [str(out / n) for n in preview_names(paths)]
    n = workers or min(os.cpu_count() or 1, max(1, len(paths) // 8)) or 1
    run = PreviewRun(out_dir=str(out), workers=n)
    t0 = time.perf_counter()
    args = (
        [str(p) for p in paths],
        targets,
        [long_edge] * len(paths),
        [overwrite] * len(paths),
    )
    if n == 1:
        run.previews = [preview_one(*a) for a in zip(*args, strict=True)]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            chunk = max(1, len(paths) // (n * 8))
            run.previews = list(pool.map(preview_one, *args, chunksize=chunk))
    run.seconds = time.perf_counter() - t0
    return run
