"""Every PDF we write draws names in any script: DejaVu plus a CJK fallback font."""

from __future__ import annotations

import logging
import shutil
import subprocess

import pytest
from fpdf import FPDF

from pipeline.report.pdf import FAMILY, add_fonts, font_path


def test_cjk_and_accents_are_drawn_not_dropped(tmp_path, caplog):
    if font_path("") is None or shutil.which("pdftotext") is None:
        pytest.fail("fonts-dejavu-core and poppler-utils are installed by `make setup`")
    pdf = FPDF()
    assert add_fonts(pdf) == FAMILY
    pdf.add_page()
    pdf.set_font(FAMILY, "", 12)
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        pdf.cell(0, 10, "© Zoë Ødegård — 日本の写真")
        pdf.output(str(tmp_path / "x.pdf"))
    assert not [r for r in caplog.records if "missing the following glyphs" in r.getMessage()]
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "x.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Zoë Ødegård" in text and "日本の写真" in text
