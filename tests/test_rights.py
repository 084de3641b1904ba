"""Rights templates, sidecar merging, safety rules, bad input, check, provenance and the CLI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from rights_media import (
    exiftool_knowing_ai_fields,
    exiftool_knows,
    exiftool_read,
    make_jpeg,
    make_mxf,
    make_tiff16,
    sha256,
)
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import ProfileError
from pipeline.exiftool import ExifToolSession
from pipeline.qc.findings import Severity
from pipeline.rights import apply_rights, check_rights, load_template, read_provenance, show_rights
from pipeline.rights.template import TEMPLATES_DIR

MINI = """
creator: José Núñez
copyright_notice: "© {year} José Núñez"
credit_line: Núñez Films
model_release: MR-NON
digital_source_type: digitalCapture
keywords: [rushes, "{project}"]
title: "{basename} #{seq}"
variables: {project: Été}
"""


def write_tpl(d: Path, text: str, name: str = "t.yaml") -> Path:
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def jpeg_src(tmp_path_factory) -> Path:
    return make_jpeg(tmp_path_factory.mktemp("src") / "frame.jpg")


@pytest.fixture
def mini(tmp_path):
    return load_template(write_tpl(tmp_path, MINI))


# -- template ---------------------------------------------------------------------------------


def test_shipped_templates_load():
    names = sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))
    assert "example" in names
    for name in names:
        t = load_template(name)
        assert t.creator and t.copyright_notice and t.model_release


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (
            "creator: A\nmodel_release: MR-YES\n",
            "line 2, field model_release: 'MR-YES' is not a PLUS",
        ),
        ("creator: A\nproperty_release: MR-NON\n", "field property_release"),
        ("creator: A\ndigital_source_type: aiMagic\n", "line 2, field digital_source_type"),
        ("creator: A\ncopyrite: x\n", "line 2, field copyrite: unknown field"),
        ("creator: A\ntitle: '{nope}'\n", "unknown variable {nope}"),
        ("creator: A\ncontact:\n  city: Paris\n  zip: 1\n", "line 4, field contact.zip"),
        ("creator: [A\n", "not valid YAML"),
        ("web_statement: not a url\n", "field web_statement"),
        ("caption: a\ndescription: b\n", "same IPTC field"),
    ],
)
def test_invalid_template_names_file_line_and_field(tmp_path, text, expect):
    p = write_tpl(tmp_path, text, "bad.yaml")
    with pytest.raises(ProfileError) as err:
        load_template(p)
    assert str(p) in str(err.value)
    assert expect in str(err.value)


def test_template_accepts_uris_and_caption_alias(tmp_path):
    t = load_template(
        write_tpl(
            tmp_path,
            "model_release: http://ns.useplus.org/ldf/vocab/MR-UMR\n"
            "digital_source_type: http://cv.iptc.org/newscodes/digitalsourcetype/"
            "trainedAlgorithmicMedia\ncaption: Légende\n",
        )
    )
    assert t.model_release == "MR-UMR"
    assert t.digital_source_type == "trainedAlgorithmicMedia"
    assert t.description == "Légende"


def test_missing_template_lists_known_ones():
    with pytest.raises(ProfileError, match="example"):
        load_template("no-such-template")


# -- ExifTool session: silent skips are detected, on any ExifTool version --------------------
# ExifTool 12.57 does not know the IPTC 2025.1 AI fields, ExifTool 13 does. Each test runs with
# the installed ExifTool and with one taught those fields (a -config wrapper), and asserts the
# honest outcome for the version at hand: a field is written and reads back, or it is reported
# as not written; never both, never neither.


@pytest.fixture(params=["installed", "knows-iptc-2025"])
def exiftool_variant(request, tmp_path_factory, monkeypatch) -> str:
    from pipeline.tools import exiftool_exe

    if request.param == "installed":
        exe = exiftool_exe()
    else:
        exe = str(exiftool_knowing_ai_fields(tmp_path_factory.mktemp("et2025")))
        monkeypatch.setenv("RUSHLINE_EXIFTOOL", exe)  # for the CLI, which finds its own
    exiftool_exe.cache_clear()
    yield exe
    exiftool_exe.cache_clear()


def test_session_reports_tags_exiftool_does_not_know(jpeg_src, tmp_path, exiftool_variant):
    out = tmp_path / "o.jpg"
    with ExifToolSession(exiftool_variant) as s:
        report = s.write(
            jpeg_src,
            [("XMP-iptcExt:AISystemUsed", "Model X"), ("XMP-dc:Title", "ok")],
            out=out,
        )
        row = s.read_json([out])[str(out)]
    assert report.ok
    assert "XMP-dc:Title" not in report.not_written
    assert row["XMP-dc:Title"] == "ok"
    reported = "XMP-iptcExt:AISystemUsed" in report.not_written
    written = row.get("XMP-iptcExt:AISystemUsed") == "Model X"
    assert reported != written, (report, row)  # exactly one of the two is true
    assert written == exiftool_knows(exiftool_variant, "AISystemUsed")


def test_ai_fields_are_written_or_reported_never_claimed(tmp_path, jpeg_src, exiftool_variant):
    t = load_template(
        write_tpl(tmp_path, "creator: A\nai_system_used: Firefly 3\nai_prompt: a café, 日本\n")
    )
    tif = make_tiff16(tmp_path / "ai.tif")  # TIFF goes through ExifTool
    jpg = tmp_path / "ai.jpg"  # JPEG goes through exiv2, which stores any XMP property
    shutil.copyfile(jpeg_src, jpg)
    raw = tmp_path / "ai.CR2"
    shutil.copyfile(jpeg_src, raw)  # a "RAW" by name: sidecar path
    with ExifToolSession(exiftool_variant) as s:
        res_tif, res_jpg, res_raw = apply_rights(
            [tif, jpg, raw], t, embed=True, sidecar_style="ext", session=s
        )
    assert res_tif.action == "embedded"
    knows = exiftool_knows(exiftool_variant, "AIPromptInformation")
    back = exiftool_read(tif)
    if knows:
        assert res_tif.not_written == {}
        assert set(res_tif.written) == {"creator", "ai_system_used", "ai_prompt"}
        assert back["XMP-iptcExt:AISystemUsed"] == "Firefly 3"
        assert back["XMP-iptcExt:AIPromptInformation"] == "a café, 日本"
    else:
        assert set(res_tif.not_written) == {"ai_system_used", "ai_prompt"}
        assert all("ExifTool skipped it" in why for why in res_tif.not_written.values())
        assert res_tif.written == ["creator"]
        assert "XMP-iptcExt:AISystemUsed" not in back
    for res in (res_jpg, res_raw):
        assert res.not_written == {} and "ai_prompt" in res.written
        assert exiftool_read(Path(res.target))["XMP-iptcExt:AIPromptInformation"] == "a café, 日本"
    # The CLI exits 1 exactly when a field could not be written.
    tif2 = make_tiff16(tmp_path / "ai2.tif")
    r = CliRunner().invoke(
        app, ["rights", "apply", "-t", str(tmp_path / "t.yaml"), "--embed", str(tif2)]
    )
    assert r.exit_code == (0 if knows else 1), r.output
    assert ("NOT written" in r.output) == (not knows)


# -- sidecars: merge keeps everything that is not ours ----------------------------------------


def test_sidecar_merge_keeps_develop_settings_and_rerun_is_a_noop(tmp_path, mini, shared_raw):
    raw = tmp_path / "IMG_0001.CR2"
    shutil.copyfile(shared_raw / "metadata_only" / "exiftool_CanonRaw.cr2", raw)
    sidecar = tmp_path / "IMG_0001.xmp"
    shutil.copyfile(shared_raw / "canon_eos_6d.xmp", sidecar)
    old = exiftool_read(sidecar)
    raw_hash = sha256(raw)
    (res,) = apply_rights([raw], mini)
    assert res.action == "sidecar" and res.target == str(sidecar)
    new = exiftool_read(sidecar)
    foreign = {
        k: v
        for k, v in old.items()
        if k.startswith(("XMP-crs", "XMP-aux", "XMP-xmp:", "XMP-exif", "XMP-tiff"))
    }
    assert len(foreign) > 50
    for k, v in foreign.items():
        assert new.get(k) == v, k
    assert new["XMP-dc:Creator"] == ["José Núñez"]
    assert sha256(raw) == raw_hash
    # Again with the same template: nothing to do, same bytes.
    data = sidecar.read_bytes()
    (res2,) = apply_rights([raw], mini)
    assert res2.action == "unchanged"
    assert sidecar.read_bytes() == data


def test_merge_replaces_our_old_values_in_attribute_form(tmp_path, mini):
    f = tmp_path / "a.NEF"
    f.write_bytes(b"not really a nef")
    sc = tmp_path / "a.xmp"
    sc.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'photoshop:Credit="Old Credit" xmp:Rating="4"/></rdf:RDF></x:xmpmeta>',
        encoding="utf-8",
    )
    (res,) = apply_rights([f], mini)
    assert res.action == "sidecar", res.error
    row = exiftool_read(sc)
    assert row["XMP-photoshop:Credit"] == "Núñez Films"
    assert row["XMP-xmp:Rating"] == 4


def test_shared_sidecar_name_is_refused_not_mixed(tmp_path, mini, jpeg_src):
    a, b = tmp_path / "A001.MXF", tmp_path / "A001.NEF"
    make_mxf(a)
    shutil.copyfile(jpeg_src, b)
    ra, rb = apply_rights([a, b], mini, embed=True)
    assert ra.action == "sidecar"
    assert any("MXF cannot carry" in n for n in ra.notes)
    assert rb.action == "error" and "--sidecar-style ext" in rb.error
    ra2, rb2 = apply_rights([a, b], mini, embed=True, sidecar_style="ext")
    assert ra2.target.endswith("A001.MXF.xmp") and rb2.target.endswith("A001.NEF.xmp")


# -- originals are sacred ---------------------------------------------------------------------


def test_files_in_an_mhl_managed_tree_only_get_sidecars(tmp_path, mini, jpeg_src):
    card = tmp_path / "A001"
    (card / "ascmhl").mkdir(parents=True)
    (card / "DCIM").mkdir()
    jpg = card / "DCIM" / "-IMG_1.JPG"  # leading '-' too
    shutil.copyfile(jpeg_src, jpg)
    before = sha256(jpg)
    (res,) = apply_rights([card], mini, embed=True)
    assert res.action == "sidecar"
    assert "ASC MHL" in res.notes[0]
    assert sha256(jpg) == before
    assert exiftool_read(Path(res.target))["XMP-photoshop:Credit"] == "Núñez Films"


def test_without_embed_nothing_is_modified(tmp_path, mini, jpeg_src):
    jpg = tmp_path / "x.jpg"
    shutil.copyfile(jpeg_src, jpg)
    before = sha256(jpg)
    (res,) = apply_rights([jpg], mini)
    assert res.action == "sidecar" and sha256(jpg) == before


# -- bad input: clear message, the others go on, nothing half-written -------------------------


def test_bad_files_fail_alone_and_leave_nothing_behind(tmp_path, mini, jpeg_src):
    good = tmp_path / "good.jpg"
    shutil.copyfile(jpeg_src, good)
    locked = tmp_path / "locked.jpg"
    shutil.copyfile(jpeg_src, locked)
    locked.chmod(0o444)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(jpeg_src.read_bytes()[:40] + b"\x00garbage")
    raw = tmp_path / "r.NEF"
    raw.write_bytes(b"raw")
    badxml = tmp_path / "r.xmp"
    badxml.write_text("<x:xmpmeta><rdf:RDF>", encoding="utf-8")
    missing = tmp_path / "missing.jpg"
    hashes = {p: sha256(p) for p in (locked, corrupt, badxml)}
    results = apply_rights([locked, corrupt, raw, missing, good], mini, embed=True)
    by = {Path(r.path).name: r for r in results}
    assert by["locked.jpg"].action == "error" and "read-only" in by["locked.jpg"].error
    assert by["corrupt.jpg"].action == "error" and "corrupt.jpg" in by["corrupt.jpg"].error
    assert by["r.NEF"].action == "error" and "not valid XML" in by["r.NEF"].error
    assert by["missing.jpg"].action == "error" and "does not exist" in by["missing.jpg"].error
    assert by["good.jpg"].action == "embedded" and by["good.jpg"].not_written == {}
    assert {p: sha256(p) for p in hashes} == hashes
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    locked.chmod(0o644)


def test_cli_apply_bad_input_exit_codes(tmp_path, jpeg_src):
    bad_tpl = write_tpl(tmp_path, "creator: A\nmodel_release: MR-MAYBE\n", "bad.yaml")
    r = CliRunner().invoke(app, ["rights", "apply", "-t", str(bad_tpl), str(jpeg_src)])
    assert r.exit_code == 2
    assert "MR-MAYBE" in r.output and "Traceback" not in r.output
    tpl = write_tpl(tmp_path, MINI)
    jpg = tmp_path / "ok.jpg"
    shutil.copyfile(jpeg_src, jpg)
    r = CliRunner().invoke(
        app, ["rights", "apply", "-t", str(tpl), "--embed", str(jpg), str(tmp_path / "nope.jpg")]
    )
    assert r.exit_code == 2  # one file failed
    assert exiftool_read(jpg)["XMP-photoshop:Credit"] == "Núñez Films"  # the other went on


# -- show / check ------------------------------------------------------------------------------


def test_show_and_check_after_apply(tmp_path, mini, jpeg_src):
    jpg = tmp_path / "c.jpg"
    shutil.copyfile(jpeg_src, jpg)
    assert {f.check for f in check_rights(jpg, mini)} >= {"rights.creator", "rights.title"}
    apply_rights([jpg], mini, embed=True)
    (eff,) = show_rights([jpg])
    assert eff.fields["creator"] == ["José Núñez"]
    assert eff.fields["model_release"] == "MR-NON"
    assert eff.sources["creator"].startswith("embedded")
    assert check_rights(jpg, mini) == []  # {seq} and {year} matched for this file
    other = load_template(write_tpl(tmp_path, MINI.replace("Núñez Films", "Other"), "o.yaml"))
    findings = check_rights(jpg, other, severity="error")
    assert [(f.check, f.severity) for f in findings] == [("rights.credit_line", Severity.ERROR)]
    assert findings[0].value == "Núñez Films"
    only = check_rights(jpg, other, fields=["creator", "headline"])
    assert [f.check for f in only] == ["rights.headline"]
    r = CliRunner().invoke(app, ["rights", "check", "-t", str(tmp_path / "o.yaml"), str(jpg)])
    assert r.exit_code == 1 and "rights.credit_line" in r.output
    r = CliRunner().invoke(app, ["rights", "show", "--json", str(jpg)])
    assert r.exit_code == 0 and '"José Núñez"' in r.output


# -- provenance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "generated", "composited"),
    [
        ("trainedAlgorithmicMedia", True, False),
        ("compositeWithTrainedAlgorithmicMedia", False, True),
        ("digitalCapture", False, False),
    ],
)
def test_provenance_flags_ai_from_digital_source_type(
    tmp_path, jpeg_src, term, generated, composited
):
    jpg = tmp_path / "p.jpg"
    shutil.copyfile(jpeg_src, jpg)
    t = load_template(write_tpl(tmp_path, f"digital_source_type: {term}\n"))
    apply_rights([jpg], t, embed=True)
    prov = read_provenance(jpg)
    assert prov.digital_source_type == term
    assert (prov.ai_generated, prov.ai_composited) == (generated, composited)
    assert prov.c2pa.present is False and prov.xmp_modified_after_signing is None
    assert bool(prov.flags) == (generated or composited)


def test_provenance_reads_a_sidecar(tmp_path):
    raw = tmp_path / "gen.NEF"
    raw.write_bytes(b"x")
    t = load_template(write_tpl(tmp_path, "digital_source_type: trainedAlgorithmicMedia\n"))
    apply_rights([raw], t)
    assert read_provenance(raw).ai_generated is True
    assert os.path.exists(tmp_path / "gen.xmp")


@pytest.mark.flow
def test_rights_flow_stage(prefect_harness, tmp_path, jpeg_src):
    from flows.rights import rights_flow

    jpg = tmp_path / "deliverable.jpg"
    shutil.copyfile(jpeg_src, jpg)
    raw = tmp_path / "orig.NEF"
    raw.write_bytes(b"raw")
    tpl = write_tpl(tmp_path, MINI)
    results = rights_flow([str(jpg), str(raw)], str(tpl), embed=True)
    assert [r["action"] for r in results] == ["embedded", "sidecar"]
    assert exiftool_read(jpg)["XMP-photoshop:Credit"] == "Núñez Films"
    assert (tmp_path / "orig.xmp").is_file()
