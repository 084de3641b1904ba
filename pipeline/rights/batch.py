"""The rights commands as one call each: what `rushline rights` and the rights flow share.

Both the CLI and the Prefect flow parse their arguments, call one function here and present
the outcome; choosing files, sidecar or embed, running the batch and summing up live here.
Arguments are checked before any file is touched: a bad template, an unknown sidecar style or
paths of which none exist are one RushlineError (exit 2 at the CLI boundary).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline import exitcodes
from pipeline.errors import UserInputError
from pipeline.exiftool import ExifToolSession
from pipeline.provenance import read_provenance
from pipeline.qc.findings import Finding
from pipeline.rights.apply import RightsResult, apply_rights, iter_files, summarize
from pipeline.rights.check import check_rights
from pipeline.rights.show import show_rights
from pipeline.rights.template import RightsTemplate, load_template

PathArg = str | os.PathLike[str]
SIDECAR_STYLES = ("name", "ext")


def parse_variables(items: Sequence[str]) -> dict[str, str]:
    """`--var NAME=VALUE` items as a dict; a malformed item is a UserInputError."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"--var {item!r} is not NAME=VALUE", hint="e.g. --var client=ACME")
        out[key.strip()] = value
    return out


def require_paths(paths: Sequence[PathArg]) -> None:
    """Refuse a batch whose paths all are missing (an empty list is an empty batch).

    A missing path among existing ones is that path's own error in the results (the others
    go on), so one typo does not cost a whole card its rights.
    """
    if paths and not any(os.path.lexists(p) for p in paths):
        shown = ", ".join(os.fspath(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise UserInputError(
            f"no such file or folder: {shown}", hint="check the path (is the card mounted?)"
        )


def resolve_template(
    template: str | os.PathLike[str] | RightsTemplate, variables: dict[str, str] | None = None
) -> RightsTemplate:
    if isinstance(template, RightsTemplate):
        if not variables:
            return template
        merged = {**template.variables, **variables}
        return RightsTemplate.model_validate({**template.model_dump(), "variables": merged})
    return load_template(template, variables=variables)


class ApplyOutcome(BaseModel):
    """What `rights apply` did to a batch (the JSON truth is `results`)."""

    model_config = ConfigDict(extra="forbid")

    template: str
    results: list[RightsResult] = Field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return summarize(self.results)

    @property
    def summary(self) -> str:
        """'3 embedded, 1 sidecar, 1 error'."""
        return ", ".join(f"{v} {k}" for k, v in self.counts.items() if v) or "no files"

    @property
    def exit_code(self) -> int:
        """ERROR when a file could not be handled, FAILED when a field was not written."""
        if any(r.action == "error" for r in self.results):
            return exitcodes.ERROR
        if any(r.not_written for r in self.results):
            return exitcodes.FAILED
        return exitcodes.OK


def run_apply(
    paths: Sequence[PathArg],
    template: str | os.PathLike[str] | RightsTemplate,
    *,
    variables: dict[str, str] | None = None,
    embed: bool = False,
    sidecar_style: str = "name",
    sidecar_dir: PathArg | None = None,
    break_c2pa: bool = False,
    session: ExifToolSession | None = None,
) -> ApplyOutcome:
    """Check the arguments, load the template, then apply it to every file (see apply.py)."""
    if sidecar_style not in SIDECAR_STYLES:
        raise UserInputError(
            f"--sidecar-style {sidecar_style!r} is not one of {', '.join(SIDECAR_STYLES)}",
            hint="name: IMG.xmp (Lightroom, Capture One); ext: IMG.CR3.xmp (darktable)",
        )
    tpl = resolve_template(template, variables)
    require_paths(paths)
    results = apply_rights(
        paths,
        tpl,
        embed=embed,
        sidecar_style=sidecar_style,  # type: ignore[arg-type]
        sidecar_dir=sidecar_dir,
        break_c2pa=break_c2pa,
        session=session,
    )
    name = tpl.name or (os.fspath(template) if not isinstance(template, RightsTemplate) else "")
    return ApplyOutcome(template=name, results=results)


def not_written_line(r: RightsResult) -> str:
    return ", ".join(f"{k} ({v})" for k, v in r.not_written.items())


def result_rows(results: Sequence[RightsResult]) -> list[dict[str, str]]:
    """One plain row per file for a table (CLI) or an artifact (flow); text, never markup."""
    rows = []
    for r in results:
        status = r.action
        if r.action != "error" and r.not_written:
            status = f"{r.action}, incomplete"
        rows.append(
            {
                "file": r.path,
                "result": status,
                "carried in": r.target or "",
                "not written": not_written_line(r),
                "notes": "; ".join(r.notes) or (r.error or ""),
            }
        )
    return rows


def run_show(
    paths: Sequence[PathArg], *, sidecar_dir: PathArg | None = None
) -> list[dict[str, Any]]:
    """Effective rights of each file plus its AI provenance (dicts, JSON-safe)."""
    require_paths(paths)
    rows = []
    for eff in show_rights(paths, sidecar_dir=sidecar_dir):
        data = eff.model_dump()
        if eff.error is None or eff.fields:
            dst = eff.fields.get("digital_source_type")
            prov = read_provenance(eff.path, xmp_row={"XMP-iptcExt:DigitalSourceType": dst})
            data["provenance"] = prov.model_dump() | {"flags": prov.flags}
        rows.append(data)
    return rows


def run_check(
    paths: Sequence[PathArg],
    template: str | os.PathLike[str] | RightsTemplate,
    *,
    fields: Sequence[str] | None = None,
    variables: dict[str, str] | None = None,
) -> dict[str, list[Finding]]:
    """Findings per file (path -> findings; empty when the file carries the template)."""
    tpl = resolve_template(template, variables)
    require_paths(paths)
    wanted = [f.strip() for f in fields if f.strip()] if fields else None
    report: dict[str, list[Finding]] = {}
    with ExifToolSession() as s:
        files = iter_files(paths)
        effective = show_rights(files, session=s)
        for f, eff in zip(files, effective, strict=True):
            report[str(f)] = check_rights(f, tpl, wanted, effective=eff, session=s)
    return report


def check_exit_code(report: dict[str, list[Finding]]) -> int:
    return exitcodes.FAILED if any(report.values()) else exitcodes.OK


def show_exit_code(rows: Sequence[dict[str, Any]]) -> int:
    return exitcodes.ERROR if any(r.get("error") for r in rows) else exitcodes.OK
