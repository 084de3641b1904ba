"""Contact sheets: a paged grid of photos with name, rating, colour label and capture data.

Thumbnails come from the embedded previews (no demosaic), made on every core by
`pipeline.photo.previews` unless previews are handed in (`rushline photo cull` does). A photo
that cannot be shown gets a grey box with the reason, and the sheet goes on.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fpdf.enums import XPos, YPos
from pydantic import BaseModel, Field

from pipeline.fsutil import atomic_write_bytes
from pipeline.names import printable
from pipeline.photo.pdfkit import GREY, LABEL_RGB, PhotoPDF, stars, upright_jpeg
from pipeline.photo.picks import Picks, read_picks
from pipeline.photo.shotinfo import CaptureInfo, read_capture

THUMB_PX = 640


class SheetResult(BaseModel):
    out: str
    pages: int
    photos: int
    errors: list[str] = Field(default_factory=list)


def _label(pdf: PhotoPDF, x: float, y: float, picks: Picks) -> float:
    """A colour swatch and the label's name; returns the x after it."""
    if not picks.label:
        return x
    pdf.set_fill_color(*LABEL_RGB.get(picks.label, GREY))
    pdf.rect(x, y + 0.8, 2.6, 2.6, style="F")
    pdf.set_xy(x + 3.2, y)
    pdf.cell(0, 4, pdf.t(picks.label))
    return pdf.get_x()


def _caption(pdf: PhotoPDF, x: float, y: float, w: float, name: str, picks: Picks,
             info: CaptureInfo) -> None:  # fmt: skip
    pdf.use(7, "B")
    pdf.set_xy(x, y)
    pdf.cell(w, 4, pdf.fit(name, w), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.use(7)
    pdf.set_text_color(200, 120, 0) if not picks.rejected else pdf.set_text_color(200, 40, 40)
    pdf.cell(pdf.get_string_width(stars(picks.rating, picks.rejected, pdf.unicode)) + 2, 4,
             stars(picks.rating, picks.rejected, pdf.unicode))  # fmt: skip
    pdf.set_text_color(0, 0, 0)
    if picks.picked:
        pdf.cell(8, 4, "pick")
    _label(pdf, pdf.get_x() + 1, pdf.get_y(), picks)
    pdf.set_text_color(*GREY)
    lines = [
        " · ".join(x for x in (info.camera, info.lens) if x),
        info.exposure_line(),
        info.time or "",
    ]
    pdf.set_xy(x, y + 8)
    for line in lines:
        pdf.cell(w, 3.4, pdf.fit(line, w), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def _photo(pdf: PhotoPDF, image: Path | None, x: float, y: float, w: float, h: float) -> str | None:
    """The thumbnail centred in its box; the reason when there is none."""
    pdf.set_draw_color(220, 220, 220)
    pdf.rect(x, y, w, h)
    why = None
    if image is not None:
        try:
            data, (pw, ph) = upright_jpeg(image, THUMB_PX)
            scale = min(w / pw, h / ph)
            iw, ih = pw * scale, ph * scale
            pdf.image(data, x=x + (w - iw) / 2, y=y + (h - ih) / 2, w=iw, h=ih)
            return None
        except Exception as exc:  # one photo's problem: a grey box and the reason
            why = f"{type(exc).__name__}: {exc}"
    pdf.set_fill_color(235, 235, 235)
    pdf.rect(x, y, w, h, style="F")
    pdf.set_xy(x + 2, y + h / 2 - 2)
    pdf.use(7)
    pdf.set_text_color(*GREY)
    pdf.cell(w - 4, 4, "no preview", align="C")
    pdf.set_text_color(0, 0, 0)
    return why or "no preview"


def contact_sheet(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    title: str | None = None,
    columns: int = 4,
    rows: int = 5,
    previews: dict[Path, Path] | None = None,
    overwrite: bool = False,
) -> SheetResult:
    """Write a contact sheet PDF of `sources` to `out`, `columns` x `rows` photos a page."""
    paths = [Path(s) for s in sources]
    picks, infos = read_picks(paths), read_capture(paths)
    if previews is None:
        from pipeline.photo.previews import make_previews

        with tempfile.TemporaryDirectory(prefix="rushline-sheet-") as tmp:
            run = make_previews(paths, tmp, long_edge=THUMB_PX)
            made = {Path(p.source): Path(p.preview) for p in run.previews if p.preview}
            why = {Path(p.source): p.error for p in run.previews if p.error}
            return _render(paths, out, title, columns, rows, made, picks, infos, overwrite, why)
    return _render(paths, out, title, columns, rows, previews, picks, infos, overwrite)


def _render(
    paths: list[Path], out: str | os.PathLike[str], title: str | None, columns: int, rows: int,
    previews: dict[Path, Path], picks: dict[Path, Picks], infos: dict[Path, CaptureInfo],
    overwrite: bool, reasons: dict[Path, str] | None = None,
) -> SheetResult:  # fmt: skip
    name = title or f"Contact sheet — {len(paths)} photos"
    pdf = PhotoPDF(printable(name), footer="Rushline contact sheet")
    pdf.set_auto_page_break(False)  # the grid places every box itself
    res = SheetResult(out=str(out), pages=0, photos=len(paths))
    gap, caption_h = 4.0, 19.0
    cell_w = (pdf.w - pdf.l_margin - pdf.r_margin - gap * (columns - 1)) / columns
    cell_h = (pdf.h - pdf.t_margin - 16 - gap * (rows - 1)) / rows
    for i, path in enumerate(paths):
        if i % (columns * rows) == 0:
            pdf.add_page()
        slot = i % (columns * rows)
        x = pdf.l_margin + (slot % columns) * (cell_w + gap)
        y = pdf.t_margin + (slot // columns) * (cell_h + gap)
        why = _photo(pdf, previews.get(path), x, y, cell_w, cell_h - caption_h)
        if why:
            res.errors.append((reasons or {}).get(path) or f"{printable(str(path))}: {why}")
        _caption(pdf, x, y + cell_h - caption_h + 1, cell_w, path.name, picks[path], infos[path])
    if not paths:
        pdf.add_page()
        pdf.use(12)
        pdf.cell(0, 10, "No photos selected.")
    res.pages = pdf.pages_count
    atomic_write_bytes(out, bytes(pdf.output()), overwrite=overwrite)
    return res
