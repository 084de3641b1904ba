"""Photo export presets: strict pydantic models loaded from `profiles/photo/*.yaml`.

Presets are data, like delivery profiles: a user folder (`$RUSHLINE_PHOTO_PRESETS`,
os.pathsep-separated, else ~/.config/rushline/photo) overrides the bundled ones by name. The
YAML reading (line numbers, duplicate keys, did-you-mean) is `pipeline.profiles`'s own.
"""

from __future__ import annotations

import difflib
import os
import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from pipeline import profiles as _p
from pipeline.errors import ProfileError

ColourSpace = Literal["sRGB", "Adobe RGB", "Display P3", "ProPhoto"]
Anchor = Literal[
    "center", "top", "bottom", "left", "right", "top-left", "top-right", "bottom-left",
    "bottom-right",
]  # fmt: skip
# Variables a filename template may use (expanded per file by pipeline.photo.export).
FILENAME_VARIABLES = ("stem", "preset", "seq", "date", "camera", "width", "height", "ext")


class ResizeSpec(_p.Strict):
    """How the developed picture becomes the delivered pixel size (always exact)."""

    mode: Literal["long_edge", "box", "full"]
    long_edge: int | None = Field(default=None, ge=16, le=65535)
    width: int | None = Field(default=None, ge=16, le=65535)
    height: int | None = Field(default=None, ge=16, le=65535)
    anchor: Anchor = "center"  # which part of the picture a box crop keeps
    upscale: bool = False  # a smaller picture is delivered at its own size unless this is set

    @model_validator(mode="after")
    def _coherent(self) -> ResizeSpec:
        if self.mode == "long_edge" and self.long_edge is None:
            raise ValueError("mode long_edge needs long_edge (pixels)")
        if self.mode == "box" and (self.width is None or self.height is None):
            raise ValueError("mode box needs width and height (pixels)")
        return self


class DevelopSpec(_p.Strict):
    """RAW development (LibRaw through rawpy); ignored for JPEG/TIFF sources."""

    white_balance: Literal["camera", "auto", "daylight"] | list[float] = "camera"
    exposure_ev: float = Field(default=0.0, ge=-2.0, le=3.0)  # LibRaw's exp_shift range
    highlights: Literal["clip", "unclip", "blend", "reconstruct"] = "clip"
    auto_bright: bool = True  # LibRaw's histogram brightening (off when exposure is set)
    demosaic: Literal["ahd", "aahd", "dht", "vng", "ppg", "linear"] = "ahd"
    # auto: develop at half size (2x2 binning, no demosaic) when that still covers the output
    half_size: Literal["auto", "never", "always"] = "auto"
    apply_sidecar: bool = True  # Lightroom/ACR crs: basics (orientation, crop, exposure, WB)

    @field_validator("white_balance")
    @classmethod
    def _mul(cls, v: Any) -> Any:
        if isinstance(v, list) and (len(v) not in (3, 4) or any(x <= 0 for x in v)):
            raise ValueError("white_balance multipliers are 3 or 4 positive numbers (R G B G2)")
        return v


class SharpenSpec(_p.Strict):
    """Output sharpening (unsharp mask) after resizing, for the medium."""

    radius: float = Field(default=0.8, gt=0, le=10)
    amount: int = Field(default=60, ge=0, le=500)  # percent
    threshold: int = Field(default=2, ge=0, le=255)


class WatermarkSpec(_p.Strict):
    text: str
    position: Anchor = "bottom-right"
    opacity: float = Field(default=0.5, gt=0, le=1)
    size_percent: float = Field(default=2.5, gt=0, le=20)  # text height, % of the short edge


class ExportPreset(_p.Strict):
    name: str  # the id, equal to the file stem
    title: str
    summary: str
    format: Literal["jpeg", "tiff"]
    colour_space: ColourSpace = "sRGB"
    bit_depth: Literal[8, 16] = 8
    resize: ResizeSpec
    quality: int = Field(default=90, ge=1, le=100)  # JPEG
    subsampling: Literal["4:4:4", "4:2:2", "4:2:0"] = "4:2:0"  # JPEG chroma
    compression: Literal["none", "lzw", "deflate"] = "deflate"  # TIFF
    ppi: int = Field(default=72, ge=1, le=4800)
    sharpen: SharpenSpec | None = None
    watermark: WatermarkSpec | None = None
    filename: str = "{stem}"  # without extension; see FILENAME_VARIABLES
    develop: DevelopSpec = DevelopSpec()
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coherent(self) -> ExportPreset:
        if self.format == "jpeg" and self.bit_depth != 8:
            raise ValueError("JPEG is 8-bit; use format: tiff for 16-bit")
        if "/" in self.filename or "\\" in self.filename or not self.filename.strip():
            raise ValueError("filename is a name template, not a path (no '/')")
        try:
            names = [n for _, n, _, _ in string.Formatter().parse(self.filename) if n]
        except ValueError as exc:
            raise ValueError(f"filename: {exc}") from None
        bad = [n for n in names if n not in FILENAME_VARIABLES]
        if bad:
            known = ", ".join("{" + v + "}" for v in FILENAME_VARIABLES)
            raise ValueError(f"filename uses unknown variable {{{bad[0]}}}; known: {known}")
        return self

    @property
    def extension(self) -> str:
        return ".jpg" if self.format == "jpeg" else ".tif"


# --- loading -----------------------------------------------------------------------------------


def bundled_dir() -> Path:
    return _p.bundled_dir() / "photo"


def user_dirs() -> list[Path]:
    """User preset folders, highest priority first (read at each call: no global state)."""
    env = os.environ.get("RUSHLINE_PHOTO_PRESETS")
    if env is not None:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    return [Path.home() / ".config" / "rushline" / "photo"]


def _candidates() -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for folder in [*user_dirs(), bundled_dir()]:
        out.extend(_p._files_in(folder).items())
    return out


def preset_names() -> list[str]:
    return sorted({name for name, _ in _candidates()})


def list_presets() -> list[tuple[str, Path, ExportPreset | None, str | None]]:
    """(name, file, preset or None, error or None) for every preset that `load_preset` picks."""
    seen: dict[str, Path] = {}
    for name, path in _candidates():
        seen.setdefault(name, path)
    out = []
    for name in sorted(seen):
        try:
            out.append((name, seen[name], load_preset_file(seen[name]), None))
        except ProfileError as exc:
            out.append((name, seen[name], None, str(exc)))
    return out


def load_preset(name_or_path: str | os.PathLike[str]) -> ExportPreset:
    """A preset by name (user folders first, then bundled) or by path to a YAML file."""
    if isinstance(name_or_path, Path) or _p._looks_like_path(str(name_or_path)):
        return load_preset_file(Path(name_or_path))
    name = str(name_or_path).strip()
    for cand, path in _candidates():
        if cand == name:
            return load_preset_file(path)
    names = preset_names()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    folders = ", ".join(str(d) for d in [*user_dirs(), bundled_dir()])
    raise ProfileError(
        f"unknown photo preset {name!r}: {hint}available: {', '.join(names) or 'none'}",
        hint=f"presets are read from {folders}",
    )


def load_preset_file(path: str | os.PathLike[str]) -> ExportPreset:
    return parse_preset(_p.read_yaml_file(path, "preset"), source=Path(path))


def parse_preset(text: str, *, source: str | os.PathLike[str] = "<preset>") -> ExportPreset:
    """Validate preset YAML; errors read `file:line: key: problem`."""
    src = Path(source)
    shown = _p._display(src) if str(source) != "<preset>" else "<preset>"
    node = _p._compose(text, shown, src)
    data = _p._construct(node, shown, src)
    if not isinstance(data, dict):
        raise ProfileError(f"{shown}:1: a preset is a mapping of keys (name, format...)", path=src)
    try:
        preset = ExportPreset.model_validate(data)
    except ValidationError as exc:
        lines = sorted(_explain(err, node) for err in exc.errors())
        raise ProfileError(
            "\n".join(f"{shown}:{ln}: {msg}" for ln, msg in lines), path=src
        ) from None
    if str(source) != "<preset>" and preset.name != src.stem:
        raise ProfileError(
            f"{shown}: name: {preset.name!r} must equal the file name {src.stem!r}",
            path=src,
            hint=f"rename the file to {preset.name}{src.suffix} or set name: {src.stem}",
        )
    return preset


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = ExportPreset
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        model = _p._model_of(field.annotation) if field else None
    return model


def _explain(err: Any, root: yaml.Node) -> tuple[int, str]:
    """Unknown keys get a did-you-mean from the preset models; the rest as profiles say it."""
    if err["type"] != "extra_forbidden":
        return _p._explain_at(err, root)
    loc = tuple(part for part in err["loc"] if not _p._is_union_tag(part))
    line = _p._line(_p._node_at(root, loc, key=True))
    parent = _model_at(loc[:-1])
    known = list(parent.model_fields) if parent else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    dotted = ".".join(str(x) for x in loc)
    if close:
        return line, f"{dotted}: unknown key (did you mean {close[0]!r}?)"
    return line, f"{dotted}: unknown key (allowed: {', '.join(known)})"
