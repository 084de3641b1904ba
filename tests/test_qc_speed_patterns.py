"""The pattern grid (a frame every PATTERN_EVERY_S, the halfway frame only next to a hazardous
one) finds exactly the pattern spans of analysing every halfway frame too, at about half the
cost; and the decode pass's 4:2:2 picture hands the checks the planes they had before."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.profiles import PictureSpec
from pipeline.qc.decode import StreamLayout
from pipeline.qc.picture import PictureAnalysis
from pipeline.qc.pse import PatternSample, pattern_spans

H, W = 270, 480


def _layout() -> StreamLayout:
    return StreamLayout(
        path="frames", has_video=True, width=1920, height=1080, fps=25.0,
        pix_fmt="yuv422p10le", bit_depth=10, matrix="bt709",
    )  # fmt: skip


class _EveryHalfway(PictureAnalysis):
    """The definition: a sample on every grid frame and every halfway frame."""

    def _feed_pattern(self, index: int, planes: np.ndarray) -> None:
        if index % self.pattern_grid in (0, self.pattern_grid // 2):
            self._add_pattern(self._pattern_sample(index, planes), planes)


def _fake_samples(pa: PictureAnalysis, hazard: np.ndarray) -> list[int]:
    """Replace the detector by a per-frame truth table; returns the frames it was asked for."""
    asked: list[int] = []

    def sample(index: int, planes: np.ndarray) -> PatternSample:
        asked.append(index)
        on = bool(hazard[index])
        return PatternSample(index, 0.9 if on else 0.0, 20.0 if on else 0.0, 100.0, 24.0)

    pa._pattern_sample = sample  # type: ignore[method-assign]
    return asked


@pytest.mark.parametrize("fps", [25.0, 24.0, 30.0, 29.97, 50.0, 60.0, 4.0, 2.0])
def test_grid_finds_the_spans_of_every_halfway_frame(fps: float) -> None:
    rng = np.random.default_rng(int(fps * 100))
    planes = np.zeros((3, 4, 4), np.uint16)
    n = 400
    for trial in range(60):
        # runs of patterns of every length and phase, on a background of isolated blips
        hazard = np.zeros(n, bool)
        for _ in range(6):
            a = int(rng.integers(0, n))
            hazard[a : a + int(rng.integers(1, round(fps * 2) + 2))] = True
        hazard |= rng.random(n) < 0.03
        fast = PictureAnalysis(layout=_layout(), spec=PictureSpec(), fps=fps)
        ref = _EveryHalfway(layout=_layout(), spec=PictureSpec(), fps=fps)
        asked = _fake_samples(fast, hazard)
        _fake_samples(ref, hazard)
        for i in range(n):
            fast._feed_pattern(i, planes)
            ref._feed_pattern(i, planes)
        want = pattern_spans(ref.patterns, ref.pattern_step, fps)
        got = pattern_spans(fast.patterns, fast.pattern_step, fps)
        assert [(a, b) for a, b, _ in got] == [(a, b) for a, b, _ in want], (fps, trial)
        assert [s.frame for s in fast.patterns] == sorted(s.frame for s in fast.patterns)
        # every hazardous sample next to another one is measured, with its thumbnail
        in_spans = {s.frame for s in ref.patterns if s.hazardous} & set(
            f for a, b, _ in want for f in range(a, b)
        )
        assert in_spans <= {s.frame for s in fast.patterns}
        # a thumbnail where each span starts (isolated blips, never reported, may lack one)
        assert {a for a, _, _ in want} <= set(fast.thumbnails) <= set(ref.thumbnails)
        assert len(asked) <= len(ref.patterns)
    # the saving: a picture without patterns is analysed on the grid frames only
    fast = PictureAnalysis(layout=_layout(), spec=PictureSpec(), fps=fps)
    asked = _fake_samples(fast, np.zeros(n, bool))
    for i in range(n):
        fast._feed_pattern(i, planes)
    assert asked == list(range(0, n, fast.pattern_grid))


def _grating(pairs: int) -> np.ndarray:
    xx = np.arange(W)
    y = np.where((xx * pairs / W) % 1 < 0.5, 940, 64).astype(np.uint16)
    planes = np.full((3, H, W), 512, np.uint16)
    planes[0] = y[None, :]
    return planes


@pytest.mark.parametrize("first,last", [(3, 22), (7, 31), (12, 24), (13, 50), (0, 11)])
def test_real_grating_spans_match(first: int, last: int) -> None:
    """A real 20-pair grating shown over frames [first, last) of grey: the same span (and
    thumbnail) as analysing every halfway frame, through PictureAnalysis.feed."""
    grey = np.full((3, H, W), 512, np.uint16)
    grating = _grating(20)
    fast = PictureAnalysis(layout=_layout(), spec=PictureSpec(), fps=25.0)
    ref = _EveryHalfway(layout=_layout(), spec=PictureSpec(), fps=25.0)
    for i in range(60):
        planes = grating if first <= i < last else grey
        fast.feed(i, planes)
        ref.feed(i, planes)
    want = pattern_spans(ref.patterns, ref.pattern_step, 25.0)
    got = pattern_spans(fast.patterns, fast.pattern_step, 25.0)
    assert [(a, b) for a, b, _ in got] == [(a, b) for a, b, _ in want]
    assert want or last - first < 25  # a display of a second or more is found at all
    assert sorted(fast.thumbnails) == sorted(ref.thumbnails)
