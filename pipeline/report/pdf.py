"""Fonts for every PDF Rushline writes: DejaVu Sans, with a CJK fallback.

Names, captions and rights holders come in every script. DejaVu Sans (Debian
`fonts-dejavu-core`) covers Latin, Greek, Cyrillic and more; Droid Sans Fallback (Debian
`fonts-droid-fallback`, 4 MB, far lighter than Noto CJK) adds Chinese, Japanese and Korean, so
"日本" on a rights page is drawn rather than dropped with a warning. Without DejaVu the PDF
still renders with a core font, characters outside Latin-1 replaced by '?'.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/truetype/droid"),
)
FONT_FILES = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
FALLBACK_FILE = "DroidSansFallbackFull.ttf"
FAMILY = "DejaVu"


def _find(name: str) -> Path | None:
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def font_path(style: str = "") -> Path | None:
    """The DejaVu file for a style ("", "B", "I", "BI"), or None when not installed."""
    return _find(FONT_FILES[style])


def add_fonts(pdf: FPDF) -> str:
    """Register the Unicode fonts on `pdf` and return the family name to use.

    Styles missing on this machine (italics come with fonts-dejavu-extra) fall back to the
    nearest installed one; CJK characters fall back to Droid Sans Fallback when installed.
    """
    regular = font_path("")
    if regular is None:
        return "helvetica"
    pdf.add_font(FAMILY, "", str(regular))
    for style in ("B", "I", "BI"):
        p = font_path(style) or font_path("B" if "B" in style else "") or regular
        pdf.add_font(FAMILY, style, str(p))
    fallback = _find(FALLBACK_FILE)
    if fallback is not None:
        pdf.add_font("CJKFallback", "", str(fallback))
        pdf.set_fallback_fonts(["CJKFallback"], exact_match=False)
    return FAMILY
