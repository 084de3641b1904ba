"""Picks read from the XMP each culling program writes, sidecar and embedded."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import need_tool
from PIL import Image

from pipeline.photo.picks import read_picks, select

# As Lightroom Classic writes a sidecar beside a RAW: attributes on one rdf:Description.
LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
   xmp:CreatorTool="Adobe Lightroom Classic 12.0 (Macintosh)"
   xmp:Rating="{rating}"
   xmp:Label="{label}"
   crs:Version="15.0"
   crs:WhiteBalance="As Shot">
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

# Capture One: child elements, its own colour names (Orange).
CAPTURE_ONE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 5.5.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">
   <xmp:Rating>3</xmp:Rating>
   <xmp:Label>Orange</xmp:Label>
   <xmp:CreatorTool>Capture One 23 Macintosh</xmp:CreatorTool>
   <photoshop:DateCreated>2026-05-02T10:11:12.34</photoshop:DateCreated>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

# Photo Mechanic: Tagged is the pick, ColorClass 1 = Winner, one IMG.xmp for RAW+JPEG.
PHOTO_MECHANIC = """<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 5.1.2">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about=""
  xmlns:photomechanic="http://ns.camerabits.com/photomechanic/1.0/"
  xmlns:xmp="http://ns.adobe.com/xap/1.0/"
  photomechanic:ColorClass="{cls}"
  photomechanic:Tagged="{tagged}"
  photomechanic:Prefs="1:1:0:000123"
  photomechanic:PMVersion="PM6"
  xmp:Rating="{rating}"/>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>"""

# darktable: IMG.CR3.xmp, rejected as Rating -1, colour labels as a Seq of numbers.
DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="{rating}"
   xmpMM:DerivedFrom="{name}"
   darktable:import_timestamp="63851234567000000"
   darktable:xmp_version="5"
   darktable:raw_params="0"
   darktable:auto_presets_applied="1"
   darktable:history_end="0">
   <darktable:colorlabels>
    <rdf:Seq>
{labels}
    </rdf:Seq>
   </darktable:colorlabels>
   <darktable:history>
    <rdf:Seq/>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _raw(folder: Path, name: str) -> Path:
    p = folder / name
    p.write_bytes(b"not really a raw")
    return p


def test_lightroom_rating_label_and_reject(tmp_path: Path) -> None:
    a, b = _raw(tmp_path, "IMG_0001.CR3"), _raw(tmp_path, "IMG_0002.CR3")
    (tmp_path / "IMG_0001.xmp").write_text(LIGHTROOM.format(rating=4, label="Red"))
    (tmp_path / "IMG_0002.xmp").write_text(LIGHTROOM.format(rating=-1, label="Blue"))
    picks = read_picks([a, b])
    assert picks[a].rating == 4 and picks[a].label == "red" and picks[a].source == "lightroom"
    assert picks[a].picked is None  # Lightroom keeps its pick flag in the catalogue
    assert picks[b].rejected and picks[b].rating is None
    assert select([a, b], min_rating=1) == [a]
    assert select([a, b], label="Blue") == []  # rejected is never selected


def test_capture_one_elements_and_orange(tmp_path: Path) -> None:
    a = _raw(tmp_path, "DSC_0042.NEF")
    (tmp_path / "DSC_0042.xmp").write_text(CAPTURE_ONE)
    p = read_picks([a])[a]
    assert (p.rating, p.label, p.source) == (3, "orange", "captureone")
    assert select([a], label="orange", min_rating=3) == [a]
    assert select([a], min_rating=4) == []


def test_photo_mechanic_tagged_and_color_class_for_a_pair(tmp_path: Path) -> None:
    raw, jpg = _raw(tmp_path, "_MG_9999.CR2"), _raw(tmp_path, "_MG_9999.JPG")
    other = _raw(tmp_path, "_MG_0001.CR2")
    (tmp_path / "_MG_9999.XMP").write_text(PHOTO_MECHANIC.format(cls=1, tagged="True", rating=5))
    (tmp_path / "_MG_0001.XMP").write_text(PHOTO_MECHANIC.format(cls=8, tagged="False", rating=0))
    picks = read_picks([raw, jpg, other])
    assert picks[raw].picked is True and picks[raw].label == "winner"
    assert picks[jpg].picked is True  # the pair shares Photo Mechanic's one sidecar
    assert picks[other].picked is False and picks[other].label == "trash"
    assert picks[raw].source == "photomechanic"
    assert select([raw, jpg, other], picked=True) == [raw, jpg]


def test_darktable_name_ext_sidecar_reject_and_several_labels(tmp_path: Path) -> None:
    a, b = _raw(tmp_path, "IMG_0001.CR3"), _raw(tmp_path, "IMG_0002.CR3")
    li = "\n".join(f"     <rdf:li>{n}</rdf:li>" for n in (0, 3))
    (tmp_path / "IMG_0001.CR3.xmp").write_text(DARKTABLE.format(rating=2, name=a.name, labels=li))
    (tmp_path / "IMG_0002.CR3.xmp").write_text(DARKTABLE.format(rating=-1, name=b.name, labels=""))
    picks = read_picks([a, b])
    assert picks[a].labels == ["red", "blue"] and picks[a].source == "darktable"
    assert picks[a].rating == 2
    assert picks[b].rejected
    assert select([a, b], label="blue") == [a]


def test_real_camera_raw_sidecar(shared_raw: Path) -> None:
    dng = shared_raw / "canon_eos_6d.dng"
    p = read_picks([dng])[dng]
    assert p.source == "lightroom" and p.sidecar == str(shared_raw / "canon_eos_6d.xmp")
    assert p.rating is None and not p.rejected and p.warning is None


def _jpeg_with_xmp(path: Path, xmp: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (120, 80, 40)).save(buf, "JPEG", xmp=xmp.encode())
    path.write_bytes(buf.getvalue())


def test_embedded_xmp_in_jpeg_and_tiff(tmp_path: Path) -> None:
    jpg = tmp_path / "web.jpg"
    _jpeg_with_xmp(jpg, LIGHTROOM.format(rating=5, label="Green"))
    p = read_picks([jpg])[jpg]
    assert p.rating == 5 and p.label == "green" and p.sidecar is None

    from pipeline.exiftool import ExifToolSession
    from pipeline.tools import has_exiftool

    if not has_exiftool():
        need_tool("exiftool", "libimage-exiftool-perl")
    plain = tmp_path / "plain.tif"
    Image.new("RGB", (16, 16)).save(plain)
    tif = tmp_path / "rated.tif"
    with ExifToolSession() as et:
        et.write(plain, [("XMP-xmp:Rating", "2"), ("XMP-xmp:Label", "Yellow")], out=tif)
    q = read_picks([tif, plain])
    assert (q[tif].rating, q[tif].label) == (2, "yellow")
    assert q[plain].rating is None and q[plain].warning is None


def test_corrupt_sidecar_and_newline_name_do_not_stop_the_batch(tmp_path: Path) -> None:
    bad = _raw(tmp_path, "IMG_0003.CR3")
    (tmp_path / "IMG_0003.xmp").write_text("<x:xmpmeta><rdf:RDF>truncated")
    odd = _raw(tmp_path, "line\nbreak [x].CR3")
    (tmp_path / "line\nbreak [x].xmp").write_text(LIGHTROOM.format(rating=3, label="Purple"))
    good = _raw(tmp_path, "IMG_0004.CR3")
    (tmp_path / "IMG_0004.xmp").write_text(LIGHTROOM.format(rating=2, label=""))
    picks = read_picks([bad, odd, good])
    assert picks[bad].warning and "IMG_0003.xmp" in picks[bad].warning
    assert picks[bad].rating is None
    assert picks[odd].rating == 3 and picks[odd].label == "purple"
    assert picks[good].rating == 2 and picks[good].label is None
    assert select([bad, odd, good], min_rating=2) == [odd, good]
