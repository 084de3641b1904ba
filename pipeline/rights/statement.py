"""The end-of-production rights statement: who owns what, which external material was cleared,
for which uses and until when, and what was made with AI.

Two sources: our own material (the rights templates applied, as the catalogue recorded them,
with the IPTC Digital Source Type / C2PA of each file still on disk) and the rights register
of external sources. Flags: `uncleared` (pending or refused), `expired` and `expiring` (ends
within N days of the statement date), `ai-generated`, `ai-composited`, `c2pa-broken`.
JSON is the truth; CSV and PDF are views of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from pipeline.errors import RushlineError
from pipeline.provenance import AI_COMPOSITED_TYPES, AI_GENERATED_TYPES, dst_code

log = logging.getLogger("rushline.rights")
FLAGS = ("uncleared", "expired", "expiring", "ai-generated", "ai-composited", "c2pa-broken")


class StatementItem(BaseModel):
    origin: Literal["own", "external"]
    ref: str  # the file (own) or the register reference (external)
    kind: str
    title: str
    rights_holder: str | None = None
    licence: str | None = None
    status: str
    uses: list[str] = Field(default_factory=list)
    territories: list[str] = Field(default_factory=list)
    start: str | None = None
    end: str | None = None
    days_left: int | None = None
    digital_source_type: str | None = None
    linked: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)


class Statement(BaseModel):
    production: str | None = None
    generated_at: str
    as_of: str
    expiring_within_days: int
    catalogue: str
    items: list[StatementItem]
    counts: dict[str, int]
    notes: list[str] = Field(default_factory=list)


def _date_flags(end: str | None, as_of: dt.date, within: int) -> tuple[list[str], int | None]:
    if not end:
        return [], None
    left = (dt.date.fromisoformat(end) - as_of).days
    if left < 0:
        return ["expired"], left
    return (["expiring"] if left <= within else []), left


def _ai_flags(dst: str | None) -> list[str]:
    if dst in AI_GENERATED_TYPES:
        return ["ai-generated"]
    if dst in AI_COMPOSITED_TYPES:
        return ["ai-composited"]
    return []


def external_items(rows: list[dict[str, Any]], as_of: dt.date, within: int) -> list[StatementItem]:
    out = []
    for r in rows:
        flags = [] if r["status"] == "cleared" else ["uncleared"]
        dates, left = _date_flags(r["end"], as_of, within)
        ai = {"generated": ["ai-generated"], "composited": ["ai-composited"]}.get(r["ai"] or "", [])
        out.append(
            StatementItem(
                origin="external",
                **{k: r[k] for k in ("ref", "kind", "title", "rights_holder", "licence")},
                **{k: r[k] for k in ("status", "uses", "territories", "start", "end", "linked")},
                days_left=left,
                flags=flags + dates + ai,
            )
        )
    return out


def _holder(fields: dict[str, Any]) -> str | None:
    creator = fields.get("creator")
    if isinstance(creator, list):
        creator = ", ".join(str(c) for c in creator)
    return fields.get("copyright_notice") or fields.get("credit_line") or creator or None


def own_items(rows: list[Any], provenance: dict[str, Any]) -> list[StatementItem]:
    out = []
    for r in rows:
        f = dict(r.fields or {})
        prov = provenance.get(r.file)
        dst = dst_code(f.get("digital_source_type"))
        flags = _ai_flags(dst)
        if prov is not None:
            dst = prov.digital_source_type or dst
            flags = sorted(set(flags + _ai_flags(dst)))
            flags += ["ai-generated"] if prov.ai_generated and "ai-generated" not in flags else []
            flags += ["c2pa-broken"] if prov.xmp_modified_after_signing else []
        out.append(
            StatementItem(
                origin="own",
                ref=r.file,
                kind="own",
                title=str(f.get("title") or Path(r.file).name),
                rights_holder=_holder(f),
                licence=f.get("usage_terms") or f"template {r.template}",
                status="own",
                digital_source_type=dst,
                flags=flags,
            )
        )
    return out


def read_files_provenance(files: list[str], notes: list[str]) -> dict[str, Any]:
    """IPTC Digital Source Type and C2PA of the files still on disk (ExifTool + c2pa)."""
    from pipeline.provenance import read_provenance_many

    present = [f for f in files if os.path.isfile(f)]
    if len(present) < len(files):
        notes.append(f"{len(files) - len(present)} file(s) not on disk: provenance from templates")
    if not present:
        return {}
    try:
        return read_provenance_many(present)
    except RushlineError as exc:
        notes.append(f"provenance not read from the files: {exc}")
        return {}


def build_statement(
    *,
    catalog: Any = None,
    as_of: dt.date | None = None,
    expiring_within: int = 90,
    read_files: bool = True,
    production: str | None = None,
) -> Statement:
    """The rights statement from the catalogue (templates applied) and the register."""
    from pipeline.catalog.db import Catalog, open_catalog
    from pipeline.catalog.rights_register import read_entries
    from pipeline.catalog.schema import RightsRecord

    day = as_of or dt.date.today()
    cat = open_catalog(catalog)
    notes: list[str] = []
    try:
        register = read_entries(cat)
        with cat.read("reading rights applied") as s:
            own = list(s.scalars(select(RightsRecord).order_by(RightsRecord.file)))
            s.expunge_all()
        where = cat.where
    finally:
        if not isinstance(catalog, Catalog):
            cat.close()
    prov = read_files_provenance([r.file for r in own], notes) if read_files else {}
    items = own_items(own, prov) + external_items(register, day, expiring_within)
    counts = {"items": len(items), "own": len(own), "external": len(register)}
    counts |= {f: sum(f in i.flags for i in items) for f in FLAGS}
    return Statement(
        production=production,
        generated_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        as_of=day.isoformat(),
        expiring_within_days=expiring_within,
        catalogue=where,
        items=items,
        counts=counts,
        notes=notes,
    )


CSV_COLUMNS = list(StatementItem.model_fields)


def statement_csv(st: Statement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for item in st.items:
        row = item.model_dump()
        w.writerow(["; ".join(v) if isinstance(v, list) else v for v in row.values()])
    return buf.getvalue()


OUTPUTS = ("rights-statement.json", "rights-statement.csv", "rights-statement.pdf")


def output_paths(out_dir: str | os.PathLike[str]) -> list[Path]:
    return [Path(out_dir) / n for n in OUTPUTS]


def write_statement(
    st: Statement, out_dir: str | os.PathLike[str], *, overwrite: bool
) -> list[Path]:
    """JSON, CSV and PDF into out_dir (atomic writes; existing files refused unless overwrite)."""
    from pipeline.fsutil import atomic_write_bytes, atomic_write_text
    from pipeline.rights.statement_pdf import statement_pdf

    js, cs, pdf = output_paths(out_dir)
    atomic_write_text(js, st.model_dump_json(indent=2) + "\n", overwrite=overwrite)
    atomic_write_text(cs, statement_csv(st), overwrite=overwrite)
    atomic_write_bytes(pdf, statement_pdf(st), overwrite=overwrite)
    return [js, cs, pdf]
