"""Dialogue-gated loudness: BS.1770 integrated loudness over the speech of a programme.

An OPEN APPROXIMATION of Dolby Dialogue Intelligence (the speech gating of the Dolby Media
Meter that Netflix and others specify), not Dolby's algorithm and not certified against it:
- a speech detector (the WebRTC VAD, `webrtcvad-wheels` on PyPI: a small C library with no
  model file, nothing downloaded) judges every 10 ms of a mono downmix resampled to 16 kHz;
- the BS.1770 400 ms gating blocks (75 % overlap) in which at least half of the 10 ms frames
  are speech are the dialogue blocks; integrated loudness is the mean K-weighted energy of the
  dialogue blocks above BS.1770's absolute gate (-70 LUFS). No relative gate: the speech gate
  takes its place, as in Dolby's dialogue gating;
- when less than `MIN_SPEECH_RATIO` of the programme is speech, the reading is flagged as
  unreliable and profiles fall back to the full-mix reading, as Dolby's meter does.

The meter is fed the programme channels of the one decode pass (see SoundAnalysis), never a
second decode of the media.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.ndimage import percentile_filter
from scipy.signal import butter, resample_poly, sosfilt, sosfilt_zi

from pipeline.profiles import Profile
from pipeline.qc.findings import Finding, Severity
from pipeline.qc.loudness import ABSOLUTE_GATE_LUFS, LOUDNESS_OFFSET
from pipeline.qc.registry import Measured, qc_check

if TYPE_CHECKING:
    from pipeline.profiles import LoudnessSpec

VAD_RATE = 16000
VAD_FRAME = 160  # 10 ms at 16 kHz: ten VAD decisions per 100 ms loudness block
VAD_MODE = 3  # WebRTC aggressiveness 0-3: 3 rejects the most non-speech (music, effects)
# Speech comes in syllables: its speech-band level swings by more than this within a second,
# where sustained music and effects (which the VAD alone often takes for speech) do not.
MIN_SWING_DB = 15.0
SWING_FRAMES = 51  # half a second on each side of a 10 ms frame
SPEECH_SHARE = 0.5  # a 400 ms block is dialogue when half its 10 ms frames are speech
MIN_SPEECH_RATIO = 0.05  # below this share of speech blocks the dialogue reading is unreliable
METHOD = (
    "open approximation of Dolby Dialogue Intelligence: WebRTC VAD (mode 3) and a syllabic "
    "level-swing test gate BS.1770 400 ms blocks; absolute gate -70 LUFS, no relative gate"
)


@dataclass
class DialogueResult:
    dialogue_lufs: float | None  # None: no dialogue found
    speech_ratio: float  # share of the 400 ms gating blocks judged speech
    speech_s: float  # duration of speech found (10 ms frames judged speech)
    reliable: bool  # enough speech to judge the mix by its dialogue
    method: str = METHOD

    def as_dict(self) -> dict[str, object]:
        return {
            "dialogue_lufs": None if self.dialogue_lufs is None else round(self.dialogue_lufs, 2),
            "speech_ratio": round(self.speech_ratio, 3),
            "speech_s": round(self.speech_s, 2),
            "reliable": self.reliable,
            "method": self.method,
        }


class DialogueMeter:
    """Streaming dialogue-gated meter: feed (frames, channels) float blocks, full scale 1.0."""

    def __init__(self, sample_rate: int, weights: Sequence[float]) -> None:
        import webrtcvad

        from pipeline.qc.loudness import k_weighting_sos

        self.rate = int(sample_rate)
        self.weights = np.asarray([float(w) for w in weights], dtype=np.float64)
        self._sos = k_weighting_sos(self.rate)
        self._zi = np.repeat(sosfilt_zi(self._sos)[:, :, None], len(self.weights), axis=2) * 0.0
        self._n100 = round(self.rate * 0.1)
        self._energy: list[float] = []  # K-weighted energy of each whole 100 ms block
        self._acc, self._acc_n = 0.0, 0
        self._mono = np.zeros(0, dtype=np.float64)  # downmix awaiting resampling (< 1 s)
        self._vad16 = np.zeros(0, dtype=np.float64)  # 16 kHz audio awaiting a 10 ms frame
        self._speech: list[bool] = []  # the VAD's decision for each 10 ms
        self._band_db: list[float] = []  # speech-band (300-3400 Hz) level of each 10 ms
        self._band = butter(4, [300, 3400], btype="bandpass", fs=VAD_RATE, output="sos")
        self._band_zi = np.zeros((self._band.shape[0], 2))
        self._vad = webrtcvad.Vad(VAD_MODE)
        # The speech detector hears the front channels (LFE, weight 0, carries no dialogue).
        self._mix = np.where(self.weights > 0, 1.0, 0.0)
        self._mix /= max(self._mix.sum(), 1.0)

    def add(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        kw, self._zi = sosfilt(self._sos, x, axis=0, zi=self._zi)
        self._blocks(np.square(kw) @ self.weights)
        self._mono = np.concatenate([self._mono, x @ self._mix])
        whole = self._mono.shape[0] // self.rate * self.rate
        if whole:
            self._detect(self._mono[:whole])
            self._mono = self._mono[whole:]

    def _blocks(self, e: np.ndarray) -> None:
        i = 0
        while i < e.shape[0]:
            take = min(self._n100 - self._acc_n, e.shape[0] - i)
            self._acc += float(e[i : i + take].sum())
            self._acc_n += take
            i += take
            if self._acc_n == self._n100:
                self._energy.append(self._acc)
                self._acc, self._acc_n = 0.0, 0

    def _detect(self, mono: np.ndarray) -> None:
        """Resample whole seconds to 16 kHz and judge every 10 ms frame."""
        g = math.gcd(VAD_RATE, self.rate)
        y = resample_poly(mono, VAD_RATE // g, self.rate // g)
        y = np.concatenate([self._vad16, y])
        n = y.shape[0] // VAD_FRAME
        pcm = (np.clip(y[: n * VAD_FRAME], -1.0, 1.0) * 32767).astype("<i2")
        band, self._band_zi = sosfilt(self._band, y[: n * VAD_FRAME], zi=self._band_zi)
        power = np.square(band).reshape(n, VAD_FRAME).mean(axis=1) if n else np.zeros(0)
        self._band_db.extend((10 * np.log10(power + 1e-12)).tolist())
        for k in range(n):
            frame = pcm[k * VAD_FRAME : (k + 1) * VAD_FRAME].tobytes()
            self._speech.append(bool(self._vad.is_speech(frame, VAD_RATE)))
        self._vad16 = y[n * VAD_FRAME :]

    def _speech_frames(self) -> np.ndarray:
        """10 ms frames judged speech: the VAD says so and the level swings like syllables."""
        vad = np.asarray(self._speech, dtype=bool)
        if vad.shape[0] == 0:
            return np.zeros(0)
        db = np.asarray(self._band_db, dtype=np.float64)
        ok = vad.copy()
        # The half-second before and the half-second after must both swing: a frame of music
        # next to the start or end of a line sees speech on one side only.
        for origin in (SWING_FRAMES // 2, -(SWING_FRAMES // 2)):
            hi = percentile_filter(db, 90, size=SWING_FRAMES, mode="nearest", origin=origin)
            lo = percentile_filter(db, 10, size=SWING_FRAMES, mode="nearest", origin=origin)
            ok &= hi - lo >= MIN_SWING_DB
        return ok.astype(np.float64)

    def result(self, start_s: float | None = None, end_s: float | None = None) -> DialogueResult:
        """Dialogue-gated loudness over [start_s, end_s] (whole 100 ms blocks; default all)."""
        if self._mono.shape[0]:
            self._detect(self._mono)  # the last, partial second (the meter stays usable)
            self._mono = np.zeros(0)
        energy = np.asarray(self._energy, dtype=np.float64)
        speech = self._speech_frames()
        per_block = np.zeros(energy.shape[0])
        n = min(energy.shape[0], speech.shape[0] // 10)
        per_block[:n] = speech[: n * 10].reshape(n, 10).mean(axis=1)
        a = max(0, math.ceil((start_s or 0.0) * 10 - 1e-9))
        b = energy.shape[0] if end_s is None else min(energy.shape[0], int(end_s * 10 + 1e-9))
        return dialogue_gate(energy[a:b] / self._n100, per_block[a:b])


def dialogue_gate(block_energy: np.ndarray, speech_share: np.ndarray) -> DialogueResult:
    """The gate itself, on 100 ms mean-square K-weighted energies and their speech shares."""
    if block_energy.shape[0] < 4:
        return DialogueResult(None, 0.0, 0.0, False)
    z = np.convolve(block_energy, np.ones(4), mode="valid") / 4  # 400 ms blocks, 75 % overlap
    share = np.convolve(speech_share, np.ones(4), mode="valid") / 4
    with np.errstate(divide="ignore"):
        loud = LOUDNESS_OFFSET + 10 * np.log10(z)
    is_speech = share >= SPEECH_SHARE
    kept = z[is_speech & (loud > ABSOLUTE_GATE_LUFS)]
    ratio = float(is_speech.mean())
    speech_s = float(speech_share.sum()) * 0.1
    if kept.shape[0] == 0:
        return DialogueResult(None, ratio, speech_s, False)
    lufs = LOUDNESS_OFFSET + 10 * math.log10(float(kept.mean()))
    return DialogueResult(lufs, ratio, speech_s, ratio >= MIN_SPEECH_RATIO)


def dialogue_loudness(
    samples: np.ndarray, sample_rate: int, weights: Sequence[float] | None = None
) -> DialogueResult:
    """One-shot helper: the dialogue-gated loudness of a whole signal (frames, channels)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    meter = DialogueMeter(sample_rate, weights or [1.0] * x.shape[1])
    meter.add(x)
    return meter.result()


# --- QC: the meter in the decode pass, and the check --------------------------------------------


def dialogue_meter(spec: LoudnessSpec | None, sample_rate: int, weights: Sequence[float]) -> Any:
    """A DialogueMeter when the profile asks for dialogue-gated loudness, else None."""
    if spec is None or spec.dialogue is None:
        return None
    return DialogueMeter(sample_rate, weights)


def _enabled(profile: Profile) -> bool:
    return profile.loudness is not None and profile.loudness.dialogue is not None


@qc_check("loudness.dialogue", domain="sound", enabled=_enabled)
def check_dialogue(m: Measured, profile: Profile) -> list[Finding]:
    """Dialogue-gated loudness beside the full mix; with gating 'dialogue', Netflix's
    procedure: dialogue in spec passes, else the full mix decides (flag when both fail)."""
    spec = profile.loudness
    sa = m.sound
    meter = getattr(sa, "dialogue", None)
    if spec is None or spec.dialogue is None or sa is None or meter is None:
        return []
    from pipeline.qc.sound import programme_window

    d = spec.dialogue
    full = sa.meter.result() if sa.meter is not None else None
    window = programme_window(m, full.duration_s) if full is not None else None
    res = meter.result(*window) if window is not None else meter.result()
    full_lufs = (sa.meter.result(*window) if window else full).integrated_lufs if full else None
    data = res.as_dict() | {"target_lufs": d.target_lufs, "tolerance_lu": d.tolerance_lu}
    m.measurements["loudness_dialogue"] = data | {"full_mix_lufs": full_lufs}
    return dialogue_findings(res, full_lufs, spec)


def dialogue_findings(
    res: DialogueResult, full_lufs: float | None, spec: LoudnessSpec
) -> list[Finding]:
    d = spec.dialogue
    assert d is not None
    beside = f"full mix {full_lufs:.1f} LUFS" if full_lufs is not None else "full mix not measured"
    lim = {"target_lufs": d.target_lufs, "tolerance_lu": d.tolerance_lu}
    if res.dialogue_lufs is None or res.speech_ratio < d.min_speech_ratio:
        msg = (
            f"dialogue-gated loudness not used: {res.speech_ratio:.0%} of the programme is "
            f"speech (< {d.min_speech_ratio:.0%}); the full-mix reading decides ({beside})"
        )
        return [Finding(check="loudness.dialogue", severity=Severity.INFO, message=msg, limit=lim)]
    off = res.dialogue_lufs - d.target_lufs
    text = (
        f"dialogue-gated loudness {res.dialogue_lufs:.1f} LUFS ({res.speech_ratio:.0%} speech), "
        f"target {d.target_lufs:g} ±{d.tolerance_lu:g} LU; {beside} (open approximation of "
        "Dolby Dialogue Intelligence)"
    )
    ok = abs(off) <= d.tolerance_lu + 1e-9
    full_ok = full_lufs is not None and abs(full_lufs - spec.target_lufs) <= spec.tolerance_lu
    if ok:
        sev = Severity.INFO
    elif spec.gating == "dialogue" and full_ok:
        sev, text = Severity.WARNING, text + "; the full mix is in spec, so not flagged as an issue"
    else:
        sev = Severity(d.severity)
    return [
        Finding(
            check="loudness.dialogue",
            severity=sev,
            message=text,
            value=round(res.dialogue_lufs, 2),
            limit=lim,
        )
    ]
