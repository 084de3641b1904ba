"""Develop one picture to RGB pixels in an export colour space (RAW through rawpy/LibRaw).

RAW: LibRaw demosaics in the target colour space with that space's own transfer curve (so the
ICC profile embedded later describes the pixels exactly), with the white balance, exposure and
highlight mode asked for. A Lightroom/ACR sidecar's basics are applied where that is honest
(orientation, crop without angle, exposure, As Shot / Kelvin white balance) and everything else
it sets is listed as not applied. JPEG/TIFF sources go through Pillow and LittleCMS.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.errors import MediaError
from pipeline.photo.icc import SPACES, profile_bytes
from pipeline.photo.presets import ColourSpace, DevelopSpec
from pipeline.photo.sidecar import SidecarSettings, find_sidecar, read_sidecar

RAW_SUFFIXES = frozenset(
    ".3fr .arw .cr2 .cr3 .crw .dcr .dng .erf .fff .iiq .kdc .mef .mos .mrw .nef .nrw .orf .pef "
    ".raf .raw .rw2 .rwl .sr2 .srf .srw .x3f".split()
)
PILLOW_SUFFIXES = frozenset({".jpg", ".jpeg", ".tif", ".tiff", ".png"})
# LibRaw's `flip` (bit 0 mirror x, bit 1 mirror y, bit 2 transpose) as an EXIF orientation.
_FLIP_TO_EXIF = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
Fits = Callable[[int, int], bool]


@dataclass
class Developed:
    """Pixels (H x W x 3, RGB, uint8 or uint16) encoded in `colour_space`, and what was done."""

    pixels: np.ndarray
    colour_space: ColourSpace
    source_kind: str  # "raw" or "image"
    applied: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sidecar: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


def develop(
    path: Path,
    spec: DevelopSpec,
    colour_space: ColourSpace,
    bit_depth: int,
    *,
    fits: Fits | None = None,
    data: bytes | None = None,
) -> Developed:
    """Develop `path` (read once: pass `data` if already read). `fits(w, h)` says whether a
    half-size develop of that oriented, cropped size still covers the output."""
    sc_path = find_sidecar(path) if spec.apply_sidecar else None
    sidecar = read_sidecar(sc_path) if sc_path is not None else None
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MediaError(f"cannot read {path}: {exc.strerror}", path=path) from None
    suffix = path.suffix.lower()
    if suffix in RAW_SUFFIXES:
        dev = _develop_raw(path, data, spec, colour_space, bit_depth, sidecar, fits)
    elif suffix in PILLOW_SUFFIXES:
        dev = _develop_image(path, data, colour_space, bit_depth, sidecar)
    else:
        raise MediaError(
            f"{path} is not a picture Rushline exports (RAW, JPEG, TIFF or PNG)", path=path
        )
    dev.sidecar = str(sc_path) if sc_path else None
    return dev


# --- RAW -----------------------------------------------------------------------------------------


def _raw_error(path: Path, exc: Exception) -> MediaError:
    import rawpy

    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        return MediaError(
            f"{path}: LibRaw cannot decode this RAW (a format or compression it does not "
            "support, e.g. a JPEG XL DNG, or a file cut before its directory); not exported",
            path=path,
            hint="check it is complete (copy it again from the card), else convert it with "
            "Adobe DNG Converter (lossless JPEG)",
        )
    return MediaError(
        f"{path}: RAW data unreadable ({exc}): truncated or damaged; not exported",
        path=path,
        hint="copy it again from the card or a verified backup",
    )


def _develop_raw(
    path: Path,
    data: bytes,
    spec: DevelopSpec,
    colour_space: ColourSpace,
    bit_depth: int,
    sidecar: SidecarSettings | None,
    fits: Fits | None,
) -> Developed:
    import rawpy

    dev = Developed(np.zeros((0, 0, 3), np.uint8), colour_space, "raw")
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            params = _raw_params(raw, spec, colour_space, bit_depth, sidecar, dev)
            orientation = _FLIP_TO_EXIF.get(int(raw.sizes.flip), 1)
            if sidecar is not None and sidecar.orientation is not None:
                orientation = sidecar.orientation
                dev.applied.append(f"orientation {orientation} (sidecar)")
            crop = _sidecar_crop(sidecar, dev)
            params["half_size"] = _use_half(raw, spec, crop, orientation, fits)
            rgb = raw.postprocess(**params)
    except (rawpy.LibRawError, MemoryError) as exc:
        raise _raw_error(path, exc) from None
    if params["half_size"]:
        dev.notes.append("developed at half size (2x2 binning): it still covers the output")
    if crop is not None:
        rgb = crop_fraction(rgb, crop)
    dev.pixels = np.ascontiguousarray(orient(rgb, orientation))
    if sidecar is not None:
        dev.not_applied.extend(sidecar.not_applied())
    return dev


def _raw_params(
    raw,
    spec: DevelopSpec,
    colour_space: ColourSpace,
    bit_depth: int,
    sidecar: SidecarSettings | None,
    dev: Developed,
) -> dict:
    import rawpy

    space = {
        "sRGB": rawpy.ColorSpace.sRGB,
        "Adobe RGB": rawpy.ColorSpace.Adobe,
        "Display P3": rawpy.ColorSpace.P3D65,
        "ProPhoto": rawpy.ColorSpace.ProPhoto,
    }[colour_space]
    highlight = {
        "clip": rawpy.HighlightMode.Clip,
        "unclip": rawpy.HighlightMode.Ignore,
        "blend": rawpy.HighlightMode.Blend,
        "reconstruct": rawpy.HighlightMode.Reconstruct(5),
    }[spec.highlights]
    params: dict = {
        "output_color": space,
        "gamma": SPACES[colour_space].libraw_gamma,
        "output_bps": bit_depth,
        "highlight_mode": highlight,
        "demosaic_algorithm": getattr(rawpy.DemosaicAlgorithm, spec.demosaic.upper()),
        "user_flip": 0,  # orientation is applied after the crop, which is in sensor frame
    }
    params.update(_white_balance(raw, spec, sidecar, dev))
    ev = spec.exposure_ev
    if sidecar is not None and sidecar.crs.get("HasSettings", "").lower() == "true":
        side_ev = sidecar.number("Exposure2012")
        if side_ev is None:
            side_ev = sidecar.number("Exposure")
        if side_ev:
            dev.applied.append(f"exposure {side_ev:+.2f} EV (sidecar)")
            dev.notes.append("auto brightness off: the sidecar's exposure is applied instead")
            ev += side_ev
    if ev:
        clamped = min(max(ev, -2.0), 3.0)
        if clamped != ev:
            dev.not_applied.append(f"exposure {ev:+.2f} EV beyond LibRaw's range: {clamped:+g}")
        params.update(no_auto_bright=True, exp_shift=2.0**clamped, exp_preserve_highlights=0.8)
    elif not spec.auto_bright:
        params["no_auto_bright"] = True
    return params


def _white_balance(raw, spec: DevelopSpec, sidecar: SidecarSettings | None, dev: Developed) -> dict:
    wb = spec.white_balance
    if sidecar is not None and spec.apply_sidecar:
        mode = sidecar.crs.get("WhiteBalance", "As Shot")
        kelvin = sidecar.number("Temperature")
        if mode == "As Shot":
            wb = "camera"
            dev.applied.append("white balance As Shot (sidecar)")
        elif mode == "Auto":
            wb = "auto"
            dev.applied.append("white balance Auto (sidecar; LibRaw's grey-world, not Adobe's)")
        elif kelvin:
            mul = kelvin_multipliers(raw, kelvin)
            if mul is not None:
                tint = sidecar.number("Tint") or 0
                dev.applied.append(f"white balance {kelvin:.0f} K (sidecar, camera matrix)")
                if tint:
                    dev.not_applied.append(f"Tint={tint:+g} (no honest mapping to LibRaw)")
                return {"user_wb": mul}
            dev.not_applied.append(
                f"WhiteBalance={mode} {kelvin:.0f} K: this RAW has no colour matrix; As Shot used"
            )
            wb = "camera"
    if isinstance(wb, list):
        return {"user_wb": [*wb, wb[1]][:4] if len(wb) == 3 else list(wb)}
    if wb == "auto":
        return {"use_auto_wb": True}
    if wb == "daylight":
        return {}
    return {"use_camera_wb": True}


def kelvin_multipliers(raw, kelvin: float) -> list[float] | None:
    """Channel multipliers that make a Planckian white of `kelvin` neutral, through the
    camera's XYZ->camera matrix (Adobe's interpolated profiles differ a little)."""
    m = np.asarray(raw.rgb_xyz_matrix, dtype=float)[:3]
    if not np.any(m):
        return None
    t = min(max(kelvin, 1667.0), 25000.0)
    # Kim et al. (2002) cubic fits of the Planckian locus.
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    cam = m @ np.array([x / y, 1.0, (1 - x - y) / y])
    if np.any(cam <= 0):
        return None
    mul = cam[1] / cam
    return [float(mul[0]), 1.0, float(mul[2]), 1.0]


def _sidecar_crop(
    sidecar: SidecarSettings | None, dev: Developed
) -> tuple[float, float, float, float] | None:
    if sidecar is None or not sidecar.has_crop:
        return None
    top, left = sidecar.number("CropTop") or 0.0, sidecar.number("CropLeft") or 0.0
    bottom = sidecar.number("CropBottom") or 1.0
    right = sidecar.number("CropRight") or 1.0
    angle = sidecar.number("CropAngle") or 0.0
    if angle:
        dev.not_applied.append(f"crop with CropAngle={angle:g} (straightening is not applied)")
        return None
    if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
        dev.not_applied.append("crop: values out of range in the sidecar")
        return None
    dev.applied.append(f"crop T{top:.3f} L{left:.3f} B{bottom:.3f} R{right:.3f} (sidecar)")
    return top, left, bottom, right


def _use_half(raw, spec: DevelopSpec, crop, orientation: int, fits: Fits | None) -> bool:
    import rawpy

    if spec.half_size == "never" or raw.raw_type != rawpy.RawType.Flat:
        return False  # linear DNGs and scanners are not mosaics: half size gains nothing
    if spec.half_size == "always":
        return True
    if fits is None:
        return False
    w, h = raw.sizes.iwidth // 2, raw.sizes.iheight // 2
    if crop is not None:
        w, h = int(w * (crop[3] - crop[1])), int(h * (crop[2] - crop[0]))
    if orientation >= 5:
        w, h = h, w
    return fits(w, h)


# --- geometry ------------------------------------------------------------------------------------


def crop_fraction(img: np.ndarray, crop: tuple[float, float, float, float]) -> np.ndarray:
    """Crop by fractions (top, left, bottom, right) of the picture."""
    h, w = img.shape[:2]
    top, left, bottom, right = crop
    y0, y1 = round(top * h), max(round(bottom * h), round(top * h) + 1)
    x0, x1 = round(left * w), max(round(right * w), round(left * w) + 1)
    return img[y0:y1, x0:x1]


def orient(img: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) so the picture stands the right way up."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, k=1),
    }
    return ops.get(orientation, ops[1])(img)


# --- JPEG / TIFF / PNG ---------------------------------------------------------------------------


def _develop_image(
    path: Path,
    data: bytes,
    colour_space: ColourSpace,
    bit_depth: int,
    sidecar: SidecarSettings | None,
) -> Developed:
    from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

    dev = Developed(np.zeros((0, 0, 3), np.uint8), colour_space, "image")
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(
            f"{path}: not a readable picture ({exc}); not exported", path=path
        ) from None
    if sidecar is not None and sidecar.orientation is not None:
        im = im.transpose(_PIL_ORIENT[sidecar.orientation]) if sidecar.orientation > 1 else im
        dev.applied.append(f"orientation {sidecar.orientation} (sidecar)")
    else:
        im = ImageOps.exif_transpose(im)
    src_icc = im.info.get("icc_profile")
    if im.mode not in ("RGB",):
        if im.mode in ("I;16", "I;16B", "I"):
            dev.notes.append("16-bit single-channel source converted to 8-bit RGB")
        im = im.convert("RGB")
    src = (
        ImageCms.ImageCmsProfile(io.BytesIO(src_icc)) if src_icc else ImageCms.createProfile("sRGB")
    )
    if not src_icc:
        dev.notes.append("no ICC profile in the source: read as sRGB")
    dst = ImageCms.ImageCmsProfile(io.BytesIO(profile_bytes(colour_space)))
    if src_icc != profile_bytes(colour_space):
        im = ImageCms.profileToProfile(im, src, dst, renderingIntent=ImageCms.Intent.PERCEPTUAL)
    rgb = np.asarray(im)
    crop = _sidecar_crop(sidecar, dev)
    if crop is not None:
        rgb = crop_fraction(rgb, crop)
    if bit_depth == 16:
        rgb = rgb.astype(np.uint16) * 257
        dev.notes.append("8-bit source widened to 16-bit")
    if sidecar is not None:
        look = [s for s in sidecar.not_applied()]
        for key in ("Exposure2012", "Temperature"):
            if sidecar.number(key):
                look.append(f"{key}={sidecar.crs[key]} (not applied to JPEG/TIFF sources)")
        dev.not_applied.extend(look)
    dev.pixels = np.ascontiguousarray(rgb)
    return dev


def _pil_orient() -> dict[int, int]:
    from PIL import Image

    t = Image.Transpose
    return {
        2: t.FLIP_LEFT_RIGHT,
        3: t.ROTATE_180,
        4: t.FLIP_TOP_BOTTOM,
        5: t.TRANSPOSE,
        6: t.ROTATE_270,
        7: t.TRANSVERSE,
        8: t.ROTATE_90,
    }


class _LazyOrient(dict):
    def __missing__(self, key: int) -> int:
        self.update(_pil_orient())
        return dict.__getitem__(self, key)


_PIL_ORIENT: dict[int, int] = _LazyOrient()
