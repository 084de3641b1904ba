"""`rushline offload` and `rushline verify`: thin commands over pipeline.offload / pipeline.verify.

Exit codes of `offload`: 0 ok; 10 source read error; 11 destination write error or full;
12 verification mismatch; 13 destination disappeared or missing; 14 roll locked by another
offload; 15 a different file exists at a destination (not overwritten); 16 the card does not
match its own ASC MHL history; 2 bad arguments.
Exit codes of `verify`: 0 ok; 20 missing files; 21 altered files; 22 new files;
23 no ASC MHL history; 24 history damaged (a manifest edited or deleted).
"""

from __future__ import annotations

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

from pipeline.cli._common import console, err_console, user_errors, write_json
from pipeline.errors import UserInputError
from pipeline.offload import (
    DEFAULT_IGNORE,
    DEFAULT_TEMPLATE,
    FileStatus,
    OffloadResult,
    VerifyLevel,
    offload,
    scan_source,
)


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


def _run_offload(source: Path, dests: list[Path], label: str, **kw: object) -> OffloadResult:
    scan = scan_source(source.absolute(), kw.get("ignore", DEFAULT_IGNORE))  # type: ignore[arg-type]
    total = sum(f.size for f in scan.files)
    with _progress() as bar:
        task = bar.add_task(label, total=total or 1)

        def advance(n: int) -> None:
            bar.advance(task, n)

        def file_done(rec: object) -> None:
            bar.update(task, description=f"{label} {getattr(rec, 'path', '')[-40:]}")

        return offload(source, dests, progress=advance, on_file_done=file_done, **kw)  # type: ignore[arg-type]


def _print_result(res: OffloadResult) -> None:
    t = Table(title=f"Offload {res.roll} — {res.verify.value} verification, "
              f"{', '.join(res.hash_formats)}")  # fmt: skip
    for col in ("Destination", "Result", "Copied", "Already there", "Failed", "MHL"):
        t.add_column(col)
    for d in res.destinations:
        ok = d.ok and not d.files_failed
        state = "[green]OK[/]" if ok else f"[red]{d.failure.name if d.failure else 'FAILED'}[/]"
        if d.already_offloaded:
            state += " (already offloaded)"
        t.add_row(
            d.roll_dir,
            state,
            str(d.files_copied),
            str(d.files_identical),
            str(d.files_failed),
            Path(d.manifest).name if d.manifest else "—",
        )
    console.print(t)
    console.print(
        f"{len(res.files)} files, {res.bytes_total / 1e9:.2f} GB in {res.duration_s:.1f} s "
        f"({res.throughput_mb_s} MB/s)"
    )
    for n in res.notices:
        err_console.print(f"[yellow]note:[/] {n.path!r}: {n.message}", highlight=False)
    for d in res.destinations:
        if d.error:
            err_console.print(f"[red]destination failed:[/] {d.error}", highlight=False)
    shown = 0
    for f in res.files:
        problems = [f.error] if f.error else []
        problems += [o.error for o in f.outcomes if o.error and o.status == FileStatus.FAILED]
        for p in problems[:1]:
            if shown < 50:
                err_console.print(f"[red]file failed:[/] {f.path!r}: {p}", highlight=False)
            shown += 1
    if shown > 50:
        err_console.print(f"... and {shown - 50} more failed files (see the JSON report)")
    for d in res.destinations:
        if d.reports:
            console.print(f"report: {d.reports[0]}")


def register(app: typer.Typer) -> None:
    """Add `offload` and `verify`."""

    @app.command(
        "offload",
        help="Copy a card (roll) to every --dest at once: read once, hashed once, every copy "
        "re-read from the device and verified, an ASC MHL generation on each destination, "
        "JSON + HTML report. Re-run the same command to finish an interrupted offload.\n\n"
        + __doc__.split("\n\n", 1)[1],  # type: ignore[union-attr]
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
        cascade: list[Path] = typer.Option(
            [],
            "--cascade",
            help="Then copy from the first verified copy on to this (slower) "
            "destination, with the same guarantees (repeat).",
        ),  # fmt: skip
        report: Path | None = typer.Option(None, help="Also write the report into this folder."),
        thumbnails: bool = typer.Option(True, help="Probe clips and make thumbnails."),
        json_out: Path | None = typer.Option(None, "--json", help="Write the JSON result here."),
        comment: str | None = typer.Option(None, help="Comment written into the ASC MHL."),
    ) -> None:
        from pipeline.report.offload import publish

        values = {"project": project, "camera": camera, "roll": roll, "date": date}
        kw = dict(
            template=template,
            values={k: v for k, v in values.items() if v is not None},
            hashes=hash,
            verify=verify,
            ignore=[*DEFAULT_IGNORE, *ignore],
            comment=comment,
        )
        res = _run_offload(source, dest, "offload", **kw)
        publish(res, report_dir=report, thumbnails=thumbnails)
        _print_result(res)
        results = [res]
        if cascade:
            first = next(
                (d for d in res.destinations if d.ok and not d.files_failed and d.manifest), None
            )
            if first is None:
                raise UserInputError(
                    "no verified copy to cascade from: every destination failed",
                    hint="fix the first step, run it again, then cascade",
                )
            # the same roll folder on the cascade destinations (braces escaped: it is literal)
            rel = "/".join(Path(first.roll_dir).relative_to(first.root).parts)
            kw["template"] = rel.replace("{", "{{").replace("}", "}}")
            kw["values"] = {}
            res2 = _run_offload(Path(first.roll_dir), cascade, "cascade", **kw)
            res2.cascade_from = first.roll_dir
            publish(res2, report_dir=report, thumbnails=thumbnails)
            _print_result(res2)
            results.append(res2)
        if json_out is not None:
            data = [r.model_dump(mode="json") for r in results]
            write_json(data[0] if len(data) == 1 else data, json_out)
        code = max((r.exit_code for r in results), default=0)
        if code:
            raise typer.Exit(code)

    @app.command("verify")
    @user_errors
    def verify_cmd(
        path: Path = typer.Argument(..., help="A roll folder with an ascmhl/ history."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Re-check a copy against its ASC MHL history: says which files are missing, new or
        altered. Exit codes: 0 ok, 20 missing, 21 altered, 22 new, 23 no history, 24 history
        damaged."""
        from pipeline.verify import verify_path

        with _progress() as bar:
            task = bar.add_task("verify", total=None)
            res = verify_path(path, progress=lambda n: bar.advance(task, n))
        if json_out:
            write_json(res.model_dump(mode="json"), None)
        else:
            for p in res.missing:
                console.print(f"[red]missing[/]  {p}", highlight=False)
            for a in res.altered:
                console.print(
                    f"[red]altered[/]  {a.path} ({a.fmt} {a.actual}, recorded {a.expected})",
                    highlight=False,
                )
            for p in res.new:
                console.print(f"[yellow]new[/]      {p}", highlight=False)
            for p in res.damaged_history:
                console.print(f"[red]history damaged[/] ascmhl/{p}", highlight=False)
            verdict = "[green]OK[/]" if res.exit_code == 0 else f"[red]FAILED ({res.exit_code})[/]"
            console.print(
                f"{verdict} {res.files_checked} files verified in {res.root} "
                f"({len(res.missing)} missing, {len(res.altered)} altered, {len(res.new)} new; "
                f"{res.generations} generations)"
            )
        if res.exit_code:
            raise typer.Exit(res.exit_code)
