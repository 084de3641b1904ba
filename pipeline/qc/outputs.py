"""Where QC reports go, for one input or many, checked before any decoding starts.

One input and an output that is not an existing folder: that file (`--json -` is stdout), and
an HTML page with its thumbnails in `<page stem>_thumbs/` beside it. Several inputs, or an
output naming an existing folder: one `<name>.qc.json` / `<name>.qc.html` per input in that
folder, thumbnails in `<name>_thumbs/`, and `index.html` with every result. A single input with
`--json FOLDER` therefore lands in `FOLDER/<name>.qc.json`, exactly where a batch would put it,
as `cp FILE FOLDER` would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import UserInputError
from pipeline.fsutil import atomic_write_text
from pipeline.profiles import Profile
from pipeline.qc.findings import QCResult
from pipeline.report.qc import unique_report_names, write_qc_html, write_qc_json

STDOUT = Path("-")


@dataclass(frozen=True)
class ReportTarget:
    """The reports of one input file."""

    source: Path
    name: str  # unique among the batch's report names
    json: Path | None = None  # None: no JSON file (see QCOutputs.json_stdout)
    html: Path | None = None  # the file's own page
    thumbnails: Path | None = None


@dataclass
class QCOutputs:
    targets: list[ReportTarget]
    json_stdout: bool = False
    index_html: Path | None = None  # the page with every result (folder mode)
    summary_json: Path | None = None  # the batch summary (flows)
    folders: list[Path] = field(default_factory=list)  # output folders to create

    def files(self) -> list[Path]:
        """Every report file this run will write."""
        out = [p for t in self.targets for p in (t.json, t.html) if p is not None]
        return out + [p for p in (self.index_html, self.summary_json) if p is not None]


def plan_outputs(
    files: Sequence[Path],
    *,
    json_out: Path | None,
    html_out: Path | None,
    folder: bool = False,
    summary_json: bool = False,
) -> QCOutputs:
    """Route every report of a run (see the module docstring); nothing is written here.

    `folder` treats the outputs as folders whatever their number (a flow's output folder);
    `summary_json` adds the batch's `qc.json` to the JSON folder.
    """
    several = folder or len(files) > 1
    if json_out == STDOUT and several:
        raise UserInputError("--json - (stdout) takes one input file; give a folder instead")
    for out in (json_out, html_out):
        if several and out is not None and out != STDOUT and out.exists() and not out.is_dir():
            raise UserInputError(
                f"{out} is a file; with several inputs --json/--html take a folder", path=out
            )
    json_dir = json_out is not None and json_out != STDOUT and (several or json_out.is_dir())
    html_dir = html_out is not None and (several or html_out.is_dir())
    names = unique_report_names(list(files))
    targets = []
    for path, name in zip(files, names, strict=True):
        js = html = thumbs = None
        if json_out is not None and json_out != STDOUT:
            js = json_out / f"{name}.qc.json" if json_dir else json_out
        if html_out is not None:
            html = html_out / f"{name}.qc.html" if html_dir else html_out
            thumbs = html_out / f"{name}_thumbs" if html_dir else _thumbs_beside(html_out)
        targets.append(ReportTarget(Path(path), name, js, html, thumbs))
    plan = QCOutputs(targets, json_stdout=json_out == STDOUT)
    if html_dir and html_out is not None:
        plan.index_html = html_out / "index.html"
    if summary_json and json_dir and json_out is not None:
        plan.summary_json = json_out / "qc.json"
    if json_dir and json_out is not None:
        plan.folders.append(json_out)
    if html_dir and html_out is not None:
        plan.folders.append(html_out)
    return plan


def _thumbs_beside(page: Path) -> Path:
    return page.parent / f"{page.stem}_thumbs"


def check_outputs(plan: QCOutputs, *, force: bool) -> None:
    """Refuse, before any decoding, what could not be written or would replace a file.

    An existing report is replaced only with `force`; an input file, a folder or the same path
    twice is never a report; every folder must exist or be creatable.
    """
    inputs = {_key(t.source) for t in plan.targets if t.source.exists()}
    seen: set[str] = set()
    for dest in plan.files():
        key = _key(dest)
        if key in seen:
            raise UserInputError(f"{dest} would be written twice; give --json and --html apart")
        seen.add(key)
        if key in inputs:
            raise UserInputError(f"{dest} is one of the input files; choose another output")
        if dest.is_dir():
            raise UserInputError(f"{dest} is a folder; cannot write a report over it", path=dest)
        if (dest.exists() or dest.is_symlink()) and not force:
            raise UserInputError(
                f"{dest} exists already; not overwriting it",
                path=dest,
                hint="move it away, choose another output, or add --force to replace reports",
            )
        _check_folder(dest.parent)
    for folder in plan.folders + [t.thumbnails for t in plan.targets if t.thumbnails]:
        if folder.exists() and not folder.is_dir():
            raise UserInputError(f"{folder} is a file; a folder is needed there", path=folder)
        _check_folder(folder)


def _key(p: Path) -> str:
    return os.path.realpath(p)


def _check_folder(folder: Path) -> None:
    """The folder exists and is writable, or it can be created in its nearest existing parent."""
    probe = folder
    while not probe.exists():
        if probe.is_symlink():
            raise UserInputError(f"cannot create {folder}: {probe} is a broken link", path=folder)
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UserInputError(f"cannot create the folder {folder}: {probe} is a file", path=folder)
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "write in" if probe == folder else f"create {folder} in"
        raise UserInputError(
            f"cannot {where} {probe}: permission denied",
            path=folder,
            hint="choose another output folder or check its permissions",
        )


def qc_to_reports(
    target: ReportTarget,
    profile: Profile,
    *,
    overwrite: bool,
    tools: dict[str, str | None] | None = None,
    cache: bool = True,
) -> QCResult:
    """QC one file and write its reports (and thumbnails) where the plan says; an unchanged
    file is answered from the cache unless `cache` is False (see pipeline.cache)."""
    from pipeline.cache import qc_file_cached

    result = qc_file_cached(
        target.source, profile, thumbnails_dir=target.thumbnails, tools=tools, cache=cache
    )
    write_file_reports(target, result, overwrite=overwrite)
    return result


def write_file_reports(target: ReportTarget, result: QCResult, *, overwrite: bool) -> None:
    """The JSON and the HTML page of one file, where the plan says."""
    if target.json is not None:
        write_qc_json(result, target.json, overwrite=overwrite)
    if target.html is not None:
        write_qc_html([result], target.html, overwrite=overwrite)


def write_batch_reports(
    plan: QCOutputs,
    results: list[QCResult],
    *,
    overwrite: bool,
    summary: dict[str, Any] | None = None,
) -> None:
    """index.html with every result and the batch summary JSON, when the plan has them."""
    if plan.index_html is not None:
        write_qc_html(results, plan.index_html, overwrite=overwrite)
    if plan.summary_json is not None and summary is not None:
        text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
        atomic_write_text(plan.summary_json, text, overwrite=overwrite)


def html_report(plan: QCOutputs) -> Path | None:
    """The page a person opens: index.html for a folder, else the single page."""
    if plan.index_html is not None:
        return plan.index_html
    pages = [t.html for t in plan.targets if t.html is not None]
    return pages[0] if pages else None
