"""Burnt-in text for dailies: source timecode, clip name and reel, on a dark box.

Why `textfile=` and not `text=`: a clip name reaches drawtext through three parsers (the
filter-graph, the filter's options, drawtext's own `%{...}` expansion and `\\` handling). A
name like `A'B:C%[x]` has to survive all three, and ffmpeg-python escapes only the first two.
Written to a file of our own (whose path contains only characters we chose), the name crosses
no parser at all, and `expansion=none` prints it byte for byte. The timecode needs the
`timecode=` option (drawtext counts frames from it); its text is digits and separators only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import ToolNotFoundError, UserInputError
from pipeline.names import printable

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_HINT = "install it: `apt-get install fonts-dejavu-core` (Debian/Ubuntu)"

# Rates that cameras record as N*1000/1001; probe gives them rounded to 3 decimals.
_NTSC = {23.976: 24, 29.97: 30, 47.952: 48, 59.94: 60, 119.88: 120}


def font_file() -> Path:
    """The burn-in font, or a clear error naming the package that provides it."""
    if not FONT.is_file():
        raise ToolNotFoundError(f"the burn-in font {FONT} is missing", hint=FONT_HINT)
    return FONT


def exact_rate(fps: float | None) -> Fraction:
    """The exact frame rate from probe's rounded one: 29.97 -> 30000/1001, 25.0 -> 25."""
    if not fps or fps <= 0:
        raise UserInputError("the clip has no frame rate; is it a still or damaged?")
    for rounded, base in _NTSC.items():
        if abs(fps - rounded) < 0.006:
            return Fraction(base * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


@dataclass(frozen=True)
class SourceTimecode:
    """A clip's start timecode as drawtext and the muxer want it."""

    value: str  # "14:23:10:00", or "01:00:00;00" for drop-frame
    rate: Fraction
    drop_frame: bool
    from_source: bool  # False: the clip had none and 00:00:00:00 is used


def source_timecode(start: str | None, fps: float | None) -> SourceTimecode:
    """Normalise probe's start timecode; drop-frame when the source says so (`;` or `.`)
    at 29.97 or 59.94. A clip without timecode counts from 00:00:00:00, as NLEs do."""
    rate = exact_rate(fps)
    ntsc_df = rate in (Fraction(30000, 1001), Fraction(60000, 1001))
    if not start:
        return SourceTimecode("00:00:00:00", rate, False, False)
    digits = start.strip().replace(";", ":").replace(".", ":").replace(",", ":").split(":")
    if len(digits) != 4 or not all(d.isdigit() for d in digits):
        raise UserInputError(f"the clip's start timecode {start!r} is not HH:MM:SS:FF")
    df = ntsc_df and any(sep in start for sep in ";.,")
    h, m, s, f = (int(d) for d in digits)
    value = f"{h:02d}:{m:02d}:{s:02d}{';' if df else ':'}{f:02d}"
    return SourceTimecode(value, rate, df, True)


def _text_file(folder: Path, key: str, text: str) -> str:
    # One line, control characters made visible; no trailing newline (it would draw a line).
    path = folder / f"{key}.txt"
    path.write_text(printable(text), encoding="utf-8")
    return os.fspath(path)


def burn_in(
    stream: Any,
    *,
    tc: SourceTimecode,
    name: str,
    reel: str | None,
    height: int,
    text_dir: Path,
) -> Any:
    """Clip name (top left), reel (top right) and running source timecode (bottom centre)."""
    font = os.fspath(font_file())
    size = max(12, round(height / 22))
    common: dict[str, Any] = {
        "fontfile": font,
        "fontsize": size,
        "fontcolor": "white",
        "box": 1,
        "boxcolor": "black@0.65",
        "boxborderw": max(2, size // 4),
    }
    margin = max(4, size // 2)
    stream = stream.filter(
        "drawtext",
        textfile=_text_file(text_dir, "name", name),
        expansion="none",
        x=margin,
        y=margin,
        **common,
    )
    if reel:
        stream = stream.filter(
            "drawtext",
            textfile=_text_file(text_dir, "reel", f"REEL {reel}"),
            expansion="none",
            x=f"w-tw-{margin}",
            y=margin,
            **common,
        )
    return stream.filter(
        "drawtext",
        timecode=tc.value,
        rate=str(tc.rate),
        x="(w-tw)/2",
        y=f"h-th-{margin}",
        **common,
    )
