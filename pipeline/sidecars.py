"""XMP sidecar names: where the metadata of a file that is never modified lives.

Two conventions coexist: `IMG_0001.xmp` (Lightroom, Capture One, Photo Mechanic) and
`IMG_0001.CR3.xmp` (darktable, digiKam). Probe, rights and the photo room all name sidecars
here, so a sidecar one writes is the sidecar the others read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

SidecarStyle = Literal["name", "ext"]


def sidecar_path(
    path: str | os.PathLike[str], style: SidecarStyle = "name", sidecar_dir: Path | None = None
) -> Path:
    """`IMG_0001.xmp` ("name") or `IMG_0001.CR3.xmp` ("ext"), next to the file or in
    `sidecar_dir`. The name is the file's own, unchanged (newlines and brackets included)."""
    p = Path(path)
    name = f"{p.stem}.xmp" if style == "name" else f"{p.name}.xmp"
    return (sidecar_dir or p.parent) / name


def sidecars_of(path: str | os.PathLike[str], sidecar_dir: Path | None = None) -> list[Path]:
    """Existing sidecars of a file, `name.ext.xmp` first (the more specific name)."""
    found: list[Path] = []
    for style in ("ext", "name"):
        sc = sidecar_path(path, style, sidecar_dir)  # type: ignore[arg-type]
        if sc.is_file() and sc not in found:
            found.append(sc)
    return found
