"""The rights register of external sources (music cues, archive footage, stills), imported from
a CSV or YAML file with strict validation into the catalogue.

Strict: an unknown column, a missing required field, a bad date, an unknown kind or status is
an error that names the file, the line and the field, and nothing is imported (a register is
imported whole or not at all, so a statement is never made from half of it).

CSV columns (header row, UTF-8, `,` separated; list fields use `;`):
ref, kind, title, rights_holder, licence, status, uses, territories, start, end,
fee_reference, ai, linked, notes. YAML: a list of mappings with the same keys (or a mapping
with an `entries:` list); list fields may be YAML lists.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import RightsError
from pipeline.names import nfc, printable

KINDS = ("music", "archive", "still", "footage", "other")
STATUSES = ("cleared", "pending", "refused")
REQUIRED = ("ref", "kind", "title", "rights_holder", "licence", "status")
LIST_FIELDS = ("uses", "territories", "linked")
MAX_ERRORS = 10


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates kept as text: pydantic checks them and names the bad one (PyYAML
    would raise a bare ValueError for 2026-13-01 with no line)."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda ld, node: ld.construct_scalar(node))


class RegisterRow(BaseModel):
    """One external source and the licence the production holds for it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ref: str = Field(min_length=1, max_length=200)
    kind: Literal["music", "archive", "still", "footage", "other"]
    title: str = Field(min_length=1)
    rights_holder: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    status: Literal["cleared", "pending", "refused"]
    uses: list[str] = Field(default_factory=list)
    territories: list[str] = Field(default_factory=list)
    start: dt.date | None = None
    end: dt.date | None = None  # None: in perpetuity
    fee_reference: str | None = None
    ai: Literal["generated", "composited"] | None = None
    linked: list[str] = Field(default_factory=list)
    notes: str | None = None

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(";") if v.strip()]
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str) and value and not _is_iso(value):
            raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD")
        return value or None

    @model_validator(mode="after")
    def _ordered(self) -> RegisterRow:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


def _is_iso(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _problems(path: Path, line: int, exc: ValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(row)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown field; the fields are {', '.join(RegisterRow.model_fields)}"
        elif e["type"] == "missing":
            msg = "required, missing"
        elif e["type"] == "literal_error":
            msg = f"{e.get('input')!r} is not allowed: {msg.removeprefix('Input should be ')}"
        out.append(f"{printable(str(path))}, line {line}, field {printable(loc)}: {msg}")
    return out


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise RightsError(f"{printable(str(path))}, line 1: empty file, no header row")
        header = [h.strip().lower() for h in header]
        missing = [r for r in REQUIRED if r not in header]
        if missing:
            raise RightsError(
                f"{printable(str(path))}, line 1, field {missing[0]}: the header has no "
                f"{', '.join(missing)} column",
                hint=f"the columns are {', '.join(RegisterRow.model_fields)}",
            )
        line = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                if len(cells) > len(header):
                    cells = cells[: len(header)] + ["\x00extra"]
                yield line, _row(header, cells)
            line = reader.line_num + 1


def _row(header: list[str], cells: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in zip(header, cells, strict=False):
        if value.strip() or key in REQUIRED:
            row[key] = value
    if cells and cells[-1] == "\x00extra":
        row["(more cells than columns)"] = True
    return row


def _yaml_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise RightsError(f"{printable(str(path))}, line {line}: not valid YAML ({exc})") from None
    nodes = root.value if root is not None and isinstance(root.value, list) else []
    items = data
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        items = data["entries"]
        nodes = next(v.value for k, v in root.value if k.value == "entries")
    if not isinstance(items, list):
        raise RightsError(f"{printable(str(path))}, line 1: expected a list of entries")
    for node, item in zip(nodes, items, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(item, dict):
            raise RightsError(f"{printable(str(path))}, line {line}: an entry must be a mapping")
        yield line, {str(k): v for k, v in item.items()}


def load_register(path: str | os.PathLike[str]) -> list[tuple[int, RegisterRow]]:
    """Every entry of a register file, validated; RightsError lists every problem found."""
    p = Path(path)
    if not p.is_file():
        raise RightsError(f"{printable(str(p))}: no such register file")
    reader = _yaml_rows if p.suffix.lower() in (".yaml", ".yml") else _csv_rows
    rows: list[tuple[int, RegisterRow]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    try:
        for line, raw in reader(p):
            try:
                row = RegisterRow.model_validate(raw)
            except ValidationError as exc:
                problems += _problems(p, line, exc)
                continue
            if row.ref in seen:
                problems.append(
                    f"{printable(str(p))}, line {line}, field ref: {row.ref!r} already used "
                    f"on line {seen[row.ref]}"
                )
            seen[row.ref] = line
            rows.append((line, row))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RightsError(f"{printable(str(p))}: cannot be read as UTF-8 CSV ({exc})") from None
    if problems:
        more = f" (and {len(problems) - MAX_ERRORS} more)" if len(problems) > MAX_ERRORS else ""
        raise RightsError(
            "; ".join(problems[:MAX_ERRORS]) + more,
            path=p,
            hint="fix the register and import it again; nothing was imported",
        )
    return rows


def import_register(path: str | os.PathLike[str], *, catalog: Any = None) -> int:
    """Validate a register file and store it in the catalogue (updating entries by ref)."""
    from pipeline.catalog.db import Catalog, open_catalog
    from pipeline.catalog.rights_register import write_entries

    rows = load_register(path)
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    records = []
    for line, row in rows:
        rec = row.model_dump(mode="json")
        rec["linked"] = [nfc(x) for x in rec["linked"]]
        rec |= {"source_file": nfc(os.path.abspath(path)), "source_line": line}
        records.append(rec | {"imported_at": when})
    cat = open_catalog(catalog)
    try:
        return write_entries(cat, records)
    finally:
        if not isinstance(catalog, Catalog):
            cat.close()
