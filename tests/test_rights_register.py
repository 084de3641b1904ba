"""Rights register (strict CSV/YAML import into the catalogue) and the rights statement
(JSON, CSV and a PDF that renders)."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from pipeline.catalog.db import open_catalog
from pipeline.catalog.record import record_rights
from pipeline.catalog.rights_register import read_entries
from pipeline.cli import rights_register as rr_cli
from pipeline.errors import RightsError
from pipeline.rights.register import import_register, load_register
from pipeline.rights.statement import build_statement, write_statement
from pipeline.tools import run

NFD_HOLDER = unicodedata.normalize("NFD", "Éditions Lumière")
HEADER = (
    "ref,kind,title,rights_holder,licence,status,uses,territories,start,end,fee_reference,ai,"
    "linked,notes\n"
)
GOOD = HEADER + (
    'MUS-001,music,"Nocturne [live]",' + NFD_HOLDER + ",sync licence,cleared,TV;VOD,WW,"
    "2026-01-01,2027-01-31,INV-22,,A001C003,\n"
    'ARC-002,archive,"Paris, 1962",INA,archive licence,pending,TV,FR,2026-01-01,2026-12-15,,,,\n'
    '-STL-003,still,"[/bold] line\nbreak",Agence X,editorial,cleared,web,FR;BE,2025-01-01,'
    "2026-11-01,F-9,,,\n"
    "GEN-004,footage,Generated sky,Studio IA,licence,cleared,TV,WW,2026-01-01,,,generated,,\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_csv_imports_and_is_idempotent(tmp_path):
    cat = open_catalog(tmp_path / "cat.sqlite")
    f = write(tmp_path, "register [v1].csv", GOOD)
    assert import_register(f, catalog=cat) == 4
    assert import_register(f, catalog=cat) == 4  # by ref: updated, not duplicated
    rows = {r["ref"]: r for r in read_entries(cat)}
    assert set(rows) == {"MUS-001", "ARC-002", "-STL-003", "GEN-004"}
    assert rows["MUS-001"]["uses"] == ["TV", "VOD"] and rows["MUS-001"]["linked"] == ["A001C003"]
    assert rows["-STL-003"]["title"] == "[/bold] line\nbreak"
    assert rows["-STL-003"]["source_line"] == 4  # where the entry starts in the file
    assert rows["GEN-004"]["end"] is None and rows["GEN-004"]["ai"] == "generated"


@pytest.mark.parametrize(
    ("body", "line", "field", "says"),
    [
        ("M1,music,T,H,L,cleared,,,2026-01-01,2026-02-30,,,,\n", 2, "end", "not a date"),
        ("M1,tape,T,H,L,cleared,,,,,,,,\n", 2, "kind", "'tape' is not allowed"),
        ("M1,music,T,,L,cleared,,,,,,,,\n", 2, "rights_holder", "at least 1"),
        ("M1,music,T,H,L,maybe,,,,,,,,\n", 2, "status", "'maybe'"),
        ("M1,music,T,H,L,cleared,,,2026-05-01,2026-01-01,,,,\n", 2, "(row)", "before start"),
        ("M1,music,T,H,L,cleared,,,,,,robot,,\n", 2, "ai", "'robot'"),
        ("M1,music,T,H,L,cleared,,,,,,,,\nM1,music,T,H,L,cleared,,,,,,,,\n", 3, "ref", "already"),
        (
            'M1,music,"multi\nline",H,L,cleared,,,,,,,,\nM2,x,T,H,L,cleared,,,,,,,,\n',
            4,
            "kind",
            "'x'",
        ),
    ],
)
def test_bad_csv_names_file_line_and_field_and_imports_nothing(tmp_path, body, line, field, says):
    cat = open_catalog(tmp_path / "cat.sqlite")
    f = write(tmp_path, "-bad [reg].csv", HEADER + body)
    with pytest.raises(RightsError) as info:
        import_register(f, catalog=cat)
    msg = str(info.value)
    assert f"{f}, line {line}, field {field}:" in msg
    assert says in msg and "nothing was imported" in msg
    assert read_entries(cat) == []


def test_unknown_and_missing_columns_are_named(tmp_path):
    f = write(
        tmp_path,
        "r.csv",
        "ref,kind,title,rights_holder,licence,status,colour\nM,music,T,H,L,cleared,red\n",
    )
    with pytest.raises(RightsError, match=r"line 2, field colour: unknown field"):
        load_register(f)
    f = write(tmp_path, "r2.csv", "ref,kind,title,licence,status\n")
    with pytest.raises(RightsError, match=r"line 1, field rights_holder"):
        load_register(f)


def test_yaml_register_with_line_numbers(tmp_path):
    good = write(
        tmp_path,
        "r.yaml",
        "entries:\n  - ref: M1\n    kind: music\n    title: Nocturne\n    rights_holder: H\n"
        "    licence: sync\n    status: cleared\n    uses: [TV, VOD]\n    end: 2027-01-31\n"
        "  - ref: M2\n    kind: music\n    title: T\n    rights_holder: H\n    licence: L\n"
        "    status: cleared\n    start: 2026-13-01\n",
    )
    with pytest.raises(RightsError, match=r"r.yaml, line 10, field start"):
        load_register(good)


def test_statement_flags_and_writes_json_csv_pdf(tmp_path):
    cat = open_catalog(tmp_path / "cat.sqlite")
    import_register(write(tmp_path, "r.csv", GOOD), catalog=cat)
    own = tmp_path / "-own [x].mov"
    own.write_bytes(b"not media")
    fields = {"copyright_notice": "© 2026 Élodie", "digital_source_type": "trainedAlgorithmicMedia"}
    record_rights([own], "example", fields=fields, catalog=cat)
    st = build_statement(
        catalog=cat, as_of=dt.date(2026, 11, 30), expiring_within=30, read_files=False
    )
    flags = {i.ref: set(i.flags) for i in st.items}
    assert flags["MUS-001"] == set()  # cleared, ends in 2027
    assert flags["ARC-002"] == {"uncleared", "expiring"}  # pending; ends in 15 days
    assert flags["-STL-003"] == {"expired"}
    assert flags["GEN-004"] == {"ai-generated"}
    assert flags[str(own)] == {"ai-generated"}
    assert st.counts["expired"] == 1 and st.counts["ai-generated"] == 2
    out = tmp_path / "statement"
    js, cs, pdf = write_statement(st, out, overwrite=False)
    doc = json.loads(js.read_text())
    assert doc["as_of"] == "2026-11-30" and len(doc["items"]) == 5
    assert "[/bold] line\nbreak" in cs.read_text()
    with pytest.raises(Exception, match="exists already"):
        write_statement(st, out, overwrite=False)
    run(["pdftoppm", "-r", "50", "-png", str(pdf), str(out / "page")], what="pdftoppm")
    pages = sorted(out.glob("page*.png"))
    assert len(pages) == 1
    img = Image.open(pages[0]).convert("L")
    lo, hi = img.getextrema()
    assert lo < 100 and hi > 200  # text on a white page: not blank


def cli() -> typer.Typer:
    app = typer.Typer()
    rights_app = typer.Typer()

    @rights_app.callback()
    def _rights() -> None: ...

    rr_cli.register(rights_app)
    app.add_typer(rights_app, name="rights")

    @app.callback()
    def _root() -> None: ...

    return app


def test_cli_import_and_report(tmp_path):
    runner = CliRunner()
    cat = str(tmp_path / "cat.sqlite")
    bad = write(tmp_path, "bad.csv", HEADER + "M1,tape,T,H,L,cleared,,,,,,,,\n")
    r = runner.invoke(cli(), ["rights", "register", "import", str(bad), "--catalog", cat])
    assert r.exit_code == 2 and "line 2, field kind" in r.output and "Traceback" not in r.output
    good = write(tmp_path, "good.csv", GOOD)
    r = runner.invoke(cli(), ["rights", "register", "import", str(good), "--catalog", cat])
    assert r.exit_code == 0 and "imported 4" in r.output
    out = tmp_path / "out"
    args = ["rights", "report", "--out", str(out), "--as-of", "2026-11-30", "--catalog", cat]
    r = runner.invoke(cli(), [*args, "--expiring-within", "30"])
    assert r.exit_code == 0, r.output
    assert "-STL-003: expired" in r.output
    assert (out / "rights-statement.pdf").stat().st_size > 1000
    r = runner.invoke(cli(), args)  # the statement exists: refused before any work
    assert r.exit_code == 2 and "exists already" in r.output
    r = runner.invoke(cli(), [*args, "--force", "--as-of", "2026-02-30"])
    assert r.exit_code == 2 and "not a date" in r.output
