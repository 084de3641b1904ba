"""The slate (ident) card of a deliverable's head: title, version, duration, loudness, date.

Rendered with OpenCV's built-in Hershey font: deterministic, no font files to find.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.fsutil import atomic_write_bytes


def slate_lines(
    *,
    title: str,
    version: str,
    duration_s: float | None,
    loudness: str,
    date: str,
    profile: str,
    start_tc: str | None,
) -> list[str]:
    dur = "unknown"
    if duration_s is not None:
        m, s = divmod(round(duration_s), 60)
        dur = f"{m // 60:02d}:{m % 60:02d}:{s:02d}"
    lines = [title, f"Version: {version}", f"Duration: {dur}", f"Loudness: {loudness}"]
    lines += [f"Date: {date}", f"Profile: {profile}"]
    if start_tc:
        lines.append(f"Programme start: {start_tc}")
    return lines


def render_slate(dest: Path, lines: list[str], size: tuple[int, int]) -> Path:
    """Write a grey-on-dark card with `lines` (the first one larger) as a PNG at `size`."""
    import cv2

    w, h = size
    img = np.full((h, w, 3), 24, np.uint8)
    cv2.rectangle(img, (w // 32, h // 18), (w - w // 32, h - h // 18), (180, 180, 180), 3)
    scale0 = w / 900
    y = h // 5
    for i, text in enumerate(lines):
        # Hershey fonts are ASCII: anything else would be drawn as '?'.
        shown = text.encode("ascii", "replace").decode("ascii")
        scale = scale0 * (1.6 if i == 0 else 1.0)
        (tw, th), _ = cv2.getTextSize(shown, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        x = max((w - tw) // 2, 10)
        cv2.putText(img, shown, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (230, 230, 230), 2)
        y += int(th * 2.2)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("OpenCV could not encode the slate")
    atomic_write_bytes(dest, buf.tobytes(), overwrite=True)
    return dest
