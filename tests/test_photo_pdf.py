"""Contact sheets and the portfolio render (pdftoppm), hold what they promise, and go on past
photos that cannot be shown."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from conftest import need_tool
from PIL import Image, ImageStat
from typer.testing import CliRunner

from pipeline.cli import photo_review
from pipeline.hashing import hash_file
from pipeline.photo.portfolio import portfolio
from pipeline.photo.sheets import contact_sheet
from pipeline.tools import run


@pytest.fixture(autouse=True)
def _poppler() -> None:
    need_tool("pdftoppm", "poppler-utils")


LR = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Adobe Lightroom Classic 12.0"
 xmp:Rating="{rating}" xmp:Label="{label}"/></rdf:RDF></x:xmpmeta>"""

INTRO = """# Les Quais — summer series

A walk along the **Seine** at dawn, for *Maison Dupré*.

## What we shot

- Twelve frames on the _quais_
- Natural light only

1. Cull
2. Deliver
"""


def pages(pdf: Path, out: Path) -> list[Image.Image]:
    """Render every page to PNG with pdftoppm; fail when poppler cannot read the PDF."""
    out.mkdir(exist_ok=True)
    run(["pdftoppm", "-r", "40", "-png", pdf, out / "p"], what="rendering", path=pdf)
    return [Image.open(p).convert("L") for p in sorted(out.glob("p-*.png"))]


def text_of(pdf: Path) -> str:
    return run(["pdftotext", pdf, "-"], what="reading", path=pdf).stdout.decode()


def not_blank(img: Image.Image) -> bool:
    return ImageStat.Stat(img).stddev[0] > 8


@pytest.fixture()
def culled(tmp_path: Path) -> list[Path]:
    """JPEGs with Lightroom sidecars, a hostile name, a corrupt sidecar."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    paths = []
    for i in range(22):
        name = "line\nbreak ü [x].jpg" if i == 3 else f"IMG_{i:04}.jpg"
        p = folder / name
        Image.new("RGB", (600, 400), (20 + i * 9, 120, 200 - i * 8)).save(p)
        stem = p.name[:-4]
        sidecar = folder / f"{stem}.xmp"
        sidecar.write_text(LR.format(rating=i % 6, label="Red" if i % 2 else "Green"))
        paths.append(p)
    (folder / "IMG_0005.xmp").write_text("<x:xmpmeta><broken")
    return paths


def test_contact_sheet_pages_grid_and_errors(culled: list[Path], shared_raw: Path,
                                             tmp_path: Path) -> None:  # fmt: skip
    raws = [shared_raw / "canon_eos_6d.dng", shared_raw / "Blackmagic_PocketCinema4K.dng"]
    before = [hash_file(p, ["xxh128"]) for p in [*culled, *raws]]
    out = tmp_path / "sheet.pdf"
    res = contact_sheet([*culled, *raws], out, title="Commission Ünïcode ★")
    assert res.pages == 2  # 24 photos, 20 a page
    imgs = pages(out, tmp_path / "png")
    assert len(imgs) == 2 and all(not_blank(i) for i in imgs)
    text = text_of(out)
    assert "IMG_0001.jpg" in text and "line\\nbreak ü [x].jpg" in text  # one line, shown
    assert "Canon EOS 6D" in text and "ISO 1000" in text and "f/5.6" in text
    assert "★★★★★" in text or "★" in text  # ratings drawn with the Unicode font
    assert len(res.errors) == 1 and "Blackmagic" in res.errors[0]
    assert "no embedded preview" in res.errors[0]
    assert [hash_file(p, ["xxh128"]) for p in [*culled, *raws]] == before


def test_portfolio_cover_text_series_rights_proposal(shared_raw: Path, tmp_path: Path) -> None:
    intro = tmp_path / "INTRO.md"
    intro.write_text(INTRO)
    offer = tmp_path / "PROPOSAL.md"
    offer.write_text("# Commercial proposal\n\n- Day rate: **1 800 €**\n")
    series = [shared_raw / "canon_eos_6d.dng", shared_raw / "RAW_CANON_D30_SRGB.CRW",
              shared_raw / "nikon_z9_jxl_compressed.dng"]  # fmt: skip
    out = tmp_path / "portfolio.pdf"
    res = portfolio(series, out, text=intro, rights="example", proposal=offer)
    assert res.pages == 1 + 1 + 3 + 1 + 1
    imgs = pages(out, tmp_path / "png")
    assert len(imgs) == res.pages and all(not_blank(i) for i in imgs)
    text = text_of(out)
    assert "Les Quais — summer series" in text and "What we shot" in text
    assert "Twelve frames on the quais" in text  # emphasis markers are not printed
    assert "Rights and legal" in text and "Élodie Marchand" in text
    assert "unlimited model releases (MR-UMR)" in text
    assert "AI-generated" in text and "no (digitalCapture)" in text
    assert "Studio Lumière SARL" in text  # the licensor
    assert "Commercial proposal" in text and "1 800 €" in text
    assert "Canon EOS 6D" in text  # a caption with the capture data


def _cli() -> typer.Typer:
    app = typer.Typer()
    photo_app = typer.Typer()
    app.add_typer(photo_app, name="photo")
    photo_review.register(photo_app)
    return app


def test_cli_selects_refuses_existing_and_culls(culled: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    folder = culled[0].parent
    out = tmp_path / "five.pdf"
    r = runner.invoke(_cli(), ["photo", "contact-sheet", "--out", str(out), "--min-rating", "5",
                               str(folder)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "2 of 22 photos selected" in r.output  # 5, 11 and 17 rated 5; 0005 is corrupt
    again = runner.invoke(_cli(), ["photo", "contact-sheet", "--out", str(out), str(folder)])
    assert again.exit_code == 2 and "exists already" in again.output
    cull = runner.invoke(_cli(), ["photo", "cull", "--out", str(tmp_path / "cull"), str(folder)])
    assert cull.exit_code == 0, cull.output
    assert len(list((tmp_path / "cull" / "previews").glob("*.jpg"))) == 22
    assert len(pages(tmp_path / "cull" / "contact-sheet.pdf", tmp_path / "cpng")) == 2
