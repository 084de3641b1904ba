"""Picture checks: black, freeze (and still cards), EBU R103 levels/gamut, flashes and regular
patterns (PSE: an open approximation, not a Harding-certified test), interlace.

`PictureAnalysis` is fed the reduced frames of the one decode pass and keeps a few numbers per
frame (a 1-hour programme at 25 fps is 90 000 rows: small). The checks below turn those series
into findings with the profile's limits.

Working on the reduced (area-averaged, ~480 px wide) picture is deliberate: black, freeze and
flash areas are fractions of the screen and do not change; for levels the averaging acts as the
low-pass filter EBU R103 asks for before counting pixels, but it also hides isolated
single-pixel excursions, which the 1 % rule ignores anyway.

Flash resolution. The flash rule is an area rule (transitions over more than a quarter of the
screen), measured on every second pixel of the reduced picture: 240 × 135 samples of 8 × 8
source pixels each (HD), each an area average, so a flashing region's measured share is off by
at most one sample row or column along each edge (0.4-0.7 % of the screen for a region near
25 %), far inside the margin between a 23 % and a 27 % region (tests/test_qc_pse.py). A finer
grid would not change a decision near the 25 % limit by more than that edge term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.profiles import PictureSpec, Profile
from pipeline.qc.decode import StreamLayout
from pipeline.qc.findings import Finding, Severity
from pipeline.qc.pse import (
    NOT_CERTIFIED,
    PATTERN_EVERY_S,
    PatternDetector,
    PatternSample,
    extended_sequences,
    pattern_spans,
)
from pipeline.qc.registry import Measured, qc_check

# A frame is black only if its dark pixels sit within this fraction of the nominal range above
# black (1.5 % ≈ 3 codes in 8 bit). The profile's luma_threshold (ffmpeg blackdetect's
# pixel rule, 10 % by default) alone would call a night scene at luma 18-25 black.
NEAR_BLACK = 0.015
# A static run entered through a change this large (mean |ΔY| over the picture) starts at a
# cut: a still card or graphic, not a frozen moving picture.
CUT_DIFF = 0.06
# BT.1702 / Ofcom: a display of 200 cd/m²; a transition is a change of ≥ 20 cd/m² where the
# darker state is below 160 cd/m².
DISPLAY_CD_M2 = 200.0
FLASH_DELTA_CD_M2 = 20.0
FLASH_DARK_BELOW_CD_M2 = 160.0
RED_DELTA = 20.0  # W3C/Ofcom red transition: change of (R-G-B)*320 above 20
MAX_THUMBNAILS = 300
MAX_SEGMENT_FINDINGS = 20  # per check; beyond, one summary finding says how many more


def _sev(value: str) -> Severity:
    return Severity(value)


@dataclass
class Segment:
    start: int  # first frame
    end: int  # one past the last frame

    def seconds(self, fps: float) -> tuple[float, float]:
        return round(self.start / fps, 3), round(self.end / fps, 3)


def runs(mask: np.ndarray) -> list[Segment]:
    """Runs of True in a boolean array as half-open frame ranges."""
    if mask.size == 0:
        return []
    m = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [Segment(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass
class PictureAnalysis:
    """Per-frame picture measurements from the reduced frames of the decode pass."""

    layout: StreamLayout
    spec: PictureSpec
    fps: float
    black_frac: list[float] = field(default_factory=list)
    dark_level: list[float] = field(default_factory=list)  # NaN unless nearly all pixels dark
    mean_luma: list[float] = field(default_factory=list)  # 0..1 of nominal range
    diff: list[float] = field(default_factory=list)  # mean |ΔY| / code range, vs previous frame
    luma_oor: list[float] = field(default_factory=list)  # fraction of pixels outside R103 luma
    rgb_oor: list[float] = field(default_factory=list)  # fraction outside R103 RGB gamut
    rgb_oor_alt: list[float] = field(default_factory=list)  # same with the other matrix, sparse
    flash_dir: list[int] = field(default_factory=list)  # +1 up, -1 down, 0 none (luminance)
    red_dir: list[int] = field(default_factory=list)  # same for saturated red
    flash_area: list[float] = field(default_factory=list)
    patterns: list[PatternSample] = field(default_factory=list)  # see _feed_pattern
    thumbnails: dict[int, np.ndarray] = field(default_factory=dict)  # frame -> RGB uint8
    # Frames before the programme start by timecode (set by pipeline.qc.run): line-up, measured
    # by pipeline.qc.lineup, never judged as programme (a moving countdown clock included).
    lineup_frames: int = 0

    def __post_init__(self) -> None:
        depth = self.layout.bit_depth
        scale = float(1 << (depth - 8))
        self.code_max = float((1 << depth) - 1)
        if self.layout.full_range:
            self.black, self.range_y = 0.0, self.code_max
            self.mid, self.range_c = float(1 << (depth - 1)), self.code_max
        else:
            self.black, self.range_y = 16.0 * scale, 219.0 * scale
            self.mid, self.range_c = 128.0 * scale, 224.0 * scale
        # Thresholds as integer code values: comparing integer pixels with a Python float
        # would convert every pixel to float64 first (NumPy 2 casting), three times a frame.
        self.black_code = math.floor(self.black + self.spec.black.luma_threshold * self.range_y)
        lv = self.spec.levels
        # R103 luma limits: a pixel is out when strictly beyond them.
        self.luma_lo = math.ceil(self.black + lv.luma_min_percent / 100 * self.range_y)
        self.luma_hi = math.floor(self.black + lv.luma_max_percent / 100 * self.range_y)
        self.noise = 10 ** (self.spec.freeze.noise_db / 20.0)
        # The stream's matrix when tagged; untagged SD is BT.601, everything else BT.709.
        # The other one is tried on a sparse grid to explain a gamut failure by a mislabel.
        sd = (self.layout.height or 1080) < 720
        bt601, bt709 = (1.402, 0.344136, 0.714136, 1.772), (1.5748, 0.187324, 0.468124, 1.8556)
        if self.layout.matrix == "bt601" or (self.layout.matrix is None and sd):
            self.matrix, self.alt_matrix = bt601, bt709
            self.matrix_name, self.alt_matrix_name = "BT.601", "BT.709"
        else:
            self.matrix, self.alt_matrix = bt709, bt601
            self.matrix_name, self.alt_matrix_name = "BT.709", "BT.601"
        codes = np.arange(int(self.code_max) + 1, dtype=np.float64)
        yn = np.clip((codes - self.black) / self.range_y, 0.0, 1.0)
        # Relative luminance on the reference display, from luma with a 2.2 display gamma:
        # a look-up table keeps the per-frame cost at one gather.
        self.lum_lut = (DISPLAY_CD_M2 * yn**2.2).astype(np.float32)
        self._prev_y: np.ndarray | None = None
        self._prev_lum: np.ndarray | None = None
        self._prev_red: np.ndarray | None = None
        self._state: tuple[bool, bool, bool, int] = (False, False, False, 0)
        # Pattern samples: the grid frames, and halfway frames next to a hazardous grid frame.
        # pattern_step is the longest gap between two consecutive samples of a pattern span.
        self.pattern_grid = max(1, round(self.fps * PATTERN_EVERY_S))
        self.pattern_step = self.pattern_grid - self.pattern_grid // 2
        self._patterns: PatternDetector | None = None
        self._held: tuple[int, np.ndarray] | None = None  # the last halfway frame not measured

    # --- per frame ---------------------------------------------------------------------------

    def _buffers(self, shape: tuple[int, int]) -> None:
        """Output arrays reused frame after frame: fresh ~0.5 MB temporaries cost page faults
        (NumPy returns them to the OS), which used to be most of a frame's time."""
        h, w = shape
        self._shape = shape
        self._flip = 0
        self._rgb = np.empty((3, h, w), dtype=np.float32)  # R', G', B' (normalised)
        self._ext = np.empty((2, h, w), dtype=np.float32)  # per-pixel min and max of R'G'B'
        self._mask = np.empty((h, w), dtype=np.uint8)
        self._mask2 = np.empty((h, w), dtype=np.uint8)
        self._dark = np.empty((h, w), dtype=bool)
        h2, w2 = (h + 1) // 2, (w + 1) // 2
        self._y2 = [np.empty((h2, w2), dtype=np.uint16) for _ in range(2)]  # this and last
        self._y2_diff = np.empty((h2, w2), dtype=np.uint16)
        self._lum = [np.empty((h2, w2), dtype=np.float32) for _ in range(2)]
        # Every pixel's R'G'B' as one weighted sum of its integer codes (cv2.addWeighted,
        # SIMD, no intermediate arrays): X = a·Y + b·C + c. G' needs three codes: it is
        # taken from R' (which holds Cr) as G' = (1 + k)·Y' − kgb·Cb' − k·R' with
        # k = kgr / kr. The float32 rounding differs from the straightforward formula by a
        # few ULPs; tests/test_qc_speed_equivalence.py checks the counts agree.
        kr, kgb, kgr, kb = self.matrix
        ay, cy = 1.0 / self.range_y, -self.black / self.range_y
        ac, mid = 1.0 / self.range_c, self.mid
        k = kgr / kr
        self._r_coef = (ay, kr * ac, cy - kr * ac * mid)
        self._b_coef = (ay, kb * ac, cy - kb * ac * mid)
        self._g_coef = (ay * (1 + k), -kgb * ac, cy * (1 + k) + kgb * ac * mid)
        self._g_from_r = -k
        lv = self.spec.levels
        # the reference compares float32 pixels with the limits rounded to float32
        self._rgb_lo = float(np.float32(lv.rgb_min_percent / 100))
        self._rgb_hi = float(np.float32(lv.rgb_max_percent / 100))
        # cv2.threshold keeps values > t: "x < lo" is "not x > the float32 just below lo"
        self._rgb_lo_below = float(np.nextafter(np.float32(self._rgb_lo), np.float32(-np.inf)))

    def _rgb_full(self, planes: np.ndarray) -> tuple[np.ndarray, ...]:
        """Normalised Y', Cb', Cr', R', G', B' of the whole frame, the plain way (thumbnails)."""
        kr, kgb, kgr, kb = self.matrix
        yn = (planes[0].astype(np.float32) - self.black) * (1.0 / self.range_y)
        cb = (planes[1].astype(np.float32) - self.mid) * (1.0 / self.range_c)
        cr = (planes[2].astype(np.float32) - self.mid) * (1.0 / self.range_c)
        return yn, cb, cr, yn + kr * cr, yn - kgb * cb - kgr * cr, yn + kb * cb

    def _gamut_out(self, y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> int:
        """Pixels with any of R', G', B' outside the R103 limits."""
        r, g, b = self._rgb
        f32 = cv2.CV_32F
        a, c, o = self._r_coef
        cv2.addWeighted(y, a, cr, c, o, dst=r, dtype=f32)
        a, c, o = self._b_coef
        cv2.addWeighted(y, a, cb, c, o, dst=b, dtype=f32)
        a, c, o = self._g_coef
        cv2.addWeighted(y, a, cb, c, o, dst=g, dtype=f32)
        cv2.scaleAdd(r, self._g_from_r, g, dst=g)
        low, high = self._ext
        cv2.min(r, g, dst=low)
        cv2.min(low, b, dst=low)
        cv2.max(r, g, dst=high)
        cv2.max(high, b, dst=high)
        lo, hi = self._rgb_lo, self._rgb_hi
        low_min = cv2.minMaxLoc(low)[0]
        high_max = cv2.minMaxLoc(high)[1]
        if low_min >= lo and high_max <= hi:
            return 0  # the usual legal frame: no per-pixel count needed
        # 255 where low < lo, 255 where high > hi; a pixel is out when either is set.
        cv2.threshold(low, self._rgb_lo_below, 255, cv2.THRESH_BINARY_INV, dst=low)
        cv2.threshold(high, hi, 255, cv2.THRESH_BINARY, dst=high)
        cv2.max(low, high, dst=low)
        return cv2.countNonZero(low)

    def feed(self, index: int, planes: np.ndarray) -> None:
        """Measure one reduced frame (planes Y, Cb, Cr at the source bit depth)."""
        y = planes[0]
        if getattr(self, "_shape", None) != y.shape:
            self._buffers(y.shape)
        is_black = self._measure_black(y)
        cur = self._measure_motion(y)
        ys, cbs, crs = self._measure_levels(y, planes)
        fdir = self._measure_flashes(cur)
        rdir = self._measure_red(index, ys, cbs, crs)
        if self.spec.flashes.enabled:
            self._feed_pattern(index, planes)
        self._note_thumbnail(index, planes, is_black, fdir or rdir)

    def _feed_pattern(self, index: int, planes: np.ndarray) -> None:
        """Pattern samples: every frame on the pattern grid, and the frame halfway between two
        grid frames where either of them shows a hazardous pattern.

        This finds every span the analysis of all the halfway frames finds, at about half the
        cost: a span needs hazardous samples lasting PATTERN_MIN_DURATION_S (> 0), so at least
        two consecutive ones, and two consecutive samples always include a grid frame; the
        halfway frame after a hazardous grid frame is measured as it comes, the one before it
        is kept (a copy of its planes) until the grid frame decides. Which frames are measured
        depends only on frames of the grid interval around them, so a split QC whose decode
        starts on the grid measures the same frames (pipeline/qc/split.py)."""
        phase = index % self.pattern_grid
        if phase == 0:
            held, self._held = self._held, None
            sample = self._pattern_sample(index, planes)
            if sample.hazardous and held is not None and held[0] == index - self.pattern_step:
                self._add_pattern(self._pattern_sample(*held), held[1])
            self._add_pattern(sample, planes)
        elif phase == self.pattern_grid // 2:
            last = self.patterns[-1] if self.patterns else None
            if last is not None and last.hazardous and last.frame == index - phase:
                self._add_pattern(self._pattern_sample(index, planes), planes)
            else:
                self._held = (index, planes.copy())  # the planes may live in a reused buffer

    def _pattern_sample(self, index: int, planes: np.ndarray) -> PatternSample:
        """Regular patterns (stripes, gratings) on the whole reduced picture, in cd/m²."""
        y = planes[0]
        if self._patterns is None or self._patterns.shape != y.shape:
            self._patterns = PatternDetector(y.shape)
        return self._patterns.measure(index, np.take(self.lum_lut, y))

    def _add_pattern(self, sample: PatternSample, planes: np.ndarray) -> None:
        starts = sample.hazardous and not (self.patterns and self.patterns[-1].hazardous)
        if starts and len(self.thumbnails) < MAX_THUMBNAILS:
            yn, _, _, r, g, b = self._rgb_full(planes)
            self.thumbnails[sample.frame] = _thumb(yn, r, g, b)
        self.patterns.append(sample)

    def _measure_black(self, y: np.ndarray) -> bool:
        """Black-pixel share and how dark the dark part is; True for a black frame."""
        np.less_equal(y, self.black_code, out=self._dark)
        black_frac = np.count_nonzero(self._dark) / y.size
        dark = math.nan
        if black_frac >= self.spec.black.picture_ratio:
            dark = float(y[self._dark].mean() - self.black) / self.range_y
        self.black_frac.append(black_frac)
        self.dark_level.append(dark)
        return black_frac >= self.spec.black.picture_ratio and dark <= NEAR_BLACK

    def _measure_motion(self, y: np.ndarray) -> int:
        """Mean luma and the change from the previous frame; returns this frame's buffer."""
        # Freeze and flash statistics are means and area fractions: every second pixel of the
        # reduced picture estimates them as well as all of them, at a quarter of the cost.
        # Sums of integer codes are exact in float64, so these equal NumPy's means.
        cur = self._flip = self._flip ^ 1  # which of the two buffers is this frame's
        y2, prev_y2 = self._y2[cur], self._y2[cur ^ 1]
        np.copyto(y2, y[::2, ::2], casting="unsafe")
        m = y2.size
        self.mean_luma.append((cv2.sumElems(y2)[0] / m - self.black) / self.range_y)
        if self._prev_y is None:
            self.diff.append(1.0)  # the first frame is a change from nothing
        else:
            cv2.absdiff(y2, prev_y2, dst=self._y2_diff)
            self.diff.append(cv2.sumElems(self._y2_diff)[0] / m / self.code_max)
        self._prev_y = y2
        return cur

    def _measure_levels(
        self, y: np.ndarray, planes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Levels and gamut (R103): luma −1..103 %, R'G'B' −5..105 % by default.

        Returns the sampled normalised Y, Cb, Cr grid the red-flash test reuses.
        """
        lv = self.spec.levels
        n = y.size
        inside = cv2.countNonZero(cv2.inRange(y, self.luma_lo, self.luma_hi, dst=self._mask))
        self.luma_oor.append((n - inside) / n)
        self.rgb_oor.append(self._gamut_out(y, planes[1], planes[2]) / n)
        # The other matrix, and saturated red, on every fourth pixel each way (~8 000 samples:
        # enough for an area fraction against 1 % or 25 %); written exactly as the plain
        # full-frame formulas, sampled.
        grid = planes[:, ::4, ::4]
        ys = (grid[0].astype(np.float32) - self.black) * (1.0 / self.range_y)
        cbs = (grid[1].astype(np.float32) - self.mid) * (1.0 / self.range_c)
        crs = (grid[2].astype(np.float32) - self.mid) * (1.0 / self.range_c)
        lo, hi = lv.rgb_min_percent / 100, lv.rgb_max_percent / 100
        ar, agb, agr, ab = self.alt_matrix
        r2, g2 = ys + ar * crs, ys - agb * cbs - agr * crs
        b2 = ys + ab * cbs
        low2 = np.minimum(np.minimum(r2, g2), b2)
        high2 = np.maximum(np.maximum(r2, g2), b2)
        self.rgb_oor_alt.append(np.count_nonzero((low2 < lo) | (high2 > hi)) / low2.size)
        return ys, cbs, crs

    def _measure_flashes(self, cur: int) -> int:
        """Flashes: luminance transitions over the screen area; returns the direction."""
        lum = self._lum[cur]
        np.take(self.lum_lut, self._y2[cur], out=lum)
        fdir, area = 0, 0.0
        if self._prev_lum is not None:
            delta = lum - self._prev_lum
            darker_ok = np.minimum(lum, self._prev_lum) < FLASH_DARK_BELOW_CD_M2
            up = np.count_nonzero((delta >= FLASH_DELTA_CD_M2) & darker_ok) / lum.size
            down = np.count_nonzero((delta <= -FLASH_DELTA_CD_M2) & darker_ok) / lum.size
            area = max(up, down)
            if area >= self.spec.flashes.min_area_ratio:
                fdir = 1 if up >= down else -1
        self._prev_lum = lum
        self.flash_dir.append(fdir)
        self.flash_area.append(area)
        return fdir

    def _measure_red(self, index: int, ys: np.ndarray, cbs: np.ndarray, crs: np.ndarray) -> int:
        """Saturated-red transitions (BT.1702); returns the direction."""
        rdir = 0
        if self.spec.flashes.red_flashes:
            # Saturated red needs a strongly positive Cr: without enough such pixels in this
            # frame and the previous one, no red transition can cover the area (cheap skip).
            reddish = np.count_nonzero(crs > 0.2) / crs.size
            red = None
            if reddish >= self.spec.flashes.min_area_ratio * 0.5 or self._prev_red is not None:
                kr, kgb, kgr, kb = self.matrix
                rl = np.clip(ys + kr * crs, 0, 1) ** 2.2
                gl = np.clip(ys - kgb * cbs - kgr * crs, 0, 1) ** 2.2
                bl = np.clip(ys + kb * cbs, 0, 1) ** 2.2
                total = rl + gl + bl
                saturated = (rl >= 0.8 * total) & (total > 0)
                red = np.where(saturated, np.maximum(rl - gl - bl, 0) * 320.0, 0.0)
                prev = self._prev_red if self._prev_red is not None else np.zeros_like(red)
                rdelta = red - prev
                mr = rdelta.size
                rup = np.count_nonzero(rdelta > RED_DELTA) / mr
                rdown = np.count_nonzero(rdelta < -RED_DELTA) / mr
                if max(rup, rdown) >= self.spec.flashes.min_area_ratio and index > 0:
                    rdir = 1 if rup >= rdown else -1
                if reddish < self.spec.flashes.min_area_ratio * 0.5:
                    red = None  # back to no red: the next frame compares against zeros
            self._prev_red = red
        self.red_dir.append(rdir)
        return rdir

    def _note_thumbnail(self, index: int, planes: np.ndarray, is_black: bool, flash: int) -> None:
        """Thumbnails where something starts: the report shows one at each picture finding."""
        static = self.diff[-1] < self.noise
        bad_levels = (
            max(self.luma_oor[-1], self.rgb_oor[-1]) * 100
            > self.spec.levels.max_out_of_range_pixels_percent
        )
        state = (is_black, static, bad_levels, flash)
        if state != self._state or index == 0:
            prev_state = self._state
            starts = (
                index == 0
                or is_black != prev_state[0]
                or (static and not prev_state[1])
                or (bad_levels and not prev_state[2])
                or (state[3] != 0 and prev_state[3] == 0)
            )
            if starts and len(self.thumbnails) < MAX_THUMBNAILS:
                yn, _, _, r, g, b = self._rgb_full(planes)
                self.thumbnails[index] = _thumb(yn, r, g, b)
            self._state = state

    # --- derived series ------------------------------------------------------------------------

    @property
    def frames(self) -> int:
        return len(self.black_frac)

    def black_mask(self) -> np.ndarray:
        frac = np.asarray(self.black_frac)
        dark = np.nan_to_num(np.asarray(self.dark_level), nan=1.0)
        return (frac >= self.spec.black.picture_ratio) & (dark <= NEAR_BLACK)

    def thumbnail_near(self, frame: int, end: int | None = None) -> int | None:
        """The captured thumbnail closest to `frame`, within [frame, end) when given."""
        if not self.thumbnails:
            return None
        keys = np.fromiter(self.thumbnails.keys(), dtype=np.int64)
        if end is not None:
            inside = keys[(keys >= frame) & (keys < max(end, frame + 1))]
            if inside.size:
                return int(inside.min())
        return int(keys[np.argmin(np.abs(keys - frame))])


def _thumb(yn: np.ndarray, r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    step = max(1, yn.shape[1] // 240)
    rgb = np.stack([r[::step, ::step], g[::step, ::step], b[::step, ::step]], axis=-1)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


# --- checks --------------------------------------------------------------------------------------


def _seg_finding(
    check: str,
    sev: Severity,
    message: str,
    seg: Segment,
    fps: float,
    pa: PictureAnalysis,
    value: object = None,
    limit: object = None,
) -> Finding:
    start, end = seg.seconds(fps)
    thumb = pa.thumbnail_near(seg.start, seg.end)
    return Finding(
        check=check,
        severity=sev,
        message=message,
        start_s=start,
        end_s=end,
        value=value,
        limit=limit,
        thumbnail=f"frame:{thumb}" if thumb is not None else None,
    )


def _cap(findings: list[Finding], check: str) -> list[Finding]:
    if len(findings) <= MAX_SEGMENT_FINDINGS:
        return findings
    extra = len(findings) - MAX_SEGMENT_FINDINGS
    kept = findings[:MAX_SEGMENT_FINDINGS]
    kept.append(
        Finding(
            check=check,
            severity=kept[-1].severity,
            message=f"{extra} more {check} findings not listed (see measurements)",
            value=extra,
        )
    )
    return kept


def still_runs(pa: PictureAnalysis) -> tuple[list[Segment], list[Segment]]:
    """Static runs ≥ the freeze minimum, split into still cards (entered at a cut or at the
    start of the file) and freezes (a moving picture that stops). Black runs are left out."""
    spec = pa.spec.freeze
    diff = np.asarray(pa.diff)
    static = diff < pa.noise
    black = pa.black_mask()
    min_frames = max(1, round(spec.min_duration_s * pa.fps))
    stills, freezes = [], []
    for seg in runs(static):
        # the static picture begins one frame before the first frame equal to its predecessor
        s = Segment(max(seg.start - 1, 0), seg.end)
        if s.end - s.start < min_frames:
            continue
        if black[s.start : s.end].mean() > 0.5:
            continue  # black is the black check's business
        entry = diff[s.start] if s.start > 0 else 1.0
        (stills if entry >= CUT_DIFF else freezes).append(s)
    return stills, freezes


def programme_bounds(pa: PictureAnalysis) -> tuple[int, int]:
    """First and one-past-last frame of programme: not black and not a still card run from
    the head (bars, slate, countdown) or to the tail."""
    n = pa.frames
    filler = pa.black_mask().copy()
    filler[: pa.lineup_frames] = True
    stills, _ = still_runs(pa)
    for s in stills:
        filler[s.start : s.end] = True
    content = np.flatnonzero(~filler)
    if content.size == 0:
        return n, n
    return int(content[0]), int(content[-1]) + 1


@qc_check("black", domain="picture", enabled=lambda p: p.picture.black.enabled)
def check_black(m: Measured, profile: Profile) -> list[Finding]:
    """Black at the head (before programme), tail (after) and unexpected mid-programme black."""
    pa = m.picture
    assert pa is not None
    spec = profile.picture.black
    fps = pa.fps
    mask = pa.black_mask()
    first, last = programme_bounds(pa)
    min_frames = max(1, round(spec.min_duration_s * fps))
    # line-up black is pipeline.qc.lineup's; a run across the programme start counts from it
    lu = pa.lineup_frames
    segs = [Segment(max(s.start, lu), s.end) for s in runs(mask) if s.end > lu]
    segs = [s for s in segs if s.end - s.start >= min_frames]
    m.measurements["black"] = [
        {
            "start_s": s.seconds(fps)[0],
            "end_s": s.seconds(fps)[1],
            "duration_s": round((s.end - s.start) / fps, 3),
            "where": "head" if s.end <= first else "tail" if s.start >= last else "programme",
        }
        for s in segs
    ]
    sev = _sev(spec.severity)
    out: list[Finding] = []
    for s in segs:
        dur = (s.end - s.start) / fps
        if s.end <= first:
            if dur > spec.head_allowed_s + 1.5 / fps:  # fade edges: ± one frame
                out.append(
                    _seg_finding(
                        "black.head",
                        sev,
                        f"{dur:.2f} s of black before the programme; {spec.head_allowed_s:g} s "
                        "allowed",
                        s,
                        fps,
                        pa,
                        round(dur, 3),
                        spec.head_allowed_s,
                    )
                )
        elif s.start >= last:
            if dur > spec.tail_allowed_s + 1.5 / fps:
                out.append(
                    _seg_finding(
                        "black.tail",
                        sev,
                        f"{dur:.2f} s of black after the programme; {spec.tail_allowed_s:g} s "
                        "allowed",
                        s,
                        fps,
                        pa,
                        round(dur, 3),
                        spec.tail_allowed_s,
                    )
                )
        else:
            out.append(
                _seg_finding(
                    "black",
                    sev,
                    f"{dur:.2f} s of black inside the programme",
                    s,
                    fps,
                    pa,
                    round(dur, 3),
                    spec.min_duration_s,
                )
            )
    if pa.frames and mask.all():
        out.append(
            Finding(
                check="black",
                severity=Severity.ERROR,
                message="the whole picture is black",
                start_s=0.0,
                end_s=round(pa.frames / fps, 3),
            )
        )
    return _cap(out, "black")


@qc_check("freeze", domain="picture", enabled=lambda p: p.picture.freeze.enabled)
def check_freeze(m: Measured, profile: Profile) -> list[Finding]:
    """A moving picture that stops for ≥ min_duration (still cards are reported as info)."""
    pa = m.picture
    assert pa is not None
    spec = profile.picture.freeze
    fps = pa.fps
    stills, freezes = still_runs(pa)
    m.measurements["freeze"] = [
        {"start_s": s.seconds(fps)[0], "end_s": s.seconds(fps)[1], "kind": "freeze"}
        for s in freezes
    ]
    m.measurements["still"] = [
        {"start_s": s.seconds(fps)[0], "end_s": s.seconds(fps)[1], "kind": "still"} for s in stills
    ]
    out = []
    for s in freezes:
        if s.end <= pa.lineup_frames:
            continue  # a held frame of the line-up (clock, slate) is not a programme freeze
        dur = (s.end - s.start) / fps
        out.append(
            _seg_finding(
                "freeze",
                _sev(spec.severity),
                f"picture frozen for {dur:.2f} s after movement",
                s,
                fps,
                pa,
                round(dur, 3),
                spec.min_duration_s,
            )
        )
    first, _ = programme_bounds(pa)
    for s in stills:
        if s.end <= first:
            continue  # bars, slate, countdown: the expected line-up, not worth a line
        dur = (s.end - s.start) / fps
        out.append(
            _seg_finding(
                "freeze.still",
                Severity.INFO,
                f"still picture for {dur:.2f} s (card, slate or graphic entered at a cut): "
                "not a freeze",
                s,
                fps,
                pa,
                round(dur, 3),
                spec.min_duration_s,
            )
        )
    return _cap(out, "freeze")


@qc_check("levels", domain="picture", enabled=lambda p: p.picture.levels.enabled)
def check_levels(m: Measured, profile: Profile) -> list[Finding]:
    """EBU R103: more than 1 % of a frame's pixels outside the luma or RGB gamut limits."""
    pa = m.picture
    assert pa is not None
    spec = profile.picture.levels
    fps = pa.fps
    luma = np.asarray(pa.luma_oor) * 100
    rgb = np.asarray(pa.rgb_oor) * 100
    limit = spec.max_out_of_range_pixels_percent
    m.measurements["levels"] = {
        "max_luma_out_of_range_percent": round(float(luma.max(initial=0)), 3),
        "max_rgb_out_of_range_percent": round(float(rgb.max(initial=0)), 3),
        "frames_over_limit": int(np.count_nonzero((luma > limit) | (rgb > limit))),
        "analysis": f"{m.decode.analysis_width}x{m.decode.analysis_height} area-averaged",
    }
    alt = np.asarray(pa.rgb_oor_alt) * 100
    first, _ = programme_bounds(pa)
    lineup: list[dict[str, float]] = []
    out = []
    for name, series, rng in (
        ("levels.luma", luma, f"{spec.luma_min_percent:g}..{spec.luma_max_percent:g} %"),
        ("levels.gamut", rgb, f"R'G'B' {spec.rgb_min_percent:g}..{spec.rgb_max_percent:g} %"),
    ):
        for s in _merge(runs(series > limit), gap=round(fps)):
            if s.end <= first:
                # bars carry sub-black and super-white PLUGE by design: line-up, not programme
                lineup.append({"start_s": s.seconds(fps)[0], "end_s": s.seconds(fps)[1]})
                continue
            worst = float(series[s.start : s.end].max())
            what = "luma" if name == "levels.luma" else "colour"
            message = (
                f"{worst:.1f} % of the picture outside the {what} range {rng} (EBU R103 "
                f"allows {limit:g} %)"
            )
            if name == "levels.gamut" and float(alt[s.start : s.end].max()) <= limit:
                message += (
                    f"; with {pa.alt_matrix_name} coefficients the picture is legal: the file is "
                    f"probably converted with {pa.alt_matrix_name} but tagged "
                    f"{pa.matrix_name}. Fix the conversion or the colour tags"
                )
            out.append(
                _seg_finding(name, _sev(spec.severity), message, s, fps, pa, round(worst, 2), limit)
            )
    m.measurements["levels"]["lineup_excluded"] = lineup
    return _cap(out, "levels")


def _merge(segs: list[Segment], gap: int) -> list[Segment]:
    out: list[Segment] = []
    for s in segs:
        if out and s.start - out[-1].end <= gap:
            out[-1] = Segment(out[-1].start, s.end)
        else:
            out.append(s)
    return out


def flash_times(directions: list[int], fps: float) -> list[tuple[int, int]]:
    """Flashes as (first, second transition frame): two opposing transitions in a row, less
    than a second apart (two cuts minutes apart are not a flash)."""
    out = []
    prev, prev_at = 0, 0
    win = max(1, round(fps))
    for i, d in enumerate(directions):
        if d == 0:
            continue
        if prev and d == -prev and i - prev_at < win:
            out.append((prev_at, i))
            prev = 0  # a flash is a pair: the next pair starts afresh
        else:
            prev, prev_at = d, i
    return out


def _flash_segments(
    flashes: list[tuple[int, int]], fps: float, limit: float
) -> tuple[list[Segment], int]:
    """Spans where more than `limit` flashes complete within one second; and the worst count."""
    ends = np.asarray([e for _, e in flashes], dtype=np.int64)
    win = max(1, round(fps))
    bad: list[Segment] = []
    worst = 0
    for i in range(ends.size):
        j = int(np.searchsorted(ends, ends[i] + win, side="left"))
        count = j - i
        worst = max(worst, count)
        if count > limit:
            bad.append(Segment(flashes[i][0], int(ends[j - 1]) + 1))
    return _merge(bad, gap=0), worst


@qc_check("flashes", domain="picture", enabled=lambda p: p.picture.flashes.enabled)
def check_flashes(m: Measured, profile: Profile) -> list[Finding]:
    """Photosensitive epilepsy (ITU-R BT.1702, Ofcom): > 3 flashes in any second over ≥ 25 %
    of the screen, for luminance and for saturated red; extended flashing as a warning. An
    open approximation, not a Harding-certified test."""
    pa = m.picture
    assert pa is not None
    spec = profile.picture.flashes
    fps = pa.fps
    out = []
    series = [("flashes", pa.flash_dir, "luminance")]
    if spec.red_flashes:
        series.append(("flashes.red", pa.red_dir, "saturated red"))
    meas: dict[str, object] = {}
    for name, dirs, what in series:
        times = flash_times(dirs, fps)
        segs, worst = _flash_segments(times, fps, spec.max_flashes_per_second)
        meas[what.replace(" ", "_")] = {
            "flashes": len(times),
            "max_per_second": worst,
            "spans": [{"start_s": s.seconds(fps)[0], "end_s": s.seconds(fps)[1]} for s in segs],
        }
        for s in segs:
            out.append(
                _seg_finding(
                    name,
                    _sev(spec.severity),
                    f"{what} flashing at up to {worst} flashes per second over "
                    f"≥ {spec.min_area_ratio:.0%} of the screen (limit "
                    f"{spec.max_flashes_per_second:g}/s, ITU-R BT.1702; {NOT_CERTIFIED})",
                    s,
                    fps,
                    pa,
                    worst,
                    spec.max_flashes_per_second,
                )
            )
    m.measurements["flashes"] = meas
    return _cap(out, "flashes") + _extended_flashes(pa, spec.min_area_ratio, meas)


def _extended_flashes(
    pa: PictureAnalysis, min_area: float, meas: dict[str, object]
) -> list[Finding]:
    """Ofcom: flashing at 2-3 per second is within the limit but a risk when sustained for
    more than 5 s. Reported as a warning."""
    fps = pa.fps
    out = []
    for what, dirs in (("luminance", pa.flash_dir), ("saturated red", pa.red_dir)):
        seqs = extended_sequences(flash_times(dirs, fps), fps)
        key = f"extended_{what.replace(' ', '_')}"
        meas[key] = [
            {"start_s": round(a / fps, 3), "end_s": round(b / fps, 3), "per_second": round(r, 2)}
            for a, b, r in seqs
        ]
        for a, b, rate in seqs:
            dur = (b - a) / fps
            out.append(
                _seg_finding(
                    "flashes.extended",
                    Severity.WARNING,
                    f"extended flashing: {what} flashing at {rate:.1f} per second for {dur:.1f} s "
                    f"over ≥ {min_area:.0%} of the screen (Ofcom guidance: sequences at 2-3 "
                    f"flashes per second longer than 5 s are a risk; {NOT_CERTIFIED})",
                    Segment(a, b),
                    fps,
                    pa,
                    round(rate, 2),
                    2.0,
                )
            )
    return _cap(out, "flashes.extended")


@qc_check("patterns", domain="picture", enabled=lambda p: p.picture.flashes.enabled)
def check_patterns(m: Measured, profile: Profile) -> list[Finding]:
    """Regular patterns (Ofcom, BT.1702 family): stripes with more than five light-dark pairs,
    bright stripes ≥ 50 cd/m², over more than a quarter of the screen for more than 0.5 s."""
    pa = m.picture
    assert pa is not None
    fps = pa.fps
    spans = pattern_spans(pa.patterns, pa.pattern_step, fps)
    worst = max(pa.patterns, key=lambda s: s.area * (s.pairs > 5), default=None)
    m.measurements["patterns"] = {
        "analysis": f"{m.decode.analysis_width}x{m.decode.analysis_height} luminance, every "
        f"{pa.pattern_grid} frames, every {pa.pattern_step} around a pattern ({NOT_CERTIFIED})",
        "max_area_percent": round(worst.area * 100, 1) if worst else 0.0,
        "spans": [
            {
                "start_s": round(a / fps, 3),
                "end_s": round(b / fps, 3),
                "area_percent": round(s.area * 100, 1),
                "pairs": round(s.pairs, 1),
                "contrast_cd_m2": round(s.contrast_cd_m2, 1),
            }
            for a, b, s in spans
        ],
    }
    out = []
    for a, b, s in spans:
        out.append(
            _seg_finding(
                "patterns",
                _sev(profile.picture.flashes.severity),
                f"regular pattern: about {s.pairs:.0f} light-dark pairs of stripes, "
                f"{s.contrast_cd_m2:.0f} cd/m² apart, over {s.area:.0%} of the screen (Ofcom: "
                f"more than 5 pairs over more than 25 % is a PSE risk; {NOT_CERTIFIED})",
                Segment(a, min(b, pa.frames)),
                fps,
                pa,
                round(s.area * 100, 1),
                25.0,
            )
        )
    return _cap(out, "patterns")


@qc_check("interlace", domain="picture", enabled=lambda p: p.picture.interlace.enabled)
def check_interlace(m: Measured, profile: Profile) -> list[Finding]:
    """Declared scan type / field order against ffmpeg idet evidence from the same pass."""
    idet = m.decode.idet
    declared = m.layout.field_order
    if m.asset is not None and m.asset.video:
        v = m.asset.video[0]
        if v.scan_type == "progressive":
            declared = "progressive"
        elif v.field_order in ("tff", "bff"):
            declared = v.field_order
    tff, bff = idet.get("tff", 0), idet.get("bff", 0)
    prog = idet.get("progressive", 0)
    decided = tff + bff + prog
    evidence = "unknown"
    if decided >= 10:
        if tff + bff > prog:
            # Real interlaced motion has one field order; idet calling both about equally
            # often is fooled by fine moving detail (seen on synthetic test patterns).
            if max(tff, bff) >= 3 * min(tff, bff):
                evidence = "tff" if tff >= bff else "bff"
            else:
                evidence = "ambiguous"
        else:
            evidence = "progressive"
    m.measurements["interlace"] = {
        "declared": declared,
        "evidence": evidence,
        "idet_frames": idet,
    }
    sev = _sev(profile.picture.interlace.severity)
    out: list[Finding] = []
    if evidence in ("unknown", "ambiguous"):
        return out
    if declared in (None, "progressive") and evidence in ("tff", "bff"):
        out.append(
            Finding(
                check="interlace",
                severity=sev,
                message=f"the picture shows interlaced motion ({evidence.upper()} fields) but the "
                f"file declares {declared or 'no scan type'}: combing on progressive displays",
                value=evidence,
                limit=declared,
            )
        )
    elif declared in ("tff", "bff") and evidence in ("tff", "bff") and declared != evidence:
        out.append(
            Finding(
                check="interlace.field_order",
                severity=sev,
                message=f"field order declared {declared.upper()} but the motion says "
                f"{evidence.upper()}: judder on interlaced displays",
                value=evidence,
                limit=declared,
            )
        )
    elif declared in ("tff", "bff") and evidence == "progressive":
        out.append(
            Finding(
                check="interlace",
                severity=Severity.INFO,
                message=f"declared interlaced ({declared.upper()}) with progressive content "
                "(PsF or film-originated): fine for broadcast",
                value=evidence,
                limit=declared,
            )
        )
    return out
