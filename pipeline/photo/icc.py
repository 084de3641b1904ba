"""ICC profiles for exports, built here: no download, no file shipped.

sRGB comes from Pillow's ImageCms (LittleCMS's built-in sRGB). Pillow cannot build an RGB
profile from primaries (`createProfile` knows only sRGB, LAB and XYZ), so Adobe RGB (1998),
Display P3 and ProPhoto (ROMM) are written here as ICC v2.4 matrix/TRC display profiles:
colorants are the primaries' XYZ, Bradford-adapted to the D50 PCS and rounded so they sum to
D50 exactly; `wtpt` is D50 and `chad` holds the adaptation (the way LittleCMS writes them).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import struct
from dataclasses import dataclass

import numpy as np

D50 = (0.9642, 1.0, 0.8249)  # the ICC PCS illuminant, as the spec rounds it
_BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


@dataclass(frozen=True)
class RgbSpace:
    """A display RGB space: primaries and white as CIE xy, and its transfer curve."""

    name: str  # the profile description people see in Photoshop / Preview
    red: tuple[float, float]
    green: tuple[float, float]
    blue: tuple[float, float]
    white: tuple[float, float]
    gamma: float | None  # a pure power curve; None means the sRGB piecewise curve
    libraw_gamma: tuple[float, float]  # (power, toe slope) for rawpy: the same curve


_D65 = (0.3127, 0.3290)
SPACES: dict[str, RgbSpace] = {
    "sRGB": RgbSpace("sRGB", (0.64, 0.33), (0.30, 0.60), (0.15, 0.06), _D65, None, (2.4, 12.92)),
    "Adobe RGB": RgbSpace(
        "Adobe RGB (1998)",
        (0.64, 0.33),
        (0.21, 0.71),
        (0.15, 0.06),
        _D65,
        563 / 256,
        (563 / 256, 0),
    ),
    "Display P3": RgbSpace(
        "Display P3", (0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65, None, (2.4, 12.92)
    ),
    "ProPhoto": RgbSpace(
        "ProPhoto RGB (ROMM)",
        (0.7347, 0.2653),
        (0.1596, 0.8404),
        (0.0366, 0.0001),
        (0.3457, 0.3585),
        1.8,
        (1.8, 0),
    ),
}


def _xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz(space: RgbSpace) -> np.ndarray:
    """The 3x3 matrix from linear RGB to XYZ (white Y = 1) under the space's own white."""
    prim = np.stack([_xyz(space.red), _xyz(space.green), _xyz(space.blue)], axis=1)
    scale = np.linalg.solve(prim, _xyz(space.white))
    return prim * scale


def bradford(src_white: np.ndarray, dst_white: np.ndarray) -> np.ndarray:
    """Chromatic adaptation matrix (Bradford) from one white to another."""
    cone_src = _BRADFORD @ src_white
    cone_dst = _BRADFORD @ dst_white
    return np.linalg.inv(_BRADFORD) @ np.diag(cone_dst / cone_src) @ _BRADFORD


def pcs_colorants(space: RgbSpace) -> np.ndarray:
    """Columns rXYZ, gXYZ, bXYZ adapted to D50 (what the profile stores)."""
    d50 = np.array(D50)
    return bradford(_xyz(space.white), d50) @ rgb_to_xyz(space)


# --- ICC encoding ------------------------------------------------------------------------------


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii", "replace") + b"\0"
    body = b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_
    body += struct.pack(">II", 0, 0)  # no Unicode description
    body += struct.pack(">HB", 0, 0) + b"\0" * 67  # no ScriptCode description
    return body


def _text_tag(text: str) -> bytes:
    return b"text" + b"\0" * 4 + text.encode("ascii", "replace") + b"\0"


def _curve_tag(space: RgbSpace) -> bytes:
    if space.gamma is not None:  # u8Fixed8 gamma: 2.19921875 is exactly 0x0233
        return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(space.gamma * 256))
    x = np.linspace(0.0, 1.0, 1024)
    y = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    table = np.round(y * 65535).astype(">u2").tobytes()
    return b"curv" + b"\0" * 4 + struct.pack(">I", 1024) + table


def _sf32_tag(m: np.ndarray) -> bytes:
    return b"sf32" + b"\0" * 4 + b"".join(_s15(v) for v in m.flatten())


def _rounded_colorants(space: RgbSpace) -> np.ndarray:
    """Colorants in s15Fixed16 steps whose rows sum to D50 exactly (white maps to white)."""
    c = np.round(pcs_colorants(space) * 65536)
    target = np.round(np.array(D50) * 65536)
    for row in range(3):
        c[row, 1] += target[row] - c[row].sum()  # put the rounding remainder on green
    return c / 65536


def build_matrix_trc(space: RgbSpace, *, when: _dt.datetime | None = None) -> bytes:
    """An ICC v2.4 RGB display profile (matrix/TRC) for `space`."""
    col = _rounded_colorants(space)
    curve = _curve_tag(space)
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _desc_tag(space.name)),
        (b"cprt", _text_tag("No copyright, use freely (built by Rushline)")),
        (b"wtpt", _xyz_tag(*D50)),
        (b"rXYZ", _xyz_tag(*col[:, 0])),
        (b"gXYZ", _xyz_tag(*col[:, 1])),
        (b"bXYZ", _xyz_tag(*col[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"chad", _sf32_tag(bradford(_xyz(space.white), np.array(D50)))),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    directory = struct.pack(">I", len(tags))
    data = b""
    placed: dict[bytes, int] = {}
    for sig, body in tags:
        if body not in placed:  # the three TRC tags share one curve, as usual
            placed[body] = offset + len(data)
            data += body + b"\0" * (-len(body) % 4)
        directory += sig + struct.pack(">II", placed[body], len(body))
    size = 128 + table_len + len(data)
    t = when or _dt.datetime(2024, 1, 1)  # fixed: the same profile is the same bytes
    header = struct.pack(">I4sI4s4s4s", size, b"\0" * 4, 0x02400000, b"mntr", b"RGB ", b"XYZ ")
    header += struct.pack(">6H", t.year, t.month, t.day, t.hour, t.minute, t.second)
    header += b"acsp" + b"\0" * 4 + struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8
    header += struct.pack(">I", 0)  # rendering intent: perceptual
    header += _s15(D50[0]) + _s15(D50[1]) + _s15(D50[2])
    header += b"\0" * 4 + b"\0" * 16  # creator, profile ID (v2: zero)
    header += b"\0" * (128 - len(header))
    return header + directory + data


@functools.cache
def profile_bytes(name: str) -> bytes:
    """The ICC profile for an export colour space (sRGB, Adobe RGB, Display P3, ProPhoto)."""
    if name == "sRGB":
        from PIL import ImageCms

        icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
        # LittleCMS stamps the current time: fix it, so every worker process and every run
        # embeds the same bytes (and the integrity check can compare them byte for byte).
        icc[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        if any(icc[84:100]):  # a profile ID is the MD5 of the profile with these fields zeroed
            z = bytearray(icc)
            z[44:48], z[64:68], z[84:100] = bytes(4), bytes(4), bytes(16)
            icc[84:100] = hashlib.md5(z).digest()
        return bytes(icc)
    return build_matrix_trc(SPACES[name])


@functools.cache
def description(icc: bytes) -> str:
    """The profile's description as applications show it (read through LittleCMS)."""
    import io

    from PIL import ImageCms

    prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.getProfileDescription(prof).strip()
