"""Sound checks: loudness against the profile, silence and silent channels, clipping, phase,
channel layout.

`SoundAnalysis` is fed the merged audio of the one decode pass (all tracks in file order, so the
profile's 1-based `loudness.channels` index it directly). It keeps per-channel energy and peak in
100 ms windows, the cross products of stereo pairs, runs of clipped samples and a streaming
BS.1770 loudness meter on the programme channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.errors import MediaError
from pipeline.profiles import Profile
from pipeline.qc.findings import Finding, Severity
from pipeline.qc.registry import Measured, qc_check

if TYPE_CHECKING:
    from pipeline.profiles import LoudnessSpec
    from pipeline.qc.loudness import LoudnessResult

WINDOW_S = 0.1  # silence, phase and the level series are measured in 100 ms windows
PHASE_QUIET_DBFS = -50.0  # a pair quieter than this carries no phase information
LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "5.1": 6}
MAX_EVENTS = 20


def _db(power_or_amp: float, *, power: bool) -> float | None:
    if power_or_amp <= 0 or not math.isfinite(power_or_amp):
        return None
    return round((10 if power else 20) * math.log10(power_or_amp), 2)


def programme_channels(profile: Profile, channels: int) -> list[int]:
    """0-based channels of the programme mix: the profile's 1-based list, else the first mix
    its `audio.tracks` declare (stereo, then 5.1, then mono), else all."""
    spec = profile.loudness
    if spec is not None and spec.channels:
        return [c - 1 for c in spec.channels]
    primary = _primary_mix(profile)
    if primary is not None:
        return [c - 1 for c in primary[1]]
    return list(range(channels))


MIX_LAYOUT = {"stereo": "stereo", "5.1": "5.1", "me": "stereo", "ad": "mono", "mono": "mono"}
CHECKED_MIXES = ("stereo", "5.1", "mono")  # complete mixes held to the loudness target


def _primary_mix(profile: Profile) -> tuple[str, list[int]] | None:
    if profile.audio is None:
        return None
    mixes = profile.audio.mixes()
    for name in CHECKED_MIXES:
        if name in mixes:
            return name, mixes[name]
    return None


def extra_mixes(profile: Profile) -> dict[str, list[int]]:
    """Every declared mix except the programme's (1-based channels): metered on the side."""
    if profile.audio is None or profile.loudness is None:
        return {}
    prog = [c + 1 for c in programme_channels(profile, 0)]
    out = {}
    for name, chs in profile.audio.mixes().items():
        if chs != prog and not (name == "ad" and len(chs) == 2):
            out[name] = chs
    return out


def stereo_pairs(profile: Profile, channels: int) -> list[tuple[int, int]]:
    """0-based (left, right) pairs whose phase is checked: the programme's L/R (and Ls/Rs in
    5.1); without a loudness spec, consecutive pairs of a file with an even channel count."""
    prog = [c for c in programme_channels(profile, channels) if c < channels]
    layout = profile.loudness.layout if profile.loudness else "auto"
    if layout == "auto" and _primary_mix(profile) is not None and profile.loudness is not None:
        if not profile.loudness.channels:
            layout = MIX_LAYOUT[_primary_mix(profile)[0]]  # type: ignore[index]
    if layout == "stereo" and len(prog) == 2:
        return [(prog[0], prog[1])]
    if layout == "5.1" and len(prog) == 6 or (layout == "auto" and len(prog) == 6):
        return [(prog[0], prog[1]), (prog[4], prog[5])]
    if layout == "auto" and len(prog) == 2:
        return [(prog[0], prog[1])]
    if profile.loudness is None and channels % 2 == 0:
        return [(c, c + 1) for c in range(0, channels, 2)]
    return []


@dataclass
class SoundAnalysis:
    """Window statistics, clipping runs and the loudness meter for the merged audio."""

    profile: Profile
    sample_rate: int
    channels: int
    window_power: list[np.ndarray] = field(default_factory=list)  # per window: (channels,)
    window_peak: list[np.ndarray] = field(default_factory=list)
    pair_stats: list[np.ndarray] = field(default_factory=list)  # per window: (pairs, 3) LR LL RR
    clips: list[list[tuple[int, int]]] = field(default_factory=list)  # per channel (start, len)
    frames: int = 0
    meter: Any = None
    meter_error: str | None = None
    dialogue: Any = None  # pipeline.qc.dialogue.DialogueMeter when the profile asks for it
    mix_meters: dict[str, Any] = field(default_factory=dict)  # other declared mixes
    cross: list[tuple[int, int]] = field(default_factory=list)  # 0-based pairs, whole-file sums

    def __post_init__(self) -> None:
        self.window = max(1, round(self.sample_rate * WINDOW_S))
        self._rest = np.zeros((0, self.channels), dtype=np.float32)
        spec = self.profile.sound.clipping
        self.clip_level = 10 ** (spec.threshold_dbfs / 20.0)
        self.clip_min = max(1, spec.min_consecutive_samples)
        self.clips = [[] for _ in range(self.channels)]
        self._clip_carry = np.zeros(self.channels, dtype=np.int64)  # run length at block end
        self.pairs = stereo_pairs(self.profile, self.channels)
        self.prog = programme_channels(self.profile, self.channels)
        if self.profile.loudness is not None:
            self._start_meter()
            self._start_mix_meters()
        self.cross = _cross_pairs(self.profile, self.channels)
        self.cross_sums = np.zeros(len(self.cross))

    def _start_meter(self) -> None:
        from pipeline.qc.loudness import LoudnessMeter, weights_for_layout

        spec = self.profile.loudness
        assert spec is not None
        missing = [c + 1 for c in self.prog if c >= self.channels]
        if missing:
            self.meter_error = (
                f"the profile measures channel(s) {_list(missing)} but the file has only "
                f"{self.channels} audio channel(s)"
            )
            return
        try:
            weights = weights_for_layout(spec.layout, len(self.prog))
        except Exception as exc:  # a profile layout that does not fit the file's channels
            self.meter_error = str(exc)
            return
        self.meter = LoudnessMeter(self.sample_rate, weights, true_peak=True, series_step_s=0.1)
        from pipeline.qc.dialogue import dialogue_meter  # registers loudness.dialogue

        self.dialogue = dialogue_meter(spec, self.sample_rate, weights)

    def _start_mix_meters(self) -> None:
        from pipeline.qc.loudness import LoudnessMeter, weights_for_layout

        for name, chs in extra_mixes(self.profile).items():
            if max(chs) <= self.channels:
                weights = weights_for_layout(MIX_LAYOUT[name], len(chs))
                self.mix_meters[name] = (
                    [c - 1 for c in chs],
                    LoudnessMeter(self.sample_rate, weights, true_peak=True, series_step_s=0.1),
                )

    def feed(self, block: np.ndarray) -> None:
        """Measure one block of merged audio, shape (frames, channels), full scale 1.0."""
        if block.shape[1] != self.channels:
            raise MediaError(f"audio block has {block.shape[1]} channels, expected {self.channels}")
        if self.meter is not None:
            self.meter.add(block[:, self.prog] if len(self.prog) != self.channels else block)
        if self.dialogue is not None:  # dialogue gating hears the same programme channels
            self.dialogue.add(block[:, self.prog])
        for chs, meter in self.mix_meters.values():
            meter.add(block[:, chs])
        for k, (a, b) in enumerate(self.cross):
            self.cross_sums[k] += float(np.dot(block[:, a], block[:, b]))
        self._clipping(block)
        data = np.concatenate([self._rest, block]) if self._rest.size else block
        whole = data.shape[0] // self.window * self.window
        if whole:
            w = data[:whole].reshape(-1, self.window, self.channels).astype(np.float64)
            self._windows(w)
        self._rest = data[whole:].copy()
        self.frames += block.shape[0]

    def finish(self) -> None:
        """Measure the last, partial window."""
        if self._rest.shape[0]:
            self._windows(self._rest[None].astype(np.float64))
            self._rest = self._rest[:0]

    def _windows(self, w: np.ndarray) -> None:
        power = (w * w).mean(axis=1)
        peak = np.abs(w).max(axis=1)
        self.window_power.extend(power)
        self.window_peak.extend(peak)
        if self.pairs:
            stats = np.empty((w.shape[0], len(self.pairs), 3))
            for k, (a, b) in enumerate(self.pairs):
                left, right = w[:, :, a], w[:, :, b]
                stats[:, k, 0] = (left * right).sum(axis=1)
                stats[:, k, 1] = (left * left).sum(axis=1)
                stats[:, k, 2] = (right * right).sum(axis=1)
            self.pair_stats.extend(stats)

    def _clipping(self, block: np.ndarray) -> None:
        hot = np.abs(block) >= self.clip_level
        any_hot = hot.any(axis=0)
        base = self.frames
        n = block.shape[0]
        for c in range(self.channels):
            carry = int(self._clip_carry[c])
            if not any_hot[c]:
                if carry >= self.clip_min:
                    self.clips[c].append((base - carry, carry))
                self._clip_carry[c] = 0
                continue
            m = np.concatenate(([False], hot[:, c], [False]))
            edges = np.flatnonzero(m[1:] != m[:-1])
            starts, ends = edges[::2], edges[1::2]
            if carry and (starts.size == 0 or starts[0] != 0):
                if carry >= self.clip_min:
                    self.clips[c].append((base - carry, carry))
                carry = 0
            for s, e in zip(starts, ends, strict=True):
                length = int(e - s)
                begin = base + int(s)
                if s == 0 and carry:
                    length += carry
                    begin -= carry
                if e == n:
                    self._clip_carry[c] = length  # may continue into the next block
                    break
                if length >= self.clip_min:
                    self.clips[c].append((begin, length))
            else:
                self._clip_carry[c] = 0

    def close_clipping(self) -> None:
        for c in range(self.channels):
            carry = int(self._clip_carry[c])
            if carry >= self.clip_min:
                self.clips[c].append((self.frames - carry, carry))
            self._clip_carry[c] = 0

    # --- derived -----------------------------------------------------------------------------

    def power(self) -> np.ndarray:
        if not self.window_power:
            return np.zeros((0, self.channels))
        return np.asarray(self.window_power)

    def seconds(self, window: int) -> float:
        return round(window * self.window / self.sample_rate, 3)

    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _list(chs: list[int]) -> str:
    return ", ".join(str(c) for c in chs)


def _sev(value: str) -> Severity:
    return Severity(value)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


# --- checks --------------------------------------------------------------------------------------


@qc_check("loudness", domain="sound", enabled=lambda p: p.loudness is not None)
def check_loudness(m: Measured, profile: Profile) -> list[Finding]:
    """Integrated loudness, true peak, max short-term/momentary and LRA against the profile."""
    sa = m.sound
    spec = profile.loudness
    assert sa is not None and spec is not None
    sev = _sev(spec.severity)
    if sa.meter is None:
        return [
            Finding(
                check="loudness",
                severity=sev,
                message=f"loudness not measured: {sa.meter_error}",
                limit=spec.channels,
            )
        ]
    file_res = sa.meter.result()
    window = programme_window(m, file_res.duration_s)
    res = sa.meter.result(*window) if window is not None else file_res
    data = res.model_dump()
    data["channels"] = [c + 1 for c in sa.prog]
    data["layout"] = spec.layout
    data["target_lufs"] = spec.target_lufs
    data["tolerance_lu"] = spec.tolerance_lu
    data["lineup_excluded"] = window is not None
    m.measurements["loudness"] = data
    # The whole file too, for comparison with meters that cannot skip the line-up; the series
    # are the same as the programme's, so they are not repeated.
    m.measurements["loudness_file"] = file_res.model_dump(
        exclude={"momentary_series", "short_term_series"}
    )
    span = _loudness_span(res, window)
    out = _integrated_findings(res, spec, sev, span)
    out += _true_peak_findings(res, spec, sev, sa.prog, whole_file=window is not None)
    out += _max_loudness_findings(res, spec, sev, span)
    out += _range_findings(res, spec, sev, span)
    out += _mix_findings(m, spec, sev, window)
    return out


def _mix_findings(
    m: Measured, spec: LoudnessSpec, sev: Severity, window: tuple[float, float | None] | None
) -> list[Finding]:
    """Every other mix the layout declares, metered over the same programme window: complete
    mixes (stereo, 5.1 with BS.1770 weights, LFE out, surrounds +1.5 dB) held to the target,
    M&E and audio description reported."""
    sa = m.sound
    assert sa is not None
    rows: dict[str, Any] = {}
    out: list[Finding] = []
    for name, (chs, meter) in sa.mix_meters.items():
        res = meter.result(*window) if window is not None else meter.result()
        rows[name] = {
            "channels": [c + 1 for c in chs],
            "layout": MIX_LAYOUT[name],
            "integrated_lufs": res.integrated_lufs,
            "true_peak_dbtp": res.true_peak_dbtp,
            "lra_lu": res.lra_lu,
            "checked": name in CHECKED_MIXES,
        }
        if name not in CHECKED_MIXES:
            continue
        where = f"{name} mix (tracks {_list([c + 1 for c in chs])})"
        for f in _integrated_findings(res, spec, sev, "") + _true_peak_findings(
            res, spec, sev, chs, whole_file=window is not None
        ):
            f.message = f"{where}: {f.message}"
            out.append(f)
    m.measurements["loudness_mixes"] = rows
    return out


def _loudness_span(res: LoudnessResult, window: tuple[float, float | None] | None) -> str:
    """Say which audio the readings cover: a reviewer comparing with another meter needs it."""
    if window is None:
        return ""
    left_out = " and ".join(
        part for part, cut in (("line-up", window[0] > 0.0), ("tail", window[1] is not None)) if cut
    )
    return (
        f" over the programme ({res.window_start_s:.2f} s–{res.window_end_s:.2f} s, "
        f"{left_out} excluded)"
    )


def _integrated_findings(
    res: LoudnessResult, spec: LoudnessSpec, sev: Severity, span: str
) -> list[Finding]:
    il = res.integrated_lufs
    if spec.gating == "dialogue" and spec.dialogue is not None:
        # The dialogue-gated reading decides and the full mix is its second stage: the
        # `loudness.dialogue` check reports both (flagging the full mix alone would be twice).
        return []
    if il is None:
        return [
            Finding(
                check="loudness.integrated",
                severity=sev,
                message=f"the programme channels are silent{span}: no integrated loudness",
                limit=spec.target_lufs,
            )
        ]
    if abs(il - spec.target_lufs) > spec.tolerance_lu + 1e-9:
        return [
            Finding(
                check="loudness.integrated",
                severity=sev,
                message=f"integrated loudness {il:.1f} LUFS{span}; target {spec.target_lufs:g} ± "
                f"{spec.tolerance_lu:g} LU ({spec.standard})",
                value=round(il, 2),
                limit=[spec.target_lufs - spec.tolerance_lu, spec.target_lufs + spec.tolerance_lu],
            )
        ]
    return []


def _true_peak_findings(
    res: LoudnessResult, spec: LoudnessSpec, sev: Severity, prog: list[int], *, whole_file: bool
) -> list[Finding]:
    tp = res.true_peak_dbtp
    if tp is None or tp <= spec.max_true_peak_dbtp + 1e-9:
        return []
    worst = int(
        np.nanargmax([v if v is not None else -np.inf for v in res.true_peak_per_channel_dbtp])
    )
    return [
        Finding(
            check="loudness.true_peak",
            severity=sev,
            message=f"true peak {tp:.1f} dBTP above the {spec.max_true_peak_dbtp:g} dBTP "
            f"maximum (loudest on channel {prog[worst] + 1}"
            + ("; whole file, line-up included" if whole_file else "")
            + ")",
            value=round(tp, 2),
            limit=spec.max_true_peak_dbtp,
            channel=prog[worst] + 1,
        )
    ]


def _max_loudness_findings(
    res: LoudnessResult, spec: LoudnessSpec, sev: Severity, span: str
) -> list[Finding]:
    out: list[Finding] = []
    for name, value, limit, what in (
        ("loudness.short_term", res.short_term_max_lufs, spec.max_short_term_lufs, "short-term"),
        ("loudness.momentary", res.momentary_max_lufs, spec.max_momentary_lufs, "momentary"),
    ):
        if limit is not None and value is not None and value > limit + 1e-9:
            series = res.short_term_series if what == "short-term" else res.momentary_series
            # the series cover the whole file (the report's curve): look inside the window
            first = math.ceil((res.window_start_s or 0.0) / res.series_step_s - 1e-9)
            at = _first_over(series, limit, first)
            out.append(
                Finding(
                    check=name,
                    severity=sev,
                    message=f"maximum {what} loudness {value:.1f} LUFS{span} above {limit:g} LUFS",
                    start_s=round(at * res.series_step_s, 3) if at is not None else None,
                    value=round(value, 2),
                    limit=limit,
                )
            )
    return out


def _range_findings(
    res: LoudnessResult, spec: LoudnessSpec, sev: Severity, span: str
) -> list[Finding]:
    lra = res.lra_lu
    out: list[Finding] = []
    if spec.lra_severity is not None:  # LRA as advice (EBU: not a brick-wall delivery limit)
        sev = _sev(spec.lra_severity)
    if lra is not None and spec.max_lra_lu is not None and lra > spec.max_lra_lu + 1e-9:
        out.append(
            Finding(
                check="loudness.range",
                severity=sev,
                message=f"loudness range {lra:.1f} LU{span} above the {spec.max_lra_lu:g} LU "
                "maximum",
                value=round(lra, 2),
                limit=spec.max_lra_lu,
            )
        )
    if lra is not None and spec.min_lra_lu is not None and lra < spec.min_lra_lu - 1e-9:
        out.append(
            Finding(
                check="loudness.range",
                severity=sev,
                message=f"loudness range {lra:.1f} LU{span} below the {spec.min_lra_lu:g} LU "
                "minimum",
                value=round(lra, 2),
                limit=spec.min_lra_lu,
            )
        )
    return out


def _first_over(series: list[float | None], limit: float, first: int = 0) -> int | None:
    for i in range(max(first, 0), len(series)):
        v = series[i]
        if v is not None and v > limit:
            return i
    return None


def programme_window(m: Measured, duration_s: float) -> tuple[float, float | None] | None:
    """Where programme loudness is measured: from the end of the line-up (bars and tone, slate,
    head black) to the end of the programme picture (before tail black), as the picture found
    them. None when there is nothing to leave out (audio-only, programme from the first to the
    last frame) or when the picture found no programme at all (a still picture over the whole
    file is not line-up). Counting the silent tail would widen LRA: 7.6 LU instead of 5.1 on
    the sample master, whose programme really measures 5.1 (ffmpeg ebur128 on 13-55 s)."""
    if m.programme_s is None:
        return None
    start, end = m.programme_s
    if start >= duration_s or end <= start:
        return None
    start_s = start if start > 0.0 else 0.0
    end_s = end if end < duration_s else None
    if start_s == 0.0 and end_s is None:
        return None
    return start_s, end_s


@qc_check("channel_layout", domain="sound", enabled=lambda p: p.loudness is not None)
def check_channel_layout(m: Measured, profile: Profile) -> list[Finding]:
    """The programme channels the profile names exist, fit its layout, and carry the sound."""
    sa = m.sound
    spec = profile.loudness
    assert sa is not None and spec is not None
    sev = _sev(spec.severity)
    out: list[Finding] = []
    want = LAYOUT_CHANNELS.get(spec.layout)
    prog = [c for c in sa.prog if c < sa.channels]
    m.measurements["channels"] = {
        "total": sa.channels,
        "programme": [c + 1 for c in sa.prog],
        "layout": spec.layout,
    }
    if len(prog) != len(sa.prog):
        out.append(
            Finding(
                check="channel_layout",
                severity=sev,
                message="the profile's programme is on channel(s) "
                f"{_list([c + 1 for c in sa.prog])} but the file has {sa.channels} audio "
                "channel(s)",
                value=sa.channels,
                limit=max(sa.prog) + 1,
            )
        )
        return out
    if want is not None and len(prog) != want:
        out.append(
            Finding(
                check="channel_layout",
                severity=sev,
                message=f"{spec.layout} needs {want} channel(s); the programme has {len(prog)}",
                value=len(prog),
                limit=want,
            )
        )
    power = sa.power()
    if power.size:
        thr = 10 ** (profile.sound.silence.threshold_dbfs / 10.0)
        loud = power.max(axis=0) >= thr
        prog_silent = not loud[prog].any()
        others = [c + 1 for c in range(sa.channels) if c not in prog and loud[c]]
        if prog_silent and others and profile.audio is None:  # else tracks.silent_pair
            out.append(
                Finding(
                    check="channel_layout",
                    severity=sev,
                    message=f"the programme channel(s) {_list([c + 1 for c in prog])} are silent "
                    f"while channel(s) {_list(others)} carry sound: check the track allocation",
                    value=others,
                    limit=[c + 1 for c in prog],
                )
            )
    return out


@qc_check("silence", domain="sound", enabled=lambda p: p.sound.silence.enabled)
def check_silence(m: Measured, profile: Profile) -> list[Finding]:
    """Programme silence ≥ min_duration (room tone above the threshold is not silence), and
    channels silent for the whole file."""
    sa = m.sound
    assert sa is not None
    spec = profile.sound.silence
    power = sa.power()
    out: list[Finding] = []
    if power.shape[0] == 0:
        return out
    thr = 10 ** (spec.threshold_dbfs / 10.0)
    prog = [c for c in sa.prog if c < sa.channels] or list(range(sa.channels))
    quiet = power[:, prog].max(axis=1) < thr
    min_w = max(1, round(spec.min_duration_s / WINDOW_S))
    n = power.shape[0]
    segs = [(a, b) for a, b in _runs(quiet) if b - a >= min_w]
    rows = []
    sev = _sev(spec.severity)
    whole = quiet.all()
    lineup = m.lineup_s or 0.0
    for a, b in segs:
        start, end = sa.seconds(a), min(sa.seconds(b), round(sa.duration_s(), 3))
        if lineup and end <= lineup + 0.05:
            rows.append(
                {
                    "start_s": start,
                    "end_s": end,
                    "duration_s": round(end - start, 3),
                    "where": "lineup",
                }
            )
            continue  # line-up silence (between tone and programme) is the line-up's
        start = max(start, lineup)
        dur = end - start
        if dur < spec.min_duration_s - 0.05:
            continue
        where = _silence_where(start <= lineup + 0.05 or a == 0, b == n, start, end, m.programme_s)
        rows.append({"start_s": start, "end_s": end, "duration_s": round(dur, 3), "where": where})
        if whole:
            continue
        if where == "head" and dur <= spec.head_allowed_s + 0.05:
            continue
        if where == "tail" and dur <= spec.tail_allowed_s + 0.05:
            continue
        allowed = {"head": spec.head_allowed_s, "tail": spec.tail_allowed_s}.get(where)
        label = {"head": "at the head", "tail": "at the tail"}.get(where, "in the programme")
        out.append(
            Finding(
                check="silence",
                severity=sev,
                message=f"{dur:.1f} s of silence {label} (below {spec.threshold_dbfs:g} dBFS"
                + (f"; {allowed:g} s allowed)" if allowed else ")"),
                start_s=start,
                end_s=end,
                value=round(dur, 2),
                limit=allowed if allowed else spec.min_duration_s,
            )
        )
    m.measurements["silence"] = rows
    if whole:
        out.append(
            Finding(
                check="silence",
                severity=Severity.ERROR if profile.loudness is not None else sev,
                message="the programme audio is silent from start to end",
                start_s=0.0,
                end_s=round(sa.duration_s(), 3),
            )
        )
    if spec.silent_channels:
        out += _silent_channels(m, profile, power, skip=set(prog) if whole else set())
    m.measurements["levels_dbfs"] = {
        "rms": [_db(float(v), power=True) for v in power.mean(axis=0)],
        "peak": [_db(float(v), power=False) for v in np.asarray(sa.window_peak).max(axis=0)],
    }
    return out


def _silence_where(
    at_head: bool, at_tail: bool, start: float, end: float, programme_s: tuple[float, float] | None
) -> str:
    """ "head", "tail" or "programme" for a silent run."""
    where = "head" if at_head else "tail" if at_tail else "programme"
    if programme_s is not None and where == "programme":
        # silence under the slate and head black (or the tail black) is line-up, not
        # programme: the picture says where the programme starts and ends
        if end <= programme_s[0] + 0.05:
            where = "head"
        elif start >= programme_s[1] - 0.05:
            where = "tail"
    return where


def _silent_channels(
    m: Measured, profile: Profile, power: np.ndarray, *, skip: set[int]
) -> list[Finding]:
    """Channels silent for the whole file (those in `skip` are already reported)."""
    sa = m.sound
    assert sa is not None
    spec = profile.sound.silence
    thr = 10 ** (spec.threshold_dbfs / 10.0)
    out: list[Finding] = []
    peak_power = power.max(axis=0)
    silent = [c for c in range(sa.channels) if peak_power[c] < thr]
    m.measurements["silent_channels"] = [c + 1 for c in silent]
    unused = set(profile.audio.unused()) if profile.audio is not None else set()
    for c in silent:
        if c in skip:
            continue
        level = _db(float(peak_power[c]), power=True)
        expected = c + 1 in unused  # declared unused: silence is what the layout asks
        out.append(
            Finding(
                check="silence.channel",
                severity=Severity.INFO if expected else _sev(spec.severity),
                message=f"channel {c + 1} is silent for the whole file"
                + (f" (loudest 100 ms at {level:.1f} dBFS)" if level is not None else "")
                + (": declared unused, as the layout asks" if expected else ""),
                channel=c + 1,
                value=level,
                limit=spec.threshold_dbfs,
            )
        )
    return out


@qc_check("clipping", domain="sound", enabled=lambda p: p.sound.clipping.enabled)
def check_clipping(m: Measured, profile: Profile) -> list[Finding]:
    """Runs of ≥ N consecutive samples at or beyond the clipping threshold, per channel."""
    sa = m.sound
    assert sa is not None
    spec = profile.sound.clipping
    out: list[Finding] = []
    rows = []
    for c, events in enumerate(sa.clips):
        if not events:
            continue
        first = events[0][0] / sa.sample_rate
        last = (events[-1][0] + events[-1][1]) / sa.sample_rate
        longest = max(length for _, length in events)
        rows.append(
            {
                "channel": c + 1,
                "events": len(events),
                "longest_run_samples": longest,
                "times_s": [round(s / sa.sample_rate, 4) for s, _ in events[:MAX_EVENTS]],
            }
        )
        out.append(
            Finding(
                check="clipping",
                severity=_sev(spec.severity),
                message=f"channel {c + 1}: {len(events)} clipped run(s) of ≥ "
                f"{spec.min_consecutive_samples} samples at ≥ {spec.threshold_dbfs:g} dBFS "
                f"(longest {longest} samples)",
                start_s=round(first, 4),
                end_s=round(last, 4),
                channel=c + 1,
                value=len(events),
                limit=spec.min_consecutive_samples,
            )
        )
    m.measurements["clipping"] = rows
    return out


@qc_check("phase", domain="sound", enabled=lambda p: p.sound.phase.enabled)
def check_phase(m: Measured, profile: Profile) -> list[Finding]:
    """Correlation of each stereo pair in 100 ms windows; sustained below the limit: reversed
    polarity or out-of-phase channels (mono listeners lose the sound)."""
    sa = m.sound
    assert sa is not None
    spec = profile.sound.phase
    out: list[Finding] = []
    rows = []
    if not sa.pairs or not sa.pair_stats:
        m.measurements["phase"] = rows
        return out
    stats = np.asarray(sa.pair_stats)  # (windows, pairs, 3)
    quiet = sa.window * 10 ** (PHASE_QUIET_DBFS / 10.0)
    min_w = max(1, round(spec.min_duration_s / WINDOW_S))
    for k, (a, b) in enumerate(sa.pairs):
        lr, ll, rr = stats[:, k, 0], stats[:, k, 1], stats[:, k, 2]
        active = (ll > quiet) & (rr > quiet)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where(active, lr / np.sqrt(ll * rr), np.nan)
        overall = (
            float(lr[active].sum() / math.sqrt(ll[active].sum() * rr[active].sum()))
            if active.any()
            else None
        )
        bad = np.nan_to_num(corr, nan=1.0) < spec.min_correlation
        segs = [(s, e) for s, e in _runs(bad) if e - s >= min_w]
        rows.append(
            {
                "pair": [a + 1, b + 1],
                "correlation": round(overall, 3) if overall is not None else None,
                "min_window_correlation": round(float(np.nanmin(corr)), 3)
                if active.any()
                else None,
                "out_of_phase": [
                    {"start_s": sa.seconds(s), "end_s": sa.seconds(e)} for s, e in segs
                ],
            }
        )
        for s, e in segs[:MAX_EVENTS]:
            worst = float(np.nanmean(corr[s:e]))
            out.append(
                Finding(
                    check="phase",
                    severity=_sev(spec.severity),
                    message=f"channels {a + 1}/{b + 1} out of phase for "
                    f"{sa.seconds(e) - sa.seconds(s):.1f} s (correlation {worst:+.2f}, limit "
                    f"{spec.min_correlation:+.2f})",
                    start_s=sa.seconds(s),
                    end_s=sa.seconds(e),
                    channel=a + 1,
                    value=round(worst, 3),
                    limit=spec.min_correlation,
                )
            )
    m.measurements["phase"] = rows
    return out


def require_audio_for(profile: Profile, channels: int, path: str) -> None:
    """Exit-2 conditions: the profile needs programme loudness and the file has no audio."""
    if profile.loudness is not None and channels <= 0:
        raise MediaError(
            f"{path}: no audio to measure (the profile {profile.name} needs programme loudness)",
            path=path,
            hint="deliver the file with its audio tracks, or QC it with a picture-only profile",
        )


# --- track roles: what the profile says every channel is ---------------------------------------

SWAP_MARGIN = 0.3  # crossed correlations must beat straight ones by this much to call a swap
SWAP_MIN_CORRELATION = 0.4  # and be this large: the two pairs must share content at all


def _cross_pairs(profile: Profile, channels: int) -> list[tuple[int, int]]:
    """0-based (stereo side, other side) products summed over the file for the swap check:
    straight and crossed, for every declared L/R pair against the stereo mix."""
    if profile.audio is None or not profile.audio.swap_check:
        return []
    pairs = {name: (a - 1, b - 1) for name, a, b in profile.audio.pairs()}
    ref = pairs.pop("stereo mix", None)
    if ref is None:
        return []
    out = []
    for a, b in pairs.values():
        if max(ref + (a, b)) < channels:
            out += [(ref[0], a), (ref[1], b), (ref[0], b), (ref[1], a)]
    return out


def _energies(sa: SoundAnalysis) -> np.ndarray:
    power = sa.power()
    return power.sum(axis=0) * sa.window if power.size else np.zeros(sa.channels)


def _swapped(sa: SoundAnalysis) -> list[tuple[str, int, int, float, float]]:
    """Pairs whose L/R are exchanged against the stereo mix: the M&E (or 5.1 front, AD) share
    the mix's music and effects, so its left correlates with the mix's left. When the crossed
    correlations (mix L with pair R, mix R with pair L) clearly beat the straight ones, one of
    the two pairs is swapped. Returns (name, left, right, straight, crossed), 1-based."""
    if not sa.cross:
        return []
    energy = _energies(sa)
    names = {(a - 1, b - 1): n for n, a, b in sa.profile.audio.pairs()}  # type: ignore[union-attr]
    out = []
    for k in range(0, len(sa.cross), 4):
        corr = []
        for j in range(4):
            a, b = sa.cross[k + j]
            den = math.sqrt(float(energy[a]) * float(energy[b]))
            corr.append(float(sa.cross_sums[k + j]) / den if den > 0 else 0.0)
        straight, crossed = (corr[0] + corr[1]) / 2, (corr[2] + corr[3]) / 2
        left, right = sa.cross[k][1], sa.cross[k + 1][1]
        if crossed > SWAP_MIN_CORRELATION and crossed > straight + SWAP_MARGIN:
            out.append((names.get((left, right), "pair"), left + 1, right + 1, straight, crossed))
    return out


def _unused_findings(sa: SoundAnalysis, profile: Profile, sev: Severity) -> list[Finding]:
    spec = profile.audio
    assert spec is not None
    peaks = np.asarray(sa.window_peak).max(axis=0) if sa.window_peak else np.zeros(sa.channels)
    out = []
    for ch in spec.unused():
        if ch > sa.channels:
            continue
        peak = _db(float(peaks[ch - 1]), power=False)
        if peak is not None and peak > spec.unused_max_peak_dbfs:
            out.append(
                Finding(
                    check="tracks.unused",
                    severity=sev,
                    message=f"track {ch} is declared unused but is not digital silence (peak "
                    f"{peak:.1f} dBFS): noise, hum or a mix on the wrong track",
                    channel=ch,
                    value=peak,
                    limit=spec.unused_max_peak_dbfs,
                )
            )
    return out


def _pair_findings(sa: SoundAnalysis, profile: Profile, sev: Severity) -> list[Finding]:
    """Declared pairs that are silent (or one-sided) while they should carry a mix."""
    spec = profile.audio
    assert spec is not None
    power = sa.power()
    if not power.size:
        return []
    thr = 10 ** (profile.sound.silence.threshold_dbfs / 10.0)
    loud = power.max(axis=0) >= thr
    unused = {c - 1 for c in spec.unused()}
    elsewhere = [c + 1 for c in range(sa.channels) if loud[c] and c in unused]
    out = []
    for name, a, b in spec.pairs():
        if max(a, b) > sa.channels:
            continue
        main = name in ("stereo mix", "5.1 front")
        psev = sev if main else Severity.WARNING
        if not loud[a - 1] and not loud[b - 1]:
            hint = f"; sound is on track(s) {_list(elsewhere)}" if elsewhere else ""
            out.append(
                Finding(
                    check="tracks.silent_pair",
                    severity=psev,
                    message=f"the {name} (tracks {a}-{b}) is silent{hint}: check the track "
                    "allocation",
                    channel=a,
                    value=elsewhere or None,
                    limit=[a, b],
                )
            )
        elif loud[a - 1] != loud[b - 1]:
            quiet = b if loud[a - 1] else a
            out.append(
                Finding(
                    check="tracks.one_sided",
                    severity=psev,
                    message=f"the {name} (tracks {a}-{b}) has sound on one side only: track "
                    f"{quiet} is silent",
                    channel=quiet,
                    limit=[a, b],
                )
            )
    return out


@qc_check("tracks", domain="sound", enabled=lambda p: p.audio is not None)
def check_tracks(m: Measured, profile: Profile) -> list[Finding]:
    """Every channel against its declared role: channel count, unused tracks digitally silent,
    declared pairs not silent or one-sided, L/R not swapped against the stereo mix."""
    sa = m.sound
    spec = profile.audio
    assert sa is not None and spec is not None
    sev = _sev(spec.severity)
    out: list[Finding] = []
    if sa.channels != len(spec.tracks):
        out.append(
            Finding(
                check="tracks.count",
                severity=sev,
                message=f"the file has {sa.channels} audio channel(s); the profile declares "
                f"{len(spec.tracks)} ({', '.join(spec.tracks)})",
                value=sa.channels,
                limit=len(spec.tracks),
            )
        )
    out += _unused_findings(sa, profile, sev)
    out += _pair_findings(sa, profile, sev)
    swaps = _swapped(sa)
    for name, left, right, straight, crossed in swaps:
        out.append(
            Finding(
                check="tracks.swapped",
                severity=sev,
                message=f"left and right disagree between the stereo mix and the {name} "
                f"(tracks {left}-{right}): mix L correlates with {name} R ({crossed:+.2f}) more "
                f"than with its L ({straight:+.2f}); one of the two pairs is swapped",
                channel=left,
                value=round(crossed, 3),
                limit=round(straight, 3),
            )
        )
    m.measurements["tracks"] = {
        "roles": list(spec.tracks),
        "peak_dbfs": [_db(float(v), power=False) for v in np.asarray(sa.window_peak).max(axis=0)]
        if sa.window_peak
        else [],
        "swapped": [
            {"pair": [lt, rt], "straight": round(st, 3), "crossed": round(cr, 3)}
            for _, lt, rt, st, cr in swaps
        ],
    }
    return out
