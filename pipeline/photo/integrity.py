"""Integrity of an export before delivery: re-open it and check what the preset promised.

Checks: the file decodes completely; its pixel size and bit depth are exact; it carries an ICC
profile and it is the right one (JPEG: byte-identical; TIFF: description and colorants as
ExifTool reads them); the capture EXIF and the ppi are there; every rights field reads back
from XMP with the template's value (ExifTool, the reader other tools trust).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.exiftool import ExifToolSession
from pipeline.photo.capture import EXIFTOOL_NAMES, Capture
from pipeline.photo.icc import description, profile_bytes
from pipeline.rights.fields import expected_values, same, values_from_exiftool
from pipeline.rights.template import RightsTemplate

READ_TAGS = (
    "XMP:all",
    "IFD0:Make",
    "IFD0:Model",
    "IFD0:XResolution",
    "IFD0:Orientation",
    "ExifIFD:DateTimeOriginal",
    "ExifIFD:ExposureTime",
    "ExifIFD:FNumber",
    "ExifIFD:ISO",
    "ExifIFD:LensModel",
    "JFIF:XResolution",
    "ICC_Profile:ProfileDescription",
    "ICC-header:ColorSpaceData",
    "File:FileType",
)


@dataclass
class Expectation:
    fmt: str  # "jpeg" | "tiff"
    width: int
    height: int
    bit_depth: int
    colour_space: str
    ppi: int
    capture: Capture
    rights: RightsTemplate | None


@dataclass
class IntegrityReport:
    problems: list[str] = field(default_factory=list)
    icc: str | None = None
    rights_written: list[str] = field(default_factory=list)
    rights_not_written: dict[str, str] = field(default_factory=dict)
    row: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path, want: Expectation, *, session: ExifToolSession) -> IntegrityReport:
    """Re-open `path` and compare it with `want`; problems are listed, never raised."""
    rep = IntegrityReport()
    data = path.read_bytes()
    _check_pixels(data, want, rep)
    row = session.read_json([path], READ_TAGS).get(os.path.abspath(path), {})
    rep.row = row
    if not row or "Error" in row:
        rep.problems.append(f"ExifTool cannot read it back ({row.get('Error', 'no answer')})")
        return rep
    _check_icc(row, want, rep)
    _check_exif(row, want, rep)
    if want.rights is not None:
        _check_rights(row, want.rights, rep)
    return rep


def _check_pixels(data: bytes, want: Expectation, rep: IntegrityReport) -> None:
    if want.fmt == "jpeg":
        _check_jpeg(data, want, rep)
        return
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        rep.problems.append("does not decode")
        return
    h, w = img.shape[:2]
    _check_size(w, h, want, rep)
    depth = 16 if img.dtype == np.uint16 else 8
    if depth != want.bit_depth:
        rep.problems.append(f"{depth}-bit, expected {want.bit_depth}-bit")
    if img.ndim != 3 or img.shape[2] != 3:
        rep.problems.append("not a 3-channel RGB picture")


def _check_jpeg(data: bytes, want: Expectation, rep: IntegrityReport) -> None:
    """Decode every scan (libjpeg's 1/8 scaling still reads all the entropy-coded data, so a
    cut or damaged file fails, at half the cost of a full decode) and compare the ICC bytes."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h, mode = im.width, im.height, im.mode
            icc = im.info.get("icc_profile")
            im.draft("RGB", (max(1, w // 8), max(1, h // 8)))
            im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        rep.problems.append(f"does not decode ({exc})")
        return
    _check_size(w, h, want, rep)
    if mode != "RGB":
        rep.problems.append(f"not an RGB picture ({mode})")
    expected = profile_bytes(want.colour_space)
    if icc != expected:
        rep.problems.append(f"the embedded ICC profile is not Rushline's {description(expected)}")


def _check_size(w: int, h: int, want: Expectation, rep: IntegrityReport) -> None:
    if (w, h) != (want.width, want.height):
        rep.problems.append(f"size is {w}x{h}, expected {want.width}x{want.height}")


def _check_icc(row: dict[str, Any], want: Expectation, rep: IntegrityReport) -> None:
    """The profile as ExifTool reads it (the JPEG's bytes are compared in `_check_jpeg`)."""
    name = description(profile_bytes(want.colour_space))
    got = row.get("ICC_Profile:ProfileDescription")
    rep.icc = str(got) if got is not None else None
    if got is None:
        rep.problems.append(f"no ICC profile (expected {name})")
        return
    space = str(row.get("ICC-header:ColorSpaceData", "")).strip()
    if str(got).strip() != name or space != "RGB":
        rep.problems.append(f"ICC profile is {got!r}, expected {name!r}")


def _check_exif(row: dict[str, Any], want: Expectation, rep: IntegrityReport) -> None:
    for key, tag in EXIFTOOL_NAMES.items():
        if key in want.capture.tags and tag in READ_TAGS and row.get(tag) in (None, ""):
            rep.problems.append(f"capture EXIF {tag.split(':')[1]} was lost")
    ppi = row.get("IFD0:XResolution", row.get("JFIF:XResolution"))
    try:
        if ppi is None or round(float(ppi)) != want.ppi:
            rep.problems.append(f"resolution is {ppi} ppi, expected {want.ppi}")
    except (TypeError, ValueError):
        rep.problems.append(f"resolution {ppi!r} is not a number")
    orientation = row.get("IFD0:Orientation")
    if orientation not in (None, 1):
        rep.problems.append(f"EXIF orientation is {orientation}: pixels are already upright")


def _check_rights(row: dict[str, Any], t: RightsTemplate, rep: IntegrityReport) -> None:
    found = values_from_exiftool(row)
    for fld, value in expected_values(t).items():
        got = found.get(fld)
        if got is not None and same(value, got[0]) and got[1].startswith("XMP"):
            rep.rights_written.append(fld)
        else:
            why = "not found when read back" if got is None else f"read back as {got[0]!r}"
            rep.rights_not_written[fld] = why
    # A field an older ExifTool cannot write (IPTC 2025.1 AI fields) is reported, not fatal;
    # anything else missing means the rights did not make it into the file.
    fatal = [f for f in rep.rights_not_written if not f.startswith("ai_")]
    if fatal:
        rep.problems.append("rights not read back: " + ", ".join(fatal))
