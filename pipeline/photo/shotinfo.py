"""Shot data and captions of many photos in one ExifTool command (camera, lens, exposure,
time, title, caption, keywords, credit), as people read them on a contact sheet."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

TAGS = ("Make", "Model", "LensModel", "Lens", "LensID", "ISO", "ExposureTime", "FNumber",
        "DateTimeOriginal", "CreateDate", "Title", "ObjectName", "Description",
        "Caption-Abstract", "ImageDescription", "Keywords", "Subject", "Credit", "Creator",
        "Artist", "Copyright", "Rights")  # fmt: skip


class CaptureInfo(BaseModel):
    camera: str | None = None
    lens: str | None = None
    iso: str | None = None
    shutter: str | None = None
    aperture: str | None = None
    time: str | None = None
    title: str | None = None
    caption: str | None = None
    keywords: list[str] = Field(default_factory=list)
    credit: str | None = None
    creator: str | None = None
    copyright: str | None = None

    def exposure_line(self) -> str:
        """'1/250 s · f/4.0 · ISO 100' with what is known."""
        parts = [
            f"{self.shutter} s" if self.shutter else "",
            f"f/{self.aperture}" if self.aperture else "",
            f"ISO {self.iso}" if self.iso else "",
        ]
        return " · ".join(p for p in parts if p)


def _get(row: dict, *names: str) -> str | None:
    for name in names:
        for key, value in row.items():
            if key == name or key.endswith(f":{name}"):
                if isinstance(value, list):
                    value = ", ".join(str(v) for v in value)
                text = str(value).strip()
                if text and text != "-":
                    return text
    return None


def _list(row: dict, *names: str) -> list[str]:
    for name in names:
        for key, value in row.items():
            if key == name or key.endswith(f":{name}"):
                items = value if isinstance(value, list) else str(value).split(",")
                found = [str(v).strip() for v in items if str(v).strip()]
                if found:
                    return list(dict.fromkeys(found))
    return []


def _info(row: dict) -> CaptureInfo:
    make, model = _get(row, "Make"), _get(row, "Model")
    camera = model if (model and make and model.lower().startswith(make.split()[0].lower())) else (
        " ".join(x for x in (make, model) if x) or None
    )  # fmt: skip
    when = _get(row, "DateTimeOriginal", "CreateDate")
    if when and len(when) >= 19 and when[4] == ":":
        when = f"{when[:4]}-{when[5:7]}-{when[8:10]} {when[11:19]}"
    return CaptureInfo(
        camera=camera,
        lens=_get(row, "LensModel", "Lens", "LensID"),
        iso=_get(row, "ISO"),
        shutter=_get(row, "ExposureTime"),
        aperture=_get(row, "FNumber"),
        time=when,
        title=_get(row, "Title", "ObjectName"),
        caption=_get(row, "Description", "Caption-Abstract", "ImageDescription"),
        keywords=_list(row, "Subject", "Keywords"),
        credit=_get(row, "Credit"),
        creator=_get(row, "Creator", "Artist"),
        copyright=_get(row, "Rights", "Copyright"),
    )


def read_capture(paths: Sequence[str | os.PathLike[str]]) -> dict[Path, CaptureInfo]:
    """Capture data of every path (empty when ExifTool is missing or a file is unreadable)."""
    from pipeline.exiftool import ExifToolSession
    from pipeline.tools import has_exiftool

    result = {Path(p): CaptureInfo() for p in paths}
    if not paths or not has_exiftool():
        return result
    plain = [Path(p) for p in paths if "\n" not in str(p) and "\r" not in str(p)]
    groups = [plain] + [[Path(p)] for p in paths if Path(p) not in plain]
    by_abs = {os.path.abspath(p): Path(p) for p in paths}
    with ExifToolSession() as et:
        for group in (g for g in groups if g):
            args = ["-j", "-G1", "-struct", "-sep", "\x1f", *(f"-{t}" for t in TAGS)]
            res = et.execute([*args, *(os.path.abspath(p) for p in group)])
            with contextlib.suppress(json.JSONDecodeError):
                for row in json.loads(res.stdout or "[]"):
                    p = by_abs.get(os.path.abspath(row.get("SourceFile", "")))
                    if p is not None:
                        result[p] = _info(_split(row))
    return result


def _split(row: dict) -> dict:
    """Lists ExifTool joined with our separator, back to lists."""
    return {
        k: (v.split("\x1f") if isinstance(v, str) and "\x1f" in v else v) for k, v in row.items()
    }
