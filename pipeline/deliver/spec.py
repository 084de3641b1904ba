"""Does a master fit a profile's encode? What it is, what the profile needs, and the plan.

Everything that would make a deliverable wrong without anybody noticing is refused here with
one message naming the master, what the profile needs and what the master has: another frame
rate (converted only with `conform`), variable frame rate, no audio, fewer channels than the
track layout needs (unless the profile allows silence there), a size that needs scaling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from pipeline.errors import MediaError, RushlineError
from pipeline.profiles import EncodeSpec, Profile

FPS_TOLERANCE = 0.011  # MediaInfo/ffmpeg say 29.97 where the rate is 30000/1001


class DeliverError(RushlineError):
    """A deliverable cannot be made from this master with this profile (says why)."""


@dataclass
class MasterInfo:
    """What the deliver stage needs to know about a master."""

    path: Path
    duration_s: float | None
    has_video: bool
    width: int | None
    height: int | None
    fps: float | None
    vfr: bool
    field_order: str | None  # "progressive", "tff", "bff" or None
    audio_channels: list[int]  # channels per audio stream, in file order
    sample_rate: int | None

    @property
    def channels(self) -> int:
        return sum(self.audio_channels)


@dataclass
class Plan:
    """How one master becomes one deliverable: decided before any encoding starts."""

    master: MasterInfo
    profile: Profile
    encode: EncodeSpec
    fps: Fraction | None  # output frame rate
    conform_from: float | None  # the master's rate when it is converted (--conform)
    deinterlace: bool
    # Per output track: 0-based master channel per track channel, None for digital silence.
    track_map: list[list[int | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def head_s(self) -> float:
        return self.encode.head.duration_s if self.encode.head is not None else 0.0


_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5}
_LAYOUT_CHANNELS |= {"5.1": 6, "6.1": 7, "7.1": 8, "hexagonal": 6, "octagonal": 8}


def layout_channels(layout: str) -> int:
    """Channels of an ffmpeg layout name: 'stereo' 2, '5.1(side)' 6, '8 channels' 8."""
    text = layout.strip().lower()
    m = re.match(r"(\d+) channels", text)
    if m:
        return int(m.group(1))
    return _LAYOUT_CHANNELS.get(text.split("(")[0].strip(), 0)


def inspect_master(path: Path) -> MasterInfo:
    """Read a master's streams (ffmpeg's view) and its frame rate mode (MediaInfo)."""
    from pipeline.probe import probe_file
    from pipeline.qc.decode import probe_layout

    try:
        lay = probe_layout(path)
    except MediaError as exc:
        raise DeliverError(str(exc), path=path) from None
    asset = probe_file(path)
    vfr = bool(asset.video) and (asset.video[0].frame_rate_mode or "").upper() == "VFR"
    channels = [layout_channels(a.layout) for a in lay.audio]
    # MediaInfo knows the count when ffmpeg's layout name is unusual.
    for i, a in enumerate(asset.audio[: len(channels)]):
        if channels[i] == 0 and a.channels:
            channels[i] = a.channels
    fps = lay.fps or (asset.video[0].frame_rate if asset.video else None)
    order = lay.field_order
    if asset.video and asset.video[0].scan_type:  # the bitstream's word over a header's
        v = asset.video[0]
        order = (v.field_order or order) if v.scan_type == "interlaced" else "progressive"
    return MasterInfo(
        path=path,
        duration_s=lay.duration_s or asset.duration_s,
        has_video=lay.has_video and not lay.video_is_still,
        width=lay.width,
        height=lay.height,
        fps=fps,
        vfr=vfr,
        field_order=order,
        audio_channels=channels,
        sample_rate=lay.audio[0].sample_rate if lay.audio else None,
    )


def rate_fraction(fps: float) -> Fraction:
    """25.0 -> 25, 29.97 -> 30000/1001, 23.976 -> 24000/1001."""
    for base in (24, 30, 60, 120):
        ntsc = Fraction(base * 1000, 1001)
        if abs(float(ntsc) - fps) < FPS_TOLERANCE:
            return ntsc
    return Fraction(fps).limit_denominator(1001)


def _wanted_rates(profile: Profile) -> list[float]:
    enc = profile.encode
    if enc is not None and enc.video is not None and enc.video.frame_rate is not None:
        return [enc.video.frame_rate]
    v = profile.format.video if profile.format is not None else None
    if v is None:
        return []
    return list(v.frame_rates or ([v.frame_rate] if v.frame_rate else []))


def _plan_rate(m: MasterInfo, profile: Profile, conform: bool, problems: list[str]) -> Plan:
    enc = profile.encode
    assert enc is not None
    plan = Plan(m, profile, enc, None, None, False)
    if enc.video is None:
        return plan
    if not m.has_video:
        problems.append("the profile makes video, the master has no picture")
        return plan
    wanted = _wanted_rates(profile)
    rates = " or ".join(f"{r:g}" for r in wanted)
    if m.vfr:
        if not conform:
            problems.append(
                f"the master has a variable frame rate; the profile needs a constant "
                f"{rates or 'rate'} fps (--conform converts it)"
            )
            return plan
        plan.notes.append("variable frame rate master converted to a constant rate (--conform)")
    if m.fps is None:
        problems.append("the master's frame rate is unknown")
        return plan
    ok = any(abs(m.fps - r) < FPS_TOLERANCE for r in wanted)
    if wanted and not ok:
        if not conform:
            problems.append(
                f"the profile needs {rates} fps, the master is {m.fps:g} fps "
                "(--conform converts the frame rate; frames are dropped or repeated)"
            )
            return plan
        plan.conform_from = m.fps
        plan.fps = rate_fraction(wanted[0])
        plan.notes.append(
            f"frame rate converted from {m.fps:g} to {wanted[0]:g} fps (--conform): frames "
            "dropped or repeated, sound kept in sync"
        )
    else:
        plan.fps = rate_fraction(m.fps if not wanted else min(wanted, key=lambda r: abs(r - m.fps)))
        if m.vfr:
            plan.conform_from = m.fps
    return plan


def _plan_picture(plan: Plan, problems: list[str]) -> None:
    v, m = plan.encode.video, plan.master
    if v is None or not m.has_video:
        return
    if v.width is not None and v.fit == "exact" and (m.width, m.height) != (v.width, v.height):
        problems.append(
            f"the profile needs {v.width}x{v.height} without scaling, the master is "
            f"{m.width}x{m.height} (scale it in the edit, or use a profile that scales)"
        )
    interlaced_master = m.field_order in ("tff", "bff")
    if v.scan == "progressive" and interlaced_master:
        plan.deinterlace = True
        plan.notes.append(f"interlaced master ({m.field_order}) deinterlaced (bwdif, frame rate)")
    if v.scan == "interlaced" and interlaced_master and m.field_order != v.field_order:
        problems.append(
            f"the profile needs {v.field_order.upper() if v.field_order else ''} interlaced "
            f"picture, the master is {m.field_order.upper()} (field dominance differs)"
        )


def _plan_audio(plan: Plan, problems: list[str]) -> None:
    a, m = plan.encode.audio, plan.master
    if a is None:
        return
    if m.channels == 0:
        problems.append("the profile needs audio, the master has no audio")
        return
    needed = sorted({c for t in a.tracks for c in t.source})
    missing = [c for c in needed if c > m.channels]
    if missing and a.missing_channels == "error":
        problems.append(
            f"the track layout needs master channels {_span(needed)}, the master has "
            f"{m.channels} channel{'s' if m.channels != 1 else ''}"
        )
        return
    for i, t in enumerate(a.tracks, start=1):
        row: list[int | None] = [c - 1 if c <= m.channels else None for c in t.source]
        if not t.source:
            row = [None] * t.width
        elif any(x is None for x in row):
            plan.notes.append(
                f"track {i} ({t.role}): the master has no channel "
                f"{_span([c for c in t.source if c > m.channels])}; digital silence there "
                f"(the profile allows it)"
            )
        plan.track_map.append(row)


def _span(chs: list[int]) -> str:
    if len(chs) > 1 and chs == list(range(chs[0], chs[-1] + 1)):
        return f"{chs[0]}-{chs[-1]}"
    return ", ".join(str(c) for c in chs)


def plan_delivery(master: MasterInfo, profile: Profile, *, conform: bool = False) -> Plan:
    """The plan for one master and one profile, or DeliverError listing every misfit."""
    if profile.encode is None:
        raise DeliverError(
            f"profile {profile.name} says how to check a file but not how to make one "
            "(no `encode` section)",
            hint="deliver with a profile that has one (`rushline profiles` lists them)",
        )
    problems: list[str] = []
    plan = _plan_rate(master, profile, conform, problems)
    _plan_picture(plan, problems)
    _plan_audio(plan, problems)
    if problems:
        raise DeliverError(
            f"{master.path}: does not fit {profile.name}: " + "; ".join(problems),
            path=master.path,
        )
    return plan
