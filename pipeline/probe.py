"""What each file is: MediaInfo for video and audio, exifread (and rawpy) for photos.

`probe_file` never raises for a bad file: the Asset carries a per-file `error` that names the
problem and what to do. Only a missing tool stops a probe.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import unicodedata
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pipeline.assets import AIProvenance, Asset, AudioStream, Kind, PhotoInfo, VideoStream

VIDEO_EXT = {
    ".mov", ".mp4", ".m4v", ".mxf", ".mts", ".m2ts", ".avi", ".mkv", ".mpg", ".mpeg", ".webm",
    ".r3d", ".braw", ".crm", ".ari", ".dv",
}  # fmt: skip
AUDIO_EXT = {".wav", ".bwf", ".aif", ".aiff", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus"}
RAW_EXT = {
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".rw2",
    ".orf", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mrw", ".rwl",
}  # fmt: skip
PHOTO_EXT = {".jpg", ".jpeg", ".tif", ".tiff", ".png", ".heic", ".heif", ".webp"} | RAW_EXT
SIDECAR_EXT = {
    ".xml", ".xmp", ".mhl", ".thm", ".smi", ".bim", ".cpi", ".mpl", ".bdm", ".ale", ".edl",
    ".cdl", ".cube", ".rmd", ".ixml", ".lrv", ".srt",
}  # fmt: skip


def classify(path: Path) -> Kind:
    """Kind of file by its name; the content decides later whether it is readable."""
    name = path.name
    if name.startswith("._") or name in {".DS_Store", "Thumbs.db"}:
        return Kind.OTHER  # macOS AppleDouble / Finder files: reported, never media
    ext = path.suffix.lower()
    if ext in VIDEO_EXT:
        return Kind.VIDEO
    if ext in AUDIO_EXT:
        return Kind.AUDIO
    if ext in PHOTO_EXT:
        return Kind.PHOTO
    if ext in SIDECAR_EXT or path.parent.name == "ascmhl":
        return Kind.SIDECAR
    return Kind.OTHER


def iter_files(
    paths: Iterable[str | os.PathLike[str]], *, recursive: bool = True
) -> Iterator[Path]:
    """Files under the given paths in a stable order; symlinked folders are not followed."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            if not recursive:
                continue
            for root, dirs, files in os.walk(p, followlinks=False):
                dirs.sort()
                for f in sorted(files):
                    yield Path(root) / f
        else:
            yield p


def probe_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    recursive: bool = True,
    workers: int = 4,
    provenance: bool = True,
) -> list[Asset]:
    """Probe every file under `paths` (files or folders); one Asset per file, in order.

    With `provenance`, media files also get their AI provenance (IPTC Digital Source Type,
    C2PA) when ExifTool is installed; without it, a note says it was not read.
    """
    files = list(iter_files(paths, recursive=recursive))
    if len(files) <= 1 or workers <= 1:
        assets = [probe_file(f) for f in files]
    else:
        # MediaInfo and exifread spend their time in C or waiting on IO: threads suffice.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            assets = list(pool.map(probe_file, files))
    if provenance:
        add_provenance(assets)
    return assets


def add_provenance(assets: list[Asset]) -> None:
    """Fill `Asset.ai` for readable media: one ExifTool command for the whole batch.

    The same ExifTool session also fills camera and exposure for photos whose container
    exifread cannot parse (Canon CRW and CR3, among others)."""
    from pipeline.tools import has_exiftool

    media = [a for a in assets if a.ok and a.kind in (Kind.VIDEO, Kind.AUDIO, Kind.PHOTO)]
    if not media:
        return
    if not has_exiftool():
        for a in media:
            a.notes.append("AI provenance not read: ExifTool is not installed")
        return
    from pipeline.errors import RushlineError
    from pipeline.exiftool import ExifToolSession
    from pipeline.provenance import read_provenance_many

    try:
        session = ExifToolSession().start()
        try:
            found = read_provenance_many([a.path for a in media], session=session)
            _fill_photo_gaps(media, session)
        finally:
            session.close()
    except RushlineError as exc:
        for a in media:
            a.notes.append(f"AI provenance not read: {exc}")
        return
    for a in media:
        prov = found.get(a.path)
        if prov is None:
            continue
        a.ai = AIProvenance(
            digital_source_type=prov.digital_source_type,
            ai_generated=prov.ai_generated,
            ai_composited=prov.ai_composited,
            c2pa_present=prov.c2pa.present,
            c2pa_valid=prov.c2pa.valid,
            c2pa_signer=prov.c2pa.signer,
            flags=prov.flags,
        )


def probe_file(path: str | os.PathLike[str]) -> Asset:
    """What one file is. Never raises for a bad file: see Asset.error."""
    p = Path(path)
    kind = classify(p)
    base: dict[str, Any] = {"path": str(p), "kind": kind}
    try:
        st = p.stat()
    except FileNotFoundError:
        return Asset(**base, error="file not found; check the path")
    except OSError as exc:
        return Asset(**base, error=f"cannot read: {exc.strerror}; check permissions and the device")
    if not p.is_file():
        return Asset(**base, error="not a regular file")
    base["size"] = st.st_size
    if kind in (Kind.SIDECAR, Kind.OTHER):
        return Asset(**base)
    if st.st_size == 0:
        return Asset(**base, error="empty file (0 bytes): the copy or the recording is incomplete")
    try:
        if kind == Kind.PHOTO:
            return _probe_photo(p, base)
        return _probe_av(p, base)
    except PermissionError:
        return Asset(**base, error="permission denied; check the file's permissions")
    except OSError as exc:
        return Asset(**base, error=f"cannot read: {exc.strerror or exc}; check the device")


_GROUP_ORDER = (
    "ExifIFD",
    "IFD0",
    "XMP-exif",
    "XMP-tiff",
    "XMP-aux",
    "CanonRaw",
    "Canon",
    "Composite",
)


def _pick(row: dict[str, Any], tag: str) -> Any:
    """A tag's value from an ExifTool -G1 row, preferring the standard EXIF groups."""
    hits = {k.split(":", 1)[0]: v for k, v in row.items() if k.endswith(f":{tag}")}
    for group in _GROUP_ORDER:
        if group in hits:
            return hits[group]
    return next(iter(hits.values()), None)


def _fill_photo_gaps(media: list[Asset], session: Any) -> None:
    """Camera, lens and exposure from ExifTool for photos exifread could not read."""
    todo = [a for a in media if a.photo is not None and not a.photo.make and not a.photo.model]
    if not todo:
        return
    tags = ["Make", "Model", "LensModel", "ISO", "ExposureTime", "FNumber", "FocalLength",
            "DateTimeOriginal"]  # fmt: skip
    rows = session.read_json([a.path for a in todo], tags)
    for a in todo:
        row = rows.get(os.path.abspath(a.path))
        if not row:
            continue
        p = a.photo
        p.make, p.model = _pick(row, "Make"), _pick(row, "Model")
        p.lens = p.lens or _pick(row, "LensModel")
        p.iso = p.iso or _int(_pick(row, "ISO"))
        t = _num(_pick(row, "ExposureTime"))
        if p.shutter is None and t:
            p.shutter = f"1/{round(1 / t)}" if t < 1 else f"{t:g}"
        f = _num(_pick(row, "FNumber"))
        p.aperture = p.aperture or (round(f, 1) if f else None)
        p.focal_length_mm = p.focal_length_mm or _num(_pick(row, "FocalLength"))
        when = _pick(row, "DateTimeOriginal")
        if p.captured is None and isinstance(when, str):
            m = re.fullmatch(r"(\d{4}):(\d\d):(\d\d) (\d\d:\d\d:\d\d)", when.strip())
            p.captured = f"{m[1]}-{m[2]}-{m[3]}T{m[4]}" if m else when
        a.camera = a.camera or camera_name(p.make, p.model)


# --- video and audio (MediaInfo) -------------------------------------------------------------


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(str(value).split("/")[0].split()[0])
    except (ValueError, IndexError):
        return None


def _int(value: Any) -> int | None:
    f = _num(value)
    return int(f) if f is not None else None


def _frame_rate(track: Any) -> float | None:
    num, den = (
        _int(getattr(track, "framerate_num", None)),
        _int(getattr(track, "framerate_den", None)),
    )
    if num and den:
        return round(float(Fraction(num, den)), 3)
    return _num(getattr(track, "frame_rate", None))


def _aspect(track: Any) -> str | None:
    others = getattr(track, "other_display_aspect_ratio", None) or []
    for o in others:
        if ":" in str(o):
            return str(o)
    return getattr(track, "display_aspect_ratio", None)


def _first(*values: Any) -> Any:
    for v in values:
        if v not in (None, ""):
            return v
    return None


def _video_streams(mi: Any) -> list[VideoStream]:
    videos = [
        VideoStream(
            codec=t.format,
            codec_profile=t.format_profile,
            codec_id=t.codec_id,
            width=_int(t.width),
            height=_int(t.height),
            display_aspect_ratio=_aspect(t),
            frame_rate=_frame_rate(t),
            frame_rate_mode=t.frame_rate_mode,
            scan_type=_scan_type(t.scan_type),
            field_order=_field_order(t),
            chroma_subsampling=t.chroma_subsampling,
            bit_depth=_int(t.bit_depth),
            bitrate_bps=_num(_first(t.bit_rate, t.nominal_bit_rate)),
            colour_primaries=_first(t.colour_primaries, getattr(t, "color_primaries", None)),
            transfer_characteristics=t.transfer_characteristics,
            matrix_coefficients=t.matrix_coefficients,
            frame_count=_int(t.frame_count),
        )
        for t in mi.video_tracks
    ]
    for v in videos:
        if v.codec == "ProRes" and v.bit_depth is None and v.codec_profile:
            # MediaInfo does not state it; Apple defines the 422 family as 10-bit, 4444 as 12-bit.
            v.bit_depth = 12 if v.codec_profile.startswith("4444") else 10
    return videos


def _audio_streams(mi: Any) -> list[AudioStream]:
    return [
        AudioStream(
            codec=t.format,
            channels=_int(t.channel_s),
            sample_rate=_int(t.sampling_rate),
            bit_depth=_int(t.bit_depth),
            bitrate_bps=_num(t.bit_rate),
            channel_layout=t.channel_layout,
        )
        for t in mi.audio_tracks
    ]


def _unreadable_av(general: Any) -> str:
    fmt = getattr(general, "format", None) if general else None
    if fmt:
        why = f"the {fmt} container holds no readable video or audio: truncated or damaged"
    else:
        why = "not a media file MediaInfo recognises (wrong extension, or damaged)"
    return f"{why}; re-copy it from the card or check its source"


def _probe_av(p: Path, base: dict[str, Any]) -> Asset:
    from pymediainfo import MediaInfo

    try:
        mi = MediaInfo.parse(str(p))
    except Exception as exc:  # the library raises plain exceptions on unreadable input
        return Asset(**base, error=f"MediaInfo cannot read this file ({exc}); is it media?")
    general = mi.general_tracks[0] if mi.general_tracks else None
    if general is None or (not mi.video_tracks and not mi.audio_tracks):
        return Asset(**base, error=_unreadable_av(general))
    videos, audios = _video_streams(mi), _audio_streams(mi)
    tc_tracks = [t for t in mi.other_tracks if (t.type or "") == "Time code"]
    start_tc = _first(
        *(t.time_code_of_first_frame for t in tc_tracks),
        *(t.time_code_of_first_frame for t in mi.video_tracks),
        general.time_code_of_first_frame,
    )
    duration_ms = _num(general.duration) or _first(*(_num(t.duration) for t in mi.tracks))
    kind = Kind.VIDEO if videos else Kind.AUDIO if audios else base["kind"]
    asset = Asset(
        **{**base, "kind": kind},
        container=general.format,
        container_profile=general.format_profile,
        duration_s=round(duration_ms / 1000.0, 3) if duration_ms else None,
        overall_bitrate_bps=_num(general.overall_bit_rate),
        start_timecode=start_tc,
        reel=_first(*(t.title for t in tc_tracks if (t.format or "") == "QuickTime TC")),
        clip_name=_first(general.title, general.movie_name) or p.stem,
        video=videos,
        audio=audios,
    )
    _add_side_info(asset, p, general)
    return asset


def _add_side_info(asset: Asset, p: Path, general: Any) -> None:
    """BWF bext timecode, the camera's XML sidecar, and make/model tags."""
    if general.format == "Wave":
        bext = read_bext(p)
        if bext:
            asset.bwf_originator = bext.get("originator") or None
            asset.bwf_time_reference = bext.get("time_reference")
            rate = asset.audio[0].sample_rate if asset.audio else None
            if asset.bwf_time_reference is not None and rate:
                asset.start_timecode = samples_to_timecode(asset.bwf_time_reference, rate)
    sidecar = _camera_sidecar(p)
    if sidecar:
        asset.camera = sidecar.get("camera") or asset.camera
        asset.start_timecode = asset.start_timecode or sidecar.get("timecode")
    if asset.camera is None:
        make = _first(
            getattr(general, "make", None), getattr(general, "com_apple_quicktime_make", None)
        )
        model = _first(
            getattr(general, "model", None), getattr(general, "comapplequicktimemodel", None)
        )
        asset.camera = camera_name(make, model)


def _scan_type(value: str | None) -> str | None:
    if not value:
        return None
    v = value.lower()
    if v.startswith("progressive"):
        return "progressive"
    if v in {"interlaced", "mbaff", "mixed"}:
        return "interlaced"
    return v


def _field_order(track: Any) -> str | None:
    order = (track.scan_order or "").upper()
    if order.startswith("TFF") or order == "TOP FIELD FIRST":
        return "tff"
    if order.startswith("BFF") or order == "BOTTOM FIELD FIRST":
        return "bff"
    return None


def samples_to_timecode(samples: int, rate: int, fps: int = 25) -> str:
    """BWF TimeReference (samples since midnight) to HH:MM:SS:FF at `fps`."""
    total = Fraction(samples, rate)
    seconds = int(total)
    frames = int((total - seconds) * fps)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h % 24:02d}:{m:02d}:{s:02d}:{frames:02d}"


def read_bext(path: Path) -> dict[str, Any] | None:
    """The Broadcast Wave `bext` chunk (EBU Tech 3285), read directly from the RIFF structure."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return None
        while True:
            hdr = fh.read(8)
            if len(hdr) < 8:
                return None
            cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"bext":
                data = fh.read(min(size, 65536))
                if len(data) < 346:
                    return None

                def text(a: int, b: int, data: bytes = data) -> str:
                    return data[a:b].split(b"\0", 1)[0].decode("utf-8", "replace").strip()

                low, high = struct.unpack("<II", data[338:346])
                return {
                    "description": text(0, 256),
                    "originator": text(256, 288),
                    "originator_reference": text(288, 320),
                    "origination_date": text(320, 330),
                    "origination_time": text(330, 338),
                    "time_reference": (high << 32) | low,
                }
            if cid == b"data" and size == 0xFFFFFFFF:
                return None  # RF64 data with unknown size: no bext after it that we can reach
            fh.seek(size + (size & 1), os.SEEK_CUR)


def _camera_sidecar(p: Path) -> dict[str, str] | None:
    """Sony XDCAM/XAVC NonRealTimeMeta sidecar (`C0001M01.XML`): camera and start timecode."""
    for cand in (p.with_name(f"{p.stem}M01.XML"), p.with_name(f"{p.stem}M01.xml")):
        if cand.is_file():
            break
    else:
        return None
    try:
        root = ElementTree.parse(cand).getroot()
    except (ElementTree.ParseError, OSError):
        return None
    info: dict[str, str] = {}
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "Device":
            make, model = el.get("manufacturer"), el.get("modelName")
            info["camera"] = " ".join(x for x in (make, model) if x)
        elif tag == "LtcChange" and el.get("status") == "increment" and "timecode" not in info:
            info["timecode"] = _ltc_to_tc(el.get("value", ""))
    return info


def _ltc_to_tc(value: str) -> str:
    """XDCAM LtcChange value 'FFSSMMHH' (BCD, byte-reversed) to 'HH:MM:SS:FF'."""
    if not re.fullmatch(r"[0-9A-Fa-f]{8}", value):
        return value
    ff, ss, mm, hh = (value[i : i + 2] for i in range(0, 8, 2))
    return f"{int(hh) & 0x3F:02d}:{int(mm):02d}:{int(ss):02d}:{int(ff) & 0x3F:02d}"


# --- photos (exifread; rawpy for what EXIF does not say) --------------------------------------

# exifread logs "File format not recognized" at warning level for every odd file.
logging.getLogger("exifread").setLevel(logging.ERROR)


_PHOTO_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".heif": "HEIC"}


def camera_name(make: str | None, model: str | None) -> str | None:
    """Make + model without repeating the make: 'Canon' + 'Canon EOS 6D' -> 'Canon EOS 6D'."""
    if not model:
        return make or None
    if make and not model.lower().startswith(make.split()[0].lower()):
        return f"{make} {model}"
    return model


def _ratio(tag: Any) -> float | None:
    if tag is None:
        return None
    v = tag.values[0] if hasattr(tag, "values") and tag.values else tag
    try:
        return float(Fraction(v.num, v.den)) if hasattr(v, "num") else float(v)
    except (ZeroDivisionError, ValueError, TypeError):
        return None


def _text(tag: Any) -> str | None:
    if tag is None:
        return None
    s = unicodedata.normalize("NFC", str(tag.printable if hasattr(tag, "printable") else tag))
    s = s.strip().strip("\x00").strip()
    return s or None


def _probe_photo(p: Path, base: dict[str, Any]) -> Asset:
    import exifread

    is_raw = p.suffix.lower() in RAW_EXT
    with open(p, "rb") as fh:
        try:
            tags = exifread.process_file(fh, details=False)
        except Exception:  # exifread raises many types on odd files; treat as "no EXIF"
            tags = {}

    def g(*names: str) -> Any:
        for n in names:
            if n in tags:
                return tags[n]
        return None

    exposure = g("EXIF ExposureTime")
    shutter = None
    if exposure is not None:
        v = exposure.values[0]
        shutter = f"{v.num}/{v.den}" if getattr(v, "num", 0) == 1 else _text(exposure)
    captured = _text(g("EXIF DateTimeOriginal", "Image DateTime"))
    if captured and re.fullmatch(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", captured):
        captured = captured.replace(":", "-", 2).replace(" ", "T")
    info = PhotoInfo(
        make=_text(g("Image Make")),
        model=_text(g("Image Model")),
        lens=_text(g("EXIF LensModel", "MakerNote LensModel", "EXIF LensSpecification")),
        iso=_int(_text(g("EXIF ISOSpeedRatings", "EXIF PhotographicSensitivity"))),
        shutter=shutter,
        aperture=_ratio(g("EXIF FNumber")),
        focal_length_mm=_ratio(g("EXIF FocalLength")),
        captured=captured,
        width=_int(_text(g("EXIF ExifImageWidth", "Image ImageWidth"))),
        height=_int(_text(g("EXIF ExifImageLength", "Image ImageLength"))),
        raw=is_raw,
    )
    error = None
    if is_raw:
        error = _raw_dimensions(p, info)
    elif not tags:
        error = _image_dimensions(p, info)
    if error and not tags:
        return Asset(**base, photo=info, error=error)
    camera = camera_name(info.make, info.model)
    return Asset(
        **base,
        photo=info,
        camera=camera,
        container=_PHOTO_FORMAT.get(p.suffix.lower(), p.suffix.lstrip(".").upper()),
        notes=[error] if error else [],
    )


def _raw_dimensions(p: Path, info: PhotoInfo) -> str | None:
    """Output size of the RAW as LibRaw develops it (EXIF often gives the preview's size)."""
    import rawpy

    try:
        with rawpy.imread(str(p)) as raw:
            s = raw.sizes
            w, h = (s.iwidth, s.iheight) if s.flip in (0, 3) else (s.iheight, s.iwidth)
            info.width, info.height = int(w), int(h)
        return None
    except rawpy.LibRawFileUnsupportedError:
        return "this RAW format is not supported by LibRaw; metadata only"
    except (rawpy.LibRawIOError, rawpy.LibRawDataError) as exc:
        return f"RAW data unreadable ({exc}): truncated or damaged; re-copy it from the card"
    except rawpy.LibRawError as exc:
        return f"LibRaw cannot read this RAW ({exc})"


def _image_dimensions(p: Path, info: PhotoInfo) -> str | None:
    import cv2
    import numpy as np

    data = np.fromfile(p, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        return "not an image this tool can decode (wrong extension, or damaged)"
    info.height, info.width = int(img.shape[0]), int(img.shape[1])
    return None
