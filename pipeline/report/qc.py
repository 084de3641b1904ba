"""QC reports: the JSON truth and its HTML view (loudness curve, findings timeline, thumbnails).

The loudness curve and the timeline are inline SVG built here, so the page works offline with
no script at all.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from pipeline.fsutil import atomic_write_text
from pipeline.names import nfc
from pipeline.qc.findings import QCResult
from pipeline.report import render_html

SEVERITY_COLOURS = {"error": "#b00020", "warning": "#b26a00", "info": "#3a6ea5"}
CURVE_W, CURVE_H = 1000, 260
LEFT = 110  # left margin shared by the curve and the timeline, so their time axes line up
LUFS_FLOOR = -50.0


def unique_report_names(paths: list[str | os.PathLike[str]]) -> list[str]:
    """A report name per input file; same-named files in different folders get a suffix.

    Names are compared as NFC and case-folded: an NFD twin, or CLIP.MOV beside clip.mov,
    would land on the same report on macOS or a case-insensitive volume.
    """
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        name = Path(p).name
        key = nfc(name).casefold()
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append(name if n == 0 else f"{name}.{n + 1}")
    return out


def write_qc_json(result: QCResult, dest: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Write one result as JSON (atomically); an existing `dest` only with `overwrite`."""
    text = json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False)
    atomic_write_text(dest, text + "\n", overwrite=overwrite)
    return Path(dest)


def write_qc_html(
    results: list[QCResult], dest: str | os.PathLike[str], *, overwrite: bool
) -> Path:
    """Render one or more results into one HTML page; an existing `dest` only with `overwrite`."""
    files = [_view(r) for r in results]
    tools = results[0].tools if results else {}
    return render_html("qc.html.j2", dest, overwrite=overwrite, files=files, tools=tools)


def _view(r: QCResult) -> dict[str, Any]:
    data = r.model_dump(mode="json")
    duration = r.duration_s or 0.0
    loud = r.measurements.get("loudness") or {}
    data["curve_svg"] = loudness_svg(loud, duration) if loud else None
    data["timeline_svg"] = timeline_svg(data["findings"], duration) if duration else None
    data["name"] = Path(r.file).name
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in data["findings"]:
        counts[f["severity"]] += 1
    data["counts"] = counts
    data["summary_rows"] = _summary_rows(r.measurements)
    return data


def _summary_rows(meas: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    loud = meas.get("loudness") or {}

    def num(v: Any, unit: str) -> str:
        return f"{v:.1f} {unit}" if isinstance(v, int | float) else "—"

    if loud:
        integrated = num(loud.get("integrated_lufs"), "LUFS")
        lra = num(loud.get("lra_lu"), "LU")
        whole = meas.get("loudness_file") or {}
        if loud.get("lineup_excluded") and whole:
            span = f"{loud.get('window_start_s', 0):.2f}–{loud.get('window_end_s', 0):.2f} s"
            integrated += (
                f" over the programme ({span}); whole file "
                f"{num(whole.get('integrated_lufs'), 'LUFS')}"
            )
            lra += f" over the programme; whole file {num(whole.get('lra_lu'), 'LU')}"
        rows += [
            ("Integrated loudness", integrated),
            ("Loudness range", lra),
            ("True peak", num(loud.get("true_peak_dbtp"), "dBTP")),
            ("Max momentary", num(loud.get("momentary_max_lufs"), "LUFS")),
            ("Max short-term", num(loud.get("short_term_max_lufs"), "LUFS")),
            ("Measured channels", ", ".join(str(c) for c in loud.get("channels", []))),
        ]
    for key, label in (
        ("black", "Black"),
        ("freeze", "Freeze"),
        ("still", "Still pictures"),
        ("silence", "Silence"),
    ):
        if key in meas:
            segs = meas[key]
            rows.append(
                (label, ", ".join(f"{s['start_s']:.2f}–{s['end_s']:.2f} s" for s in segs) or "none")
            )
    lv = meas.get("levels")
    if lv:
        rows.append(
            (
                "Levels (R103, worst frame)",
                f"luma {lv['max_luma_out_of_range_percent']:.2f} %, RGB "
                f"{lv['max_rgb_out_of_range_percent']:.2f} % outside",
            )
        )
    il = meas.get("interlace")
    if il:
        rows.append(("Scan (declared / seen)", f"{il['declared']} / {il['evidence']}"))
    rows += _lineup_rows(meas)
    return rows


def _lineup_rows(meas: dict[str, Any]) -> list[tuple[str, str]]:
    """The line-up before the programme start (pipeline.qc.lineup) and the other mixes."""
    rows: list[tuple[str, str]] = []
    lu = meas.get("lineup") or {}
    if lu:
        start = lu.get("programme_start_timecode") or "—"
        head = lu.get("duration_s")
        rows.append(
            (
                "Programme start",
                f"{start} (by {lu.get('by')}; file starts {lu.get('file_start_timecode') or '—'}"
                + (f", {head:.2f} s of line-up)" if isinstance(head, int | float) else ")"),
            )
        )
        parts = [
            f"{kind} {sum(r['duration_s'] for r in lu[kind]):.2f} s"
            for kind in ("bars", "clock", "slate", "black")
            if lu.get(kind)
        ]
        rows.append(("Line-up", ", ".join(parts) or "none"))
        tones = lu.get("tone") or []
        rows.append(
            (
                "Line-up tone",
                "; ".join(
                    f"ch {t['channel']}: {t['frequency_hz']:g} Hz at {t['level_dbfs']:.1f} dBFS "
                    f"for {t['duration_s']:.1f} s"
                    for t in tones
                )
                or "none",
            )
        )
    for name, mix in (meas.get("loudness_mixes") or {}).items():
        il = mix.get("integrated_lufs")
        rows.append(
            (
                f"Loudness, {name} (tracks {', '.join(str(c) for c in mix['channels'])})",
                f"{il:.1f} LUFS" if isinstance(il, int | float) else "—",
            )
        )
    return rows


def _x(t: float, duration: float) -> float:
    return LEFT + (CURVE_W - LEFT - 10) * (t / duration if duration > 0 else 0)


def loudness_svg(loud: dict[str, Any], duration: float) -> str:
    """Momentary and short-term loudness against the target (and its tolerance band)."""
    step = float(loud.get("series_step_s") or 0.1)
    mom = loud.get("momentary_series") or []
    st = loud.get("short_term_series") or []
    dur = duration or step * max(len(mom), 1)
    target = loud.get("target_lufs")
    top = -5.0
    values = [v for v in (*mom, *st) if isinstance(v, int | float)]
    if values:
        top = max(top, math.ceil(max(values) / 5) * 5)

    def y(v: float) -> float:
        v = max(LUFS_FLOOR, min(top, v))
        return 10 + (CURVE_H - 40) * (top - v) / (top - LUFS_FLOOR)

    def path(series: list[Any]) -> str:
        parts, pen = [], False
        # thin the series to at most ~2000 points: the page stays light for long programmes
        stride = max(1, len(series) // 2000)
        for i in range(0, len(series), stride):
            v = series[i]
            if not isinstance(v, int | float):
                pen = False
                continue
            parts.append(f"{'L' if pen else 'M'}{_x(i * step, dur):.1f},{y(v):.1f}")
            pen = True
        return " ".join(parts)

    out = [
        f'<svg class="curve" viewBox="0 0 {CURVE_W} {CURVE_H}" width="100%" '
        'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="loudness curve">',
        f'<rect x="{LEFT}" y="10" width="{CURVE_W - LEFT - 10}" height="{CURVE_H - 40}" '
        'fill="#fafafa" stroke="#ddd"/>',
    ]
    for v in range(int(LUFS_FLOOR), int(top) + 1, 5):
        out.append(
            f'<line x1="{LEFT}" x2="{CURVE_W - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#666">{v}</text>'
        )
    if isinstance(target, int | float):
        tol = loud.get("tolerance_lu")
        if isinstance(tol, int | float) and tol > 0:
            top_y, bottom_y = y(target + tol), y(target - tol)
            out.append(
                f'<rect x="{LEFT}" y="{top_y:.1f}" width="{CURVE_W - LEFT - 10}" '
                f'height="{bottom_y - top_y:.1f}" fill="#1b7f3b" fill-opacity="0.08"/>'
            )
        out.append(
            f'<line x1="{LEFT}" x2="{CURVE_W - 10}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
            'stroke="#1b7f3b" stroke-dasharray="6 4"/>'
            f'<text x="{CURVE_W - 12}" y="{y(target) - 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#1b7f3b">target {target:g} LUFS</text>'
        )
    out.append(f'<path d="{path(mom)}" fill="none" stroke="#9db7d5" stroke-width="1"/>')
    out.append(f'<path d="{path(st)}" fill="none" stroke="#1d4f91" stroke-width="2"/>')
    ticks = _time_ticks(dur)
    for t in ticks:
        out.append(
            f'<text x="{_x(t, dur):.1f}" y="{CURVE_H - 14}" font-size="10" text-anchor="middle" '
            f'fill="#666">{_clock(t)}</text>'
        )
    out.append(
        f'<text x="{LEFT}" y="{CURVE_H - 2}" font-size="11" fill="#1d4f91">— short-term (3 s)'
        "</text>"
        f'<text x="{LEFT + 140}" y="{CURVE_H - 2}" font-size="11" fill="#9db7d5">— momentary '
        "(400 ms)</text>"
    )
    out.append("</svg>")
    return "".join(out)


def timeline_svg(findings: list[dict[str, Any]], duration: float) -> str:
    """One lane per check; each finding with a time range is a bar coloured by severity."""
    timed = [f for f in findings if f.get("start_s") is not None]
    checks = sorted({f["check"] for f in timed})
    lane = 18
    height = 30 + lane * max(1, len(checks))
    out = [
        f'<svg class="timeline" viewBox="0 0 {CURVE_W} {height}" width="100%" '
        'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="timeline of findings">'
    ]
    for k, check in enumerate(checks):
        yy = 5 + k * lane
        out.append(
            f'<text x="{LEFT - 6}" y="{yy + 12}" font-size="10" text-anchor="end" fill="#333">'
            f"{_esc(check[:24])}</text>"
            f'<rect x="{LEFT}" y="{yy}" width="{CURVE_W - LEFT - 10}" height="{lane - 4}" '
            'fill="#f5f5f7"/>'
        )
        for f in timed:
            if f["check"] != check:
                continue
            start = f["start_s"]
            end = f.get("end_s") or start
            x0, x1 = _x(start, duration), _x(end, duration)
            colour = SEVERITY_COLOURS.get(f["severity"], "#666")
            out.append(
                f'<rect x="{x0:.1f}" y="{yy}" width="{max(x1 - x0, 2):.1f}" height="{lane - 4}" '
                f'fill="{colour}"><title>{_esc(f["message"])}</title></rect>'
            )
    for t in _time_ticks(duration):
        out.append(
            f'<text x="{_x(t, duration):.1f}" y="{height - 6}" font-size="10" '
            f'text-anchor="middle" fill="#666">{_clock(t)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _time_ticks(duration: float) -> list[float]:
    if duration <= 0:
        return [0.0]
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if duration / step <= 10:
            break
    return [i * step for i in range(int(duration // step) + 1)]


def _clock(t: float) -> str:
    m, s = divmod(int(round(t)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
