"""The fast per-frame picture measurements give the answers of the plain formulas.

`PictureAnalysis.feed` is written for speed (reused buffers, OpenCV SIMD kernels, a grid for
the alternative matrix and saturated red). `ReferenceAnalysis.feed` below is the
straightforward NumPy version it replaced, kept here as the definition of the measurements.
Both are fed the same real ffmpeg-decoded frames (test patterns, bars with PLUGE, a frame full
of illegal colour combinations, a strobe) and must produce the same series: exactly, except the
R'G'B' gamut fraction, whose float32 rounding may differ by a few ULPs and so flip a pixel that
sits on a limit (allowed: 1 pixel in 10 000).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.profiles import PictureSpec
from pipeline.qc.decode import StreamLayout
from pipeline.qc.picture import (
    FLASH_DARK_BELOW_CD_M2,
    FLASH_DELTA_CD_M2,
    MAX_THUMBNAILS,
    NEAR_BLACK,
    RED_DELTA,
    PictureAnalysis,
    _thumb,
)
from pipeline.tools import ffmpeg_exe, run

W, H = 480, 270
GAMUT_TOLERANCE = 1e-4  # fraction of the frame: one pixel in 10 000


class ReferenceAnalysis(PictureAnalysis):
    """The plain, float32 full-frame implementation (the pre-optimisation `feed`)."""

    def feed(self, index: int, planes: np.ndarray) -> None:
        y = planes[0]
        n = y.size
        black_frac = np.count_nonzero(y <= self.black_code) / n
        dark = math.nan
        if black_frac >= self.spec.black.picture_ratio:
            dark = float(y[y <= self.black_code].mean() - self.black) / self.range_y
        self.black_frac.append(black_frac)
        self.dark_level.append(dark)
        y2 = y[::2, ::2]
        yi = y2.astype(np.int32)
        self.mean_luma.append((float(yi.mean()) - self.black) / self.range_y)
        if self._prev_y is None:
            self.diff.append(1.0)
        else:
            self.diff.append(float(np.abs(yi - self._prev_y).mean()) / self.code_max)
        self._prev_y = yi
        lv = self.spec.levels
        self.luma_oor.append(np.count_nonzero((y < self.luma_lo) | (y > self.luma_hi)) / n)
        yn = (y.astype(np.float32) - self.black) * (1.0 / self.range_y)
        cb = (planes[1].astype(np.float32) - self.mid) * (1.0 / self.range_c)
        cr = (planes[2].astype(np.float32) - self.mid) * (1.0 / self.range_c)
        kr, kgb, kgr, kb = self.matrix
        r = yn + kr * cr
        g = yn - kgb * cb - kgr * cr
        b = yn + kb * cb
        lo, hi = lv.rgb_min_percent / 100, lv.rgb_max_percent / 100
        low = np.minimum(np.minimum(r, g), b)
        high = np.maximum(np.maximum(r, g), b)
        self.rgb_oor.append(np.count_nonzero((low < lo) | (high > hi)) / n)
        grid = (slice(None, None, 4), slice(None, None, 4))
        ys, cbs, crs_ = yn[grid], cb[grid], cr[grid]
        ar, agb, agr, ab = self.alt_matrix
        r2, g2 = ys + ar * crs_, ys - agb * cbs - agr * crs_
        b2 = ys + ab * cbs
        low2 = np.minimum(np.minimum(r2, g2), b2)
        high2 = np.maximum(np.maximum(r2, g2), b2)
        self.rgb_oor_alt.append(np.count_nonzero((low2 < lo) | (high2 > hi)) / low2.size)
        lum = self.lum_lut[y2]
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
        rdir = 0
        if self.spec.flashes.red_flashes:
            crs = cr[grid]
            reddish = np.count_nonzero(crs > 0.2) / crs.size
            red = None
            if reddish >= self.spec.flashes.min_area_ratio * 0.5 or self._prev_red is not None:
                rl = np.clip(r[grid], 0, 1) ** 2.2
                gl = np.clip(g[grid], 0, 1) ** 2.2
                bl = np.clip(b[grid], 0, 1) ** 2.2
                total = rl + gl + bl
                saturated = (rl >= 0.8 * total) & (total > 0)
                red = np.where(saturated, np.maximum(rl - gl - bl, 0) * 320.0, 0.0)
                prev = self._prev_red if self._prev_red is not None else np.zeros_like(red)
                rdelta = red - prev
                m = rdelta.size
                rup = np.count_nonzero(rdelta > RED_DELTA) / m
                rdown = np.count_nonzero(rdelta < -RED_DELTA) / m
                if max(rup, rdown) >= self.spec.flashes.min_area_ratio and index > 0:
                    rdir = 1 if rup >= rdown else -1
                if reddish < self.spec.flashes.min_area_ratio * 0.5:
                    red = None
            self._prev_red = red
        self.red_dir.append(rdir)
        is_black = black_frac >= self.spec.black.picture_ratio and dark <= NEAR_BLACK
        static = self.diff[-1] < self.noise
        bad_levels = (
            max(self.luma_oor[-1], self.rgb_oor[-1]) * 100 > lv.max_out_of_range_pixels_percent
        )
        state = (is_black, static, bad_levels, fdir or rdir)
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
                self.thumbnails[index] = _thumb(yn, r, g, b)
            self._state = state


def _frames(source: str, pix_fmt: str, count: int, vf: str = "") -> np.ndarray:
    """`count` real frames from an ffmpeg lavfi source, area-scaled to the analysis size."""
    chain = f"{vf}," if vf else ""
    out = run(
        [
            ffmpeg_exe(), "-hide_banner", "-v", "error", "-f", "lavfi", "-i", source,
            "-vf", f"{chain}scale={W}:{H}:flags=area,format={pix_fmt}",
            "-frames:v", str(count), "-f", "rawvideo", "pipe:1",
        ],
        what="making test frames",
    ).stdout  # fmt: skip
    dtype = np.uint8 if pix_fmt == "yuv444p" else np.uint16
    return np.frombuffer(out, dtype=dtype).reshape(count, 3, H, W)


def _layout(depth: int, *, full_range: bool = False, matrix: str = "bt709") -> StreamLayout:
    return StreamLayout(
        path="frames",
        has_video=True,
        width=1920,
        height=1080,
        fps=25.0,
        pix_fmt="yuv422p10le" if depth == 10 else "yuv422p",
        bit_depth=depth,
        full_range=full_range,
        matrix=matrix,
    )


# Every (Y, Cb, Cr) code mix over the picture: most combinations are outside the R'G'B' gamut,
# some sit beyond the luma limits, some on them (the worst case for rounding differences).
ILLEGAL = "geq=lum='mod(X*7+Y*3\\,1024)':cb='mod(X*5+N*97\\,1024)':cr='mod(Y*11+X\\,1024)'"
ILLEGAL8 = "geq=lum='mod(X*7+Y*3\\,256)':cb='mod(X*5+N*97\\,256)':cr='mod(Y*11+X\\,256)'"
STROBE = "geq=lum='if(mod(N\\,2)\\,940\\,64)':cb=512:cr='if(mod(N\\,4)\\,960\\,512)'"

CASES = {
    "testsrc2 10-bit": ("testsrc2=s=1920x1080:r=25", "yuv444p10le", "", 10, False),
    "smptehdbars 10-bit": ("smptehdbars=s=1920x1080:r=25", "yuv444p10le", "", 10, False),
    "illegal mix 10-bit": ("color=c=gray:s=480x270:r=25", "yuv444p10le", "", 10, False),
    "strobe 10-bit": ("color=c=gray:s=480x270:r=25", "yuv444p10le", "", 10, False),
    "illegal mix 8-bit": ("color=c=gray:s=480x270:r=25", "yuv444p", "", 8, False),
    "testsrc2 8-bit full range": ("testsrc2=s=1920x1080:r=25", "yuv444p", "", 8, True),
    "illegal mix 10-bit BT.601": ("color=c=gray:s=480x270:r=25", "yuv444p10le", "", 10, False),
}
FILTERS = {
    "illegal mix 10-bit": f"format=yuv444p10le,{ILLEGAL}",
    "illegal mix 10-bit BT.601": f"format=yuv444p10le,{ILLEGAL}",
    "strobe 10-bit": f"format=yuv444p10le,{STROBE}",
    "illegal mix 8-bit": f"format=yuv444p,{ILLEGAL8}",
}

SERIES = (
    "black_frac",
    "dark_level",
    "mean_luma",
    "diff",
    "luma_oor",
    "rgb_oor_alt",
    "flash_dir",
    "flash_area",
    "red_dir",
)


@pytest.mark.parametrize("case", list(CASES))
def test_fast_feed_equals_reference(case: str) -> None:
    source, pix_fmt, _, depth, full = CASES[case]
    frames = _frames(source, pix_fmt, 8, FILTERS.get(case, ""))
    matrix = "bt601" if "601" in case else "bt709"
    layout = _layout(depth, full_range=full, matrix=matrix)
    spec = PictureSpec()
    fast = PictureAnalysis(layout=layout, spec=spec, fps=25.0)
    ref = ReferenceAnalysis(layout=layout, spec=spec, fps=25.0)
    for i, planes in enumerate(frames):
        fast.feed(i, planes)
        ref.feed(i, planes)
    for name in SERIES:
        got = np.asarray(getattr(fast, name), dtype=np.float64)
        want = np.asarray(getattr(ref, name), dtype=np.float64)
        assert np.array_equal(got, want, equal_nan=True), (case, name, got, want)
    got, want = np.asarray(fast.rgb_oor), np.asarray(ref.rgb_oor)
    assert np.abs(got - want).max() <= GAMUT_TOLERANCE, (case, got, want)
    assert sorted(fast.thumbnails) == sorted(ref.thumbnails)
    for k, thumb in ref.thumbnails.items():
        assert np.array_equal(fast.thumbnails[k], thumb)


def test_cases_exercise_what_they_claim() -> None:
    """The test media really contain illegal pixels and flashes, so equality above means
    something (a series of zeros on both sides would prove nothing)."""
    spec = PictureSpec()
    illegal = ReferenceAnalysis(layout=_layout(10), spec=spec, fps=25.0)
    for i, planes in enumerate(
        _frames(*CASES["illegal mix 10-bit"][:2], 3, FILTERS["illegal mix 10-bit"])
    ):
        illegal.feed(i, planes)
    assert min(illegal.rgb_oor) > 0.3 and min(illegal.luma_oor) > 0.01
    strobe = ReferenceAnalysis(layout=_layout(10), spec=spec, fps=25.0)
    for i, planes in enumerate(_frames(*CASES["strobe 10-bit"][:2], 8, FILTERS["strobe 10-bit"])):
        strobe.feed(i, planes)
    assert sum(1 for d in strobe.flash_dir if d) >= 6
    assert any(strobe.red_dir)


def test_gamut_count_on_random_codes() -> None:
    """Every code combination at random, 10-bit and 8-bit: the fast R'G'B' count stays within
    one pixel in 10 000 of the plain formula (it differs only for pixels on a limit)."""
    rng = np.random.default_rng(7)
    for depth, dtype in ((10, np.uint16), (8, np.uint8)):
        top = (1 << depth) - 1
        for full in (False, True):
            layout = _layout(depth, full_range=full)
            fast = PictureAnalysis(layout=layout, spec=PictureSpec(), fps=25.0)
            ref = ReferenceAnalysis(layout=layout, spec=PictureSpec(), fps=25.0)
            for i in range(4):
                planes = rng.integers(0, top + 1, size=(3, H, W)).astype(dtype)
                fast.feed(i, planes)
                ref.feed(i, planes)
            assert fast.luma_oor == ref.luma_oor
            assert np.abs(np.subtract(fast.rgb_oor, ref.rgb_oor)).max() <= GAMUT_TOLERANCE
            assert min(ref.rgb_oor) > 0.1  # random codes: plenty of illegal colours
