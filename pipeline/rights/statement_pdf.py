"""The rights statement as a PDF for people (fpdf2, DejaVu for every script a name may use).
A view of the JSON statement: nothing here decides anything."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.fonts import FontFace

from pipeline.names import printable
from pipeline.report.pdf import add_fonts

if TYPE_CHECKING:
    from pipeline.rights.statement import Statement, StatementItem

WIDTHS = (52, 16, 40, 50, 38, 22, 44)
HEADER = ("Material", "Kind", "Rights holder", "Licence / terms", "Uses · territories", "Until")
RED = (190, 30, 30)


def _row_cells(item: StatementItem) -> list[str]:
    uses = ", ".join(item.uses) or "—"
    where = ", ".join(item.territories) or "—"
    until = item.end or ("in perpetuity" if item.origin == "external" else "—")
    title = printable(item.title)
    ref = printable(item.ref if item.origin == "external" else Path(item.ref).name)
    return [
        f"{title}\n{ref}",
        item.kind,
        printable(item.rights_holder or "—"),
        printable(item.licence or "—"),
        f"{uses} · {where}",
        until,
        ", ".join(item.flags) or "ok",
    ]


def _summary(pdf: FPDF, st: Statement) -> None:
    pdf.set_font("DejaVu", "B", 16)
    title = "Rights statement" + (f" — {printable(st.production)}" if st.production else "")
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    c = st.counts
    lines = [
        f"As of {st.as_of} (expiring = ends within {st.expiring_within_days} days) · generated "
        f"{st.generated_at} · catalogue {printable(st.catalogue)}",
        f"{c['items']} items: {c['own']} own material, {c['external']} external sources · "
        f"uncleared {c['uncleared']} · expired {c['expired']} · expiring {c['expiring']} · "
        f"AI-generated {c['ai-generated']} · AI-composited {c['ai-composited']}",
        *[f"Note: {printable(n)}" for n in st.notes],
    ]
    for line in lines:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def statement_pdf(st: Statement) -> bytes:
    """The statement as PDF bytes (A4 landscape, one table, flagged rows in red)."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    add_fonts(pdf)
    pdf.add_page()
    _summary(pdf, st)
    pdf.set_font("DejaVu", "", 7.5)
    heading = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    with pdf.table(col_widths=WIDTHS, headings_style=heading, line_height=4) as table:
        table.row([*HEADER, "Flags"])
        for item in st.items:
            style = FontFace(color=RED) if item.flags else None
            row = table.row()
            for text in _row_cells(item):
                row.cell(text, style=style)
    return bytes(pdf.output())
