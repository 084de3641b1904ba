"""Editorial handoff from the catalogue: Avid ALE, CSV and (when installed) OpenTimelineIO.

ALE follows the Avid Log Specifications (Avid MediaLog / Media Composer user guides, appendix
"Avid Log Specifications"): a `Heading` section (FIELD_DELIM TABS, VIDEO_FORMAT, AUDIO_FORMAT,
FPS) ended by an empty line; `Column` and one line of tab-separated titles (no tab after the
last) ended by an empty line; `Data` and one tab-separated line per clip, in column order, an
empty value as nothing between two tabs. Name is a clip identifier of at most 32 characters
(the full name stays in Source File); timecodes use colons, semicolons for drop-frame; End is
the first frame after the clip. A tab, a newline or any control character inside a value would
break a row, so each one becomes a space.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePosixPath

from pipeline.catalog import timecode
from pipeline.catalog.search import ClipHit
from pipeline.fsutil import atomic_write_text

ALE_NAME_MAX = 32
ALE_COLUMNS = (
    "Name",
    "Tracks",
    "Start",
    "End",
    "Duration",
    "Tape",
    "FPS",
    "Source File",
    "Source Path",
    "Camroll",
    "Camera",
    "Lens",
    "Image Size",
    "Codec",
    "Shoot Date",
    "QC Verdict",
    "Verified Copies",
)
CSV_COLUMNS = (
    "id",
    "roll",
    "path",
    "name",
    "size",
    "codec",
    "resolution",
    "fps",
    "start_tc",
    "end_tc",
    "reel",
    "camera",
    "lens",
    "capture_date",
    "verdict",
    "rating",
    "labels",
    "hashes",
    "verified_copies",
    "copies",
)


def ale_value(value: object) -> str:
    """A value made safe for one ALE cell: control characters (tab, newline) become spaces."""
    text = "" if value is None else str(value)
    return "".join(" " if (not ch.isprintable() and ch != " ") else ch for ch in text).strip()


def ale_fps(fps: float | None) -> str:
    """The FPS value Avid writes: 23.98, 24, 25, 29.97, 50, 59.94..."""
    if not fps:
        return ""
    if abs(fps - round(fps)) < 0.001:
        return str(round(fps))
    return f"{fps:.2f}"


def video_format(clips: Sequence[ClipHit]) -> str:
    """The project format from the tallest picture: 1080, 720, PAL, NTSC, else CUSTOM."""
    sizes = [tuple(int(x) for x in c.resolution.split("x")) for c in clips if c.resolution]
    if not sizes:
        return "1080"
    width, height = max(sizes, key=lambda wh: wh[1])
    fmt = {1080: "1080", 720: "720", 576: "PAL", 486: "NTSC"}.get(height, "CUSTOM")
    return "CUSTOM" if fmt == "1080" and width > 1920 else fmt


def _tracks(c: ClipHit, channels: int | None) -> str:
    audio = "".join(f"A{i}" for i in range(1, min(channels or 0, 4) + 1))
    return ("V" if c.resolution else "") + audio or "V"


def _verified_path(c: ClipHit) -> str:
    for k in c.copies:
        if k.verified:
            return k.path
    return c.copies[0].path if c.copies else ""


def ale_row(c: ClipHit, fps: float) -> list[str]:
    rate = c.fps or fps
    start = c.start_tc or timecode.from_frames(0, rate)
    end = c.end_tc or start  # Start and End are required values
    frames = None
    if c.start_tc and c.end_tc:
        a, b = timecode.to_frames(c.start_tc, rate), timecode.to_frames(c.end_tc, rate)
        frames = (
            (b - a) % (timecode.nominal(rate) * 86400) if a is not None and b is not None else None
        )
    duration = timecode.from_frames(frames, rate) if frames is not None else ""
    values = [
        c.name[:ALE_NAME_MAX],
        _tracks(c, c.audio_channels),
        start,
        end or "",
        duration,
        c.reel or c.roll,
        ale_fps(c.fps),
        PurePosixPath(c.path).name,
        _verified_path(c),
        c.roll,
        c.camera,
        c.lens,
        (c.resolution or "").replace("x", " x "),
        c.codec,
        c.capture_date,
        c.verdict,
        c.verified_copies,
    ]
    return [ale_value(v) for v in values]


def ale_text(clips: Sequence[ClipHit]) -> str:
    """The ALE file for these clips (FPS and VIDEO_FORMAT from the most common clip values)."""
    rates = Counter(c.fps for c in clips if c.fps)
    fps = rates.most_common(1)[0][0] if rates else 25.0
    lines = [
        "Heading",
        "FIELD_DELIM\tTABS",
        f"VIDEO_FORMAT\t{video_format(clips)}",
        "AUDIO_FORMAT\t48kHz",
        f"FPS\t{ale_fps(fps)}",
        "",
        "Column",
        "\t".join(ALE_COLUMNS),
        "",
        "Data",
    ]
    for c in clips:
        lines.append("\t".join(ale_row(c, fps)))
    return "\n".join(lines) + "\n"


def _csv_row(c: ClipHit) -> list[str]:
    copies = "; ".join(
        f"{k.volume}:{k.path} ({k.verified or 'unverified'} {k.verified_at or ''})".strip()
        for k in c.copies
    )
    hashes = " ".join(f"{fmt}:{v}" for fmt, v in sorted(c.hashes.items()))
    data = c.model_dump()
    data.update(copies=copies, hashes=hashes)
    return ["" if data.get(k) is None else str(data[k]) for k in CSV_COLUMNS]


def csv_text(clips: Sequence[ClipHit]) -> str:
    """CSV (RFC 4180 quoting: commas, quotes and newlines in names survive intact)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for c in clips:
        w.writerow(_csv_row(c))
    return buf.getvalue()


def otio_available() -> bool:
    try:
        import opentimelineio  # noqa: F401
    except ImportError:
        return False
    return True


def otio_text(clips: Sequence[ClipHit]) -> str:
    """An OpenTimelineIO collection (.otio JSON): one Clip per catalogue clip, its source range
    from timecode, its media the first verified copy, catalogue facts under metadata."""
    import opentimelineio as otio

    coll = otio.schema.SerializableCollection(name="rushline catalogue")
    for c in clips:
        clip = otio.schema.Clip(name=c.name)
        rate = c.fps or 25.0
        if c.start_tc and c.end_tc:
            a, b = timecode.to_frames(c.start_tc, rate), timecode.to_frames(c.end_tc, rate)
            if a is not None and b is not None and b > a:
                clip.source_range = otio.opentime.TimeRange(
                    otio.opentime.RationalTime(a, rate), otio.opentime.RationalTime(b - a, rate)
                )
        path = _verified_path(c)
        if path:
            clip.media_reference = otio.schema.ExternalReference(target_url=path_to_url(path))
        clip.metadata["rushline"] = c.model_dump(mode="json")
        coll.append(clip)
    return otio.adapters.write_to_string(coll, "otio_json")


def path_to_url(path: str) -> str:
    from urllib.parse import quote

    return "file://" + quote(os.path.abspath(path))


def write_export(text: str, out: str | os.PathLike[str], *, overwrite: bool) -> None:
    atomic_write_text(out, text, overwrite=overwrite)
