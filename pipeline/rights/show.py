"""`show_rights`: the effective rights of each file, from its embedded metadata and sidecars."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.exiftool import ExifToolSession
from pipeline.rights.embed import is_camera_raw
from pipeline.rights.fields import FIELD_NAMES, values_from_exiftool
from pipeline.sidecars import sidecars_of


class EffectiveRights(BaseModel):
    """The rights a reader of this file would see; `sources` says where each value came from."""

    model_config = ConfigDict(extra="forbid")

    path: str
    fields: dict[str, Any] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)
    sidecars: list[str] = Field(default_factory=list)
    error: str | None = None


def show_rights(
    paths: Iterable[str | os.PathLike[str]],
    *,
    sidecar_dir: str | os.PathLike[str] | None = None,
    session: ExifToolSession | None = None,
) -> list[EffectiveRights]:
    """Read the rights of many files in one ExifTool command.

    A sidecar's values win over embedded ones (it is where rights of originals live and what
    Lightroom, Capture One and darktable read); embedded values fill the gaps.
    """
    from pipeline.rights.apply import iter_files

    files = iter_files(paths)
    sdir = Path(sidecar_dir) if sidecar_dir is not None else None
    out: list[EffectiveRights] = []
    to_read: list[Path] = []
    plan: list[tuple[EffectiveRights, Path, list[Path]]] = []
    for f in files:
        eff = EffectiveRights(path=str(f))
        out.append(eff)
        if not f.is_file():
            eff.error = f"{f} does not exist or is not a file; check the path"
            continue
        scs = sidecars_of(f, sdir)
        eff.sidecars = [str(s) for s in scs]
        to_read += [f, *scs]
        plan.append((eff, f, scs))
    own = session is None
    s = session or ExifToolSession()
    try:
        rows = s.read_json(to_read) if to_read else {}
    finally:
        if own:
            s.close()
    for eff, f, scs in plan:
        embedded = rows.get(os.path.abspath(f), {})
        if "Error" in embedded:
            eff.error = f"cannot read {f}: {embedded['Error']}"
        # `name.ext.xmp` names one file; `name.xmp` may be shared by files with the same stem
        # (IMG.CR3 + IMG.JPG, A001.MXF + A001.MOV), so embedded XMP beats it, except for
        # camera RAW whose `name.xmp` is the sidecar by convention (Lightroom, Capture One).
        inside = values_from_exiftool(embedded)
        xmp_inside = {k: v for k, v in inside.items() if v[1].startswith("XMP")}
        legacy = {k: v for k, v in inside.items() if not v[1].startswith("XMP")}
        specific = [sc for sc in scs if sc.name.lower() == f"{f.name.lower()}.xmp"]
        shared = [sc for sc in scs if sc not in specific]

        def layer(sc: Path) -> tuple[str, dict[str, tuple[Any, str]]]:
            return f"sidecar {sc.name}", values_from_exiftool(rows.get(os.path.abspath(sc), {}))

        layers = [layer(sc) for sc in specific]
        if is_camera_raw(f):
            layers += [layer(sc) for sc in shared] + [("embedded", xmp_inside)]
        else:
            layers += [("embedded", xmp_inside)] + [layer(sc) for sc in shared]
        layers.append(("embedded", legacy))
        for fld in FIELD_NAMES:
            for label, values in layers:
                if fld in values:
                    eff.fields[fld] = values[fld][0]
                    eff.sources[fld] = f"{label} ({values[fld][1]})"
                    break
    return out
