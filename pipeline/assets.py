"""What a file is: the Asset record that probe produces and every other room reads."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    PHOTO = "photo"
    SIDECAR = "sidecar"
    OTHER = "other"


class _Rec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VideoStream(_Rec):
    codec: str | None = None  # MediaInfo Format: "AVC", "ProRes", "MPEG Video"
    codec_profile: str | None = None  # "High@L4.1", "422 HQ", "4:2:2@High"
    codec_id: str | None = None  # "apch", "avc1"
    width: int | None = None
    height: int | None = None
    display_aspect_ratio: str | None = None  # "16:9"
    frame_rate: float | None = None
    frame_rate_mode: str | None = None  # "CFR" / "VFR"
    scan_type: str | None = None  # "progressive" / "interlaced"
    field_order: str | None = None  # "tff" / "bff"
    chroma_subsampling: str | None = None  # "4:2:2"
    bit_depth: int | None = None
    bitrate_bps: float | None = None
    colour_primaries: str | None = None  # "BT.709"
    transfer_characteristics: str | None = None
    matrix_coefficients: str | None = None
    frame_count: int | None = None


class AudioStream(_Rec):
    codec: str | None = None  # "PCM", "AAC"
    channels: int | None = None
    sample_rate: int | None = None
    bit_depth: int | None = None
    bitrate_bps: float | None = None
    channel_layout: str | None = None


class PhotoInfo(_Rec):
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    iso: int | None = None
    shutter: str | None = None  # "1/250"
    aperture: float | None = None  # f-number
    focal_length_mm: float | None = None
    captured: str | None = None  # ISO 8601 local time as the camera wrote it
    width: int | None = None
    height: int | None = None
    raw: bool = False


class AIProvenance(_Rec):
    """How the file says it was made: IPTC Digital Source Type and C2PA Content Credentials."""

    digital_source_type: str | None = None
    ai_generated: bool = False
    ai_composited: bool = False
    c2pa_present: bool = False
    c2pa_valid: bool | None = None
    c2pa_signer: str | None = None
    flags: list[str] = Field(default_factory=list)  # report lines, e.g. "AI-generated (IPTC …)"


class Asset(_Rec):
    """One file as Rushline understands it. `error` is set (and the rest mostly empty) when the
    file could not be read: a per-file error, never an exception out of a batch."""

    path: str
    kind: Kind
    size: int | None = None
    container: str | None = None  # MediaInfo general Format: "MPEG-4", "QuickTime", "MXF", "Wave"
    container_profile: str | None = None  # "OP-1a", "QuickTime", "Base Media"
    duration_s: float | None = None
    overall_bitrate_bps: float | None = None
    start_timecode: str | None = None  # "10:00:00:00"
    reel: str | None = None  # reel / tape / roll name
    clip_name: str | None = None
    camera: str | None = None  # "make model" for video when known
    video: list[VideoStream] = Field(default_factory=list)
    audio: list[AudioStream] = Field(default_factory=list)
    photo: PhotoInfo | None = None
    bwf_originator: str | None = None
    bwf_time_reference: int | None = None  # samples since midnight
    ai: AIProvenance | None = None  # set when probe read provenance (needs ExifTool)
    notes: list[str] = Field(default_factory=list)  # non-fatal remarks ("RAW not decodable")
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def audio_channels(self) -> int:
        return sum(a.channels or 0 for a in self.audio)
