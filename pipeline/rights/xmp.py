"""XMP sidecars: written by hand with lxml, merged into what is there, never clobbering it.

A sidecar beside a RAW often holds develop settings (crs:), ratings (xmp:Rating), labels and
keywords from Lightroom, Capture One or darktable. Merging removes only the properties this
module owns (the rights fields) and writes ours; every other namespace and property is kept as
it was. A sidecar that is not valid XML is an error and is left untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from pipeline.errors import RightsError
from pipeline.fsutil import atomic_write_bytes
from pipeline.rights.fields import (
    CONTACT_KEYS,
    LICENSOR_KEYS,
    MARKED,
    NS,
    XMP_FIELDS,
    dst_uri,
    plus_uri,
)
from pipeline.rights.template import RightsTemplate
from pipeline.sidecars import SidecarStyle, sidecar_path

__all__ = ["SidecarStyle", "merge_rights", "render", "sidecar_path", "write_sidecar"]

RDF = NS["rdf"]
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
OWNED = {(NS[p.prefix], p.name) for p in (*XMP_FIELDS.values(), MARKED)}
_PACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"


def writable(path: Path) -> bool:
    """Writable by us *and* not marked read-only: root may write anywhere, but a folder or
    file someone made read-only (a locked card, a mounted archive) is meant to be left alone."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return os.access(path, os.W_OK) and bool(mode & 0o222)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _li(parent: etree._Element, text: str, lang: str | None = None) -> None:
    li = etree.SubElement(parent, _q("rdf", "li"))
    if lang:
        li.set(XML_LANG, lang)
    li.text = text


def _add_props(desc: etree._Element, t: RightsTemplate) -> list[str]:
    """Append our properties to an rdf:Description; returns the fields written."""
    written: list[str] = []

    def simple(fld: str, value: str) -> None:
        p = XMP_FIELDS[fld]
        etree.SubElement(desc, _q(p.prefix, p.name)).text = value
        written.append(fld)

    def alt(fld: str, value: str) -> None:
        p = XMP_FIELDS[fld]
        el = etree.SubElement(etree.SubElement(desc, _q(p.prefix, p.name)), _q("rdf", "Alt"))
        _li(el, value, "x-default")
        written.append(fld)

    def array(fld: str, values: list[str], kind: str) -> None:
        p = XMP_FIELDS[fld]
        el = etree.SubElement(etree.SubElement(desc, _q(p.prefix, p.name)), _q("rdf", kind))
        for v in values:
            _li(el, v)
        written.append(fld)

    if t.creator:
        array("creator", t.creator, "Seq")
    if t.job_title:
        simple("job_title", t.job_title)
    if t.copyright_notice:
        alt("copyright_notice", t.copyright_notice)
        etree.SubElement(desc, _q(MARKED.prefix, MARKED.name)).text = "True"
    if t.credit_line:
        simple("credit_line", t.credit_line)
    if t.source:
        simple("source", t.source)
    if t.usage_terms:
        alt("usage_terms", t.usage_terms)
    if t.web_statement:
        simple("web_statement", t.web_statement)
    if t.contact:
        values = {k: v for k, v in t.contact.model_dump(exclude_none=True).items() if v != ""}
        if values:
            p = XMP_FIELDS["contact"]
            ci = etree.SubElement(desc, _q(p.prefix, p.name))
            ci.set(_q("rdf", "parseType"), "Resource")
            for k, v in values.items():
                etree.SubElement(ci, _q("Iptc4xmpCore", CONTACT_KEYS[k][0])).text = v
                written.append(f"contact.{k}")
    if t.licensors:
        p = XMP_FIELDS["licensors"]
        seq = etree.SubElement(etree.SubElement(desc, _q(p.prefix, p.name)), _q("rdf", "Seq"))
        for lic in t.licensors:
            li = etree.SubElement(seq, _q("rdf", "li"))
            li.set(_q("rdf", "parseType"), "Resource")
            for k, v in lic.model_dump(exclude_none=True).items():
                etree.SubElement(li, _q("plus", LICENSOR_KEYS[k])).text = v
        written.append("licensors")
    if t.model_release:
        simple("model_release", plus_uri(t.model_release))
    if t.property_release:
        simple("property_release", plus_uri(t.property_release))
    if t.digital_source_type:
        simple("digital_source_type", dst_uri(t.digital_source_type))
    if t.keywords:
        array("keywords", t.keywords, "Bag")
    if t.title:
        alt("title", t.title)
    if t.headline:
        simple("headline", t.headline)
    if t.description:
        alt("description", t.description)
    if t.ai_system_used:
        simple("ai_system_used", t.ai_system_used)
    if t.ai_prompt:
        simple("ai_prompt", t.ai_prompt)
    return written


def _new_packet() -> etree._ElementTree:
    root = etree.Element(_q("x", "xmpmeta"), nsmap={"x": NS["x"]})
    root.set(_q("x", "xmptk"), "Rushline")
    etree.SubElement(root, _q("rdf", "RDF"), nsmap={"rdf": RDF})
    return etree.ElementTree(root)


def parse_sidecar(path: Path) -> etree._ElementTree:
    """Parse an existing sidecar; RightsError (file left untouched) when it is not XMP."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RightsError(
            f"cannot read the sidecar {path}: {exc.strerror}",
            path=path,
            hint="check its permissions",
        ) from None
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False
    )
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as exc:
        raise RightsError(
            f"the sidecar {path} is not valid XML ({exc.msg}); left it untouched",
            path=path,
            hint="repair or move it away, then run again",
        ) from None
    if tree.getroot().find(f".//{{{RDF}}}RDF") is None and tree.getroot().tag != f"{{{RDF}}}RDF":
        raise RightsError(
            f"the sidecar {path} is XML but not an XMP packet (no rdf:RDF); left it untouched",
            path=path,
            hint="move it away, then run again",
        )
    return tree


def _strip_owned(rdf: etree._Element) -> None:
    for desc in rdf.findall(f"{{{RDF}}}Description"):
        for child in list(desc):
            q = etree.QName(child)
            if (q.namespace, q.localname) in OWNED:
                desc.remove(child)
        for attr in list(desc.attrib):
            q = etree.QName(attr)
            if (q.namespace, q.localname) in OWNED:
                del desc.attrib[attr]
        # A description left empty by us (no children, only rdf:about) is noise.
        if len(desc) == 0 and set(desc.attrib) <= {f"{{{RDF}}}about"}:
            rdf.remove(desc)


def merge_rights(tree: etree._ElementTree, t: RightsTemplate) -> list[str]:
    """Replace the rights properties in an XMP tree with the template's; keep everything else."""
    root = tree.getroot()
    rdf = root if root.tag == f"{{{RDF}}}RDF" else root.find(f".//{{{RDF}}}RDF")
    assert rdf is not None
    _strip_owned(rdf)
    about = ""
    first = rdf.find(f"{{{RDF}}}Description")
    if first is not None:
        about = first.get(f"{{{RDF}}}about", "")
    nsmap = {
        p: NS[p] for p in ("dc", "photoshop", "xmpRights", "Iptc4xmpCore", "Iptc4xmpExt", "plus")
    }
    desc = etree.SubElement(rdf, f"{{{RDF}}}Description", nsmap=nsmap)
    desc.set(f"{{{RDF}}}about", about)
    written = _add_props(desc, t)
    if not written:
        rdf.remove(desc)
    return written


def render(tree: etree._ElementTree, *, had_packet: bool) -> bytes:
    """Serialize as UTF-8; new sidecars get the xpacket wrapper readers expect."""
    etree.indent(tree.getroot(), space=" ")
    body = etree.tostring(tree, encoding="utf-8", xml_declaration=False)
    if had_packet:
        # lxml joins a leading processing instruction to the root; keep one element a line.
        body = body.replace(b"?><", b"?>\n<", 1).replace(b"><?xpacket end", b">\n<?xpacket end")
        return body + b"\n"
    head = f'<?xpacket begin="\ufeff" id="{_PACKET_ID}"?>\n'.encode()
    return head + body + b'\n<?xpacket end="w"?>\n'


def write_sidecar(sidecar: Path, t: RightsTemplate) -> tuple[list[str], bool]:
    """Create or merge a sidecar atomically. Returns (fields written, whether bytes changed).

    Re-running with the same template leaves the file byte-identical (and untouched).
    """
    if sidecar.exists():
        tree = parse_sidecar(sidecar)
        old = sidecar.read_bytes()
        had_packet = old.lstrip().startswith(b"<?xpacket")
    else:
        tree, old, had_packet = _new_packet(), None, False
    written = merge_rights(tree, t)
    data = render(tree, had_packet=had_packet)
    if old is not None and data == old:
        return written, False
    if not writable(sidecar.parent):
        raise RightsError(
            f"cannot write the sidecar {sidecar}: its folder is not writable",
            path=sidecar,
            hint="give --sidecar-dir to write sidecars elsewhere (e.g. for a read-only card)",
        )
    try:
        atomic_write_bytes(sidecar, data, overwrite=True)
    except PermissionError as exc:
        raise RightsError(
            f"cannot write the sidecar {sidecar}: {exc.strerror}",
            path=sidecar,
            hint="check permissions or give --sidecar-dir",
        ) from None
    return written, True
