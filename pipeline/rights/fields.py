"""Where each template field lives: XMP property, legacy mirrors, and how to read it back.

One table drives the sidecar writer (XMP by hand), the embed writer (ExifTool tag names) and
the reader (ExifTool JSON -> effective rights), so a field is never written one way and read
another.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.provenance import DST_VOCAB, dst_code
from pipeline.rights.template import PLUS_VOCAB, RightsTemplate, plus_code

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
}
# ExifTool's family-1 group for each namespace prefix.
ET_GROUP = {
    "dc": "XMP-dc",
    "photoshop": "XMP-photoshop",
    "xmpRights": "XMP-xmpRights",
    "Iptc4xmpCore": "XMP-iptcCore",
    "Iptc4xmpExt": "XMP-iptcExt",
    "plus": "XMP-plus",
}

Kind = Literal["text", "alt", "seq", "bag", "contact", "licensors"]


@dataclass(frozen=True)
class XmpProp:
    prefix: str
    name: str
    kind: Kind
    exiftool: str  # ExifTool tag used to write it ("XMP-dc:Creator")


# Template field -> XMP property (the full-fidelity home of every value).
XMP_FIELDS: dict[str, XmpProp] = {
    "creator": XmpProp("dc", "creator", "seq", "XMP-dc:Creator"),
    "job_title": XmpProp("photoshop", "AuthorsPosition", "text", "XMP-photoshop:AuthorsPosition"),
    "copyright_notice": XmpProp("dc", "rights", "alt", "XMP-dc:Rights"),
    "credit_line": XmpProp("photoshop", "Credit", "text", "XMP-photoshop:Credit"),
    "source": XmpProp("photoshop", "Source", "text", "XMP-photoshop:Source"),
    "usage_terms": XmpProp("xmpRights", "UsageTerms", "alt", "XMP-xmpRights:UsageTerms"),
    "web_statement": XmpProp("xmpRights", "WebStatement", "text", "XMP-xmpRights:WebStatement"),
    "contact": XmpProp("Iptc4xmpCore", "CreatorContactInfo", "contact", ""),
    "licensors": XmpProp("plus", "Licensor", "licensors", "XMP-plus:Licensor"),
    "model_release": XmpProp("plus", "ModelReleaseStatus", "text", "XMP-plus:ModelReleaseStatus#"),
    "property_release": XmpProp(
        "plus", "PropertyReleaseStatus", "text", "XMP-plus:PropertyReleaseStatus#"
    ),
    "digital_source_type": XmpProp(
        "Iptc4xmpExt", "DigitalSourceType", "text", "XMP-iptcExt:DigitalSourceType#"
    ),
    "keywords": XmpProp("dc", "subject", "bag", "XMP-dc:Subject"),
    "title": XmpProp("dc", "title", "alt", "XMP-dc:Title"),
    "headline": XmpProp("photoshop", "Headline", "text", "XMP-photoshop:Headline"),
    "description": XmpProp("dc", "description", "alt", "XMP-dc:Description"),
    # IPTC 2025.1 (ExifTool >= 13.x knows them; Debian's 12.57 does not).
    "ai_system_used": XmpProp("Iptc4xmpExt", "AISystemUsed", "text", "XMP-iptcExt:AISystemUsed"),
    "ai_prompt": XmpProp(
        "Iptc4xmpExt", "AIPromptInformation", "text", "XMP-iptcExt:AIPromptInformation"
    ),
}
MARKED = XmpProp("xmpRights", "Marked", "text", "XMP-xmpRights:Marked")

CONTACT_KEYS = {
    "address": ("CiAdrExtadr", "XMP-iptcCore:CreatorAddress"),
    "city": ("CiAdrCity", "XMP-iptcCore:CreatorCity"),
    "postcode": ("CiAdrPcode", "XMP-iptcCore:CreatorPostalCode"),
    "region": ("CiAdrRegion", "XMP-iptcCore:CreatorRegion"),
    "country": ("CiAdrCtry", "XMP-iptcCore:CreatorCountry"),
    "email": ("CiEmailWork", "XMP-iptcCore:CreatorWorkEmail"),
    "phone": ("CiTelWork", "XMP-iptcCore:CreatorWorkTelephone"),
    "url": ("CiUrlWork", "XMP-iptcCore:CreatorWorkURL"),
}
LICENSOR_KEYS = {
    "name": "LicensorName",
    "email": "LicensorEmail",
    "url": "LicensorURL",
    "phone": "LicensorTelephone1",
}

# Every field name `check` and `show` know, in display order.
FIELD_NAMES: tuple[str, ...] = (
    "creator",
    "job_title",
    "copyright_notice",
    "credit_line",
    "source",
    "usage_terms",
    "web_statement",
    *(f"contact.{k}" for k in CONTACT_KEYS),
    "licensors",
    "model_release",
    "property_release",
    "digital_source_type",
    "keywords",
    "title",
    "headline",
    "description",
    "ai_system_used",
    "ai_prompt",
)

# IIM (legacy IPTC) limits in bytes; ExifTool would truncate silently under -m, so we do it
# ourselves on a character boundary and say so.
IIM_LIMITS = {
    "IPTC:By-line": 32,
    "IPTC:By-lineTitle": 32,
    "IPTC:CopyrightNotice": 128,
    "IPTC:Credit": 32,
    "IPTC:Source": 32,
    "IPTC:Keywords": 64,
    "IPTC:ObjectName": 64,
    "IPTC:Headline": 256,
    "IPTC:Caption-Abstract": 2000,
}

# Where legacy readers look when a file has no XMP (read fallbacks, in order of preference).
LEGACY_READ = {
    "creator": (
        "IPTC:By-line",
        "IFD0:Artist",
        "ItemList:Artist",
        "Keys:Artist",
        "UserData:Artist",
        "RIFF:Artist",
        "RIFF:Originator",
    ),
    "job_title": ("IPTC:By-lineTitle",),
    "copyright_notice": (
        "IPTC:CopyrightNotice",
        "IFD0:Copyright",
        "ItemList:Copyright",
        "Keys:Copyright",
        "UserData:Copyright",
        "RIFF:Copyright",
    ),
    "credit_line": ("IPTC:Credit",),
    "source": ("IPTC:Source",),
    "keywords": ("IPTC:Keywords", "RIFF:Keywords"),
    "title": ("IPTC:ObjectName", "ItemList:Title", "Keys:Title", "RIFF:Title"),
    "headline": ("IPTC:Headline",),
    "description": (
        "IPTC:Caption-Abstract",
        "IFD0:ImageDescription",
        "ItemList:Description",
        "Keys:Description",
        "RIFF:Description",
    ),
}


def expected_values(t: RightsTemplate) -> dict[str, Any]:
    """The (already expanded) template as {field: value}, only fields it sets."""
    out: dict[str, Any] = {}
    if t.creator:
        out["creator"] = list(t.creator)
    for f in (
        "job_title copyright_notice credit_line source usage_terms web_statement model_release "
        "property_release digital_source_type title headline description ai_system_used ai_prompt"
    ).split():
        v = getattr(t, f)
        if v not in (None, ""):
            out[f] = v
    if t.contact:
        for k, v in t.contact.model_dump(exclude_none=True).items():
            if v != "":
                out[f"contact.{k}"] = v
    if t.licensors:
        out["licensors"] = [lic.model_dump(exclude_none=True) for lic in t.licensors]
    if t.keywords:
        out["keywords"] = list(t.keywords)
    return out


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "True" if v else "False"
    return str(v)


def _lookup(row: dict[str, Any], prop: XmpProp) -> Any:
    """An XMP value from an ExifTool -G1 -struct row, by property (ExifTool tag or raw name)."""
    group = ET_GROUP[prop.prefix]
    tag = prop.exiftool.rstrip("#").split(":")[-1] if prop.exiftool else ""
    for key in (
        f"{group}:{tag}",
        f"{group}:{prop.name}",
        f"{group}:{prop.name[:1].upper()}{prop.name[1:]}",
    ):
        if key in row:
            return row[key]
    return None


def values_from_exiftool(row: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Normalise one ExifTool JSON row into {field: (value, where it was found)}.

    XMP wins; legacy tags (IIM, EXIF, QuickTime, RIFF) fill in what XMP lacks.
    """
    out: dict[str, tuple[Any, str]] = {}
    for fld, prop in XMP_FIELDS.items():
        v = _lookup(row, prop)
        if v is None or v == "" or v == []:
            continue
        where = f"{ET_GROUP[prop.prefix]}:{prop.name}"
        if prop.kind == "contact":
            if isinstance(v, dict):
                for k, (sub, _) in CONTACT_KEYS.items():
                    if v.get(sub) not in (None, ""):
                        out[f"contact.{k}"] = (_text(v[sub]), where)
            continue
        if prop.kind == "licensors":
            lics = []
            for item in _as_list(v):
                if isinstance(item, dict):
                    lic = {k: _text(item[x]) for k, x in LICENSOR_KEYS.items() if x in item}
                    if lic:
                        lics.append(lic)
            if lics:
                out[fld] = (lics, where)
            continue
        if prop.kind in ("seq", "bag"):
            out[fld] = ([_text(x) for x in _as_list(v)], where)
        elif fld in ("model_release", "property_release"):
            out[fld] = (plus_code(_text(v)), where)
        elif fld == "digital_source_type":
            out[fld] = (dst_code(_text(v)), where)
        else:
            out[fld] = (_text(v), where)
    # Flattened contact tags (older files, other writers) when the struct was absent.
    for k, (_, tag) in CONTACT_KEYS.items():
        if f"contact.{k}" not in out and row.get(tag) not in (None, ""):
            out[f"contact.{k}"] = (_text(row[tag]), tag)
    for fld, tags in LEGACY_READ.items():
        if fld in out:
            continue
        for tag in tags:
            v = row.get(tag)
            if v in (None, "", []):
                continue
            if fld in ("creator", "keywords"):
                items = _as_list(v)
                if (
                    len(items) == 1
                    and isinstance(items[0], str)
                    and tag.startswith(("IFD0", "Keys", "RIFF"))
                ):
                    items = [s.strip() for s in items[0].replace(",", ";").split(";") if s.strip()]
                out[fld] = ([_text(x) for x in items], tag)
            else:
                out[fld] = (_text(v), tag)
            break
    return out


def same(expected: Any, actual: Any) -> bool:
    """Value equality as a rights reader sees it (whitespace at the ends is not meaningful)."""
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return False
        return all(same(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        return all(same(v, actual.get(k)) for k, v in expected.items())
    if actual is None:
        return False
    return str(expected).strip() == str(actual).strip()


def ascii_fold(text: str) -> str:
    """Plain ASCII for fields whose standard is ASCII (BWF bext): é -> e, © -> (c)."""
    text = text.replace("©", "(c)").replace("℗", "(p)").replace("®", "(R)")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded


def truncate_utf8(text: str, limit: int) -> str:
    """Cut to at most `limit` UTF-8 bytes without splitting a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore")


def plus_uri(code: str) -> str:
    return PLUS_VOCAB + code


def dst_uri(code: str) -> str:
    return DST_VOCAB + code
