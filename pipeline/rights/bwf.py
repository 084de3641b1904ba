"""Rights in a Broadcast Wave file: bext Originator/Description/OriginatorReference, a RIFF
LIST/INFO mirror, and the full XMP packet in the `_PMX` chunk (where Adobe and ExifTool read it).

ExifTool 12.57 cannot write RIFF, so this module rewrites the chunk list itself: every chunk we
do not own (fmt, data, iXML, cue, the rest of bext) is copied byte for byte, in order, into a
temp file next to the original; then fsync and rename. The audio samples never change.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import RightsError
from pipeline.rights.fields import ascii_fold
from pipeline.rights.template import RightsTemplate

BEXT_FIXED = 602  # bytes before CodingHistory (EBU Tech 3285 v2)


@dataclass
class Chunk:
    cid: bytes
    offset: int  # of the payload
    size: int


def read_chunks(path: Path) -> tuple[list[Chunk], int]:
    """The top-level RIFF chunks of a WAVE file and the file size; RightsError if not WAVE."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE":
            raise RightsError(f"{path} is not a WAVE file", path=path)
        if head[:4] in (b"RF64", b"BW64"):
            raise RightsError(
                f"{path} is RF64/BW64 (over 4 GB); Rushline does not rewrite those yet",
                path=path,
                hint="rights went to an XMP sidecar instead",
            )
        if head[:4] != b"RIFF":
            raise RightsError(f"{path} is not a RIFF file", path=path)
        chunks: list[Chunk] = []
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            hdr = fh.read(8)
            cid, n = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if pos + 8 + n > size:
                if cid == b"data":  # some recorders leave a wrong size on the last chunk
                    n = size - pos - 8
                else:
                    raise RightsError(
                        f"{path} is truncated or corrupt (chunk {cid!r} runs past the end)",
                        path=path,
                    )
            chunks.append(Chunk(cid, pos + 8, n))
            pos += 8 + n + (n & 1)
    return chunks, size


def _fixed(text: str, n: int) -> bytes:
    return ascii_fold(text).encode("ascii", "ignore")[:n].ljust(n, b"\0")


def build_bext(old: bytes | None, t: RightsTemplate) -> bytes:
    """A bext chunk with our Description/Originator(/Reference), keeping every other field.

    bext strings are ASCII by the EBU standard: non-ASCII is folded (é -> e, © -> (c)); the
    exact text is in the XMP packet.
    """
    buf = bytearray(old if old and len(old) >= BEXT_FIXED else b"\0" * BEXT_FIXED)
    if not old:
        struct.pack_into("<H", buf, 346, 1)  # Version 1 (UMID present-or-zero)
    if t.description:
        buf[0:256] = _fixed(t.description, 256)
    if t.creator:
        buf[256:288] = _fixed(", ".join(t.creator), 32)
    # OriginatorReference identifies the recording (often a USID from the recorder): keep it.
    if not any(buf[288:320].strip(b"\0 ")) and t.source:
        buf[288:320] = _fixed(t.source, 32)
    return bytes(buf)


def _info_chunk(t: RightsTemplate) -> bytes:
    items: list[tuple[bytes, str]] = []
    if t.creator:
        items.append((b"IART", "; ".join(t.creator)))
    if t.copyright_notice:
        items.append((b"ICOP", t.copyright_notice))
    if t.title:
        items.append((b"INAM", t.title))
    if t.description:
        items.append((b"ICMT", t.description))
    if t.keywords:
        items.append((b"IKEY", "; ".join(t.keywords)))
    body = bytearray(b"INFO")
    for cid, text in items:
        # RIFF INFO has no charset field; readers (Windows, ExifTool) assume Latin-1/cp1252.
        data = _cp1252(text) + b"\0"
        body += cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")
    return bytes(body)


def _cp1252(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            out += ascii_fold(ch).encode("ascii", "ignore") or b"?"
    return bytes(out)


def _is_info(path: Path, c: Chunk) -> bool:
    if c.cid != b"LIST":
        return False
    with open(path, "rb") as fh:
        fh.seek(c.offset)
        return fh.read(4) == b"INFO"


def write_bwf(src: Path, dest: Path, t: RightsTemplate, xmp_packet: bytes) -> list[str]:
    """Write a copy of `src` with rights (bext + INFO + _PMX) to `dest` (a new temp file the
    caller verifies, then renames); fsynced. Returns notes for the user."""
    chunks, _ = read_chunks(src)
    if not any(c.cid == b"fmt " for c in chunks) or not any(c.cid == b"data" for c in chunks):
        raise RightsError(f"{src} has no fmt or data chunk; not a usable WAVE file", path=src)
    notes: list[str] = []
    with open(dest, "xb") as out, open(src, "rb") as inp:
        out.write(b"RIFF\0\0\0\0WAVE")
        old_bext = None
        for c in chunks:
            if c.cid == b"bext":
                inp.seek(c.offset)
                old_bext = inp.read(c.size)

        def put(cid: bytes, payload: bytes) -> None:
            out.write(cid + struct.pack("<I", len(payload)) + payload)
            if len(payload) & 1:
                out.write(b"\0")

        wrote_bext = False
        for c in chunks:
            if c.cid == b"_PMX" or _is_info(src, c):
                continue
            if c.cid == b"bext":
                put(b"bext", build_bext(old_bext, t))
                wrote_bext = True
                continue
            if c.cid == b"data" and not wrote_bext:
                # bext goes before the audio, where recorders and EBU Tech 3285 put it.
                put(b"bext", build_bext(None, t))
                wrote_bext = True
            out.write(c.cid + struct.pack("<I", c.size))
            inp.seek(c.offset)
            _copy(inp, out, c.size)
            if c.size & 1:
                out.write(b"\0")
        put(b"LIST", _info_chunk(t))
        put(b"_PMX", xmp_packet)
        total = out.tell()
        if total - 8 > 0xFFFFFFFF:
            raise RightsError(f"{src} would exceed 4 GB with metadata; not rewritten", path=src)
        out.seek(4)
        out.write(struct.pack("<I", total - 8))
        out.flush()
        os.fsync(out.fileno())
    if any(ord(ch) > 127 for ch in (t.description or "") + "".join(t.creator)):
        notes.append("bext is ASCII by standard: accents folded there; XMP keeps the exact text")
    return notes


def _copy(inp, out, n: int) -> None:
    while n > 0:
        buf = inp.read(min(n, 8 << 20))
        if not buf:
            raise RightsError("the WAVE file shrank while being rewritten")
        out.write(buf)
        n -= len(buf)
