"""Programme loudness and true peak per ITU-R BS.1770-5, EBU R 128, Tech 3341 and Tech 3342.

One streaming meter, fed blocks of any length from the single decode pass, gives at the end:

- integrated loudness (gated: 400 ms blocks every 100 ms, absolute -70 LUFS, relative -10 LU);
- loudness range (Tech 3342: 3 s windows every 100 ms, -70 LUFS absolute, -20 LU relative,
  10th to 95th percentile);
- maximum momentary (400 ms) and short-term (3 s) loudness, evaluated on a ~1 ms grid rather than
  every 100 ms, so a 400 ms burst is caught whatever its alignment (EBU Tech 3341 case 13, which
  meters that update only every 100 ms, like ffmpeg's ebur128, fail by up to 0.6 LU);
- true peak per channel from an 8x (4x above 96 kHz) polyphase interpolator, sharper than the
  48-tap 4x example of BS.1770 Annex 2, and the sample peak;
- momentary and short-term series for the report's loudness curve.

Any time window can be measured after the pass (`result(start_s, end_s)`), so QC can meter the
programme without its line-up tone: the meter keeps, per 100 ms block, the block's energy (the
gating and LRA inputs) and the largest momentary and short-term readings of the fine grid, five
numbers per 100 ms (about 1.4 MB for an hour). True peak and sample peak stay whole-file.

Every computation runs on a fixed grid of samples (1 ms ticks, 4096-sample true-peak chunks) and
incomplete pieces wait in small buffers, so the results do not depend on how the audio was cut
into blocks: feeding one sample at a time or the whole programme at once gives the same numbers.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import fft as sfft
from scipy import signal

from pipeline.errors import UserInputError

__all__ = [
    "LoudnessMeter",
    "LoudnessResult",
    "MeterPart",
    "LoudnessInputError",
    "k_weighting_sos",
    "true_peak_filter",
    "weights_for_layout",
    "measure",
]

# BS.1770: loudness = -0.691 + 10 log10(sum G_i z_i); the offset cancels the K-filter's
# +0.691 dB at 997 Hz so a 0 dBFS sine in one front channel reads -3.01 LKFS.
LOUDNESS_OFFSET = -0.691
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0  # integrated loudness (BS.1770-2 onwards)
LRA_RELATIVE_GATE_LU = -20.0  # Tech 3342
LRA_LOW_PERCENTILE = 0.10
LRA_HIGH_PERCENTILE = 0.95

SURROUND_WEIGHT = 1.41  # BS.1770 Table 3: +1.5 dB for Ls and Rs (10 ** (1.5 / 10) = 1.4125)
TRUE_PEAK_CHUNK = 4096  # samples per true-peak chunk: the unit of the peak-bound shortcut
TICK_GROUP = 1000  # ticks processed together (fixed grid, so results are cut-independent)


class LoudnessInputError(UserInputError):
    """Audio handed to the meter has the wrong shape, channel count or values."""


class LoudnessResult(BaseModel):
    """Everything a loudness check or a report needs; JSON-serialisable (silence is None).

    Integrated loudness, LRA and the momentary/short-term maxima cover the window
    [`window_start_s`, `window_end_s`] (the whole file by default). True peak, sample peak,
    the series (the report's curve, from 0 s) and `duration_s` always cover the whole file:
    peak limits apply to everything delivered, line-up included.
    """

    model_config = ConfigDict(extra="forbid")

    integrated_lufs: float | None
    lra_lu: float | None
    true_peak_dbtp: float | None
    true_peak_per_channel_dbtp: list[float | None]
    sample_peak_dbfs: float | None
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    momentary_series: list[float | None]
    short_term_series: list[float | None]
    series_step_s: float
    duration_s: float
    window_start_s: float | None = None
    window_end_s: float | None = None


# --------------------------------------------------------------------------- filters


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting (high shelf then RLB high-pass) as two biquads for `sample_rate`.

    Designed from the analogue prototype by bilinear transform with pre-warping, as
    libebur128 and pyloudnorm do, so 48 kHz gives the coefficients published in BS.1770
    and any other rate gets the same response.
    """
    fs = float(sample_rate)
    # Stage 1: high shelf modelling the acoustic effect of the head (+4 dB above ~1.5 kHz).
    f0 = 1681.974450955533
    gain_db = 3.999843853973347
    q = 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ]
    shelf_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    # Stage 2: the revised low-frequency B-curve (RLB), a second-order high-pass at ~38 Hz.
    f0 = 38.13547087602444
    q = 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    hp_b = [1.0, -2.0, 1.0]
    hp_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf_b + shelf_a, hp_b + hp_a], dtype=np.float64)


def true_peak_filter(sample_rate: int) -> tuple[int, np.ndarray]:
    """Oversampling factor and polyphase matrix (taps x phases) of the true-peak interpolator.

    8x below 96 kHz (the largest miss on a 20 kHz tone is then 0.12 dB against 0.5 dB at 4x),
    4x up to 192 kHz, 2x above. A Kaiser-windowed sinc of 32 taps per phase keeps the response
    flat to about 20 kHz at 48 kHz. The sinc is centred on a tap, so one phase reproduces the
    original samples exactly and the true peak can never read below the sample peak.
    """
    factor = 8 if sample_rate < 96000 else 4 if sample_rate < 192000 else 2
    taps_per_phase = 32
    n = factor * taps_per_phase
    h = signal.firwin(n + 1, 1.0 / factor, window=("kaiser", 7.0))
    # Both end taps fall on zeros of the sinc (a whole number of input periods from the
    # centre), so dropping one keeps the filter exact and makes the phases equal in length.
    h = h[1:]
    centre = n // 2 - 1
    h = h / h[centre]  # the pass-through phase is an exact unit impulse
    # Row j multiplies x[n - (T-1) + j]; column p is output phase p (sliding windows ascend).
    poly = np.empty((taps_per_phase, factor), dtype=np.float64)
    for p in range(factor):
        poly[:, p] = h[p::factor][::-1]
    return factor, poly


def weights_for_layout(layout: str, channels: int) -> list[float]:
    """BS.1770 channel weights: 'mono' [1], 'stereo' [1,1], '5.1' L R C LFE Ls Rs ->
    [1,1,1,0,1.41,1.41], 'auto' by channel count.

    'auto': 1-3 channels all 1.0; 5 = 5.0 (L R C Ls Rs); 6 = 5.1; 8 = eight mono tracks as
    broadcasters exchange them (EBU R 48 / R 123, French PAD, DPP): the complete stereo mix on
    1-2 is measured and 3-8 (international sound, 5.1, audio description) weigh 0, since a
    programme's loudness is that of one mix. A profile that knows its layout declares each
    track's role (`audio.tracks`) and every declared mix is metered on its own.
    """
    if channels < 1:
        raise LoudnessInputError(f"cannot measure loudness of {channels} audio channels")
    layout = layout.lower()
    if layout == "mono":
        if channels != 1:
            raise LoudnessInputError(
                f"layout 'mono' needs 1 channel, the programme has {channels}",
                hint="set the profile's loudness.channels to the one channel to measure",
            )
        return [1.0]
    if layout == "stereo":
        if channels != 2:
            raise LoudnessInputError(
                f"layout 'stereo' needs 2 channels, the programme has {channels}",
                hint="set the profile's loudness.channels to the stereo pair (e.g. [1, 2])",
            )
        return [1.0, 1.0]
    if layout == "5.1":
        if channels != 6:
            raise LoudnessInputError(
                f"layout '5.1' needs 6 channels (L R C LFE Ls Rs), the programme has {channels}",
                hint="set the profile's loudness.channels to the six 5.1 channels",
            )
        return [1.0, 1.0, 1.0, 0.0, SURROUND_WEIGHT, SURROUND_WEIGHT]
    if layout != "auto":
        raise LoudnessInputError(
            f"unknown loudness layout {layout!r}", hint="use mono, stereo, 5.1 or auto"
        )
    if channels <= 3:
        return [1.0] * channels  # mono, stereo, or L R C without surrounds
    if channels == 5:
        return [1.0, 1.0, 1.0, SURROUND_WEIGHT, SURROUND_WEIGHT]  # 5.0: L R C Ls Rs
    if channels == 6:
        return [1.0, 1.0, 1.0, 0.0, SURROUND_WEIGHT, SURROUND_WEIGHT]
    if channels == 8:
        # Eight mono tracks: the stereo mix comes first (EBU R 48 Table 1, EBU R 123); there is
        # no source for the '5.1 on 1-6, stereo on 7-8' this once assumed.
        return [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    raise LoudnessInputError(
        f"no standard BS.1770 layout for {channels} channels",
        hint="set the profile's loudness.channels and layout to the mix to measure",
    )


# --------------------------------------------------------------------------- meter


@dataclass
class _WindowState:
    """What the sliding windows remember between tick groups (copied by result())."""

    history: np.ndarray  # the last (3 s - 1 tick) of tick energies
    ticks_done: int = 0
    m_max: float = 0.0
    s_max: float = 0.0
    m_series: list[float] = field(default_factory=list)
    s_series: list[float] = field(default_factory=list)
    blocks: list[float] = field(default_factory=list)  # weighted energy of each 100 ms block
    block_acc: float = 0.0  # energy of the 100 ms block being filled
    block_ticks: int = 0
    # Per 100 ms block j, over the fine-grid windows ending in (j, j+1] x 100 ms: the largest
    # momentary and short-term energies, and those of the windows ending exactly at its end.
    # They let result() take the maxima of any window of whole blocks after the pass.
    m_block_max: array = field(default_factory=lambda: array("d"))
    s_block_max: array = field(default_factory=lambda: array("d"))
    m_block_end: array = field(default_factory=lambda: array("d"))
    s_block_end: array = field(default_factory=lambda: array("d"))
    m_open_max: float = 0.0  # the same maxima for the block being filled
    s_open_max: float = 0.0

    def copy(self) -> _WindowState:
        return replace(
            self,
            history=self.history.copy(),
            m_series=list(self.m_series),
            s_series=list(self.s_series),
            blocks=list(self.blocks),
            m_block_max=array("d", self.m_block_max),
            s_block_max=array("d", self.s_block_max),
            m_block_end=array("d", self.m_block_end),
            s_block_end=array("d", self.s_block_end),
        )


@dataclass
class MeterPart:
    """One segment's share of a meter for split QC (small and picklable): the weighted energy of
    every tick it recorded, the K-weighted samples of an incomplete last tick, the sample count
    and the sample-peak and true-peak maxima (linear, per channel). `lead_ticks` ticks at the
    head overlap the previous segment: the merge compares them to prove the cut is aligned."""

    ticks: np.ndarray
    tick_tail: np.ndarray  # (channels, < one tick); only the file's last segment has any
    frames: int  # samples after the lead
    sample_peak: np.ndarray
    true_peak: np.ndarray
    lead_ticks: int = 0


def _lufs(energy: float) -> float | None:
    """Loudness of a mean-square weighted energy; None for digital silence (-inf)."""
    if energy <= 0.0 or not math.isfinite(energy):
        return None
    return LOUDNESS_OFFSET + 10.0 * math.log10(energy)


def _db(amplitude: float) -> float | None:
    if amplitude <= 0.0:
        return None
    return 20.0 * math.log10(amplitude)


def _tick_size(samples_100ms: int, sample_rate: int) -> int:
    """Samples per tick: the divisor of the 100 ms block closest to 1 ms (at most 1.25 ms).

    Windows of 400 ms and 3 s are whole numbers of ticks, so the sliding maxima are exact
    on the tick grid and the gating blocks fall on tick boundaries.
    """
    target = sample_rate / 1000.0
    best = 1
    for d in range(1, int(target * 1.25) + 1):
        if samples_100ms % d == 0 and abs(d - target) <= abs(best - target):
            best = d
    return best


class LoudnessMeter:
    """Streaming BS.1770 meter: feed blocks of any length; results at the end."""

    def __init__(
        self,
        sample_rate: int,
        weights: Sequence[float],
        *,
        true_peak: bool = True,
        series_step_s: float = 0.1,
    ) -> None:
        if not isinstance(sample_rate, int | np.integer) or sample_rate < 8000:
            raise LoudnessInputError(
                f"cannot meter loudness at a sample rate of {sample_rate} Hz",
                hint="BS.1770 metering needs 8 kHz or more (44.1 and 48 kHz are usual)",
            )
        w = [float(g) for g in weights]
        if not w or any(not math.isfinite(g) or g < 0 for g in w):
            raise LoudnessInputError(
                f"invalid BS.1770 channel weights {list(weights)}",
                hint="give one non-negative weight per channel (1.0 front, 1.41 surround)",
            )
        if not (series_step_s > 0 and math.isfinite(series_step_s)):
            raise LoudnessInputError(f"series step must be a positive time, got {series_step_s}")
        self.sample_rate = int(sample_rate)
        self.channels = len(w)
        self._weights = np.asarray(w, dtype=np.float64)
        self._true_peak = true_peak

        self._sos = k_weighting_sos(self.sample_rate)
        self._zi = np.zeros((self._sos.shape[0], self.channels, 2), dtype=np.float64)

        # Time grid. 100 ms is rounded to whole samples (exact at every common rate).
        self._n100 = max(1, round(self.sample_rate * 0.1))
        self._tick = _tick_size(self._n100, self.sample_rate)
        self._ticks_100 = self._n100 // self._tick
        self._ticks_m = 4 * self._ticks_100  # 400 ms
        self._ticks_s = 30 * self._ticks_100  # 3 s
        step_ticks = round(series_step_s * self.sample_rate / self._tick)
        self._series_ticks = max(1, step_ticks)
        self.series_step_s = self._series_ticks * self._tick / self.sample_rate

        self._frames = 0
        self._sample_peak = np.zeros(self.channels, dtype=np.float64)
        # K-weighted samples of the tick being filled (at most one tick long).
        self._tick_buf = np.zeros((self.channels, 0), dtype=np.float64)
        # Weighted energy of completed ticks not yet processed (fewer than TICK_GROUP).
        self._pending_ticks: list[np.ndarray] = []
        self._pending_count = 0
        self._win = _WindowState(
            # Zeros before the programme: windows that start before it read as if preceded
            # by silence, as live meters show them.
            history=np.zeros(self._ticks_s - 1, dtype=np.float64)
        )

        if true_peak:
            self._tp_factor, self._tp_poly = true_peak_filter(self.sample_rate)
            taps = self._tp_poly.shape[0]
            # Largest output an interpolator phase can reach for a unit-bounded input: a chunk
            # whose input peak times this cannot beat the running maximum is skipped, exactly.
            self._tp_gain = float(np.abs(self._tp_poly).sum(axis=0).max())
            self._tp_hist = np.zeros((self.channels, taps - 1), dtype=np.float64)
            self._tp_buf = np.zeros((self.channels, 0), dtype=np.float64)
            self._tp_max = np.zeros(self.channels, dtype=np.float64)
            self._tp_prev_peak = np.zeros(self.channels, dtype=np.float64)
            self._tp_spectra: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            # sec(pi * W / F): how far a signal band-limited to W can rise between samples at
            # rate F (here the even phases, half the oversampled rate). W = 0.6 fs covers the
            # interpolator's transition band (it is below -77 dB beyond): +1.0 dB at 48 kHz.
            half_rate = self._tp_factor / 2 * self.sample_rate
            cos = math.cos(math.pi * 0.6 * self.sample_rate / half_rate)
            self._tp_between = 1.0 / cos if cos > 0.2 else math.inf
        self._recorded: list[np.ndarray] | None = None  # completed ticks, for split QC

    # ------------------------------------------------------------------ feeding

    def add(self, block: np.ndarray) -> None:
        """Feed audio: shape (frames, channels) (or (frames,) for mono), full scale = 1.0."""
        x = np.asarray(block)
        if x.ndim == 1 and self.channels == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise LoudnessInputError(
                f"audio block of shape {x.shape} does not match the meter's "
                f"{self.channels} channel(s)",
                hint="pass (frames, channels) with one BS.1770 weight per channel",
            )
        if x.shape[0] == 0:
            return
        if not np.issubdtype(x.dtype, np.floating):
            raise LoudnessInputError(
                f"audio samples must be floating point (full scale 1.0), got {x.dtype}",
                hint="convert integer PCM by dividing by 2**(bits-1)",
            )
        # One copy: planar (channels, frames) float64, so the filters run along contiguous rows.
        planar = np.ascontiguousarray(x.T, dtype=np.float64)
        peak = np.maximum(planar.max(axis=1), -planar.min(axis=1))  # NaN and inf propagate
        if not np.all(np.isfinite(peak)):
            raise LoudnessInputError(
                "audio block contains NaN or infinite samples",
                hint="the decoder produced invalid floats; re-decode the file",
            )
        self._frames += x.shape[0]
        np.maximum(self._sample_peak, peak, out=self._sample_peak)
        if self._true_peak:
            self._feed_true_peak(planar)
        zi = self._zi
        kw, zf = signal.sosfilt(self._sos, planar, axis=-1, zi=zi)
        self._zi = zf
        self._feed_ticks(kw)

    def _feed_ticks(self, kw: np.ndarray) -> None:
        """Square and sum K-weighted samples (channels, frames) per whole tick; keep the rest."""
        if self._tick_buf.shape[1]:
            kw = np.concatenate([self._tick_buf, kw], axis=1)
        whole = (kw.shape[1] // self._tick) * self._tick
        self._tick_buf = np.array(kw[:, whole:], dtype=np.float64)
        if not whole:
            return
        sq = np.square(kw[:, :whole])
        # Per-channel energy of each tick, then the BS.1770 weighted sum over channels.
        per_tick = self._weights @ sq.reshape(self.channels, -1, self._tick).sum(axis=-1)
        if self._recorded is not None:
            self._recorded.append(per_tick)
        self._pending_ticks.append(per_tick)
        self._pending_count += per_tick.shape[0]
        if self._pending_count >= TICK_GROUP:
            self._run_groups(np.concatenate(self._pending_ticks))

    def _run_groups(self, ticks: np.ndarray) -> None:
        """Slide the windows over whole groups of ticks; the rest waits for more (the same
        groups whatever the block sizes fed, so split parts rebuild one pass exactly)."""
        groups = (ticks.shape[0] // TICK_GROUP) * TICK_GROUP
        for start in range(0, groups, TICK_GROUP):
            self._process_ticks(self._win, ticks[start : start + TICK_GROUP], partial=False)
        rest = ticks[groups:]
        self._pending_ticks = [rest] if rest.shape[0] else []
        self._pending_count = rest.shape[0]

    def _process_ticks(self, st: _WindowState, ticks: np.ndarray, *, partial: bool) -> None:
        """Slide the 400 ms and 3 s windows over new ticks: maxima, series points, blocks.

        `partial` marks a last, incomplete tick (result() only): it joins the windows but never
        completes a 100 ms gating block, since BS.1770 blocks must be whole.
        """
        tick_samples = self._tick
        work = np.concatenate([st.history, ticks])
        csum = np.concatenate([[0.0], np.cumsum(work)])
        n_new = ticks.shape[0]
        ends = np.arange(work.shape[0] - n_new + 1, work.shape[0] + 1)  # window end indices
        m_energy = (csum[ends] - csum[ends - self._ticks_m]) / (self._ticks_m * tick_samples)
        s_energy = (csum[ends] - csum[ends - self._ticks_s]) / (self._ticks_s * tick_samples)
        # Differences of cumulative sums can leave -1e-20 where the signal is silent.
        np.maximum(m_energy, 0.0, out=m_energy)
        np.maximum(s_energy, 0.0, out=s_energy)
        st.m_max = max(st.m_max, float(m_energy.max()))
        st.s_max = max(st.s_max, float(s_energy.max()))
        # Series points fall where the global tick count is a multiple of the series step.
        idx = np.arange(st.ticks_done + 1, st.ticks_done + 1 + n_new)
        on_step = (idx % self._series_ticks) == 0
        st.m_series.extend(m_energy[on_step].tolist())
        st.s_series.extend(s_energy[on_step].tolist())
        st.history = work[-(self._ticks_s - 1) :].copy()
        self._block_maxima(st, idx, m_energy, s_energy, partial=partial)
        st.ticks_done += n_new
        if partial:
            return
        pos = 0
        while pos < n_new:
            take = min(self._ticks_100 - st.block_ticks, n_new - pos)
            st.block_acc += float(ticks[pos : pos + take].sum())
            st.block_ticks += take
            pos += take
            if st.block_ticks == self._ticks_100:
                st.blocks.append(st.block_acc)
                st.block_acc, st.block_ticks = 0.0, 0

    def _block_maxima(
        self,
        st: _WindowState,
        ends: np.ndarray,
        m_energy: np.ndarray,
        s_energy: np.ndarray,
        *,
        partial: bool,
    ) -> None:
        """Fold the windows ending at tick indices `ends` (1-based) into per-block maxima."""
        block = (ends - 1) // self._ticks_100
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(block)) + 1])
        m_seg = np.maximum.reduceat(m_energy, cuts)
        s_seg = np.maximum.reduceat(s_energy, cuts)
        last = np.concatenate([cuts[1:], [ends.shape[0]]]) - 1  # last end of each segment
        for k in range(cuts.shape[0]):
            m_open = max(st.m_open_max, float(m_seg[k]))
            s_open = max(st.s_open_max, float(s_seg[k]))
            if not partial and ends[last[k]] % self._ticks_100 == 0:
                st.m_block_max.append(m_open)
                st.s_block_max.append(s_open)
                st.m_block_end.append(float(m_energy[last[k]]))
                st.s_block_end.append(float(s_energy[last[k]]))
                m_open = s_open = 0.0
            st.m_open_max, st.s_open_max = m_open, s_open

    def _feed_true_peak(self, planar: np.ndarray) -> None:
        buf = np.concatenate([self._tp_buf, planar], axis=1) if self._tp_buf.shape[1] else planar
        n_chunks = buf.shape[1] // TRUE_PEAK_CHUNK
        whole = n_chunks * TRUE_PEAK_CHUNK
        if n_chunks:
            body = buf[:, :whole].reshape(self.channels, n_chunks, TRUE_PEAK_CHUNK)
            chunk_peaks = np.maximum(body.max(axis=2), -body.min(axis=2))
            for k in range(n_chunks):
                # A chunk's outputs also reach into the previous chunk's last taps-1 samples:
                # bounding them by that chunk's peak is conservative, so skips stay exact.
                region_peak = np.maximum(chunk_peaks[:, k], self._tp_prev_peak)
                self._true_peak_chunk(body[:, k], self._tp_hist, self._tp_max, region_peak)
                self._tp_prev_peak = chunk_peaks[:, k]
        self._tp_buf = np.array(buf[:, whole:], dtype=np.float64)

    def _phase_spectra(self, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
        """Spectra of the interpolator's even and odd phases for an FFT size (cached).

        Single precision: the peak needs 0.01 dB, float32 gives 1e-6 dB at twice the speed.
        """
        spectra = self._tp_spectra.get(n_fft)
        if spectra is None:
            # Column p of the polyphase matrix is phase p's taps, newest sample last: reversed,
            # it is the impulse response convolved with the input.
            taps = self._tp_poly[::-1].T.astype(np.float32)
            all_phases = sfft.rfft(taps, n=n_fft, axis=-1)
            spectra = (all_phases[0::2].copy(), all_phases[1::2].copy())
            self._tp_spectra[n_fft] = spectra
        return spectra

    def _true_peak_chunk(
        self, chunk: np.ndarray, hist: np.ndarray, tp_max: np.ndarray, region_peak: np.ndarray
    ) -> None:
        """Interpolate one chunk of every channel where it could raise the running maximum.

        Polyphase interpolation by FFT convolution, all phases of a channel in one batched
        transform: it runs single-threaded in pocketfft, where a BLAS product stalls on a busy
        machine. Two exact shortcuts skip work that cannot change the maximum:
        - a channel whose input peak times the filter's largest gain (sum of |taps|) is below
          its running maximum cannot produce a larger output;
        - the even phases are the signal at half the oversampling rate; the interpolated
          signal is band-limited to about fs/2, and a band-limited signal never exceeds the
          maximum of its samples by more than sec(pi * bandwidth / rate) (+0.8 dB here), so
          the odd phases are computed only where the even ones come that close to the maximum.
        """
        taps = self._tp_poly.shape[0]
        region = np.concatenate([hist, chunk], axis=1)
        bound = region_peak * self._tp_gain
        todo = np.flatnonzero(bound > tp_max)
        if todo.size:
            n_fft = sfft.next_fast_len(region.shape[1], real=True)
            even_h, odd_h = self._phase_spectra(n_fft)
            spectrum = sfft.rfft(region[todo].astype(np.float32), n=n_fft, axis=-1)
            stop = region.shape[1]  # outputs before taps-1 need older samples: not valid

            def peaks(h: np.ndarray) -> np.ndarray:
                out = sfft.irfft(spectrum[:, None, :] * h[None], n=n_fft, axis=-1)
                return np.abs(out[:, :, taps - 1 : stop]).reshape(todo.size, -1).max(axis=1)

            even = peaks(even_h).astype(np.float64)
            best = np.maximum(tp_max[todo], even)
            if odd_h.shape[0]:
                near = even * self._tp_between > best
                if near.any():
                    # Odd phases for every channel of the chunk, kept where they can matter.
                    odd = peaks(odd_h).astype(np.float64)
                    best = np.where(near, np.maximum(best, odd), best)
            tp_max[todo] = best
        hist[:] = region[:, -(taps - 1) :]

    # ------------------------------------------------------------------ split QC

    def start_recording(self) -> None:
        """Keep every tick completed from here on and restart the peak maxima (split QC).

        Called on a tick boundary once the filters have settled on a segment's pre-roll: the
        ticks and peaks from here are those of a one-pass meter over the same audio.
        """
        if self._tick_buf.shape[1]:
            raise LoudnessInputError("recording must start on a tick boundary")
        self._recorded = []
        self._rec_from = self._frames
        self._sample_peak[:] = 0.0
        if self._true_peak:
            self._tp_max[:] = 0.0

    def part(self, *, final: bool, lead_ticks: int = 0) -> MeterPart:
        """What this segment hands to the merge; `final` for the file's last segment (its
        true peak rings out past the end, as result() does; elsewhere the next segment's
        pre-roll covers the samples after the cut, so nothing is invented here)."""
        if self._recorded is None:
            raise LoudnessInputError("the meter was not recording (start_recording)")
        if not final and self._tick_buf.shape[1]:
            raise LoudnessInputError("a segment must end on a tick boundary")
        tp = np.zeros(self.channels)
        if self._true_peak:
            tp, hist = self._tp_max.copy(), self._tp_hist.copy()
            tail = self._tp_buf
            if final:
                taps = self._tp_poly.shape[0]
                tail = np.concatenate([tail, np.zeros((self.channels, taps - 1))], axis=1)
            if tail.shape[1]:
                self._true_peak_chunk(tail, hist, tp, np.full(self.channels, np.inf))
        ticks = np.concatenate(self._recorded) if self._recorded else np.zeros(0)
        return MeterPart(
            ticks=ticks,
            tick_tail=self._tick_buf.copy() if final else np.zeros((self.channels, 0)),
            frames=self._frames - self._rec_from - lead_ticks * self._tick,
            sample_peak=self._sample_peak.copy(),
            true_peak=np.maximum(tp, self._sample_peak),
            lead_ticks=lead_ticks,
        )

    def load_parts(self, parts: Sequence[MeterPart]) -> None:
        """Become the meter of the whole file from its segments' parts, in file order (a
        fresh meter only). The ticks go through the same windows, in the same groups, as a
        one-pass meter's: result() then reads what a one-pass meter would."""
        if self._frames or self._pending_count or self._win.ticks_done:
            raise LoudnessInputError("load_parts needs a fresh meter")
        kept = []
        for k, part in enumerate(parts):
            lead = part.lead_ticks
            if lead and k:
                _same_ticks(parts[k - 1].ticks[-lead:], part.ticks[:lead], k)
            kept.append(part.ticks[lead:])
            self._frames += part.frames
            np.maximum(self._sample_peak, part.sample_peak, out=self._sample_peak)
            if self._true_peak:
                np.maximum(self._tp_max, part.true_peak, out=self._tp_max)
        self._run_groups(np.concatenate(kept) if kept else np.zeros(0))
        if parts:
            self._tick_buf = np.array(parts[-1].tick_tail, dtype=np.float64)

    # ------------------------------------------------------------------ results

    def result(self, start_s: float | None = None, end_s: float | None = None) -> LoudnessResult:
        """Measurements so far, over [start_s, end_s] (default: the whole file).

        The meter is not changed: more audio may follow. A window is measured on whole 100 ms
        gating blocks: its start is rounded up and its end down to the block grid (an end at
        or past the end of the audio keeps the last, partial block), so no audio from before
        `start_s` (a line-up tone) enters integrated loudness, LRA or the maxima. The window
        actually measured is recorded in the result. Integrated loudness and LRA equal those
        of a meter fed only the window's audio (to within the K-filter's memory of the audio
        before it, far below 0.1 LU); the maxima take every fine-grid window lying inside it,
        which is what such a meter reads. True peak, sample peak and the series stay whole-file.
        """
        duration = self._frames / self.sample_rate
        if (start_s is not None and not (start_s >= 0 and math.isfinite(start_s))) or (
            end_s is not None and not (end_s >= 0 and math.isfinite(end_s))
        ):
            raise LoudnessInputError(f"invalid loudness window {start_s}..{end_s} s")
        if start_s is not None and end_s is not None and end_s < start_s:
            raise LoudnessInputError(
                f"loudness window ends ({end_s} s) before it starts ({start_s} s)"
            )
        # Finish the pending ticks and the incomplete last tick on a copy of the state.
        st = self._win.copy()
        if self._pending_ticks:
            self._process_ticks(st, np.concatenate(self._pending_ticks), partial=False)
        tail_energy = st.block_acc  # weighted energy after the last whole block
        if self._tick_buf.shape[1]:
            last = self._weights @ np.square(self._tick_buf).sum(axis=1)
            self._process_ticks(st, np.array([last]), partial=True)
            tail_energy += float(last)
        # A point of the partial tick may fall beyond the programme's end: drop it.
        n_points = int(math.floor(duration / self.series_step_s + 1e-9))
        m_series, s_series = st.m_series[:n_points], st.s_series[:n_points]

        whole = (start_s is None or start_s <= 0) and (end_s is None or end_s >= duration)
        if whole:
            m_max, s_max = st.m_max, st.s_max
            blocks = st.blocks
            window = (0.0, duration)
        else:
            blocks, m_max, s_max, window = self._window(st, start_s, end_s, duration, tail_energy)

        integrated, lra = self._gated(np.asarray(blocks, dtype=np.float64))

        tp_channels: list[float | None] = []
        if self._true_peak:
            tp = self._tp_max.copy()
            hist = self._tp_hist.copy()
            taps = self._tp_poly.shape[0]
            # The partial chunk, then zeros so the filter rings out the programme's last samples.
            tail = np.concatenate([self._tp_buf, np.zeros((self.channels, taps - 1))], axis=1)
            self._true_peak_chunk(tail, hist, tp, np.full(self.channels, np.inf))
            # The interpolator's pass-through phase makes true peak >= sample peak already;
            # the max() guards the chunks skipped by the bound against rounding.
            tp = np.maximum(tp, self._sample_peak)
            tp_channels = [_db(float(v)) for v in tp]
        tp_values = [v for v in tp_channels if v is not None]
        sample_peak = float(self._sample_peak.max()) if self._frames else 0.0

        return LoudnessResult(
            integrated_lufs=_round(integrated),
            lra_lu=_round(lra),
            true_peak_dbtp=_round(max(tp_values)) if tp_values else None,
            true_peak_per_channel_dbtp=[_round(v) for v in tp_channels],
            sample_peak_dbfs=_round(_db(sample_peak)),
            momentary_max_lufs=_round(_lufs(m_max)) if self._frames else None,
            short_term_max_lufs=_round(_lufs(s_max)) if self._frames else None,
            momentary_series=[_round(_lufs(e), 2) for e in m_series],
            short_term_series=[_round(_lufs(e), 2) for e in s_series],
            series_step_s=self.series_step_s,
            duration_s=duration,
            window_start_s=round(window[0], 6),
            window_end_s=round(window[1], 6),
        )

    def _window(
        self,
        st: _WindowState,
        start_s: float | None,
        end_s: float | None,
        duration: float,
        tail_energy: float,
    ) -> tuple[list[float], float, float, tuple[float, float]]:
        """Gating blocks, momentary and short-term maximum energies of a window of the file.

        A window of blocks [a, b) holds the fine-grid windows ending from a + 4 blocks
        (momentary; a + 30 for short-term) to its end: those read the same on a meter fed only
        the window's audio, and they dominate that meter's first readings, whose audio is a
        subset of theirs padded with silence. A window shorter than 400 ms (3 s) has one
        reading on such a meter: all its energy over 400 ms (3 s).
        """
        block_s = self._n100 / self.sample_rate
        n_blocks = len(st.blocks)
        a = math.ceil((start_s or 0.0) / block_s - 1e-9)
        to_end = end_s is None or end_s >= duration
        b = n_blocks if to_end else min(n_blocks, math.floor(end_s / block_s + 1e-9))
        if a >= n_blocks or (b <= a and not to_end):
            # Nothing whole inside the window: nothing to gate, no reading.
            at = min(a * block_s, duration)
            return [], 0.0, 0.0, (at, max(at, duration if to_end else b * block_s))
        blocks = st.blocks[a:b]
        tail = tail_energy if to_end else 0.0
        maxima = []
        for size, block_max, block_end, open_max in (
            (4, st.m_block_max, st.m_block_end, st.m_open_max),
            (30, st.s_block_max, st.s_block_end, st.s_open_max),
        ):
            if b - a >= size:
                first = a + size - 1  # the block whose last window is the first inside
                best = max(block_end[first], max(block_max[first + 1 : b], default=0.0))
                if to_end:
                    best = max(best, open_max)
            else:
                # Shorter than the meter's window: its one reading holds all the energy.
                best = (sum(blocks) + tail) / (size * self._n100)
            maxima.append(best)
        end = duration if to_end else b * block_s
        return blocks, maxima[0], maxima[1], (a * block_s, end)

    def _gated(self, blocks_100: np.ndarray) -> tuple[float | None, float | None]:
        """Integrated loudness (BS.1770 gating) and loudness range (Tech 3342)."""
        n100 = self._n100
        integrated: float | None = None
        if blocks_100.shape[0] >= 4:
            # 400 ms gating blocks with 75 % overlap: every run of four 100 ms blocks.
            z = np.convolve(blocks_100, np.ones(4), mode="valid") / (4 * n100)
            integrated = _gate(z, RELATIVE_GATE_LU, mean_of_gated=True)
        lra: float | None = None
        if blocks_100.shape[0] >= 30:
            s = np.convolve(blocks_100, np.ones(30), mode="valid") / (30 * n100)
            lra = _loudness_range(s)
        return integrated, lra


def _same_ticks(before: np.ndarray, after: np.ndarray, k: int) -> None:
    """The overlap of two segments must read the same: else their audio is not aligned."""
    scale = max(float(np.abs(before).max(initial=0.0)), 1e-12)
    if before.shape != after.shape or float(np.abs(before - after).max(initial=0.0)) > 1e-6 * scale:
        raise LoudnessInputError(
            f"split QC: segment {k + 1}'s audio does not line up with segment {k}'s "
            "(their overlap differs); the file's audio timestamps are not sample-exact",
            hint="QC this file in one pass (without split)",
        )


def _gate(z: np.ndarray, relative_lu: float, *, mean_of_gated: bool) -> float | None:
    """BS.1770 two-stage gating of block energies; the loudness of what passes."""
    with np.errstate(divide="ignore"):
        loud = LOUDNESS_OFFSET + 10.0 * np.log10(z)
    above_abs = z[loud > ABSOLUTE_GATE_LUFS]
    if above_abs.shape[0] == 0:
        return None
    threshold = LOUDNESS_OFFSET + 10.0 * math.log10(float(above_abs.mean())) + relative_lu
    passed = z[(loud > ABSOLUTE_GATE_LUFS) & (loud > threshold)]
    if passed.shape[0] == 0:
        return None
    return _lufs(float(passed.mean()))


def _loudness_range(s: np.ndarray) -> float | None:
    """Tech 3342 LRA from short-term energies sampled every 100 ms."""
    with np.errstate(divide="ignore"):
        loud = LOUDNESS_OFFSET + 10.0 * np.log10(s)
    abs_gated = s[loud > ABSOLUTE_GATE_LUFS]
    if abs_gated.shape[0] == 0:
        return None
    threshold = LOUDNESS_OFFSET + 10.0 * math.log10(float(abs_gated.mean())) + LRA_RELATIVE_GATE_LU
    kept = np.sort(loud[(loud > ABSOLUTE_GATE_LUFS) & (loud > threshold)])
    n = kept.shape[0]
    if n == 0:
        return None
    # Tech 3342's reference: the values at ranks round((n-1) p) of the sorted distribution.
    low = kept[int(round((n - 1) * LRA_LOW_PERCENTILE))]
    high = kept[int(round((n - 1) * LRA_HIGH_PERCENTILE))]
    return float(high - low)


def _round(value: float | None, digits: int = 4) -> float | None:
    """Readings rounded far below the meters' 0.1 LU resolution, for stable JSON."""
    return None if value is None else round(value, digits)


def measure(
    samples: np.ndarray, sample_rate: int, weights: Sequence[float] | None = None
) -> LoudnessResult:
    """One-shot helper over LoudnessMeter: weights default to the channel count's layout."""
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    if weights is None:
        weights = weights_for_layout("auto", x.shape[1] if x.ndim == 2 else 0)
    meter = LoudnessMeter(sample_rate, weights)
    meter.add(x)
    return meter.result()
