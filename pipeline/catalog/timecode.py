"""SMPTE timecode as the catalogue needs it: label <-> frame count (drop-frame aware), and a
label as seconds so clips at different rates can be searched with one `tc:` query."""

from __future__ import annotations

import re

_TC_RE = re.compile(r"^(\d{1,2})[:;.](\d{2})[:;.](\d{2})([:;.,])(\d{2,3})$")


def nominal(fps: float) -> int:
    """The timecode counting rate of a frame rate: 23.976 -> 24, 29.97 -> 30, 59.94 -> 60."""
    return max(1, round(fps))


def is_drop_rate(fps: float) -> bool:
    return nominal(fps) in (30, 60) and abs(fps - nominal(fps)) > 0.001


def parse(tc: str) -> tuple[int, int, int, int, bool] | None:
    """(hh, mm, ss, ff, drop) of a label such as 14:23:10:00 or 01;00;00;02; None if not one."""
    m = _TC_RE.match(tc.strip())
    if not m:
        return None
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    if mm > 59 or ss > 59:
        return None
    return hh, mm, ss, ff, sep in ";,"


def label_seconds(tc: str, base: int) -> float | None:
    """The label read as seconds: hh*3600 + mm*60 + ss + ff/base (monotonic in labels)."""
    p = parse(tc)
    if p is None:
        return None
    hh, mm, ss, ff, _ = p
    return hh * 3600 + mm * 60 + ss + ff / base


def to_frames(tc: str, fps: float) -> int | None:
    p = parse(tc)
    if p is None:
        return None
    hh, mm, ss, ff, drop = p
    base = nominal(fps)
    frames = ((hh * 60 + mm) * 60 + ss) * base + ff
    if drop and is_drop_rate(fps):
        per_min = base // 15  # 2 labels dropped per minute at 30, 4 at 60
        minutes = hh * 60 + mm
        frames -= per_min * (minutes - minutes // 10)
    return frames


def from_frames(frames: int, fps: float, *, drop: bool = False) -> str:
    base = nominal(fps)
    frames %= base * 86400
    sep = ":"
    if drop and is_drop_rate(fps):
        sep = ";"
        per_min = base // 15
        per_10min = base * 600 - per_min * 9
        d, m = divmod(frames, per_10min)
        if m > per_min:
            frames += per_min * 9 * d + per_min * ((m - per_min) // (base * 60 - per_min))
        else:
            frames += per_min * 9 * d
    ff = frames % base
    ss = frames // base % 60
    mm = frames // (base * 60) % 60
    hh = frames // (base * 3600)
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"


def end_of(start: str, fps: float, frame_count: int) -> str | None:
    """The label of the first frame after a clip (the exclusive end, as Avid's End column)."""
    first = to_frames(start, fps)
    if first is None:
        return None
    p = parse(start)
    return from_frames(first + frame_count, fps, drop=bool(p and p[4]))
