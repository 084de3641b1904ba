"""Lightroom / Adobe Camera Raw sidecar settings (crs:), read for development.

Only what `develop` can apply honestly is interpreted (orientation, crop, exposure, white
balance); every other setting that differs from Adobe's neutral default is listed as not applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import MediaError

CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
TIFF = "http://ns.adobe.com/tiff/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# Bookkeeping and identity, not look: never reported.
_IGNORED = {
    "AlreadyApplied", "HasSettings", "HasCrop", "ProcessVersion", "Version", "RawFileName",
    "CameraProfileDigest", "LensProfileSetup", "ToneCurveName", "ToneCurveName2012",
    "CropUnit", "CropConstrainToWarp", "UprightVersion", "UprightTransformCount",
    "UprightCenterNormX", "UprightCenterNormY", "UprightFocalLength35mm", "UprightPreview",
    "UprightCenterMode", "UprightFocalMode", "UprightFourSegmentsCount", "CropWidth",
    "CropHeight", "OverrideLookVignette", "SupportsAmount", "SupportsColor",
    "SupportsMonochrome", "SupportsHighDynamicRange", "SupportsNormalDynamicRange",
    "SupportsSceneReferred", "SupportsOutputReferred", "CompatibleVersion", "LookName",
}  # fmt: skip
# Adobe's neutral values that are not zero.
_DEFAULTS = {
    "ParametricShadowSplit": "25", "ParametricMidtoneSplit": "50",
    "ParametricHighlightSplit": "75", "SharpenRadius": "1", "SharpenDetail": "25",
    "Sharpness": "25", "ColorNoiseReduction": "25", "ColorNoiseReductionDetail": "50",
    "ColorNoiseReductionSmoothness": "50", "LuminanceNoiseReductionDetail": "50",
    "LuminanceNoiseReductionContrast": "0", "PerspectiveScale": "100",
    "DefringeGreenHueLo": "40", "DefringeGreenHueHi": "60", "DefringePurpleHueLo": "30",
    "DefringePurpleHueHi": "70", "CameraProfile": "Adobe Standard", "SplitToningBalance": "0",
    "GrainSize": "25", "GrainFrequency": "50", "Texture": "0", "WhiteBalance": "As Shot",
    "CropRight": "1", "CropBottom": "1", "ToneMapStrength": "0", "Contrast": "25",
    "Brightness": "50", "Shadows": "5",
}  # fmt: skip
# Applied by develop (when their values allow it).
APPLIED_KEYS = {
    "Orientation", "HasCrop", "CropTop", "CropLeft", "CropBottom", "CropRight", "CropAngle",
    "Exposure2012", "Exposure", "WhiteBalance", "Temperature", "Tint",
}  # fmt: skip


@dataclass
class SidecarSettings:
    """What a Lightroom/ACR sidecar asks for, as develop can read it."""

    path: Path
    crs: dict[str, str] = field(default_factory=dict)  # every crs: setting, as text
    orientation: int | None = None  # tiff:Orientation (EXIF values 1..8)

    def number(self, key: str) -> float | None:
        try:
            return float(self.crs[key])
        except (KeyError, ValueError):
            return None

    @property
    def has_crop(self) -> bool:
        return self.crs.get("HasCrop", "").lower() == "true"

    def not_applied(self) -> list[str]:
        """`Key=value` for every look setting away from its neutral default that we ignore."""
        out = []
        for key, value in sorted(self.crs.items()):
            if key in _IGNORED or key in APPLIED_KEYS or _neutral(key, value):
                continue
            out.append(f"{key}={value}")
        return out


def _neutral(key: str, value: str) -> bool:
    v = value.strip()
    if key in _DEFAULTS:
        try:
            return float(v) == float(_DEFAULTS[key])
        except ValueError:
            return v == _DEFAULTS[key]
    if v in ("", "False", "false"):
        return True
    if v.startswith("[curve]"):
        return v in ("[curve] 0, 0 | 255, 255", "[curve]")
    try:
        return float(v) == 0
    except ValueError:
        return False


def find_sidecar(path: Path) -> Path | None:
    """`IMG.CR3.xmp` (darktable, specific) before `IMG.xmp` (Lightroom, Capture One)."""
    for cand in (path.with_name(path.name + ".xmp"), path.with_suffix(".xmp")):
        if cand != path and cand.is_file():
            return cand
    return None


def read_sidecar(path: Path) -> SidecarSettings:
    """Parse an XMP sidecar; a broken one is a MediaError naming it (never silently skipped)."""
    from lxml import etree

    try:
        data = path.read_bytes()
        root = etree.fromstring(
            data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        )
    except OSError as exc:
        raise MediaError(f"cannot read the sidecar {path}: {exc.strerror}", path=path) from None
    except etree.XMLSyntaxError as exc:
        raise MediaError(
            f"the sidecar {path} is not valid XMP ({exc.msg}); not exporting without the "
            "settings it holds",
            path=path,
            hint="fix or move the sidecar (Lightroom: Metadata > Save Metadata to File)",
        ) from None
    settings = SidecarSettings(path)
    for desc in root.iter(f"{{{RDF}}}Description"):
        for name, value in desc.attrib.items():
            _take(settings, name, value)
        for child in desc:
            if not isinstance(child.tag, str):
                continue
            text = (child.text or "").strip()
            items = [li.text or "" for li in child.iter(f"{{{RDF}}}li")]
            if items:
                text = "[curve] " + " | ".join(i.strip() for i in items)
            _take(settings, child.tag, text)
    return settings


def _take(settings: SidecarSettings, qname: str, value: str) -> None:
    if qname.startswith(f"{{{CRS}}}"):
        settings.crs[qname[len(CRS) + 2 :]] = value.strip()
    elif qname == f"{{{TIFF}}}Orientation":
        try:
            o = int(value)
        except ValueError:
            return
        settings.orientation = o if 1 <= o <= 8 else None
