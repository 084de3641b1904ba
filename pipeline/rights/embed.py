"""Which files may carry rights inside them, and the tags each format gets.

Camera originals are sacred: camera RAW and anything under an ASC MHL-managed folder (an
offloaded original) only ever get a sidecar. Files we create (JPEG/TIFF/DNG exports, MP4/MOV
deliverables, BWF WAV) get the rights embedded when the user says they are deliverables.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from pathlib import Path

from pipeline.rights.fields import (
    CONTACT_KEYS,
    IIM_LIMITS,
    LICENSOR_KEYS,
    MARKED,
    XMP_FIELDS,
    dst_uri,
    truncate_utf8,
)
from pipeline.rights.template import RightsTemplate

CAMERA_RAW = frozenset(
    ".3fr .ari .arw .braw .cr2 .cr3 .crm .crw .dcr .erf .fff .gpr .iiq .kdc .mef .mos .mrw .nef "
    ".nrw .orf .pef .r3d .raf .raw .rw2 .rwl .sr2 .srf .srw .x3f".split()
)
IMAGE_EMBED = frozenset({".jpg", ".jpeg", ".tif", ".tiff", ".dng"})
QUICKTIME_EMBED = frozenset({".mp4", ".mov", ".m4v"})
WAV_EMBED = frozenset({".wav", ".bwf"})
# Containers with no dependable place for XMP rights that every reader finds.
SIDECAR_ONLY = frozenset({".mxf", ".avi", ".mts", ".m2ts", ".mkv", ".webm", ".r3d", ".braw"})


class Engine(StrEnum):
    EXIV2_JPEG = "exiv2-jpeg"
    EXIFTOOL_IMAGE = "exiftool-image"
    EXIFTOOL_QUICKTIME = "exiftool-quicktime"
    BWF = "bwf"


def engine_for(path: Path) -> Engine | None:
    """How rights are embedded in this format, or None when it cannot carry them."""
    ext = path.suffix.lower()
    if ext in (".jpg", ".jpeg"):
        return Engine.EXIV2_JPEG
    # TIFF/DNG through ExifTool: it rewrites only metadata and keeps maker notes and DNG
    # private data where they are.
    if ext in IMAGE_EMBED:
        return Engine.EXIFTOOL_IMAGE
    if ext in QUICKTIME_EMBED:
        return Engine.EXIFTOOL_QUICKTIME
    if ext in WAV_EMBED:
        return Engine.BWF
    return None


@functools.lru_cache(maxsize=4096)
def mhl_root(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` holding an `ascmhl/` history, if any."""
    for d in (folder, *folder.parents):
        if (d / "ascmhl").is_dir():
            return d
    return None


def is_camera_raw(path: Path) -> bool:
    return path.suffix.lower() in CAMERA_RAW


def xmp_assignments(t: RightsTemplate) -> list[tuple[str, str]]:
    """ExifTool `-TAG=value` pairs for the XMP side (same for every format)."""
    a: list[tuple[str, str]] = []
    for c in t.creator:
        a.append((XMP_FIELDS["creator"].exiftool, c))
    simple = (
        "job_title",
        "credit_line",
        "source",
        "web_statement",
        "headline",
        "title",
        "description",
        "copyright_notice",
        "usage_terms",
        "ai_system_used",
        "ai_prompt",
    )
    for fld in simple:
        v = getattr(t, fld)
        if v:
            a.append((XMP_FIELDS[fld].exiftool, v))
    if t.copyright_notice:
        a.append((MARKED.exiftool, "True"))
    if t.contact:
        for k, v in t.contact.model_dump(exclude_none=True).items():
            if v:
                a.append((CONTACT_KEYS[k][1], v))
    for lic in t.licensors:
        parts = ",".join(
            f"{LICENSOR_KEYS[k]}={_struct_escape(v)}"
            for k, v in lic.model_dump(exclude_none=True).items()
        )
        a.append(("XMP-plus:Licensor", "{" + parts + "}"))
    if t.model_release:
        # ExifTool adds the PLUS vocabulary prefix itself (its ValueConv): give the bare code.
        a.append((XMP_FIELDS["model_release"].exiftool, t.model_release))
    if t.property_release:
        a.append((XMP_FIELDS["property_release"].exiftool, t.property_release))
    if t.digital_source_type:
        a.append((XMP_FIELDS["digital_source_type"].exiftool, dst_uri(t.digital_source_type)))
    for k in t.keywords:
        a.append((XMP_FIELDS["keywords"].exiftool, k))
    return a


def _struct_escape(v: str) -> str:
    # ExifTool structure syntax: '|' escapes the characters that delimit a structure.
    for ch in "|,{}[]":
        v = v.replace(ch, "|" + ch)
    return v


def _iim(tag: str, value: str, notes: list[str]) -> tuple[str, str]:
    limit = IIM_LIMITS[tag]
    cut = truncate_utf8(value, limit)
    if cut != value:
        notes.append(f"{tag} is limited to {limit} bytes by IIM: truncated there; XMP is complete")
    return tag, cut


def image_assignments(t: RightsTemplate, notes: list[str]) -> list[tuple[str, str]]:
    """JPEG/TIFF/DNG: XMP plus the IIM (UTF-8) and EXIF mirrors older readers use."""
    a = xmp_assignments(t)
    a.append(("IPTC:CodedCharacterSet", "UTF8"))
    for c in t.creator:
        a.append(_iim("IPTC:By-line", c, notes))
    if t.creator:
        a.append(("IFD0:Artist", "; ".join(t.creator)))
    if t.job_title:
        a.append(_iim("IPTC:By-lineTitle", t.job_title, notes))
    if t.copyright_notice:
        a.append(_iim("IPTC:CopyrightNotice", t.copyright_notice, notes))
        a.append(("IFD0:Copyright", t.copyright_notice))
    if t.credit_line:
        a.append(_iim("IPTC:Credit", t.credit_line, notes))
    if t.source:
        a.append(_iim("IPTC:Source", t.source, notes))
    for k in t.keywords:
        a.append(_iim("IPTC:Keywords", k, notes))
    if t.title:
        a.append(_iim("IPTC:ObjectName", t.title, notes))
    if t.headline:
        a.append(_iim("IPTC:Headline", t.headline, notes))
    if t.description:
        a.append(_iim("IPTC:Caption-Abstract", t.description, notes))
        a.append(("IFD0:ImageDescription", t.description))
    return a


def quicktime_assignments(t: RightsTemplate, notes: list[str]) -> list[tuple[str, str]]:
    """MP4/MOV: XMP plus the ItemList/Keys/UserData tags players show."""
    a = xmp_assignments(t)
    artist = "; ".join(t.creator)
    for group in ("ItemList", "Keys", "UserData"):
        if artist:
            a.append((f"{group}:Artist", artist))
        if t.copyright_notice:
            a.append((f"{group}:Copyright", t.copyright_notice))
    if artist:
        a.append(("Keys:Author", artist))
    for group in ("ItemList", "Keys"):
        if t.title:
            a.append((f"{group}:Title", t.title))
        if t.description:
            a.append((f"{group}:Description", t.description))
    if t.keywords:
        a.append(("Keys:Keywords", ", ".join(t.keywords)))
    return a


# ExifTool tag (as it names it in warnings) -> template field, to map refusals back.
def tag_to_field(tag: str) -> str | None:
    tag = tag.rstrip("#")
    for fld, prop in XMP_FIELDS.items():
        if prop.exiftool and prop.exiftool.rstrip("#").lower() == tag.lower():
            return fld
    for k, (_, et) in CONTACT_KEYS.items():
        if et.lower() == tag.lower():
            return f"contact.{k}"
    return None


# -- JPEG through pyexiv2 (bundled exiv2, in-process) -----------------------------------------
# One ExifTool write of a small JPEG costs ~10-30 ms of Perl; exiv2 in-process costs ~3 ms.
# The XMP packet is our own (xmp.merge_rights: foreign properties kept), IIM and EXIF mirrors go
# through exiv2's typed setters. ExifTool still reads every file back before it is renamed.

IIM_KEYS = {
    "IPTC:By-line": "Iptc.Application2.Byline",
    "IPTC:By-lineTitle": "Iptc.Application2.BylineTitle",
    "IPTC:CopyrightNotice": "Iptc.Application2.Copyright",
    "IPTC:Credit": "Iptc.Application2.Credit",
    "IPTC:Source": "Iptc.Application2.Source",
    "IPTC:Keywords": "Iptc.Application2.Keywords",
    "IPTC:ObjectName": "Iptc.Application2.ObjectName",
    "IPTC:Headline": "Iptc.Application2.Headline",
    "IPTC:Caption-Abstract": "Iptc.Application2.Caption",
}
EXIF_KEYS = {
    "IFD0:Artist": "Exif.Image.Artist",
    "IFD0:Copyright": "Exif.Image.Copyright",
    "IFD0:ImageDescription": "Exif.Image.ImageDescription",
}


def write_jpeg_exiv2(src: Path, dest: Path, t: RightsTemplate, notes: list[str]) -> None:
    """Write a copy of the JPEG `src` with rights to `dest` (fsync is the caller's)."""
    import pyexiv2
    from lxml import etree

    from pipeline.errors import RightsError
    from pipeline.rights.xmp import _new_packet, merge_rights, render

    pyexiv2.set_log_level(4)  # errors come back as exceptions; no chatter on stderr
    try:
        # In memory: one read, every change, one write (file-backed, each modify_* rewrites).
        with pyexiv2.ImageData(src.read_bytes()) as img:
            raw = img.read_raw_xmp() or ""
            if raw.strip():
                try:
                    root = etree.fromstring(
                        raw.encode("utf-8"), etree.XMLParser(resolve_entities=False)
                    )
                except etree.XMLSyntaxError as exc:
                    raise RightsError(
                        f"the XMP inside {src} is not valid XML ({exc.msg}); not rewriting it",
                        path=src,
                    ) from None
                tree = etree.ElementTree(root)
            else:
                tree = _new_packet()
            merge_rights(tree, t)
            img.modify_raw_xmp(render(tree, had_packet=False).decode("utf-8"))
            iptc: dict[str, object] = {"Iptc.Envelope.CharacterSet": "\x1b%G"}
            exif: dict[str, object] = {}
            lists: dict[str, list[str]] = {}
            for tag, value in image_assignments(t, notes):
                if tag in IIM_KEYS:
                    key = IIM_KEYS[tag]
                    if tag in ("IPTC:By-line", "IPTC:Keywords"):
                        lists.setdefault(key, []).append(value)
                    else:
                        iptc[key] = value
                elif tag in EXIF_KEYS:
                    exif[EXIF_KEYS[tag]] = value
            iptc.update(lists)
            img.modify_iptc(iptc)
            if exif:
                img.modify_exif(exif)
            data = img.get_bytes()
        with open(dest, "xb") as fh:
            fh.write(data)
    except RightsError:
        raise
    except Exception as exc:  # exiv2 raises RuntimeError for corrupt or unsupported files
        raise RightsError(f"cannot write rights into {src}: {exc}", path=src) from None
