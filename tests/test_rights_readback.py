"""Done-when of issue 5: an independent ExifTool reads every template field back, non-ASCII
intact, from sidecars of every real RAW and from a JPEG, 16-bit TIFF, DNG, MP4, MOV and BWF WAV
we embedded into; originals keep their exact bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rights_media import (
    exiftool_read,
    make_bwf,
    make_jpeg,
    make_tiff16,
    make_video,
    sha256,
)

from pipeline.rights import apply_rights, load_template
from pipeline.rights.bwf import read_chunks

TEMPLATE = """
creator: [Élodie Marchand, 山田 太郎]
job_title: Directrice de la photographie
copyright_notice: "© 2026 Élodie Marchand"
credit_line: "Studio Lumière"
source: "Agence Été"
usage_terms: "Usage limité: {project}. 日本 exclu."
web_statement: https://lumiere.example/droits
contact:
  address: 12 rue de la Clé
  city: Paris
  postcode: "75011"
  region: Île-de-France
  country: France
  email: elodie@lumiere.example
  phone: "+33 1 23 45 67 89"
  url: https://lumiere.example
licensors:
  - name: Lumière SARL
    email: lic@lumiere.example
    url: https://lumiere.example/lic
    phone: "+33 1 00 00 00 00"
model_release: MR-LMR
property_release: PR-UPR
digital_source_type: compositeWithTrainedAlgorithmicMedia
keywords: [été, 日本, "{project}"]
title: "{project} — {filename}"
headline: "Tournage été 2026"
description: "Plan {basename} pour {client}: café, ©, 日本"
variables:
  project: Les Quais
  client: Maison Dupré
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    p = tmp_path_factory.mktemp("tpl") / "t.yaml"
    p.write_text(TEMPLATE, encoding="utf-8")
    return load_template(p)


def assert_all_fields(row: dict, name: str) -> None:
    """Every template field, read by ExifTool from XMP, with its exact value."""
    stem = Path(name).stem
    assert row["XMP-dc:Creator"] == ["Élodie Marchand", "山田 太郎"]
    assert row["XMP-photoshop:AuthorsPosition"] == "Directrice de la photographie"
    assert row["XMP-dc:Rights"] == "© 2026 Élodie Marchand"
    assert row["XMP-photoshop:Credit"] == "Studio Lumière"
    assert row["XMP-photoshop:Source"] == "Agence Été"
    assert row["XMP-xmpRights:UsageTerms"] == "Usage limité: Les Quais. 日本 exclu."
    assert row["XMP-xmpRights:WebStatement"] == "https://lumiere.example/droits"
    assert row["XMP-xmpRights:Marked"] in (True, "True")
    assert row["XMP-iptcCore:CreatorContactInfo"] == {
        "CiAdrExtadr": "12 rue de la Clé",
        "CiAdrCity": "Paris",
        "CiAdrPcode": 75011,
        "CiAdrRegion": "Île-de-France",
        "CiAdrCtry": "France",
        "CiEmailWork": "elodie@lumiere.example",
        "CiTelWork": "+33 1 23 45 67 89",
        "CiUrlWork": "https://lumiere.example",
    }
    assert row["XMP-plus:Licensor"] == [
        {
            "LicensorName": "Lumière SARL",
            "LicensorEmail": "lic@lumiere.example",
            "LicensorURL": "https://lumiere.example/lic",
            "LicensorTelephone1": "+33 1 00 00 00 00",
        }
    ]
    assert row["XMP-plus:ModelReleaseStatus"] == "Limited or Incomplete Model Releases"
    assert row["XMP-plus:PropertyReleaseStatus"] == "Unlimited Property Releases"
    assert row["XMP-iptcExt:DigitalSourceType"].endswith("/compositeWithTrainedAlgorithmicMedia")
    assert row["XMP-dc:Subject"] == ["été", "日本", "Les Quais"]
    assert row["XMP-dc:Title"] == f"Les Quais — {name}"
    assert row["XMP-photoshop:Headline"] == "Tournage été 2026"
    assert row["XMP-dc:Description"] == f"Plan {stem} pour Maison Dupré: café, ©, 日本"


def test_sidecars_of_every_real_raw_read_back_and_originals_untouched(
    shared_raw, template, tmp_path
):
    raws = sorted(
        p
        for p in shared_raw.rglob("*")
        if p.is_file() and p.suffix.lower() not in (".xmp", "") and p.name != "SHA256SUMS"
    )
    assert len(raws) >= 5
    before = {p: sha256(p) for p in raws}
    # The shared folder is read-only, like a locked card: sidecars go to --sidecar-dir, and
    # the darktable style (name.ext.xmp) keeps canon_eos_6d.dng apart from its own .xmp.
    results = apply_rights(raws, template, sidecar_style="ext", sidecar_dir=tmp_path)
    assert {r.action for r in results} == {"sidecar"}, [r.error for r in results]
    for raw, res in zip(raws, results, strict=True):
        assert res.not_written == {}
        sidecar = Path(res.target)
        assert sidecar == tmp_path / f"{raw.name}.xmp"
        assert_all_fields(exiftool_read(sidecar), raw.name)
    assert {p: sha256(p) for p in raws} == before


def test_sidecar_next_to_a_read_only_card_says_what_to_do(shared_raw, template):
    raw = shared_raw / "canon_eos_6d.dng"
    before = sha256(raw)
    (res,) = apply_rights([raw], template, sidecar_style="ext")
    assert res.action == "error"
    assert "--sidecar-dir" in res.error
    assert sha256(raw) == before


@pytest.fixture(scope="module")
def deliverables(tmp_path_factory, shared_raw):
    d = tmp_path_factory.mktemp("deliverables")
    make_jpeg(d / "still.jpg")
    make_tiff16(d / "print16.tif")
    shutil.copyfile(shared_raw / "canon_eos_6d.dng", d / "export.dng")  # "our" DNG export
    make_video(d / "web.mp4")
    make_video(d / "master.mov")
    make_bwf(d / "-mix.wav")  # a leading '-' must never become an option
    return d


def test_embedded_rights_read_back_from_every_deliverable_format(deliverables, template, tmp_path):
    work = tmp_path / "out"
    shutil.copytree(deliverables, work)
    files = sorted(work.iterdir())
    wav = work / "-mix.wav"
    audio_before = _data_chunk(wav)
    bext_before = _bext(wav)
    results = apply_rights(files, template, embed=True)
    for res in results:
        assert res.action == "embedded", res.error
        assert res.not_written == {}, res.not_written
    for f in files:
        row = exiftool_read(f)
        assert_all_fields(row, f.name)
        if f.suffix in (".jpg", ".tif", ".dng"):
            # Legacy mirrors: IIM in UTF-8, EXIF Artist/Copyright.
            assert row["IPTC:CodedCharacterSet"] == "UTF8"
            assert row["IPTC:By-line"] == ["Élodie Marchand", "山田 太郎"]
            assert row["IPTC:CopyrightNotice"] == "© 2026 Élodie Marchand"
            assert row["IPTC:Credit"] == "Studio Lumière"
            assert row["IPTC:Source"] == "Agence Été"
            assert row["IPTC:Keywords"] == ["été", "日本", "Les Quais"]
            assert row["IFD0:Artist"] == "Élodie Marchand; 山田 太郎"
            assert row["IFD0:Copyright"] == "© 2026 Élodie Marchand"
        if f.suffix in (".mp4", ".mov"):
            assert row["ItemList:Copyright"] == "© 2026 Élodie Marchand"
            assert row["ItemList:Artist"] == "Élodie Marchand; 山田 太郎"
            assert row["Keys:Copyright"] == "© 2026 Élodie Marchand"
    row = exiftool_read(wav)
    # bext is ASCII by standard: folded (é -> e, © -> (c)); XMP above holds the exact text.
    assert row["RIFF:Originator"].startswith("Elodie Marchand")
    assert row["RIFF:Description"].rstrip() == "Plan -mix pour Maison Dupre: cafe, (c),"
    assert row["RIFF:OriginatorReference"] == "FRXYZ0123456789"  # the recorder's, kept
    assert row["RIFF:TimeReference"] == 172800000
    assert row["RIFF:Copyright"] == "© 2026 Élodie Marchand"
    # The audio and the rest of bext are byte-identical.
    assert _data_chunk(wav) == audio_before
    assert _bext(wav)[320:] == bext_before[320:]


def _data_chunk(path: Path) -> bytes:
    chunks, _ = read_chunks(path)
    c = next(c for c in chunks if c.cid == b"data")
    with open(path, "rb") as fh:
        fh.seek(c.offset)
        return fh.read(c.size)


def _bext(path: Path) -> bytes:
    chunks, _ = read_chunks(path)
    c = next(c for c in chunks if c.cid == b"bext")
    with open(path, "rb") as fh:
        fh.seek(c.offset)
        return fh.read(c.size)
