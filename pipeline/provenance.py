"""AI provenance: the IPTC Digital Source Type (XMP, in the file or its sidecar) and C2PA
Content Credentials (c2pa-python).

Probe, QC and rights reports use it to flag assets generated or composited by AI, which
French production managers must now identify together with their rights risks. A C2PA
manifest binds a hash of the file: editing metadata afterwards breaks that binding, so a
signature that no longer matches the data is reported, never hidden.

A core module of its own: probe reads provenance without depending on the rights room, and
the rights room validates its templates against the same vocabulary.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.sidecars import sidecars_of

if TYPE_CHECKING:
    from pipeline.exiftool import ExifToolSession

log = logging.getLogger("rushline.provenance")

DST_VOCAB = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC NewsCodes "Digital Source Type" (current terms plus retired ones still found in files).
DIGITAL_SOURCE_TYPES = (
    "digitalCapture",
    "computationalCapture",
    "negativeFilm",
    "positiveFilm",
    "print",
    "humanEdits",
    "compositeCapture",
    "algorithmicallyEnhanced",
    "dataDrivenMedia",
    "digitalArt",
    "virtualRecording",
    "compositeSynthetic",
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "screenCapture",
    # retired but valid in existing files
    "digitalCreation",
    "minorHumanEdits",
    "softwareImage",
)
AI_GENERATED_TYPES = frozenset({"trainedAlgorithmicMedia"})
AI_COMPOSITED_TYPES = frozenset({"compositeWithTrainedAlgorithmicMedia"})
DST_TAG = "XMP-iptcExt:DigitalSourceType"

# Validation codes meaning "the bytes changed after signing" (C2PA spec, validation status).
_TAMPER_CODES = (
    "dataHash.mismatch",
    "bmffHash.mismatch",
    "boxesHash.mismatch",
    "collectionHash.mismatch",
)


def dst_code(value: str | None) -> str | None:
    """A Digital Source Type URI or bare term -> the bare term."""
    if value is None:
        return None
    return value.strip().removeprefix(DST_VOCAB).removeprefix(DST_VOCAB.replace("http:", "https:"))


class C2paInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    present: bool = False
    valid: bool | None = None  # None when absent or unreadable
    validation_state: str | None = None  # "Valid", "Trusted", "Invalid"
    signer: str | None = None
    claim_generator: str | None = None
    digital_source_types: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)  # validation codes that failed
    error: str | None = None


class Provenance(BaseModel):
    """What a file says about how it was made (for probe, QC and rights reports)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    digital_source_type: str | None = None  # IPTC term from XMP (or from C2PA actions)
    ai_generated: bool = False
    ai_composited: bool = False
    c2pa: C2paInfo = Field(default_factory=C2paInfo)
    xmp_modified_after_signing: bool | None = None  # None when there is no C2PA manifest

    @property
    def flags(self) -> list[str]:
        """Short lines for a report."""
        out = []
        if self.ai_generated:
            out.append("AI-generated (trainedAlgorithmicMedia): identify it and clear its rights")
        if self.ai_composited:
            out.append("contains AI-generated elements (compositeWithTrainedAlgorithmicMedia)")
        if self.xmp_modified_after_signing:
            out.append("C2PA Content Credentials no longer match the file (edited after signing)")
        return out


def _walk(obj: Any, key: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                found.append(v)
            found.extend(_walk(v, key))
    elif isinstance(obj, list):
        for v in obj:
            found.extend(_walk(v, key))
    return found


def read_c2pa(path: str | os.PathLike[str]) -> C2paInfo:
    """Read and validate the C2PA manifest store of a file (offline; no trust list)."""
    try:
        import c2pa
    except Exception as exc:  # the wheel may be missing on a platform
        return C2paInfo(error=f"c2pa-python unavailable: {exc}")
    try:
        reader = c2pa.Reader.try_create(os.fspath(path))
    except Exception as exc:
        # NotSupported: a format C2PA does not cover (or not media at all): nothing to read.
        # Errors while decoding JUMBF/claims mean a manifest is there but broken.
        msg = f"{type(exc).__name__}: {exc}"
        broken = any(w in msg.lower() for w in ("jumbf", "claim", "manifest", "signature", "cbor"))
        if "NotSupported" in msg or not broken:
            return C2paInfo(error=None if "NotSupported" in msg else msg)
        return C2paInfo(present=True, valid=False, error=msg)
    if reader is None:
        return C2paInfo()
    with reader:
        try:
            store = json.loads(reader.json())
        except Exception as exc:
            return C2paInfo(present=True, valid=False, error=str(exc))
    return _c2pa_info(store)


def _c2pa_info(store: dict[str, Any]) -> C2paInfo:
    """The active manifest of a C2PA store (reader JSON) as a C2paInfo."""
    active_label = store.get("active_manifest")
    manifest = (store.get("manifests") or {}).get(active_label, {}) if active_label else {}
    sig = manifest.get("signature_info") or {}
    gen = manifest.get("claim_generator")
    if not gen and manifest.get("claim_generator_info"):
        info = manifest["claim_generator_info"][0]
        gen = " ".join(str(x) for x in (info.get("name"), info.get("version")) if x)
    failures: list[str] = []
    results = store.get("validation_results") or {}
    for entry in _walk(results, "failure"):
        for item in entry if isinstance(entry, list) else []:
            if isinstance(item, dict) and item.get("code"):
                failures.append(item["code"])
    for item in store.get("validation_status") or []:
        if isinstance(item, dict) and item.get("code") and item["code"] not in failures:
            failures.append(item["code"])
    # Untrusted signer certificates are normal offline (no trust list); integrity is what counts.
    integrity = [f for f in failures if not f.startswith("signingCredential.untrusted")]
    dsts = sorted({dst_code(v) for v in _walk(manifest, "digitalSourceType") if isinstance(v, str)})
    return C2paInfo(
        present=True,
        valid=not integrity,
        validation_state=store.get("validation_state"),
        signer=sig.get("common_name") or sig.get("issuer"),
        claim_generator=gen,
        digital_source_types=[d for d in dsts if d],
        failures=failures,
    )


def read_provenance(
    path: str | os.PathLike[str],
    *,
    xmp_row: dict[str, Any] | None = None,
    session: ExifToolSession | None = None,
) -> Provenance:
    """Provenance of one file: IPTC Digital Source Type (XMP, or its sidecar) and C2PA.

    `xmp_row` (an ExifTool -G1 JSON row) avoids re-reading when the caller has it; otherwise
    an ExifTool `session` is used, or a one-off one.
    """
    p = Path(path)
    if xmp_row is None:
        xmp_row = read_provenance_rows([p], session=session)[str(p)]
    dst = None
    for key in (DST_TAG, DST_TAG + "#"):
        if xmp_row.get(key):
            dst = dst_code(str(xmp_row[key]))
            break
    info = read_c2pa(p)
    terms = {t for t in (dst, *info.digital_source_types) if t}
    if dst is None and info.digital_source_types:
        dst = info.digital_source_types[0]
    tampered = None
    if info.present:
        tampered = any(any(c.endswith(t) for t in _TAMPER_CODES) for c in info.failures)
    return Provenance(
        path=str(p),
        digital_source_type=dst,
        ai_generated=bool(terms & AI_GENERATED_TYPES),
        ai_composited=bool(terms & AI_COMPOSITED_TYPES),
        c2pa=info,
        xmp_modified_after_signing=tampered,
    )


def read_provenance_rows(
    paths: list[str | os.PathLike[str]], *, session: ExifToolSession | None = None
) -> dict[str, dict[str, Any]]:
    """The Digital Source Type row of each file merged with its sidecars' (the file wins), in
    one ExifTool command for every file and sidecar. Keys are the paths as given (str)."""
    from pipeline.exiftool import ExifToolSession

    groups = {str(p): [Path(p), *sidecars_of(p)] for p in paths}
    every = sorted({os.path.abspath(f) for files in groups.values() for f in files})
    if not every:
        return {}
    own = session is None
    s = session or ExifToolSession().start()
    try:
        rows = s.read_json(every, [DST_TAG])
    finally:
        if own:
            s.close()
    out: dict[str, dict[str, Any]] = {}
    for key, files in groups.items():
        merged: dict[str, Any] = {}
        for f in reversed(files):  # the file itself wins over a sidecar
            merged.update(rows.get(os.path.abspath(f), {}))
        out[key] = merged
    return out


def read_provenance_many(
    paths: list[str | os.PathLike[str]], *, session: ExifToolSession | None = None
) -> dict[str, Provenance]:
    """Provenance of many files with one ExifTool command for all of them and their sidecars.

    Keys are the paths as given (str). Probe uses this: a round trip per file costs 4x more.
    """
    rows = read_provenance_rows(paths, session=session)
    return {key: read_provenance(key, xmp_row=row) for key, row in rows.items()}
