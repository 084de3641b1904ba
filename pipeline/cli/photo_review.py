"""`rushline photo ingest | cull | contact-sheet | portfolio | social`: the review side of a photo
commission. Thin: parse, call `pipeline.photo.*`, print (every user string through `esc`)."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline import exitcodes
from pipeline.cli._common import console, err_console, esc, user_errors
from pipeline.errors import UserInputError

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".tif", ".tiff", ".png", ".heic", ".heif", ".webp"}


def register(photo_app: typer.Typer) -> None:
    photo_app.command("ingest")(ingest_cmd)
    photo_app.command("cull")(cull_cmd)
    photo_app.command("contact-sheet")(contact_sheet_cmd)
    photo_app.command("portfolio")(portfolio_cmd)
    photo_app.command("social")(social_cmd)


def _photos(paths: list[Path]) -> list[Path]:
    """Files named, and photos in folders named (sidecars, MHL and state folders skipped)."""
    from pipeline.probe import RAW_EXT, iter_files

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += [
                f
                for f in iter_files([p])
                if f.suffix.lower() in RAW_EXT | PHOTO_SUFFIXES
                and not {"ascmhl", "_rushline"} & set(f.parts)
            ]
        else:
            out.append(p)
    return out


def _selected(
    paths: list[Path], min_rating: int | None, label: str | None, picked: bool
) -> list[Path]:
    from pipeline.photo.picks import select

    photos = _photos(paths)
    if min_rating is None and label is None and not picked:
        return photos
    chosen = select(photos, min_rating=min_rating, label=label, picked=picked)
    console.print(f"{len(chosen)} of {len(photos)} photos selected", highlight=False)
    return chosen


def _refuse(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise UserInputError(f"{out} exists already; not overwriting it", hint="add --force")


def _errors(lines: list[str]) -> None:
    for line in lines:
        err_console.print(f"[yellow]warning:[/] {esc(line)}", highlight=False)


# The selection every photo command takes (ratings, labels and picks from the XMP).
MIN_RATING = typer.Option(None, "--min-rating", help="Only rated N or more.")
LABEL = typer.Option(None, "--label", help="Only this colour label.")
PICKED = typer.Option(False, "--picked", help="Only picked (tagged) photos.")


@user_errors
def ingest_cmd(
    card: Path = typer.Argument(..., help="The card (roll) folder."),
    dest: list[Path] = typer.Option(..., "--dest", "-d", help="A destination (repeat)."),
    rename: str = typer.Option(
        "{date}_{seq:04}",
        "--rename",
        help="New base name: {date} {time} {year} {client} {project} {seq:04} {camera} "
        "{serial} {original} {ext} {roll}.",
    ),
    client: str | None = typer.Option(None, "--client", help="Value of {client}."),
    project: str | None = typer.Option(None, "--project", help="Value of {project}."),
    verify: str = typer.Option("full", "--verify", help="size | full | source."),
) -> None:
    """Offload a card (verified, ASC MHL), then a renamed set beside the card's copy."""
    from pipeline.photo.ingest import check_template, ingest

    check_template(rename)
    res = ingest(card, dest, rename=rename, values={"client": client or "",
                 "project": project or ""}, verify=verify)  # fmt: skip
    off = res.offload
    console.print(
        f"offload: {len(off.files)} files, exit {off.exit_code}; rename map "
        f"{len(res.map.entries)} files",
        highlight=False,
    )
    for d in res.destinations:
        console.print(
            f"  {esc(d.renamed_dir)}: {d.linked} linked, {d.copied} copied, {d.already} "
            f"already there; MHL {esc(d.manifest or 'unchanged')}",
            highlight=False,
        )
        _errors(d.errors)
    if res.exit_code:
        raise typer.Exit(res.exit_code)


@user_errors
def cull_cmd(
    sources: list[Path] = typer.Argument(..., help="Photos or folders."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for previews and the sheet."),
    long_edge: int = typer.Option(2048, "--long-edge", help="Preview size (px)."),
    force: bool = typer.Option(False, "--force", help="Replace previews and sheet."),
) -> None:
    """Fast previews from the embedded JPEGs (no demosaic) and a contact sheet for culling."""
    from pipeline.photo.previews import make_previews
    from pipeline.photo.sheets import contact_sheet

    sheet = out / "contact-sheet.pdf"
    _refuse(sheet, force)
    photos = _photos(sources)
    run = make_previews(photos, out / "previews", long_edge=long_edge, overwrite=force)
    console.print(
        f"{len(run.previews) - len(run.failed)} previews in {run.seconds:.2f} s "
        f"({run.per_second:.0f}/s, {run.workers} workers) -> {esc(run.out_dir)}",
        highlight=False,
    )
    _errors([p.error for p in run.failed if p.error])
    made = {Path(p.source): Path(p.preview) for p in run.previews if p.preview}
    res = contact_sheet(photos, sheet, previews=made, overwrite=force)
    console.print(f"contact sheet: {esc(sheet)} ({res.pages} pages)", highlight=False)
    if run.failed:
        raise typer.Exit(exitcodes.FAILED)


@user_errors
def contact_sheet_cmd(
    sources: list[Path] = typer.Argument(..., help="Photos or folders."),
    out: Path = typer.Option(..., "--out", "-o", help="The PDF to write."),
    title: str | None = typer.Option(None, "--title", help="Header title."),
    columns: int = typer.Option(4, "--columns", min=1, max=10),
    rows: int = typer.Option(5, "--rows", min=1, max=12),
    min_rating: int | None = MIN_RATING,
    label: str | None = LABEL,
    picked: bool = PICKED,
    force: bool = typer.Option(False, "--force", help="Replace the PDF."),
) -> None:
    """A paged PDF grid: file name, rating, label, camera, lens, exposure and time."""
    from pipeline.photo.sheets import contact_sheet

    _refuse(out, force)
    photos = _selected(sources, min_rating, label, picked)
    res = contact_sheet(photos, out, title=title, columns=columns, rows=rows, overwrite=force)
    _errors(res.errors)
    console.print(f"{esc(out)}: {res.photos} photos, {res.pages} pages", highlight=False)


@user_errors
def portfolio_cmd(
    sources: list[Path] = typer.Argument(..., help="The series, in order."),
    text: Path = typer.Option(..., "--text", help="Presentation text (Markdown)."),
    out: Path = typer.Option(..., "--out", "-o", help="The PDF to write."),
    rights: str | None = typer.Option(None, "--rights", help="Rights template (name or file)."),
    proposal: Path | None = typer.Option(None, "--proposal", help="Proposal (Markdown)."),
    title: str | None = typer.Option(None, "--title", help="Cover title."),
    min_rating: int | None = MIN_RATING,
    label: str | None = LABEL,
    picked: bool = PICKED,
    force: bool = typer.Option(False, "--force", help="Replace the PDF."),
) -> None:
    """Cover, presentation text, one photo a page, rights and legal, proposal."""
    from pipeline.photo.portfolio import portfolio

    _refuse(out, force)
    photos = _selected(sources, min_rating, label, picked)
    res = portfolio(photos, out, text=text, rights=rights, proposal=proposal, title=title,
                    overwrite=force)  # fmt: skip
    _errors(res.errors)
    console.print(f"{esc(out)}: {res.photos} photos, {res.pages} pages", highlight=False)


@user_errors
def social_cmd(
    sources: list[Path] = typer.Argument(..., help="Photos or folders."),
    out: Path = typer.Option(..., "--out", "-o", help="Delivery folder."),
    rights: str | None = typer.Option(None, "--rights", help="Rights template (name or file)."),
    no_crops: bool = typer.Option(False, "--captions-only", help="Only the captions files."),
    min_rating: int | None = MIN_RATING,
    label: str | None = LABEL,
    picked: bool = PICKED,
    force: bool = typer.Option(False, "--force", help="Replace crops and captions."),
) -> None:
    """Social crops (4:5, 1:1, 9:16) and a captions file per photo (caption, credit, tags)."""
    from pipeline.photo.social import social

    photos = _selected(sources, min_rating, label, picked)
    posts = social(photos, out, rights=rights, crops=not no_crops, force=force)
    failed = 0
    for post in posts:
        console.print(
            f"{esc(Path(post.source).name)}: {len(post.crops)} crops, "
            f"{esc(Path(post.captions).name) if post.captions else 'no captions'}",
            highlight=False,
        )
        _errors(post.errors)
        failed += bool(post.errors)
    if failed:
        raise typer.Exit(exitcodes.FAILED)
