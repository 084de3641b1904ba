"""Delivery profiles: strict pydantic models (a typo is an error) loaded from YAML.

Profiles are data: adding a broadcaster means adding a YAML file in profiles/ (bundled) or in the
user folder ($RUSHLINE_PROFILES or ~/.config/rushline/profiles), which overrides bundled ones.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import ProfileError

Sev = Literal["error", "warning", "info"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(Strict):
    """Where the numbers come from, and what is uncertain about them."""

    document: str
    url: str | None = None
    version: str | None = None  # edition of the document the values were taken from
    uncertain: list[str] = Field(default_factory=list)  # values we could not confirm
    # Per value: dotted key ("loudness.target_lufs", or a section such as "format.video") ->
    # "document, version/date, section or page" it was read from (tests/test_profiles_audit.py).
    citations: dict[str, str] = Field(default_factory=dict)


class DialogueSpec(Strict):
    """Dialogue-gated loudness (pipeline/qc/dialogue.py, an open approximation of Dolby
    Dialogue Intelligence), checked beside the full-mix reading of `loudness`."""

    target_lufs: float  # Netflix: -27 LKFS
    tolerance_lu: float = Field(default=2.0, ge=0)
    min_speech_ratio: float = Field(default=0.15, ge=0, le=1)  # less speech: full mix decides
    severity: Sev = "error"


class LoudnessSpec(Strict):
    """Programme loudness per ITU-R BS.1770 / EBU R128 / ATSC A/85."""

    standard: Literal["EBU R128", "EBU R128 s1", "ATSC A/85", "BS.1770", "AES TD1008", "other"]
    target_lufs: float
    tolerance_lu: float = 1.0  # integrated within target ± tolerance
    max_true_peak_dbtp: float
    max_short_term_lufs: float | None = None  # EBU R128 s1 short-form
    max_momentary_lufs: float | None = None
    max_lra_lu: float | None = None
    min_lra_lu: float | None = None
    lra_severity: Sev | None = None  # None: the loudness severity (LRA is advice in most specs)
    # Channels of the programme mix that is measured, 1-based across all audio channels in
    # file order, with the layout giving BS.1770 channel weights (5.1: L R C LFE Ls Rs).
    channels: list[int] | None = None  # None: all channels
    layout: Literal["mono", "stereo", "5.1", "auto"] = "auto"
    # Dialogue-gated reading; with gating "dialogue" it decides and the full mix is the second
    # stage (Netflix: flag only when both fail).
    dialogue: DialogueSpec | None = None
    gating: Literal["programme", "dialogue"] = "programme"
    severity: Sev = "error"

    @model_validator(mode="after")
    def _coherent(self) -> LoudnessSpec:
        if self.tolerance_lu < 0:
            raise ValueError("tolerance_lu must be >= 0 (it is a ± window around the target)")
        if self.min_lra_lu is not None and self.max_lra_lu is not None:
            if self.min_lra_lu > self.max_lra_lu:
                raise ValueError("min_lra_lu is above max_lra_lu")
        if self.channels is not None and any(c < 1 for c in self.channels):
            raise ValueError("channels are numbered from 1")
        return self


class VideoFormatSpec(Strict):
    """Values as MediaInfo names them (Format, Format_Profile, ScanType...)."""

    codec: list[str] | None = None  # e.g. ["MPEG Video"], ["AVC"], ["ProRes"]
    profile: list[str] | None = None  # e.g. ["4:2:2@High"], ["422 HQ"], ["High@L4.1"]
    min_bitrate_mbps: float | None = None
    max_bitrate_mbps: float | None = None
    width: int | None = None
    height: int | None = None
    min_height: int | None = None  # at least this many lines (Netflix HD: 1080 or more)
    frame_rate: float | None = None
    frame_rates: list[float] | None = None  # any of these (a master accepted at 23.976/24/25)
    scan_type: Literal["progressive", "interlaced"] | None = None
    field_order: Literal["tff", "bff"] | None = None
    chroma_subsampling: str | None = None  # "4:2:2"
    bit_depth: int | None = None
    colour_primaries: list[str] | None = None  # ["BT.709"]
    transfer_characteristics: list[str] | None = None
    matrix_coefficients: list[str] | None = None
    display_aspect_ratio: str | None = None  # "16:9", "9:16"

    @model_validator(mode="after")
    def _coherent(self) -> VideoFormatSpec:
        lo, hi = self.min_bitrate_mbps, self.max_bitrate_mbps
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_bitrate_mbps ({lo:g}) is above max_bitrate_mbps ({hi:g})")
        if self.field_order is not None and self.scan_type == "progressive":
            raise ValueError("field_order only applies to interlaced pictures (scan_type)")
        return self


class AudioFormatSpec(Strict):
    codec: list[str] | None = None  # ["PCM"], ["AAC"]
    channels: int | None = None  # total audio channels across all tracks
    channels_one_of: list[int] | None = None  # any of these totals (AS-11 DPP: 4 or 16)
    tracks: int | None = None  # number of audio tracks/streams (PAD: 8 mono tracks)
    sample_rate: int | None = None
    bit_depth: int | None = None
    min_bitrate_kbps: float | None = None
    channels_per_track: int | None = None  # 1: every track mono (AS-11 UK DPP, PAD)


class BitstreamSpec(Strict):
    """Structure QC (pipeline/qc/bitstream.py): GOP, rate mode, timecode, A/V length, AFD."""

    gop: GopSpec | None = None  # long GOP expected: N, M, closed (XDCAM HD422: 12, 3, closed)
    bitrate_mode: Literal["CBR", "VBR"] | None = None  # MediaInfo BitRate_Mode of the video
    timecode: bool = True  # one continuous timecode; every timecode in the file agrees
    av_duration_frames: float | None = 1.0  # audio and video lengths within this many frames
    afd_values: list[int] | None = None  # AFD must be present and one of these (SMPTE 2016-1)
    severity: Sev | None = None  # None: the format's severity


class FormatSpec(Strict):
    container: list[str] | None = None  # MediaInfo general Format: "MXF", "MPEG-4", "QuickTime"
    operational_pattern: str | None = None  # "OP-1a"
    video: VideoFormatSpec | None = None
    audio: AudioFormatSpec | None = None
    require_video: bool = True
    duration_s: float | None = None
    duration_tolerance_s: float = 0.0
    max_duration_s: float | None = None
    start_timecode: str | None = None  # "10:00:00:00"
    bitstream: BitstreamSpec | None = None  # None: structure not checked
    severity: Sev = "error"


class BlackSpec(Strict):
    enabled: bool = True
    min_duration_s: float = 0.2  # shorter black is a cut, not a finding
    luma_threshold: float = 0.10  # pixel is black below this fraction of the nominal range
    picture_ratio: float = 0.98  # fraction of black pixels for a frame to be black
    head_allowed_s: float = 0.0  # black allowed at the head (after the slate/countdown)
    tail_allowed_s: float = 0.0
    severity: Sev = "error"


class FreezeSpec(Strict):
    enabled: bool = True
    min_duration_s: float = 2.0
    noise_db: float = -60.0
    severity: Sev = "warning"  # a still card is not an error unless the profile says so


class LevelsSpec(Strict):
    """EBU R103: signal within −5 %..105 % (RGB gamut) and luma 0..100 % with the 1 % rule."""

    enabled: bool = True
    luma_min_percent: float = -1.0
    luma_max_percent: float = 103.0
    rgb_min_percent: float = -5.0
    rgb_max_percent: float = 105.0
    max_out_of_range_pixels_percent: float = 1.0
    severity: Sev = "warning"


class FlashSpec(Strict):
    """Photosensitive epilepsy: ITU-R BT.1702 / Ofcom: > 3 flashes/s over > 25 % of the screen."""

    enabled: bool = True
    max_flashes_per_second: float = 3.0
    min_area_ratio: float = 0.25
    red_flashes: bool = True
    severity: Sev = "error"


class InterlaceSpec(Strict):
    enabled: bool = True
    severity: Sev = "warning"


class PictureSpec(Strict):
    black: BlackSpec = BlackSpec()
    freeze: FreezeSpec = FreezeSpec()
    levels: LevelsSpec = LevelsSpec()
    flashes: FlashSpec = FlashSpec()
    interlace: InterlaceSpec = InterlaceSpec()


class SilenceSpec(Strict):
    enabled: bool = True
    threshold_dbfs: float = -60.0  # room tone sits around −50..−40 dBFS: not silence
    min_duration_s: float = 2.0
    head_allowed_s: float = 0.0
    tail_allowed_s: float = 0.0
    silent_channels: bool = True  # report channels silent for the whole file
    severity: Sev = "warning"


class ClippingSpec(Strict):
    enabled: bool = True
    threshold_dbfs: float = -0.01
    min_consecutive_samples: int = 3
    severity: Sev = "error"


class PhaseSpec(Strict):
    enabled: bool = True
    min_correlation: float = -0.3  # sustained below this: out of phase
    min_duration_s: float = 1.0
    severity: Sev = "warning"


class SoundSpec(Strict):
    silence: SilenceSpec = SilenceSpec()
    clipping: ClippingSpec = ClippingSpec()
    phase: PhaseSpec = PhaseSpec()


class RightsRequirement(Strict):
    """Rights fields a deliverable must carry (checked against a rights template)."""

    required_fields: list[str] = Field(default_factory=list)
    severity: Sev = "warning"


# --- audio layout: what every channel of the deliverable is ------------------------------------

# One role per audio channel, in file order (PAD and AS-11 carry one mono track per channel):
# the complete stereo mix, a 5.1 mix in SMPTE/ITU order (L R C LFE Ls Rs, EBU R 91), the
# music-and-effects / international sound pair, audio description, a mono mix, or unused
# (digital silence). QC checks them; deliver lays its tracks out from them.
Role = Literal[
    "stereo_l",
    "stereo_r",
    "mix_l",
    "mix_r",
    "mix_c",
    "mix_lfe",
    "mix_ls",
    "mix_rs",
    "me_l",
    "me_r",
    "ad_l",
    "ad_r",
    "ad",
    "mono",
    "unused",
]
MIX_ROLES: dict[str, tuple[str, ...]] = {
    "stereo": ("stereo_l", "stereo_r"),
    "5.1": ("mix_l", "mix_r", "mix_c", "mix_lfe", "mix_ls", "mix_rs"),
    "me": ("me_l", "me_r"),
    "ad": ("ad_l", "ad_r"),
}
PAIR_ROLES: tuple[tuple[str, str, str], ...] = (
    ("stereo mix", "stereo_l", "stereo_r"),
    ("5.1 front", "mix_l", "mix_r"),
    ("5.1 surround", "mix_ls", "mix_rs"),
    ("M&E", "me_l", "me_r"),
    ("audio description", "ad_l", "ad_r"),
)


class AudioLayoutSpec(Strict):
    """The role of every audio channel, 1-based in file order (the list's position)."""

    tracks: list[Role] = Field(min_length=1)
    # Digital silence on an unused channel: no sample above this peak (−120 dBFS is below a
    # 16-bit LSB; dither or hum on an "unused" track is noise a broadcaster rejects).
    unused_max_peak_dbfs: float = Field(default=-120.0, le=0)
    swap_check: bool = True  # pairs whose L and R look exchanged (see pipeline.qc.sound)
    severity: Sev = "error"

    @model_validator(mode="after")
    def _coherent(self) -> AudioLayoutSpec:
        for mix, roles in MIX_ROLES.items():
            present = [r for r in roles if r in self.tracks]
            if present and len(present) != len(roles):
                missing = [r for r in roles if r not in self.tracks]
                raise ValueError(f"the {mix} mix is incomplete: no {', '.join(missing)}")
        for role in set(self.tracks) - {"unused"}:
            if self.tracks.count(role) > 1:
                raise ValueError(f"role {role} is on more than one channel")
        return self

    def mixes(self) -> dict[str, list[int]]:
        """1-based channels of every complete mix the layout declares, in role order."""
        out = {
            m: [self.tracks.index(r) + 1 for r in roles]
            for m, roles in MIX_ROLES.items()
            if roles[0] in self.tracks
        }
        for single in ("mono", "ad"):
            if single in self.tracks:
                out[single] = [self.tracks.index(single) + 1]
        return out

    def pairs(self) -> list[tuple[str, int, int]]:
        """(name, left, right) 1-based for every L/R pair the layout declares."""
        return [
            (name, self.tracks.index(lt) + 1, self.tracks.index(rt) + 1)
            for name, lt, rt in PAIR_ROLES
            if lt in self.tracks
        ]

    def unused(self) -> list[int]:
        return [i + 1 for i, r in enumerate(self.tracks) if r == "unused"]


# --- programme by timecode and the line-up before it ------------------------------------------

_TC_RE = re.compile(r"^\d{2}:[0-5]\d:[0-5]\d[:;]\d{2}$")


class LineupPart(Strict):
    """How long one element of the line-up may last (0 s: absent is fine)."""

    min_s: float = Field(default=0.0, ge=0)
    max_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _coherent(self) -> LineupPart:
        if self.min_s > self.max_s:
            raise ValueError(f"min_s ({self.min_s:g}) is above max_s ({self.max_s:g})")
        return self


class ToneSpec(Strict):
    """Line-up tone: EBU R 68 / R 49 alignment, 1 kHz sine at −18 dBFS (peak, AES17 dBFS)."""

    frequency_hz: float = Field(default=1000.0, gt=0)
    frequency_tolerance_hz: float = Field(default=10.0, ge=0)
    level_dbfs: float = Field(default=-18.0, le=0)
    level_tolerance_db: float = Field(default=0.5, ge=0)
    required: bool = False  # a line-up without tone is a finding
    channels: list[int] | None = None  # 1-based channels that must carry it; None: any


class LineupSpec(Strict):
    """What may precede the programme start, and for how long."""

    max_s: float = Field(default=0.0, ge=0)  # whole line-up; 0: the file starts at the programme
    bars: LineupPart = LineupPart()
    clock: LineupPart = LineupPart()  # countdown clock (moving picture)
    slate: LineupPart = LineupPart()  # slate / ident card
    black: LineupPart = LineupPart()
    tone: ToneSpec | None = None
    severity: Sev = "error"


class ProgrammeSpec(Strict):
    """Where the programme is: its first frame's timecode; before it, only line-up."""

    start_timecode: str  # "10:00:00:00"
    lineup: LineupSpec = LineupSpec()
    severity: Sev = "error"  # a file starting after the programme, or too long before it

    @model_validator(mode="after")
    def _coherent(self) -> ProgrammeSpec:
        if not _TC_RE.match(self.start_timecode):
            raise ValueError(f"start_timecode {self.start_timecode!r} is not HH:MM:SS:FF")
        return self


# --- encode: what the deliver stage makes ------------------------------------------------------

NAMING_FIELDS = ("stem", "profile", "title", "version", "date", "ext")


class GopSpec(Strict):
    """Long GOP structure: N frames from I to I, M frames from anchor to anchor (M-1 B-frames)."""

    n: int = Field(ge=1)
    m: int = Field(default=1, ge=1)
    closed: bool = True

    @model_validator(mode="after")
    def _coherent(self) -> GopSpec:
        if self.n % self.m:
            raise ValueError(f"gop.n ({self.n}) must be a multiple of gop.m ({self.m})")
        return self


class ColourTags(Strict):
    """What the file declares (ffmpeg names): bt709, smpte170m, bt2020nc... and tv/pc range."""

    primaries: str = "bt709"
    transfer: str = "bt709"
    matrix: str = "bt709"
    range: Literal["tv", "pc"] = "tv"


class VideoEncodeSpec(Strict):
    codec: Literal["mpeg2video", "libx264", "libx265", "prores_ks", "dnxhd"]
    profile: str | None = None  # x264 "high", prores "hq", dnxhd "dnxhr_hq"; codec's own names
    level: str | None = None
    bitrate_mbps: float | None = Field(default=None, gt=0)
    rate_mode: Literal["cbr", "vbr", "crf", "codec"] = "vbr"  # codec: the codec fixes the rate
    crf: float | None = None
    maxrate_mbps: float | None = Field(default=None, gt=0)
    bufsize_mbit: float | None = Field(default=None, gt=0)
    gop: GopSpec | None = None
    scan: Literal["progressive", "interlaced"] = "progressive"
    field_order: Literal["tff", "bff"] | None = None
    width: int | None = Field(default=None, gt=0)  # None: the master's size
    height: int | None = Field(default=None, gt=0)
    fit: Literal["exact", "scale", "crop", "pad"] = "exact"  # exact: refuse a master to scale
    anchor: Literal["center", "top", "bottom", "left", "right"] = "center"  # for crop
    pad_colour: str = "black"
    pix_fmt: str = "yuv420p"
    frame_rate: float | None = Field(default=None, gt=0)  # None: the master's (checked by format)
    colour: ColourTags = ColourTags()
    codec_tag: str | None = None  # "xd5c" (XDCAM HD422 1080i25), "apch"...

    @model_validator(mode="after")
    def _coherent(self) -> VideoEncodeSpec:
        if self.rate_mode in ("cbr", "vbr") and self.bitrate_mbps is None:
            raise ValueError(f"rate_mode {self.rate_mode} needs bitrate_mbps")
        if self.rate_mode == "crf" and self.crf is None:
            raise ValueError("rate_mode crf needs crf")
        if self.scan == "interlaced" and self.field_order is None:
            raise ValueError("an interlaced encode needs field_order (tff or bff)")
        if self.scan == "progressive" and self.field_order is not None:
            raise ValueError("field_order only applies to scan: interlaced")
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither")
        if self.fit != "exact" and self.width is None:
            raise ValueError(f"fit: {self.fit} needs width and height")
        return self


class AudioTrackSpec(Strict):
    """One output track: its role and the master channels (1-based) it carries, one per channel.

    An empty `source` is digital silence with `channels` channels.
    """

    # The channel's role (a mono track); None: taken from the profile's `audio.tracks`.
    role: Role | None = None
    source: list[int] = Field(default_factory=list)
    channels: int | None = Field(default=None, ge=1)  # default: len(source), or 1 for silence

    @model_validator(mode="after")
    def _coherent(self) -> AudioTrackSpec:
        if any(c < 1 for c in self.source):
            raise ValueError("source channels are numbered from 1")
        if self.source and self.channels is not None and self.channels != len(self.source):
            raise ValueError("channels must equal the number of source channels")
        if self.role == "unused" and self.source:
            raise ValueError("an unused track carries digital silence: give it no source")
        return self

    @property
    def width(self) -> int:
        return len(self.source) or self.channels or 1


class AudioEncodeSpec(Strict):
    codec: Literal["pcm_s24le", "pcm_s16le", "aac"]
    sample_rate: int = 48000
    bit_depth: int | None = None  # PCM: 16 or 24 (must match the codec)
    bitrate_kbps: int | None = Field(default=None, gt=0)  # AAC
    tracks: list[AudioTrackSpec] = Field(min_length=1)
    # A master without the channels a track needs: "error" refuses it; "silence" puts digital
    # silence there (a stereo master on 1-2, silence elsewhere) and the delivery note says so.
    missing_channels: Literal["error", "silence"] = "error"
    normalise: bool = True  # to the profile's loudness target (needs `loudness`)

    @model_validator(mode="after")
    def _coherent(self) -> AudioEncodeSpec:
        depth = {"pcm_s24le": 24, "pcm_s16le": 16}.get(self.codec)
        if self.bit_depth is not None and depth is not None and self.bit_depth != depth:
            raise ValueError(f"bit_depth {self.bit_depth} does not match codec {self.codec}")
        if self.codec == "aac" and self.bit_depth is not None:
            raise ValueError("bit_depth only applies to PCM")
        return self


class HeadSpec(Strict):
    """The line-up before the programme: bars and tone, a slate, black (each may be 0 s)."""

    bars_s: float = Field(default=0.0, ge=0)
    tone_hz: float = Field(default=1000.0, gt=0)
    tone_dbfs: float = Field(default=-18.0, le=0)
    tone_tracks: list[int] | None = None  # 1-based output tracks with tone; None: all
    slate_s: float = Field(default=0.0, ge=0)
    black_s: float = Field(default=0.0, ge=0)

    @property
    def duration_s(self) -> float:
        return self.bars_s + self.slate_s + self.black_s


class EncodeSpec(Strict):
    """What the deliver stage makes for this profile (ffmpeg codec and option names)."""

    wrapper: Literal["mxf", "mov", "mp4"]
    video: VideoEncodeSpec | None = None
    audio: AudioEncodeSpec | None = None
    head: HeadSpec | None = None
    programme_start_timecode: str | None = None  # "10:00:00:00": first frame of programme
    naming: str = "{stem}_{profile}.{ext}"
    faststart: bool = False  # MP4/MOV: index at the front (progressive download)

    @model_validator(mode="after")
    def _coherent(self) -> EncodeSpec:
        if self.video is None and self.audio is None:
            raise ValueError("an encode makes video, audio or both")
        if self.faststart and self.wrapper == "mxf":
            raise ValueError("faststart is an MP4/MOV option")
        if self.wrapper == "mxf" and self.audio is not None and self.audio.codec == "aac":
            raise ValueError("MXF carries PCM audio here, not AAC")
        if self.wrapper == "mp4" and self.video is not None:
            if self.video.codec in ("prores_ks", "dnxhd"):
                raise ValueError(f"{self.video.codec} goes in a MOV or MXF wrapper, not MP4")
        tc = self.programme_start_timecode
        if tc is not None and not _TC_RE.match(tc):
            raise ValueError(f"programme_start_timecode {tc!r} is not HH:MM:SS:FF")
        if self.head is not None and self.video is None:
            raise ValueError("a head (bars, slate, black) needs video")
        for name in re.findall(r"{(\w*)[^}]*}", self.naming):
            if name not in NAMING_FIELDS:
                raise ValueError(
                    f"naming: unknown field {{{name}}} (known: {', '.join(NAMING_FIELDS)})"
                )
        return self


class Profile(Strict):
    name: str  # the id, equal to the file stem
    title: str
    summary: str  # one line for `rushline profiles`
    kind: Literal["broadcast", "platform", "web", "social", "podcast", "archive"]
    source: SourceRef
    notes: list[str] = Field(default_factory=list)  # how the spec was read (pre-roll, gating...)
    loudness: LoudnessSpec | None = None
    format: FormatSpec | None = None
    picture: PictureSpec = PictureSpec()
    sound: SoundSpec = SoundSpec()
    rights: RightsRequirement | None = None
    # What every audio channel is (QC checks it, deliver lays its tracks out by it).
    audio: AudioLayoutSpec | None = None
    # The programme's first frame by timecode, and the line-up allowed before it.
    programme: ProgrammeSpec | None = None
    encode: EncodeSpec | None = None  # what `rushline deliver` makes (None: QC only)

    @model_validator(mode="after")
    def _one_layout(self) -> Profile:
        _check_loudness_mix(self)
        _check_encode_tracks(self)
        _check_encode_head(self)
        return self

    def track_roles(self) -> list[str] | None:
        """The role of every audio channel: `audio.tracks`, else the encode's mono track roles."""
        if self.audio is not None:
            return list(self.audio.tracks)
        a = self.encode.audio if self.encode is not None else None
        if a is not None and all(t.role is not None and t.width == 1 for t in a.tracks):
            return [str(t.role) for t in a.tracks]
        return None

    def programme_start_timecode(self) -> str | None:
        if self.programme is not None:
            return self.programme.start_timecode
        return self.encode.programme_start_timecode if self.encode is not None else None


def _check_loudness_mix(p: Profile) -> None:
    """loudness.channels, when given with a declared layout, must be one of its mixes."""
    if p.audio is None or p.loudness is None or p.loudness.channels is None:
        return
    mixes = p.audio.mixes()
    if p.loudness.channels not in mixes.values():
        shown = ", ".join(f"{k} {v}" for k, v in mixes.items()) or "none"
        raise ValueError(
            f"loudness.channels {p.loudness.channels} is not a mix of audio.tracks ({shown})"
        )


def _check_encode_tracks(p: Profile) -> None:
    """The encode's tracks lay out exactly the channels `audio.tracks` declares."""
    a = p.encode.audio if p.encode is not None else None
    if a is None or p.audio is None:
        return
    widths = sum(t.width for t in a.tracks)
    if widths != len(p.audio.tracks):
        raise ValueError(
            f"encode.audio.tracks make {widths} channel(s); audio.tracks declares "
            f"{len(p.audio.tracks)}"
        )
    pos = 0
    for i, t in enumerate(a.tracks, start=1):
        declared = p.audio.tracks[pos : pos + t.width]
        if t.role is not None and (t.width != 1 or declared[0] != t.role):
            raise ValueError(
                f"encode.audio.tracks {i}: role {t.role} but audio.tracks says {declared[0]}"
            )
        if "unused" in declared and t.source:
            raise ValueError(f"encode.audio.tracks {i}: an unused channel gets a source")
        pos += t.width


def _check_encode_head(p: Profile) -> None:
    """What deliver puts before the programme is what QC accepts as line-up."""
    enc = p.encode
    if enc is None or p.programme is None:
        return
    tc = enc.programme_start_timecode
    if tc is not None and tc != p.programme.start_timecode:
        raise ValueError(
            f"encode.programme_start_timecode {tc} differs from programme.start_timecode "
            f"{p.programme.start_timecode} (leave the encode's out)"
        )
    head, lu = enc.head, p.programme.lineup
    if head is None or head.duration_s == 0:
        return
    for what, have, allowed in (
        ("bars_s", head.bars_s, lu.bars.max_s),
        ("slate_s", head.slate_s, lu.slate.max_s),
        ("black_s", head.black_s, lu.black.max_s),
        ("duration", head.duration_s, lu.max_s),
    ):
        if have > allowed + 1e-9:
            raise ValueError(
                f"encode.head {what} {have:g} s is longer than the line-up allows ({allowed:g} s)"
            )


# --- loading -----------------------------------------------------------------------------------

PROFILE_SUFFIXES = (".yaml", ".yml")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def bundled_dir() -> Path:
    """The profiles shipped with Rushline: `profiles/` at the repository root.

    An editable install (the supported one) finds it next to the package; a wheel installed
    elsewhere falls back to `<prefix>/share/rushline/profiles` when that exists.
    """
    import sys

    import pipeline

    here = Path(pipeline.__file__).resolve().parents[1] / "profiles"
    if here.is_dir():
        return here
    shared = Path(sys.prefix) / "share" / "rushline" / "profiles"
    return shared if shared.is_dir() else here


def user_dirs() -> list[Path]:
    """User profile folders, highest priority first.

    `$RUSHLINE_PROFILES` (os.pathsep-separated) when set, else ~/.config/rushline/profiles.
    Read at each call so a test or a wrapper script can change it; no global state.
    """
    env = os.environ.get("RUSHLINE_PROFILES")
    if env is not None:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    return [Path.home() / ".config" / "rushline" / "profiles"]


def _files_in(folder: Path) -> dict[str, Path]:
    """Profile files directly in `folder` by stem (sub-folders such as rights/ are not ours)."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return found
    for f in entries:
        if f.suffix.lower() in PROFILE_SUFFIXES and f.is_file() and not f.name.startswith("."):
            found.setdefault(f.stem, f)
    return found


def _display(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


@dataclass(frozen=True)
class ProfileEntry:
    """One profile as `rushline profiles` lists it; `error` is set when the file is broken."""

    name: str
    path: Path
    origin: Literal["bundled", "user"]
    overrides: bool  # a user profile that hides a bundled (or lower-priority user) one
    profile: Profile | None = None
    error: str | None = None


def _candidates() -> list[tuple[str, Path, Literal["bundled", "user"]]]:
    """Every profile file, highest priority first (user folders in order, then bundled)."""
    out: list[tuple[str, Path, Literal["bundled", "user"]]] = []
    for folder in user_dirs():
        out.extend((name, f, "user") for name, f in _files_in(folder).items())
    out.extend((name, f, "bundled") for name, f in _files_in(bundled_dir()).items())
    return out


def list_profiles() -> list[ProfileEntry]:
    """Every available profile by name (the one `load_profile` would pick), sorted by name.

    A broken file becomes an entry with `error` set: one bad file never hides the others.
    """
    winners: dict[str, tuple[Path, Literal["bundled", "user"]]] = {}
    shadowed: set[str] = set()
    for name, path, origin in _candidates():
        if name in winners:
            shadowed.add(name)
            continue
        winners[name] = (path, origin)
    entries: list[ProfileEntry] = []
    for name in sorted(winners):
        path, origin = winners[name]
        try:
            entries.append(
                ProfileEntry(name, path, origin, name in shadowed, profile=load_profile_file(path))
            )
        except ProfileError as exc:
            entries.append(ProfileEntry(name, path, origin, name in shadowed, error=str(exc)))
    return entries


def profile_names() -> list[str]:
    """Names of every available profile (bundled and user), sorted."""
    return sorted({name for name, _, _ in _candidates()})


def _looks_like_path(text: str) -> bool:
    return (
        text.lower().endswith(PROFILE_SUFFIXES)
        or os.sep in text
        or (os.altsep is not None and os.altsep in text)
    )


def load_profile(name_or_path: str | os.PathLike[str]) -> Profile:
    """A delivery profile by name (user folders first, then bundled) or by path to a YAML file.

    Raises ProfileError naming the file, the line and the key for an invalid profile, and
    listing the available names (with a did-you-mean) for an unknown one.
    """
    if isinstance(name_or_path, Path) or _looks_like_path(str(name_or_path)):
        return load_profile_file(Path(name_or_path))
    name = str(name_or_path).strip()
    for cand_name, path, _origin in _candidates():
        if cand_name == name:
            return load_profile_file(path)
    names = profile_names()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    folders = ", ".join(str(d) for d in [*user_dirs(), bundled_dir()])
    raise ProfileError(
        f"unknown profile {name!r}: {hint}available: {', '.join(names) or 'none'}",
        hint=f"`rushline profiles` lists them; profiles are read from {folders}",
    )


def load_profile_file(path: str | os.PathLike[str]) -> Profile:
    """Load and validate one profile file. Errors say `file:line: key: problem`."""
    return parse_profile(read_yaml_file(path, "profile"), source=Path(path))


def read_yaml_file(path: str | os.PathLike[str], what: str) -> str:
    """The text of a profile or preset file; a missing, unreadable or non-UTF-8 file is a
    ProfileError naming it."""
    p = Path(path)
    shown = _display(p)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(
            f"{shown}: {what} file not found", path=p, hint="check the path"
        ) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"{shown}: not UTF-8 text (byte {exc.start})", path=p, hint="save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ProfileError(f"{shown}: cannot read: {exc.strerror}", path=p) from None


def parse_profile(text: str, *, source: str | os.PathLike[str] = "<profile>") -> Profile:
    """Validate profile YAML text; `source` names the file in messages (its stem is the name)."""
    src = Path(source)
    shown = _display(src) if str(source) != "<profile>" else "<profile>"
    node = _compose(text, shown, src)
    data = _construct(node, shown, src)
    if not isinstance(data, dict):
        raise ProfileError(
            f"{shown}:{_line(node)}: a profile is a mapping of keys (name, title, summary, "
            f"kind, source...), got {type(data).__name__}",
            path=src,
        )
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        explained = sorted(_explain(err, node, shown) for err in exc.errors())
        raise ProfileError("\n".join(m for _, m in explained), path=src) from None
    if str(source) != "<profile>" and profile.name != src.stem:
        raise ProfileError(
            f"{shown}:{_line(_node_at(node, ('name',), key=False))}: name: {profile.name!r} "
            f"must equal the file name {src.stem!r}",
            path=src,
            hint=f"rename the file to {profile.name}{src.suffix} or set name: {src.stem}",
        )
    return profile


# --- YAML with line numbers ---------------------------------------------------------------------


def _compose(text: str, shown: str, src: Path) -> yaml.Node:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        raise ProfileError(
            f"{shown}:{line}: not valid YAML: {what}", path=src, hint="check the indentation"
        ) from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{shown}: not valid YAML: {exc}", path=src) from None
    if node is None:
        raise ProfileError(f"{shown}:1: the profile file is empty", path=src)
    _reject_duplicates(node, shown, src, ())
    return node


def _reject_duplicates(node: yaml.Node, shown: str, src: Path, loc: tuple[Any, ...]) -> None:
    """PyYAML keeps the last of two equal keys silently; in a profile that hides a typo."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            k = str(key.value)
            if k in seen:
                where = ".".join(str(x) for x in (*loc, k))
                raise ProfileError(
                    f"{shown}:{key.start_mark.line + 1}: {where}: duplicate key (first at line "
                    f"{seen[k]})",
                    path=src,
                    hint="keep one of them",
                )
            seen[k] = key.start_mark.line + 1
            _reject_duplicates(value, shown, src, (*loc, k))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _reject_duplicates(item, shown, src, (*loc, i))


def _construct(node: yaml.Node, shown: str, src: Path) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ProfileError(f"{shown}:{line}: {exc.problem}", path=src) from None
    finally:
        loader.dispose()


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _node_at(root: yaml.Node, loc: tuple[Any, ...], *, key: bool) -> yaml.Node:
    """The deepest node along `loc`; with key=True, the key node of the last mapping step."""
    node = root
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(part):
                    node = k if (last and key) else v
                    break
            else:
                return node  # missing key: the mapping that should hold it
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return node
        else:
            return node
    return node


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation like `LoudnessSpec | None` or `list[X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Profile
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _model_of(field.annotation)
    return model


def _explain(err: Any, root: yaml.Node, shown: str) -> tuple[int, str]:
    """One pydantic error as (line, `file:line: dotted.key: what is wrong`)."""
    line, text = _explain_at(err, root)
    return line, f"{shown}:{line}: {text}"


def _explain_at(err: Any, root: yaml.Node) -> tuple[int, str]:
    loc = tuple(part for part in err["loc"] if not _is_union_tag(part))
    dotted = ".".join(str(x) for x in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        line = _line(_node_at(root, loc, key=True))
        parent = _model_at(loc[:-1])
        known = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        if close:
            return line, f"{dotted}: unknown key (did you mean {close[0]!r}?)"
        allowed = f" (allowed: {', '.join(known)})" if known else ""
        return line, f"{dotted}: unknown key{allowed}"
    if kind == "missing":
        # Point at the key that owns the mapping ("loudness:"), where the key belongs.
        line = _line(_node_at(root, loc[:-1], key=True)) if len(loc) > 1 else 1
        return line, f"{dotted}: required key is missing"
    value = _node_at(root, loc, key=False)
    if isinstance(value, yaml.MappingNode | yaml.SequenceNode) and loc:
        value = _node_at(root, loc, key=True)  # "video:" reads better than its first child
    got = err.get("input")
    shown_input = f", got {got!r}" if not isinstance(got, dict | list) else ""
    msg = str(err["msg"]).removeprefix("Value error, ")
    return _line(value), f"{dotted}: {msg}{shown_input}"


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the tried member type to `loc` for unions ("float", "list[str]",
    # "RightsRequirement"...); those are not keys in the file.
    return isinstance(part, str) and (
        part in {"float", "int", "str", "bool", "none"}
        or "[" in part
        or part in {cls.__name__ for cls in Strict.__subclasses__()}
    )


# --- one-line summaries (for listings and reports) --------------------------------------------


def _fmt_num(x: float) -> str:
    return f"{x:g}"


def loudness_summary(spec: LoudnessSpec | None) -> str:
    """'-23 LUFS ±1 LU, TP -3 dBTP' (or '—' when the profile does not measure loudness)."""
    if spec is None:
        return "—"
    text = (
        f"{_fmt_num(spec.target_lufs)} LUFS ±{_fmt_num(spec.tolerance_lu)} LU, "
        f"TP {_fmt_num(spec.max_true_peak_dbtp)} dBTP"
    )
    if spec.max_short_term_lufs is not None:
        text += f", max S {_fmt_num(spec.max_short_term_lufs)}"
    if spec.max_momentary_lufs is not None:
        text += f", max M {_fmt_num(spec.max_momentary_lufs)}"
    return text


def format_summary(spec: FormatSpec | None, programme: ProgrammeSpec | None = None) -> str:
    """The delivery format in one line: 'MXF OP-1a · MPEG Video 4:2:2@High 50 Mb/s · ...'."""
    if spec is None:
        return "any format"
    parts: list[str] = []
    wrapper = "/".join(spec.container or [])
    if spec.operational_pattern:
        wrapper = f"{wrapper} {spec.operational_pattern}".strip()
    if wrapper:
        parts.append(wrapper)
    v = spec.video
    if v is not None:
        codec = " ".join(
            x
            for x in ("/".join(v.codec or []), "/".join(v.profile or []))
            if x  # profile names are MediaInfo's: '422 HQ', 'High', '4:2:2@High'
        )
        if v.min_bitrate_mbps and v.max_bitrate_mbps:
            mid = (v.min_bitrate_mbps + v.max_bitrate_mbps) / 2
            codec += f" {_fmt_num(round(mid, 1))} Mb/s"
        elif v.min_bitrate_mbps:
            codec += f" ≥{_fmt_num(v.min_bitrate_mbps)} Mb/s"
        if codec:
            parts.append(codec)
        pic = ""
        if v.width and v.height:
            pic = f"{v.width}x{v.height}"
        scan = {"interlaced": "i", "progressive": "p"}.get(v.scan_type or "", "@")
        rates = v.frame_rates or ([v.frame_rate] if v.frame_rate else [])
        if rates:
            pic += f"{scan if pic else ''}{'/'.join(_fmt_num(r) for r in rates)}"
        elif v.scan_type:
            pic += f" {v.scan_type}"
        if v.field_order:
            pic += f" {v.field_order.upper()}"
        if v.chroma_subsampling:
            pic += f" {v.chroma_subsampling}"
        if v.bit_depth:
            pic += f" {v.bit_depth}-bit"
        if pic.strip():
            parts.append(pic.strip())
    elif not spec.require_video:
        parts.append("audio only")
    a = spec.audio
    if a is not None:
        snd = "/".join(a.codec or [])
        count = a.channels or (
            "/".join(str(c) for c in a.channels_one_of) if a.channels_one_of else None
        )
        if count:
            snd += f" {count}ch" if not a.tracks else f" {a.tracks}×"
        if a.bit_depth:
            snd += f"{'' if a.tracks else ' '}{a.bit_depth}-bit"
        if a.sample_rate:
            snd += f" {_fmt_num(a.sample_rate / 1000)} kHz"
        if snd.strip():
            parts.append(snd.strip())
    if spec.start_timecode:
        parts.append(f"TC {spec.start_timecode}")
    if programme is not None:
        parts.append(f"programme at TC {programme.start_timecode}")
    if spec.max_duration_s:
        parts.append(f"≤{_fmt_num(spec.max_duration_s)} s")
    return " · ".join(parts) or "any format"
