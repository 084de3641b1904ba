"""ASC MHL v2: write and read generations (manifests) and the chain file of an `ascmhl/` history.

Layout, as the reference `ascmhl` tool writes it (and our manifests validate against the ASC MHL
XSD): `<root>/ascmhl/0001_<rootname>_<YYYY-MM-DD_HHMMSSZ>.mhl` per generation, and
`<root>/ascmhl/ascmhl_chain.xml` listing every generation with the C4 id of its file, so a
manifest edited after the fact is detected.

A generation lists every file with its size, modification date and hashes; each hash has an
`action`: "original" the first time a file is hashed, "verified" when it matched an earlier
record, "failed" when it did not. Directory content/structure hashes are written too (the
reference algorithm, see `pipeline.hashing.DirectoryHash`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

import pipeline
from pipeline.errors import VerifyError
from pipeline.fsutil import atomic_write_bytes
from pipeline.hashing import DirectoryHash, hash_bytes

MHL_NS = "urn:ASC:MHL:v2.0"
CHAIN_NS = "urn:ASC:MHL:DIRECTORY:v2.0"
MHL_FOLDER = "ascmhl"
CHAIN_FILE = "ascmhl_chain.xml"
#: Patterns every generation we write declares as ignored (the reference tool's defaults + ours).
BASE_IGNORE = (".DS_Store", "ascmhl", "ascmhl/")

_GEN_RE = re.compile(r"^(\d{4,})_.*\.mhl$")


@dataclass
class HashRecord:
    """One hash of one file in one generation."""

    fmt: str
    value: str
    action: str = "original"  # original | verified | failed
    hashdate: dt.datetime | None = None


@dataclass
class FileEntry:
    """One file of a generation: path relative to the history root (POSIX separators)."""

    path: str
    size: int
    mtime: dt.datetime
    hashes: list[HashRecord]

    def value(self, fmt: str) -> str | None:
        for h in self.hashes:
            if h.fmt == fmt:
                return h.value
        return None


@dataclass
class Generation:
    """One manifest of a history."""

    sequence: int
    path: Path
    creation: str
    process: str
    tool: str
    files: list[FileEntry] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)


@dataclass
class History:
    """An `ascmhl/` folder: its generations in order, and what the chain says about them."""

    root: Path
    generations: list[Generation]
    #: manifest files whose C4 does not match the chain (edited after they were written)
    tampered: list[str] = field(default_factory=list)
    #: manifests the chain lists but that are gone
    missing_manifests: list[str] = field(default_factory=list)

    @property
    def next_sequence(self) -> int:
        return max((g.sequence for g in self.generations), default=0) + 1

    def original_entries(self) -> dict[str, tuple[FileEntry, HashRecord]]:
        """For each path, its first "original" hash (what `ascmhl verify` compares against)."""
        out: dict[str, tuple[FileEntry, HashRecord]] = {}
        for gen in self.generations:
            for fe in gen.files:
                if fe.path in out:
                    continue
                for h in fe.hashes:
                    if h.action == "original":
                        out[fe.path] = (fe, h)
                        break
        return out

    def known_hashes(self) -> dict[str, dict[str, str]]:
        """Every hash format ever recorded for each path (not failed ones), latest wins."""
        out: dict[str, dict[str, str]] = {}
        for gen in self.generations:
            for fe in gen.files:
                d = out.setdefault(fe.path, {})
                for h in fe.hashes:
                    if h.action != "failed":
                        d[h.fmt] = h.value
        return out

    def ignore_patterns(self) -> list[str]:
        return list(self.generations[-1].ignore) if self.generations else list(BASE_IGNORE)


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def _q(tag: str, ns: str = MHL_NS) -> str:
    return f"{{{ns}}}{tag}"


def _directory_hashes(
    files: Sequence[FileEntry], dirs: Iterable[str], formats: Sequence[str]
) -> tuple[dict[str, dict[str, tuple[str, str]]], dict[str, tuple[str, str]]]:
    """Content and structure hashes per directory (post-order), and those of the root.

    Returns ({dir: {fmt: (content, structure)}}, {fmt: (content, structure)} of the root).
    """
    children: dict[str, list[tuple[str, str, FileEntry | None]]] = {"": []}
    all_dirs = {""}
    for d in dirs:
        parts = d.split("/")
        for i in range(1, len(parts) + 1):
            all_dirs.add("/".join(parts[:i]))
    for fe in files:
        parent = fe.path.rsplit("/", 1)[0] if "/" in fe.path else ""
        parts = parent.split("/") if parent else []
        for i in range(1, len(parts) + 1):
            all_dirs.add("/".join(parts[:i]))
    for d in all_dirs:
        children.setdefault(d, [])
        if d:
            parent, _, name = d.rpartition("/")
            children.setdefault(parent, []).append((name, d, None))
    for fe in files:
        parent, _, name = fe.path.rpartition("/")
        children.setdefault(parent, []).append((name, fe.path, fe))

    result: dict[str, dict[str, tuple[str, str]]] = {}

    # post-order: deepest directories first, so children are ready before their parent
    order = sorted((d for d in all_dirs if d), key=lambda p: -(p.count("/") + 1)) + [""]
    for d in order:
        per_fmt: dict[str, tuple[str, str]] = {}
        for fmt in formats:
            dh = DirectoryHash(fmt)
            for name, rel, fe in sorted(children[d], key=lambda c: c[0]):
                if fe is None:
                    c, s = result[rel][fmt]
                    dh.add_directory(name, c, s)
                else:
                    v = fe.value(fmt)
                    if v is not None:
                        dh.add_file(name, v)
            per_fmt[fmt] = (dh.content(), dh.structure())
        result[d] = per_fmt
    root = result.pop("")
    return result, root


def write_generation(
    root: str | os.PathLike[str],
    files: Sequence[FileEntry],
    *,
    dirs: Iterable[str] = (),
    dir_mtimes: dict[str, dt.datetime] | None = None,
    formats: Sequence[str],
    process: str = "transfer",
    ignore: Iterable[str] = (),
    comment: str | None = None,
    author: str | None = None,
    location: str | None = None,
    now: dt.datetime | None = None,
    hostname: str | None = None,
) -> Path:
    """Write the next generation of `root`'s history and append it to the chain; returns its path.

    `files` carries the hashes already computed (we never hash again to write a manifest).
    The manifest is written atomically and never overwrites; the chain is rewritten atomically.
    """
    root = Path(root)
    now = now or dt.datetime.now(dt.UTC)
    history_dir = root / MHL_FOLDER
    history = load_history(root) if (history_dir / CHAIN_FILE).exists() else None
    seq = history.next_sequence if history else 1
    name = f"{seq:04d}_{root.name}_{now.astimezone(dt.UTC).strftime('%Y-%m-%d_%H%M%SZ')}.mhl"

    el = etree.Element(_q("hashlist"), nsmap={None: MHL_NS}, version="2.0")
    ci = etree.SubElement(el, _q("creatorinfo"))
    etree.SubElement(ci, _q("creationdate")).text = _iso(now.replace(microsecond=0))
    etree.SubElement(ci, _q("hostname")).text = hostname or socket.gethostname()
    etree.SubElement(ci, _q("tool"), version=pipeline.__version__).text = "rushline"
    if author:
        etree.SubElement(ci, _q("author")).text = author
    if location:
        etree.SubElement(ci, _q("location")).text = location
    if comment:
        etree.SubElement(ci, _q("comment")).text = comment

    dir_hashes, root_hashes = _directory_hashes(files, dirs, formats)
    pi = etree.SubElement(el, _q("processinfo"))
    etree.SubElement(pi, _q("process")).text = process
    rh = etree.SubElement(pi, _q("roothash"))
    for part, idx in (("content", 0), ("structure", 1)):
        box = etree.SubElement(rh, _q(part))
        for fmt in sorted(formats):
            etree.SubElement(box, _q(fmt), hashdate=_iso(now)).text = root_hashes[fmt][idx]
    ig = etree.SubElement(pi, _q("ignore"))
    patterns = list(dict.fromkeys([*BASE_IGNORE, *ignore]))
    for p in patterns:
        etree.SubElement(ig, _q("pattern")).text = p

    hashes_el = etree.SubElement(el, _q("hashes"))
    for fe in files:
        h = etree.SubElement(hashes_el, _q("hash"))
        etree.SubElement(
            h,
            _q("path"),
            size=str(fe.size),
            lastmodificationdate=_iso(fe.mtime.replace(microsecond=0)),
        ).text = fe.path
        for rec in sorted(fe.hashes, key=lambda r: r.fmt):
            etree.SubElement(
                h, _q(rec.fmt), action=rec.action, hashdate=_iso(rec.hashdate or now)
            ).text = rec.value
    mt = dir_mtimes or {}
    for d in sorted(dir_hashes, key=lambda p: (-(p.count("/")), p)):
        dh = etree.SubElement(hashes_el, _q("directoryhash"))
        attrs = {"lastmodificationdate": _iso(mt[d].replace(microsecond=0))} if d in mt else {}
        etree.SubElement(dh, _q("path"), **attrs).text = d
        for part, idx in (("content", 0), ("structure", 1)):
            box = etree.SubElement(dh, _q(part))
            for fmt in sorted(formats):
                etree.SubElement(box, _q(fmt), hashdate=_iso(now)).text = dir_hashes[d][fmt][idx]

    data = etree.tostring(el, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    manifest = history_dir / name
    atomic_write_bytes(manifest, data, overwrite=False)
    _write_chain(history_dir, history, seq, name, hash_bytes(data, "c4"))
    return manifest


def _write_chain(history_dir: Path, history: History | None, seq: int, name: str, c4: str) -> None:
    chain = etree.Element(_q("ascmhldirectory", CHAIN_NS), nsmap={None: CHAIN_NS})
    entries: list[tuple[int, str, str]] = []
    if history is not None:
        entries = _read_chain(history_dir / CHAIN_FILE)
    entries.append((seq, name, c4))
    for s, p, c in entries:
        hl = etree.SubElement(chain, _q("hashlist", CHAIN_NS), sequencenr=str(s))
        etree.SubElement(hl, _q("path", CHAIN_NS)).text = p
        etree.SubElement(hl, _q("c4", CHAIN_NS)).text = c
    data = etree.tostring(chain, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    atomic_write_bytes(history_dir / CHAIN_FILE, data, overwrite=True)


def _parse(path: Path) -> etree._Element:
    try:
        return etree.parse(str(path), etree.XMLParser(resolve_entities=False)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise VerifyError(
            f"cannot read the ASC MHL file {path}: {exc}",
            path=path,
            hint="the history is damaged; restore it from another copy of the roll",
        ) from exc


def _read_chain(chain_path: Path) -> list[tuple[int, str, str]]:
    root = _parse(chain_path)
    out = []
    for hl in root.iter(_q("hashlist", CHAIN_NS)):
        out.append(
            (
                int(hl.get("sequencenr", "0")),
                hl.findtext(_q("path", CHAIN_NS)) or "",
                hl.findtext(_q("c4", CHAIN_NS)) or "",
            )
        )
    return out


def _dt(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.fromtimestamp(0, dt.UTC)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_generation(path: Path, sequence: int) -> Generation:
    """Parse one manifest file."""
    root = _parse(path)
    gen = Generation(
        sequence=sequence,
        path=path,
        creation=root.findtext(f"{_q('creatorinfo')}/{_q('creationdate')}") or "",
        process=root.findtext(f"{_q('processinfo')}/{_q('process')}") or "",
        tool=root.findtext(f"{_q('creatorinfo')}/{_q('tool')}") or "",
        ignore=[
            p.text or ""
            for p in root.iterfind(f"{_q('processinfo')}/{_q('ignore')}/{_q('pattern')}")
        ],
    )
    hashes = root.find(_q("hashes"))
    if hashes is None:
        return gen
    for h in hashes.iterfind(_q("hash")):
        p = h.find(_q("path"))
        if p is None or p.text is None:
            continue
        recs = []
        for child in h:
            tag = etree.QName(child).localname
            if tag in ("path", "previousPath", "metadata"):
                continue
            recs.append(
                HashRecord(
                    fmt=tag,
                    value=(child.text or "").strip(),
                    action=child.get("action", "original"),
                    hashdate=_dt(child.get("hashdate")) if child.get("hashdate") else None,
                )
            )
        gen.files.append(
            FileEntry(
                path=p.text,
                size=int(p.get("size", "-1")),
                mtime=_dt(p.get("lastmodificationdate")),
                hashes=recs,
            )
        )
    return gen


def load_history(root: str | os.PathLike[str]) -> History | None:
    """The history of `root` (None when there is no `ascmhl/` folder).

    Manifests are taken from the chain when there is one (checking each one's C4), else from the
    numbered files in the folder.
    """
    root = Path(root)
    folder = root / MHL_FOLDER
    if not folder.is_dir():
        return None
    history = History(root=root, generations=[])
    chain_path = folder / CHAIN_FILE
    listed: list[tuple[int, str, str | None]] = []
    if chain_path.exists():
        listed = [(s, p, c) for s, p, c in _read_chain(chain_path)]
    else:
        for p in sorted(folder.iterdir()):
            m = _GEN_RE.match(p.name)
            if m:
                listed.append((int(m.group(1)), p.name, None))
    for seq, name, c4 in sorted(listed):
        mpath = folder / name
        if not mpath.is_file():
            history.missing_manifests.append(name)
            continue
        if c4 is not None and hash_bytes(mpath.read_bytes(), "c4") != c4:
            history.tampered.append(name)
        history.generations.append(read_generation(mpath, seq))
    return history
