"""The line-up before the programme: where the programme starts, and what comes before it.

A delivery spec defines the programme by timecode (French PAD, DPP: first frame of programme at
10:00:00:00); everything before it is line-up (bars and tone, countdown clock, slate/ident,
black) and is measured here rather than judged as programme. With no timecode in the file, the
programme start falls back to the picture analysis (pipeline.qc.picture.programme_bounds).

Measured from the same decode pass: per line-up frame whether it shows colour bars (vertical
stripes of saturated colour), black and motion come from the picture analysis; per 100 ms of
line-up audio and channel the strongest frequency, how pure the tone is and its level. Levels
are AES17 dBFS: a sine whose peak touches full scale reads 0 dBFS (RMS + 3.01 dB), so the
EBU R 68 alignment tone reads −18 dBFS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.qc.findings import Finding, Severity

if TYPE_CHECKING:
    from pipeline.profiles import LineupPart, Profile, ProgrammeSpec, ToneSpec
    from pipeline.qc.picture import PictureAnalysis
    from pipeline.qc.registry import Measured

WINDOW_S = 0.1
TONE_PURITY = 0.9  # share of a window's energy within ±3 bins of its peak: a sine
TONE_MIN_DBFS = -60.0
SINE_RMS_TO_DBFS = 10 * math.log10(2)  # AES17: a full-scale sine is 0 dBFS, its RMS −3.01 dB


def tc_frames(tc: str, fps: float) -> int:
    """'10:00:00:00' as a frame count (non-drop-frame counting at the nominal rate)."""
    base = round(fps) or 25
    h, m, s, f = (int(x) for x in tc.replace(";", ":").replace(".", ":").split(":"))
    return ((h * 60 + m) * 60 + s) * base + f


def head_by_timecode(file_tc: str | None, spec: ProgrammeSpec | None, fps: float | None) -> float:
    """Seconds from the file's first frame to the programme start (may be negative or huge
    when the file's timecode is wrong: the check says so); NaN when it cannot be known."""
    if spec is None or not file_tc or not fps:
        return math.nan
    try:
        frames = tc_frames(spec.start_timecode, fps) - tc_frames(file_tc, fps)
    except ValueError:
        return math.nan
    return frames / (round(fps) or 25)


@dataclass
class LineupAnalysis:
    """Fed the line-up's frames and audio during the decode pass (nothing after it)."""

    frames: int  # line-up length in frames (0 for an audio-only file)
    samples: int  # line-up length in audio samples
    sample_rate: int = 48000
    bit_depth: int = 8
    bars: list[bool] = field(default_factory=list)
    tone: list[np.ndarray] = field(default_factory=list)  # per window: (channels, 3) f, purity, dB
    _seen: int = 0
    _rest: np.ndarray | None = None

    def feed_frame(self, index: int, planes: np.ndarray) -> None:
        if index < self.frames:
            self.bars.append(is_bars(planes, self.bit_depth))

    def feed_audio(self, block: np.ndarray) -> None:
        take = min(block.shape[0], self.samples - self._seen)
        if take <= 0:
            return
        data = block[:take].astype(np.float64)
        if self._rest is not None and self._rest.size:
            data = np.concatenate([self._rest, data])
        self._seen += take
        win = max(1, round(self.sample_rate * WINDOW_S))
        whole = data.shape[0] // win * win
        for k in range(0, whole, win):
            self.tone.append(tone_window(data[k : k + win], self.sample_rate))
        self._rest = data[whole:]


def is_bars(planes: np.ndarray, bit_depth: int) -> bool:
    """Colour bars: the top half is vertical stripes (each column one value) of very different
    luma and chroma across the picture (SMPTE, EBU and ARIB bars all are)."""
    y, cb, cr = planes[0], planes[1], planes[2]
    scale = float(1 << (bit_depth - 8))
    top = y[: max(1, y.shape[0] // 2)].astype(np.float32)
    if float(top.std(axis=0).mean()) > 4 * scale:
        return False  # not constant down each column
    cols_y = top.mean(axis=0)
    hc = max(1, cb.shape[0] // 2)
    cols_b = cb[:hc].astype(np.float32).mean(axis=0)
    cols_r = cr[:hc].astype(np.float32).mean(axis=0)
    spread = max(float(np.ptp(cols_b)), float(np.ptp(cols_r)))
    return float(np.ptp(cols_y)) > 60 * scale and spread > 60 * scale


def tone_window(x: np.ndarray, rate: int) -> np.ndarray:
    """Per channel: strongest frequency (Hz, parabolic interpolation), purity, level (dBFS)."""
    n = x.shape[0]
    spec = np.abs(np.fft.rfft(x * np.hanning(n)[:, None], axis=0)) ** 2
    out = np.zeros((x.shape[1], 3))
    for c in range(x.shape[1]):
        s = spec[:, c]
        total = float(s.sum())
        k = int(np.argmax(s[1:]) + 1) if s.shape[0] > 2 else 0
        rms = math.sqrt(float(np.mean(x[:, c] ** 2)))
        if total <= 0 or rms <= 0 or k <= 0 or k >= s.shape[0] - 1:
            out[c] = (0.0, 0.0, -math.inf)
            continue
        a, b, g = (math.log(max(v, 1e-300)) for v in s[k - 1 : k + 2])
        shift = 0.5 * (a - g) / (a - 2 * b + g) if (a - 2 * b + g) != 0 else 0.0
        purity = float(s[max(0, k - 3) : k + 4].sum()) / total
        level = 20 * math.log10(rms) + SINE_RMS_TO_DBFS
        out[c] = ((k + shift) * rate / n, purity, level)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def picture_parts(la: LineupAnalysis, pa: PictureAnalysis) -> dict[str, list[tuple[int, int]]]:
    """Line-up frames as runs of bars, black, slate (a still card) and clock (moving)."""
    n = min(la.frames, pa.frames, len(la.bars))
    bars = np.asarray(la.bars[:n], dtype=bool)
    black = pa.black_mask()[:n] & ~bars
    diff = np.asarray(pa.diff[:n]) if n else np.zeros(0)
    other = ~bars & ~black
    parts: dict[str, list[tuple[int, int]]] = {"bars": _runs(bars), "black": _runs(black)}
    parts["slate"], parts["clock"] = [], []
    for a, b in _runs(other):
        # the first frame of a run is entered at a cut: movement is counted inside the run
        moving = bool((diff[a + 1 : b] >= pa.noise).any()) if b - a > 1 else False
        parts["clock" if moving else "slate"].append((a, b))
    return parts


def tone_channels(la: LineupAnalysis) -> list[dict[str, Any]]:
    """Per channel with line-up tone: its frequency, level and how long it lasts."""
    if not la.tone:
        return []
    t = np.stack(la.tone)  # (windows, channels, 3)
    out = []
    for c in range(t.shape[1]):
        is_tone = (t[:, c, 1] >= TONE_PURITY) & (t[:, c, 2] >= TONE_MIN_DBFS)
        runs = _runs(is_tone)
        if not runs:
            continue
        a, b = max(runs, key=lambda r: r[1] - r[0])
        out.append(
            {
                "channel": c + 1,
                "frequency_hz": round(float(np.median(t[a:b, c, 0])), 1),
                "level_dbfs": round(float(np.median(t[a:b, c, 2])), 2),
                "start_s": round(a * WINDOW_S, 3),
                "duration_s": round((b - a) * WINDOW_S, 3),
            }
        )
    return out


def measure(m: Measured, profile: Profile, la: LineupAnalysis | None) -> dict[str, Any]:
    """The line-up as JSON: where the programme starts and what comes before it."""
    data: dict[str, Any] = {
        "programme_start_timecode": profile.programme_start_timecode(),
        "file_start_timecode": getattr(m.asset, "start_timecode", None),
        "by": "timecode" if m.lineup_s is not None else "picture",
        "duration_s": round(m.lineup_s, 3) if m.lineup_s is not None else None,
    }
    if la is None:
        return data
    fps = m.picture.fps if m.picture is not None else None
    if m.picture is not None and fps:
        for kind, runs in picture_parts(la, m.picture).items():
            data[kind] = [
                {
                    "start_s": round(a / fps, 3),
                    "end_s": round(b / fps, 3),
                    "duration_s": round((b - a) / fps, 3),
                }
                for a, b in runs
            ]
    data["tone"] = tone_channels(la)
    return data


def check_lineup(m: Measured, profile: Profile, la: LineupAnalysis | None) -> list[Finding]:
    """The programme start against the file's timecode, and the line-up against the profile."""
    spec = profile.programme
    if spec is None:
        return []
    data = measure(m, profile, la)
    m.measurements["lineup"] = data
    sev = Severity(spec.severity)
    out = _timecode_findings(m, spec, sev)
    lu = spec.lineup
    lsev = Severity(lu.severity)
    for kind in ("bars", "clock", "slate", "black"):
        total = sum(r["duration_s"] for r in data.get(kind, []))
        out += _duration_findings(kind, total, getattr(lu, kind), lsev)
    if lu.tone is not None and m.lineup_s:
        out += _tone_findings(data.get("tone", []), lu.tone, lsev)
    return out


def _timecode_findings(m: Measured, spec: ProgrammeSpec, sev: Severity) -> list[Finding]:
    file_tc = getattr(m.asset, "start_timecode", None)
    if not file_tc:
        return [
            Finding(
                check="programme.start",
                severity=Severity.WARNING,
                message=f"the file carries no timecode: the programme start "
                f"({spec.start_timecode}) was placed from the picture (after bars, slate and "
                "black) instead",
                limit=spec.start_timecode,
            )
        ]
    head = m.lineup_head_s
    if head is None or math.isnan(head):
        return []
    if head < 0 or head > spec.lineup.max_s + 1e-6:
        where = "after" if head < 0 else f"{head:.2f} s before"
        return [
            Finding(
                check="programme.start",
                severity=sev,
                message=f"the file starts at {file_tc}, {where} the programme start "
                f"{spec.start_timecode}; at most {spec.lineup.max_s:g} s of line-up may precede "
                "it",
                value=file_tc,
                limit=spec.start_timecode,
            )
        ]
    return []


def _duration_findings(kind: str, total: float, part: LineupPart, sev: Severity) -> list[Finding]:
    names = {"bars": "colour bars", "clock": "countdown clock", "slate": "slate/ident card"}
    what = names.get(kind, kind)
    if total > part.max_s + 0.1:
        msg = f"{total:.2f} s of {what} in the line-up; at most {part.max_s:g} s allowed"
        if part.max_s == 0:
            msg = f"{total:.2f} s of {what} in the line-up; the profile allows none"
        return [
            Finding(
                check=f"lineup.{kind}", severity=sev, message=msg, value=total, limit=part.max_s
            )
        ]
    if total < part.min_s - 0.1:
        return [
            Finding(
                check=f"lineup.{kind}",
                severity=sev,
                message=f"{total:.2f} s of {what} in the line-up; at least {part.min_s:g} s "
                "required",
                value=total,
                limit=part.min_s,
            )
        ]
    return []


def _tone_findings(tones: list[dict[str, Any]], spec: ToneSpec, sev: Severity) -> list[Finding]:
    out: list[Finding] = []
    found = {t["channel"] for t in tones}
    wanted = spec.channels or []
    missing = [c for c in wanted if c not in found]
    if (spec.required and not tones) or (tones and missing) or (spec.required and missing):
        out.append(
            Finding(
                check="lineup.tone",
                severity=sev,
                message="no line-up tone on channel(s) "
                f"{', '.join(str(c) for c in missing) or 'any'}: the profile asks for "
                f"{spec.frequency_hz:g} Hz at {spec.level_dbfs:g} dBFS",
                limit=wanted or None,
            )
        )
    for t in tones:
        if wanted and t["channel"] not in wanted:
            continue
        f_off = abs(t["frequency_hz"] - spec.frequency_hz) > spec.frequency_tolerance_hz
        l_off = abs(t["level_dbfs"] - spec.level_dbfs) > spec.level_tolerance_db + 1e-9
        if f_off or l_off:
            out.append(
                Finding(
                    check="lineup.tone",
                    severity=sev,
                    message=f"line-up tone on channel {t['channel']} is {t['frequency_hz']:g} Hz "
                    f"at {t['level_dbfs']:.1f} dBFS; the profile asks for {spec.frequency_hz:g} "
                    f"Hz at {spec.level_dbfs:g} ± {spec.level_tolerance_db:g} dBFS",
                    channel=t["channel"],
                    value=[t["frequency_hz"], t["level_dbfs"]],
                    limit=[spec.frequency_hz, spec.level_dbfs],
                )
            )
    return out
