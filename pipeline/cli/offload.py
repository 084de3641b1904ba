"""`rushline offload` and `rushline verify`: thin commands over pipeline.offload / pipeline.verify.

Exit codes of `offload`: 0 ok; 10 source read error; 11 destination write error or full;
12 verification mismatch; 13 destination disappeared or missing; 14 roll locked by another
offload; 15 a different file, a link or a special file exists at a destination (never
overwritten), or two card names differ only by Unicode normalisation; 16 the card does not
match its own ASC MHL history; 2 bad arguments; 130 interrupted.
Exit codes of `verify`: 0 ok; 20 missing files; 21 altered files; 22 new files;
23 no ASC MHL history; 24 history damaged (a manifest edited or deleted); 25 unreadable files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from pipeline.cli._common import console, err_console, esc, user_errors, write_json
from pipeline.cli.catalog import NO_CATALOG_HELP, catalog_warning
from pipeline.errors import UserInputError
from pipeline.offload import (
    DEFAULT_IGNORE,
    DEFAULT_TEMPLATE,
    DestinationResult,
    FileRecord,
    FileStatus,
    OffloadResult,
    VerifyLevel,
    cascade,
    cascade_origin,
    offload,
    scan_source,
)
from pipeline.verify import VerifyResult, verify_path

_MAX_SHOWN = 50


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


Runner = Callable[[Callable[[int], None], Callable[[FileRecord], None]], OffloadResult]


def _with_progress(label: str, source: Path, ignore: Sequence[str], run: Runner) -> OffloadResult:
    """Run an offload under a progress bar sized from a scan of `source`."""
    total = sum(f.size for f in scan_source(source.absolute(), ignore).files)
    with _progress() as bar:
        task = bar.add_task(esc(label), total=total or 1)

        def advance(n: int) -> None:
            bar.advance(task, n)

        def file_done(rec: FileRecord) -> None:
            bar.update(task, description=f"{esc(label)} {esc(rec.path[-40:])}")

        return run(advance, file_done)


def _destination_state(d: DestinationResult) -> str:
    ok = d.ok and not d.files_failed
    state = "[green]OK[/]" if ok else f"[red]{d.failure.name if d.failure else 'FAILED'}[/]"
    return state + (" (already offloaded)" if d.already_offloaded else "")


def _print_table(res: OffloadResult) -> None:
    t = Table(title=f"Offload {esc(res.roll)} — {res.verify.value} verification, "
              f"{', '.join(res.hash_formats)}")  # fmt: skip
    for col in ("Destination", "Result", "Copied", "Already there", "Failed", "MHL"):
        t.add_column(col)
    for d in res.destinations:
        t.add_row(
            esc(d.roll_dir),
            _destination_state(d),
            str(d.files_copied),
            str(d.files_identical),
            str(d.files_failed),
            esc(Path(d.manifest).name) if d.manifest else "—",
        )
    console.print(t)
    console.print(
        f"{len(res.files)} files, {res.bytes_total / 1e9:.2f} GB in {res.duration_s:.1f} s "
        f"({res.throughput_mb_s} MB/s)"
    )


def _print_problems(res: OffloadResult) -> None:
    for n in res.notices:
        err_console.print(f"[yellow]note:[/] {esc(n.path)}: {esc(n.message)}", highlight=False)
    for d in res.destinations:
        if d.error:
            err_console.print(f"[red]destination failed:[/] {esc(d.error)}", highlight=False)
    shown = 0
    for f in res.files:
        problems = [f.error] if f.error else []
        problems += [o.error for o in f.outcomes if o.error and o.status == FileStatus.FAILED]
        if problems:
            if shown < _MAX_SHOWN:
                err_console.print(
                    f"[red]file failed:[/] {esc(f.path)}: {esc(problems[0])}", highlight=False
                )
            shown += 1
    if shown > _MAX_SHOWN:
        err_console.print(f"... and {shown - _MAX_SHOWN} more failed files (see the JSON report)")
    for d in res.destinations:
        if d.reports:
            console.print(f"report: {esc(d.reports[0])}", highlight=False)


def _print_result(res: OffloadResult) -> None:
    _print_table(res)
    _print_problems(res)


def _check_json_out(json_out: Path | None, force: bool) -> None:
    """An existing --json file is refused before any copy starts (unless --force)."""
    if json_out is None or str(json_out) == "-":
        return
    if json_out.is_dir() or (json_out.exists() and not force):
        raise UserInputError(
            f"{json_out} already exists; not overwritten",
            path=json_out,
            hint="choose another --json file, or add --force to replace it",
        )


@user_errors
def offload_cmd(
    source: Path = typer.Argument(..., help="The card, SSD or folder to offload (the roll)."),
    dest: list[Path] = typer.Option(..., "--dest", "-d", help="A destination (repeat)."),
    template: str = typer.Option(
        DEFAULT_TEMPLATE,
        help="Roll folder under each destination, e.g. '{project}/{date}/{camera}{roll}'.",
    ),  # fmt: skip
    project: str = typer.Option("", help="Value of {project}."),
    camera: str = typer.Option("", help="Value of {camera}."),
    roll: str = typer.Option(None, help="Value of {roll} (default: the source folder name)."),
    date: str = typer.Option(None, help="Value of {date} (default: today, YYYY-MM-DD)."),
    hash: list[str] = typer.Option(
        ["xxh128"], "--hash", help="xxh128 (default), xxh3, xxh64, md5, sha1, c4; repeat."
    ),
    verify: VerifyLevel = typer.Option(VerifyLevel.FULL, help="size, full or source."),
    ignore: list[str] = typer.Option(
        [], "--ignore", help="Extra name pattern to report and not copy (repeat)."
    ),
    cascade_to: list[Path] = typer.Option(
        [],
        "--cascade",
        help="Then copy from the first verified copy on to this (slower) "
        "destination, with the same guarantees (repeat).",
    ),  # fmt: skip
    report: Path | None = typer.Option(None, help="Also write the report into this folder."),
    thumbnails: bool = typer.Option(True, help="Probe clips and make thumbnails."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the JSON result here."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --json file."),
    comment: str | None = typer.Option(None, help="Comment written into the ASC MHL."),
    no_catalog: bool = typer.Option(False, "--no-catalog", help=NO_CATALOG_HELP),
) -> None:
    from pipeline.catalog.hooks import offload_done
    from pipeline.report.offload import publish

    _check_json_out(json_out, force)
    values = {"project": project, "camera": camera, "roll": roll, "date": date}
    patterns = [*DEFAULT_IGNORE, *ignore]
    kw: dict[str, object] = dict(hashes=hash, verify=verify, ignore=patterns, comment=comment)
    res = _with_progress(
        "offload",
        source,
        patterns,
        lambda p, f: offload(
            source, dest, template=template,
            values={k: v for k, v in values.items() if v is not None},
            progress=p, on_file_done=f, **kw,  # type: ignore[arg-type]
        ),
    )  # fmt: skip
    publish(res, report_dir=report, thumbnails=thumbnails)
    _print_result(res)
    catalog_warning(offload_done([res], on=not no_catalog))
    results = [res]
    try:
        if cascade_to:
            origin = Path(cascade_origin(res).roll_dir)  # raises when no copy is verified
            res2 = _with_progress(
                "cascade",
                origin,
                patterns,
                lambda p, f: cascade(res, cascade_to, progress=p, on_file_done=f, **kw),
            )
            publish(res2, report_dir=report, thumbnails=thumbnails)
            _print_result(res2)
            catalog_warning(offload_done([res2], on=not no_catalog))
            results.append(res2)
    finally:
        if json_out is not None:
            data = [r.model_dump(mode="json") for r in results]
            write_json(data[0] if len(data) == 1 else data, json_out, overwrite=force)
    code = max((r.exit_code for r in results), default=0)
    if code:
        raise typer.Exit(code)


def _print_verify(res: VerifyResult) -> None:
    for p in res.missing:
        console.print(f"[red]missing[/]  {esc(p)}", highlight=False)
    for a in res.altered:
        console.print(
            f"[red]altered[/]  {esc(a.path)} ({a.fmt} {a.actual}, recorded {a.expected})",
            highlight=False,
        )
    for u in res.unreadable:
        console.print(f"[red]unreadable[/] {esc(u.path)}: {esc(u.reason)}", highlight=False)
    for p in res.new:
        console.print(f"[yellow]new[/]      {esc(p)}", highlight=False)
    for p in res.damaged_history:
        console.print(f"[red]history damaged[/] ascmhl/{esc(p)}", highlight=False)
    verdict = "[green]OK[/]" if res.exit_code == 0 else f"[red]FAILED ({res.exit_code})[/]"
    console.print(
        f"{verdict} {res.files_checked} files verified in {esc(res.root)} "
        f"({len(res.missing)} missing, {len(res.altered)} altered, "
        f"{len(res.unreadable)} unreadable, {len(res.new)} new; "
        f"{res.generations} generations)",
        highlight=False,
    )


@user_errors
def verify_cmd(
    path: Path = typer.Argument(..., help="A roll folder with an ascmhl/ history."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Re-check a copy against its ASC MHL history: says which files are missing, new,
    altered or unreadable. Exit codes: 0 ok, 20 missing, 21 altered, 22 new, 23 no history,
    24 history damaged, 25 unreadable."""
    with _progress() as bar:
        task = bar.add_task("verify", total=None)
        res = verify_path(path, progress=lambda n: bar.advance(task, n))
    if json_out:
        write_json(res.model_dump(mode="json"), None)
    else:
        _print_verify(res)
    if res.exit_code:
        raise typer.Exit(res.exit_code)


def register(app: typer.Typer) -> None:
    """Add `offload` and `verify`."""
    app.command(
        "offload",
        help="Copy a card (roll) to every --dest at once: read once, hashed once, every copy "
        "re-read from the device and verified, an ASC MHL generation on each destination, "
        "JSON + HTML report. Re-run the same command to finish an interrupted offload.\n\n"
        + __doc__.split("\n\n", 1)[1],  # type: ignore[union-attr]
    )(offload_cmd)
    app.command("verify")(verify_cmd)
