"""Delivery profiles: strict pydantic models (a typo is an error) loaded from YAML.

Profiles are data: adding a broadcaster means adding a YAML file in profiles/ (bundled) or in the
user folder ($RUSHLINE_PROFILES or ~/.config/rushline/profiles), which overrides bundled ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Sev = Literal["error", "warning", "info"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(Strict):
    """Where the numbers come from, and what is uncertain about them."""

    document: str
    url: str | None = None
    uncertain: list[str] = Field(default_factory=list)  # values we could not confirm


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
    # Channels of the programme mix that is measured, 1-based across all audio channels in
    # file order, with the layout giving BS.1770 channel weights (5.1: L R C LFE Ls Rs).
    channels: list[int] | None = None  # None: all channels
    layout: Literal["mono", "stereo", "5.1", "auto"] = "auto"
    severity: Sev = "error"


class VideoFormatSpec(Strict):
    """Values as MediaInfo names them (Format, Format_Profile, ScanType...)."""

    codec: list[str] | None = None  # e.g. ["MPEG Video"], ["AVC"], ["ProRes"]
    profile: list[str] | None = None  # e.g. ["4:2:2@High"], ["422 HQ"], ["High@L4.1"]
    min_bitrate_mbps: float | None = None
    max_bitrate_mbps: float | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    scan_type: Literal["progressive", "interlaced"] | None = None
    field_order: Literal["tff", "bff"] | None = None
    chroma_subsampling: str | None = None  # "4:2:2"
    bit_depth: int | None = None
    colour_primaries: list[str] | None = None  # ["BT.709"]
    transfer_characteristics: list[str] | None = None
    matrix_coefficients: list[str] | None = None
    display_aspect_ratio: str | None = None  # "16:9", "9:16"


class AudioFormatSpec(Strict):
    codec: list[str] | None = None  # ["PCM"], ["AAC"]
    channels: int | None = None  # total audio channels across all tracks
    tracks: int | None = None  # number of audio tracks/streams (PAD: 8 mono tracks)
    sample_rate: int | None = None
    bit_depth: int | None = None
    min_bitrate_kbps: float | None = None


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


class Profile(Strict):
    name: str  # the id, equal to the file stem
    title: str
    summary: str  # one line for `rushline profiles`
    kind: Literal["broadcast", "platform", "web", "social", "podcast", "archive"]
    source: SourceRef
    loudness: LoudnessSpec | None = None
    format: FormatSpec | None = None
    picture: PictureSpec = PictureSpec()
    sound: SoundSpec = SoundSpec()
    rights: RightsRequirement | None = None
