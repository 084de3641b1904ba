"""What the contact sheet and the portfolio share: a Unicode font, header and footer, stars and
colour labels, and photos turned upright and reduced before they go into a PDF.

Fonts (DejaVu Sans with a CJK fallback) come from pipeline.report.pdf, shared with every PDF.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from pipeline.names import printable
from pipeline.report.pdf import FAMILY, add_fonts

LABEL_RGB = {
    "red": (220, 50, 47), "orange": (240, 140, 20), "yellow": (230, 200, 40),
    "green": (60, 170, 70), "blue": (40, 110, 220), "purple": (140, 70, 180),
    "pink": (235, 110, 170),
}  # fmt: skip
GREY = (120, 120, 120)


class PhotoPDF(FPDF):
    """An A4 PDF with our header (title, date) and footer (page n of N, a credit line)."""

    def __init__(self, title: str, *, footer: str = "", orientation: str = "P") -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.doc_title = title
        self.footer_text = footer
        self.plain_pages: set[int] = set()  # a cover page has neither header nor footer
        self.family = self._fonts()
        self.set_auto_page_break(True, margin=16)
        self.set_margins(12, 18, 12)
        self.set_title(title)
        self.set_creator("Rushline")

    def _fonts(self) -> str:
        return add_fonts(self)

    @property
    def unicode(self) -> bool:
        return self.family == FAMILY

    def t(self, text: object) -> str:
        """User text made safe for the page: one line per name, Latin-1 on core fonts."""
        s = str(text)
        return s if self.unicode else s.encode("latin-1", "replace").decode("latin-1")

    def use(self, size: float, style: str = "") -> None:
        self.set_font(self.family, style, size)

    def add_plain_page(self) -> None:
        """A page without header and footer (a cover)."""
        self.plain_pages.add(self.page_no() + 1)
        self.add_page()

    def header(self) -> None:
        if self.page_no() in self.plain_pages:
            return
        self.use(9, "B")
        self.set_text_color(*GREY)
        self.set_xy(self.l_margin, 8)
        self.cell(0, 5, self.t(self.doc_title), new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.cell(0, 5, dt.date.today().isoformat(), align="R")
        self.set_draw_color(200, 200, 200)
        self.line(self.l_margin, 14, self.w - self.r_margin, 14)
        self.set_text_color(0, 0, 0)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        if self.page_no() in self.plain_pages:
            return
        self.set_y(-12)
        self.use(8)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.t(self.footer_text), new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.cell(0, 5, f"{self.page_no()} / {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def fit(self, text: str, width: float) -> str:
        """`text` on one line (control characters shown), cut with '…' to fit `width` mm."""
        s = self.t(printable(text))
        if self.get_string_width(s) <= width:
            return s
        dots = "…" if self.unicode else "..."
        while s and self.get_string_width(s + dots) > width:
            s = s[:-1]
        return s + dots


def stars(rating: int | None, rejected: bool, unicode: bool) -> str:
    if rejected:
        return "✕ rejected" if unicode else "x rejected"
    n = max(0, min(5, rating or 0))
    return ("★" * n + "☆" * (5 - n)) if unicode else ("*" * n + "." * (5 - n))


def upright_jpeg(path: str | os.PathLike[str], max_px: int) -> tuple[io.BytesIO, tuple[int, int]]:
    """A JPEG of the photo (a RAW's embedded preview, no demosaic), upright, at most `max_px`;
    raises for a file without a usable image (the caller reports it and goes on)."""
    from PIL import Image, ImageOps

    from pipeline.photo.previews import _from_image, _from_raw
    from pipeline.probe import RAW_EXT

    p = Path(path)
    make = _from_raw if p.suffix.lower() in RAW_EXT else _from_image
    data, _, _ = make(p, max_px)
    with Image.open(io.BytesIO(data)) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        img.thumbnail((max_px, max_px))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=82)
        out.seek(0)
        return out, img.size


_HEADING_SIZE = {1: 18, 2: 14, 3: 12}


def inline_md(text: str) -> str:
    """CommonMark emphasis to fpdf2's markers: `*x*`/`_x_` -> `__x__`, `**x**` kept; a literal
    `--` (fpdf2's underline marker) becomes an en dash."""
    import re

    text = text.replace("--", "–")
    text = re.sub(r"(?<![*\w])\*(?!\*)([^*\n]+?)\*(?!\*)", r"__\1__", text)
    return re.sub(r"(?<![_\w])_(?!_)([^_\n]+?)_(?!_)", r"__\1__", text)


def _md_blocks(text: str) -> list[tuple[str, str]]:
    """('h1'..'h3' | 'li' | 'ol' | 'p', text) blocks of simple Markdown."""
    import re

    blocks: list[tuple[str, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(("p", " ".join(para)))
            para.clear()

    for line in text.splitlines():
        s = line.strip()
        if m := re.match(r"^(#{1,3})\s+(.*)$", s):
            flush()
            blocks.append((f"h{len(m.group(1))}", m.group(2).strip("# ")))
        elif m := re.match(r"^[-*+]\s+(.*)$", s):
            flush()
            blocks.append(("li", m.group(1)))
        elif m := re.match(r"^(\d+)[.)]\s+(.*)$", s):
            flush()
            blocks.append(("ol", f"{m.group(1)}. {m.group(2)}"))
        elif not s:
            flush()
        else:
            para.append(s)
    flush()
    return blocks


def markdown(pdf: PhotoPDF, text: str, *, size: float = 10.5) -> None:
    """Headings, paragraphs, bullet and numbered lists, **bold** and *italic* text."""
    width = pdf.w - pdf.l_margin - pdf.r_margin
    bullet = "•" if pdf.unicode else "-"
    for kind, body in _md_blocks(text):
        pdf.set_x(pdf.l_margin)
        if kind.startswith("h"):
            pdf.ln(2)
            pdf.use(_HEADING_SIZE[int(kind[1])], "B")
            pdf.multi_cell(width, 7, pdf.t(body), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1)
            continue
        pdf.use(size)
        if kind in ("li", "ol"):
            label = bullet if kind == "li" else body.split(" ", 1)[0]
            item = body if kind == "li" else body.split(" ", 1)[1]
            pdf.cell(7, 5.5, label, align="R")
            pdf.set_x(pdf.l_margin + 9)
            pdf.multi_cell(width - 9, 5.5, pdf.t(inline_md(item)), markdown=True,
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        else:
            pdf.multi_cell(width, 5.5, pdf.t(inline_md(body)), markdown=True, align="J",
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
            pdf.ln(2.5)
