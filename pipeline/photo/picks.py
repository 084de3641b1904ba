"""Ratings, pick/reject flags and colour labels, as Lightroom, Capture One, Photo Mechanic and
darktable leave them in XMP.

Where each program writes them
    Lightroom / ACR   `IMG.xmp` (or embedded in JPEG/TIFF/DNG): `xmp:Rating` 0..5, -1 = rejected,
                      `xmp:Label` "Red"/"Yellow"/"Green"/"Blue"/"Purple" (the pick flag stays in
                      the catalogue, never in XMP)
    Capture One       `IMG.xmp`: `xmp:Rating`, `xmp:Label` with its own colour names (adds
                      "Orange" and "Pink"); no reject flag in XMP
    Photo Mechanic    `IMG.xmp` (one sidecar for a RAW+JPEG pair): `xmp:Rating`,
                      `photomechanic:Tagged` True/False (the pick), `photomechanic:ColorClass`
                      0..8 (Winner ... Trash), often mirrored in `xmp:Label`
    darktable         `IMG.CR3.xmp`: `xmp:Rating` (-1 = rejected), `darktable:colorlabels` an
                      rdf:Seq of 0..4 (red, yellow, green, blue, purple); several may be set

Why this reader: sidecars are parsed with lxml (about 0.1 ms each, no process), the XMP packet
of a JPEG is taken from its APP1 segment by reading only the file's header, and only TIFF, DNG
and RAW files without a sidecar go to ExifTool — in one batch command (`-b -XMP`) for all of
them, paying its start-up once. Every packet, wherever it came from, goes through the same
dialect-aware parser. A corrupt sidecar is a per-file warning; the batch goes on.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from lxml import etree
from pydantic import BaseModel, Field

from pipeline.errors import RushlineError
from pipeline.names import printable

log = logging.getLogger("rushline.photo.picks")

NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_PM = "http://ns.camerabits.com/photomechanic/1.0/"
NS_DT = "http://darktable.sf.net/"
NS_CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
NS_MSPHOTO = "http://ns.microsoft.com/photo/1.0/"

DARKTABLE_COLOURS = ("red", "yellow", "green", "blue", "purple")
PM_COLOR_CLASSES = (
    None, "winner", "winner alt", "superior", "superior alt", "typical", "typical alt",
    "extras", "trash",
)  # fmt: skip
# Adobe Bridge's default label names stand for colours; Lightroom writes the colour itself.
BRIDGE_LABELS = {
    "select": "red", "second": "yellow", "approved": "green", "review": "blue", "to do": "purple",
}  # fmt: skip
EMBEDS_XMP = {".jpg", ".jpeg", ".tif", ".tiff", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf",
              ".rw2", ".orf", ".pef", ".heic", ".heif", ".png", ".webp"}  # fmt: skip
_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class Picks(BaseModel):
    """What a photographer decided about one image while culling."""

    rating: int | None = None  # 0..5; None when nothing says
    rejected: bool = False
    picked: bool | None = None  # None: the program that culled has no pick flag in XMP
    label: str | None = None  # the first colour label, lower case ("red", "winner")
    labels: list[str] = Field(default_factory=list)
    source: str = "none"  # lightroom / captureone / photomechanic / darktable / xmp / none
    sidecar: str | None = None  # the sidecar read, or None for embedded XMP
    warning: str | None = None  # a corrupt sidecar or unreadable file: said, never fatal


class XmpReadError(RushlineError):
    """An XMP packet or sidecar that cannot be parsed."""


# -- parsing one packet ------------------------------------------------------------------------
def _props(root: etree._Element) -> dict[tuple[str, str], list[str]]:
    """Every property of every rdf:Description: attributes and child elements, flattened."""
    out: dict[tuple[str, str], list[str]] = {}
    for desc in root.iter(f"{{{NS_RDF}}}Description"):
        for key, value in desc.attrib.items():
            qn = etree.QName(key)
            if qn.namespace and qn.namespace != NS_RDF:
                out.setdefault((qn.namespace, qn.localname), []).append(value)
        for child in desc:
            if not isinstance(child.tag, str):
                continue
            qn = etree.QName(child)
            items = [li.text or "" for li in child.iter(f"{{{NS_RDF}}}li")]
            value = items if items else [child.text or child.get(f"{{{NS_RDF}}}resource", "")]
            out.setdefault((qn.namespace or "", qn.localname), []).extend(v.strip() for v in value)
    return out


def _dialect(props: dict[tuple[str, str], list[str]], text: bytes) -> str:
    tool = " ".join(props.get((NS_XMP, "CreatorTool"), [])).lower()
    if any(ns == NS_DT for ns, _ in props) or b"darktable" in text[:4096]:
        return "darktable"
    if any(ns == NS_PM for ns, _ in props):
        return "photomechanic"
    if "capture one" in tool:
        return "captureone"
    if "lightroom" in tool or "camera raw" in tool or any(ns == NS_CRS for ns, _ in props):
        return "lightroom"
    return "xmp"


def _int(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _colour(label: str) -> str:
    low = label.strip().lower()
    return BRIDGE_LABELS.get(low, low)


def _labels(props: dict[tuple[str, str], list[str]]) -> list[str]:
    labels: list[str] = []
    for value in props.get((NS_XMP, "Label"), []):
        if value.strip() and value.strip().lower() != "none":
            labels.append(_colour(value))
    for value in props.get((NS_DT, "colorlabels"), []):
        n = _int(value)
        if n is not None and 0 <= n < len(DARKTABLE_COLOURS):
            labels.append(DARKTABLE_COLOURS[n])
    for value in props.get((NS_PM, "ColorClass"), []):
        n = _int(value)
        if n and 0 < n < len(PM_COLOR_CLASSES):
            labels.append(PM_COLOR_CLASSES[n] or "")
    return list(dict.fromkeys(x for x in labels if x))


def _rating(props: dict[tuple[str, str], list[str]]) -> int | None:
    rating = _int(next(iter(props.get((NS_XMP, "Rating"), [])), None))
    if rating is None:  # Windows Photos writes a percentage only
        pct = _int(next(iter(props.get((NS_MSPHOTO, "Rating"), [])), None))
        if pct is not None:
            rating = 0 if pct <= 0 else min(5, 1 + pct // 25)
    return rating


def parse_packet(data: bytes, where: str = "XMP") -> Picks:
    """Picks from one XMP packet or sidecar's bytes; XmpReadError when it is not XML."""
    start = data.find(b"<")
    try:
        root = etree.fromstring(data[start:] if start > 0 else data, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise XmpReadError(
            f"{printable(where)}: not valid XMP ({exc}); picks from it ignored",
            hint="open it in the program that wrote it and save again, or delete it",
        ) from None
    props = _props(root)
    rating = _rating(props)
    rejected = rating is not None and rating < 0
    tagged = next(iter(props.get((NS_PM, "Tagged"), [])), None)
    picked = None if tagged is None else tagged.strip().lower() in {"true", "1", "yes"}
    labels = _labels(props)
    return Picks(
        rating=None if rejected else rating,
        rejected=rejected,
        picked=False if rejected else picked,
        label=labels[0] if labels else None,
        labels=labels,
        source=_dialect(props, data),
    )


# -- finding the packet ------------------------------------------------------------------------
class _Dirs:
    """Directory listings, read once per folder: sidecar lookups cost no stat per file."""

    def __init__(self) -> None:
        self._cache: dict[Path, dict[str, str]] = {}

    def names(self, folder: Path) -> dict[str, str]:
        if folder not in self._cache:
            try:
                self._cache[folder] = {n.lower(): n for n in os.listdir(folder)}
            except OSError:
                self._cache[folder] = {}
        return self._cache[folder]


def sidecars_of(path: Path, dirs: _Dirs | None = None) -> list[Path]:
    """Existing sidecars of an image: `IMG.CR3.xmp` (darktable) and `IMG.xmp` (the others),
    whatever their case, newest first."""
    names = (dirs or _Dirs()).names(path.parent)
    found = []
    for want in (f"{path.name}.xmp".lower(), f"{path.stem}.xmp".lower()):
        real = names.get(want)
        if real is not None and real.lower() != path.name.lower():
            found.append(path.parent / real)

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(dict.fromkeys(found), key=mtime, reverse=True)


def jpeg_xmp(path: Path) -> bytes | None:
    """The standard XMP packet of a JPEG, read from its APP1 segments (headers only)."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\xff\xd8":
            return None
        while True:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0xFF:
                return None
            marker, size = head[1], int.from_bytes(head[2:4], "big")
            if marker in (0xDA, 0xD9):  # start of scan: no more metadata segments
                return None
            body = fh.read(size - 2)
            if marker == 0xE1 and body.startswith(_JPEG_XMP):
                return body[len(_JPEG_XMP) :]


def _read_sidecar(path: Path, sidecar: Path) -> Picks:
    try:
        data = sidecar.read_bytes()
    except OSError as exc:
        return Picks(warning=f"{printable(str(sidecar))}: cannot read ({exc.strerror})")
    try:
        picks = parse_packet(data, str(sidecar))
    except XmpReadError as exc:
        return Picks(warning=str(exc))
    return picks.model_copy(update={"sidecar": str(sidecar)})


def _embedded_batch(paths: Sequence[Path]) -> dict[Path, Picks]:
    """The XMP packets of TIFF/DNG/RAW files through one ExifTool command."""
    from pipeline.exiftool import ExifToolSession
    from pipeline.tools import has_exiftool

    if not paths or not has_exiftool():
        return {}
    out: dict[Path, Picks] = {}
    plain = [p for p in paths if "\n" not in str(p) and "\r" not in str(p)]
    groups = [plain] + [[p] for p in paths if p not in plain]
    with ExifToolSession() as et:
        for group in groups:
            if not group:
                continue
            res = et.execute(["-j", "-b", "-XMP", *(os.path.abspath(p) for p in group)])
            rows = json.loads(res.stdout) if res.stdout.strip() else []
            by_abs = {os.path.abspath(p): p for p in group}
            for row in rows:
                p = by_abs.get(os.path.abspath(row.get("SourceFile", "")))
                packet = row.get("XMP")
                if p is None or not isinstance(packet, str):
                    continue
                raw = (
                    base64.b64decode(packet[7:])
                    if packet.startswith("base64:")
                    else packet.encode("utf-8")
                )
                try:
                    out[p] = parse_packet(raw, f"{p} (embedded XMP)")
                except XmpReadError as exc:
                    out[p] = Picks(warning=str(exc))
    return out


def _embedded_one(path: Path) -> Picks | None:
    try:
        packet = jpeg_xmp(path)
    except OSError as exc:
        return Picks(warning=f"{printable(str(path))}: cannot read ({exc.strerror})")
    if packet is None:
        return None
    try:
        return parse_packet(packet, f"{path} (embedded XMP)")
    except XmpReadError as exc:
        return Picks(warning=str(exc))


def read_picks(paths: Iterable[str | os.PathLike[str]]) -> dict[Path, Picks]:
    """Picks of every image: from its newest sidecar, else from the XMP embedded in it."""
    dirs = _Dirs()
    result: dict[Path, Picks] = {}
    to_exiftool: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() == ".xmp":
            result[path] = _read_sidecar(path, path)
            continue
        cars = sidecars_of(path, dirs)
        if cars:
            result[path] = _read_sidecar(path, cars[0])
            continue
        ext = path.suffix.lower()
        if ext in {".jpg", ".jpeg"}:
            result[path] = _embedded_one(path) or Picks()
        elif ext in EMBEDS_XMP:
            to_exiftool.append(path)
        else:
            result[path] = Picks()
    embedded = _embedded_batch(to_exiftool)
    for path in to_exiftool:
        result[path] = embedded.get(path, Picks())
    for picks in result.values():
        if picks.warning:
            log.warning("%s", picks.warning)
    return result


def matches(
    picks: Picks, *, min_rating: int | None = None, label: str | None = None, picked: bool = False
) -> bool:
    """Whether one image passes the filters; a rejected image never does."""
    if picks.rejected:
        return False
    if min_rating is not None and (picks.rating or 0) < min_rating:
        return False
    if label is not None and _colour(label) not in picks.labels:
        return False
    return not (picked and picks.picked is not True)


def select(
    paths: list[Path],
    *,
    min_rating: int | None = None,
    label: str | None = None,
    picked: bool = False,
) -> list[Path]:
    """The paths that pass `--min-rating N`, `--label NAME` and `--picked`, in the given order.

    Rejected images are never selected. `--picked` keeps images flagged as picks (Photo
    Mechanic's Tagged); programs without a pick flag in XMP leave nothing picked.
    """
    found = read_picks(paths)
    return [
        p
        for p in paths
        if matches(found[Path(p)], min_rating=min_rating, label=label, picked=picked)
    ]
