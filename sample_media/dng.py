"""A minimal, valid CFA DNG writer (DNG 1.4, Bayer RGGB, 16-bit, uncompressed).

Written by hand with numpy and struct so the sample photo card has a RAW file we generate
ourselves, with known content and EXIF, that LibRaw (rawpy) decodes. Only the tags LibRaw and
the DNG spec need are written; the layout is IFD0 (the raw image itself, NewSubFileType 0)
plus an EXIF IFD.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# TIFF field types
BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
_SIZE = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1, SRATIONAL: 8}


@dataclass(frozen=True)
class DngExif:
    """Camera settings written to the EXIF IFD (and Make/Model to IFD0)."""

    make: str
    model: str
    lens: str
    iso: int
    exposure: tuple[int, int]  # seconds as a fraction, (1, 125)
    f_number: tuple[int, int]  # (28, 10) = f/2.8
    focal_length: tuple[int, int]  # (50, 1) mm
    captured: str  # EXIF "YYYY:MM:DD HH:MM:SS"


def _entry(tag: int, typ: int, values) -> tuple[int, int, int, bytes]:
    if typ == ASCII:
        data = values.encode("ascii") + b"\0"
        count = len(data)
    elif typ in (BYTE, UNDEFINED):
        data = bytes(values)
        count = len(data)
    elif typ == SHORT:
        data = struct.pack(f"<{len(values)}H", *values)
        count = len(values)
    elif typ == LONG:
        data = struct.pack(f"<{len(values)}I", *values)
        count = len(values)
    elif typ in (RATIONAL, SRATIONAL):
        fmt = "<2I" if typ == RATIONAL else "<2i"
        data = b"".join(struct.pack(fmt, n, d) for n, d in values)
        count = len(values)
    else:  # pragma: no cover - only the types above are used
        raise ValueError(typ)
    return tag, typ, count, data


def _ifd_bytes(entries: list[tuple[int, int, int, bytes]], offset: int, next_ifd: int) -> bytes:
    """Serialise one IFD placed at `offset`; values that do not fit in 4 bytes follow it."""
    entries = sorted(entries, key=lambda e: e[0])  # TIFF requires ascending tags
    head = struct.pack("<H", len(entries))
    extra = b""
    extra_at = offset + 2 + 12 * len(entries) + 4
    body = b""
    for tag, typ, count, data in entries:
        if len(data) <= 4:
            body += struct.pack("<HHI", tag, typ, count) + data.ljust(4, b"\0")
        else:
            if (extra_at + len(extra)) % 2:
                extra += b"\0"  # values start on a word boundary
            body += struct.pack("<HHII", tag, typ, count, extra_at + len(extra))
            extra += data
    return head + body + struct.pack("<I", next_ifd) + extra


def _rat(x: float, den: int = 10000) -> tuple[int, int]:
    return round(x * den), den


def bayer_from_rgb(rgb: np.ndarray, black: int, white: int) -> np.ndarray:
    """Mosaic a linear RGB image (floats 0..1, HxWx3, H and W even) into an RGGB CFA."""
    h, w, _ = rgb.shape
    cfa = np.empty((h, w), dtype=np.float64)
    cfa[0::2, 0::2] = rgb[0::2, 0::2, 0]  # R
    cfa[0::2, 1::2] = rgb[0::2, 1::2, 1]  # G
    cfa[1::2, 0::2] = rgb[1::2, 0::2, 1]  # G
    cfa[1::2, 1::2] = rgb[1::2, 1::2, 2]  # B
    return (black + np.clip(cfa, 0, 1) * (white - black)).round().astype("<u2")


def write_dng(path: Path, cfa: np.ndarray, exif: DngExif, *, black: int, white: int) -> None:
    """Write `cfa` (uint16 HxW, RGGB) as an uncompressed DNG 1.4 with the given EXIF."""
    h, w = cfa.shape
    pixels = np.ascontiguousarray(cfa, dtype="<u2").tobytes()
    unique = f"{exif.make} {exif.model}"
    # sRGB/D65 XYZ->camera matrix: our synthetic sensor *is* linear sRGB, so ColorMatrix1 is
    # the inverse of the sRGB->XYZ matrix (rounded), and the white balance is neutral.
    xyz_to_srgb = [3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570]
    exif_entries = [
        _entry(33434, RATIONAL, [exif.exposure]),  # ExposureTime
        _entry(33437, RATIONAL, [exif.f_number]),  # FNumber
        _entry(34855, SHORT, [exif.iso]),  # ISOSpeedRatings
        _entry(36864, UNDEFINED, b"0231"),  # ExifVersion
        _entry(36867, ASCII, exif.captured),  # DateTimeOriginal
        _entry(37386, RATIONAL, [exif.focal_length]),  # FocalLength
        _entry(42036, ASCII, exif.lens),  # LensModel
    ]

    def ifd0(strip_offset: int, exif_offset: int) -> list:
        return [
            _entry(254, LONG, [0]),  # NewSubFileType: main image
            _entry(256, LONG, [w]),
            _entry(257, LONG, [h]),
            _entry(258, SHORT, [16]),  # BitsPerSample
            _entry(259, SHORT, [1]),  # no compression
            _entry(262, SHORT, [32803]),  # PhotometricInterpretation: CFA
            _entry(271, ASCII, exif.make),
            _entry(272, ASCII, exif.model),
            _entry(273, LONG, [strip_offset]),
            _entry(274, SHORT, [1]),  # Orientation
            _entry(277, SHORT, [1]),  # SamplesPerPixel
            _entry(278, LONG, [h]),  # RowsPerStrip: one strip
            _entry(279, LONG, [len(pixels)]),
            _entry(284, SHORT, [1]),  # PlanarConfiguration
            _entry(306, ASCII, exif.captured),  # DateTime
            _entry(33421, SHORT, [2, 2]),  # CFARepeatPatternDim
            _entry(33422, BYTE, [0, 1, 1, 2]),  # CFAPattern RGGB
            _entry(34665, LONG, [exif_offset]),  # ExifIFD
            _entry(50706, BYTE, [1, 4, 0, 0]),  # DNGVersion 1.4
            _entry(50707, BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
            _entry(50708, ASCII, unique),  # UniqueCameraModel
            _entry(50710, BYTE, [0, 1, 2]),  # CFAPlaneColor
            _entry(50711, SHORT, [1]),  # CFALayout: rectangular
            _entry(50713, SHORT, [2, 2]),  # BlackLevelRepeatDim
            _entry(50714, LONG, [black] * 4),  # BlackLevel
            _entry(50717, LONG, [white]),  # WhiteLevel
            _entry(50719, LONG, [8, 8]),  # DefaultCropOrigin
            _entry(50720, LONG, [w - 16, h - 16]),  # DefaultCropSize
            _entry(50721, SRATIONAL, [_rat(v) for v in xyz_to_srgb]),  # ColorMatrix1
            _entry(50728, RATIONAL, [(1, 1), (1, 1), (1, 1)]),  # AsShotNeutral
            _entry(50778, SHORT, [21]),  # CalibrationIlluminant1: D65
        ]

    # Layout: header | IFD0 (+values) | EXIF IFD (+values) | pixels. Sizes do not depend on the
    # offsets, so one dry run gives every position.
    ifd0_at = 8
    ifd0_len = len(_ifd_bytes(ifd0(0, 0), ifd0_at, 0))
    exif_at = ifd0_at + ifd0_len + (ifd0_len % 2)
    exif_blob = _ifd_bytes(exif_entries, exif_at, 0)
    strip_at = exif_at + len(exif_blob)
    strip_at += (-strip_at) % 16
    ifd0_blob = _ifd_bytes(ifd0(strip_at, exif_at), ifd0_at, 0)
    buf = bytearray(b"II*\0" + struct.pack("<I", ifd0_at))
    buf += ifd0_blob
    buf += b"\0" * (exif_at - len(buf))
    buf += exif_blob
    buf += b"\0" * (strip_at - len(buf))
    buf += pixels
    path.write_bytes(bytes(buf))


def synthetic_scene(h: int, w: int, seed: int) -> np.ndarray:
    """A linear-light RGB test scene (floats 0..1): sky gradient, colour patches, grey ramp."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h)[:, None]
    x = np.linspace(0, 1, w)[None, :]
    img = np.empty((h, w, 3))
    img[..., 0] = 0.10 + 0.25 * y + 0.05 * x
    img[..., 1] = 0.18 + 0.22 * y
    img[..., 2] = 0.45 - 0.25 * y + 0.05 * x
    # A row of colour-checker-like patches (linear values of common reference colours).
    patches = [(0.6, 0.1, 0.1), (0.1, 0.5, 0.1), (0.1, 0.1, 0.6), (0.7, 0.6, 0.1), (0.18,) * 3]
    pw = w // (len(patches) + 1)
    for i, c in enumerate(patches):
        x0 = pw // 2 + i * pw
        img[h // 2 : h // 2 + h // 5, x0 : x0 + pw - 8] = c
    img[-h // 8 :, :] = np.linspace(0.0, 0.95, w)[None, :, None]  # grey ramp at the bottom
    img += rng.normal(0, 0.004, img.shape)  # a little sensor noise
    return np.clip(img, 0, 1)
