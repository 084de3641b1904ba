"""Camera, sound and photo cards laid out the way the real devices write them.

Each `build_*` function writes one card under `root / "cards" / <name>` and returns its manifest
record: {"path": "cards/<name>", "device": ..., "files": [file records]}. File records carry
the properties we asked the encoders for, named like `pipeline.assets.Asset` (MediaInfo words).
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np

from sample_media import dng
from sample_media._ff import (
    BITEXACT_OUT,
    BT709_FRAMES,
    BT709_OUT,
    CREATION_TIME,
    FPS,
    SAMPLE_RATE,
    SHOOT_DATE,
    ffmpeg,
    frames_to_tc,
    out,
    pink_noise,
    raw_input,
    rms_dbfs,
    tc_to_frames,
    write_raw_f32,
)

Record = dict[str, Any]

SHARED_RAW = Path(__file__).resolve().parents[2] / "shared" / "media" / "raw"


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def _camera_audio(dur_s: float, seed: int) -> np.ndarray:
    """Two channels of on-camera sound: a −20 dBFS 1 kHz reference on L, pink ambience on R."""
    n = round(dur_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    left = 0.1 * np.sin(2 * np.pi * 1000 * t)
    right = 0.05 * pink_noise(n, np.random.default_rng(seed))
    return np.stack([left, right], axis=1)


# --- A: Sony XDCAM / XAVC card ----------------------------------------------------------------

XDCAM_CAMERA = {"make": "Sony", "model": "ILME-FX6V", "serial": "5012345"}
XDCAM_CLIPS = [  # (clip, frames, start timecode, lavfi source)
    ("C0001", 100, "14:23:10:00", "testsrc2"),
    ("C0002", 75, "14:24:02:00", "testsrc"),
    ("C0003", 125, "14:25:31:12", "testsrc2"),
]


def _sony_ltc(tc: str) -> str:
    """Sony LtcChangeTable values are BCD-ish 'FFSSMMHH' (frames first)."""
    h, m, s, f = tc.split(":")
    return f"{f}{s}{m}{h}"


def _nrt_xml(clip: str, frames: int, tc: str) -> str:
    end_tc = frames_to_tc(tc_to_frames(tc) + frames - 1)
    cam = XDCAM_CAMERA
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.00" \
xmlns:lib="urn:schemas-professionalDisc:lib:ver.2.00" \
lastUpdate="{SHOOT_DATE}T14:23:10+01:00">
\t<TargetMaterial umidRef="060A2B340101010501010D43130000000{clip[1:]}0000000000000000000000"/>
\t<Duration value="{frames}"/>
\t<LtcChangeTable tcFps="{FPS}" halfStep="false">
\t\t<LtcChange frameCount="0" value="{_sony_ltc(tc)}" status="increment"/>
\t\t<LtcChange frameCount="{frames - 1}" value="{_sony_ltc(end_tc)}" status="end"/>
\t</LtcChangeTable>
\t<CreationDate value="{SHOOT_DATE}T14:23:10+01:00"/>
\t<VideoFormat>
\t\t<VideoRecPort port="DIRECT"/>
\t\t<VideoFrame videoCodec="AVC_1920_1080_HP@L41" captureFps="25p" formatFps="25p"/>
\t\t<VideoLayout pixel="1920" numOfVerticalLine="1080" aspectRatio="16:9"/>
\t</VideoFormat>
\t<AudioFormat numOfChannel="2">
\t\t<AudioRecPort port="DIRECT" audioCodec="AAC" trackDst="CH1"/>
\t\t<AudioRecPort port="DIRECT" audioCodec="AAC" trackDst="CH2"/>
\t</AudioFormat>
\t<Device manufacturer="{cam["make"]}" modelName="{cam["model"]}" serialNo="{cam["serial"]}"/>
\t<RecordingMode type="normal" cacheRec="false"/>
</NonRealTimeMeta>
"""


def _mediapro_xml(clips: list[tuple[str, int]]) -> str:
    mats = "".join(
        f'\t\t<Material uri="./Clip/{c}.MP4" type="MP4" videoType="AVC_1920_1080_HP@L41" '
        f'audioType="AAC" fps="25p" dur="{n}" ch="2" aspectRatio="16:9" offset="0">\n'
        f'\t\t\t<RelevantInfo uri="./Clip/{c}M01.XML" type="XML"/>\n'
        "\t\t</Material>\n"
        for c, n in clips
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MediaProfile xmlns="http://xmlns.sony.net/pro/metadata/mediaprofile" '
        f'createdAt="{SHOOT_DATE}T14:20:00+01:00" version="2.20">\n'
        "\t<Properties>\n"
        f'\t\t<System systemId="{XDCAM_CAMERA["serial"]}" systemKind="{XDCAM_CAMERA["model"]}" '
        'masterVersion="1.00" vendor="Sony"/>\n'
        "\t</Properties>\n"
        f"\t<Contents>\n{mats}\t</Contents>\n"
        "</MediaProfile>\n"
    )


def _apple_double() -> bytes:
    """A minimal AppleDouble '._' file as macOS Finder leaves on FAT/exFAT cards (4 KiB)."""
    header = struct.pack(">II16sH", 0x00051607, 0x00020000, b"Mac OS X        ", 2)
    entries = struct.pack(">III", 9, 50, 32) + struct.pack(">III", 2, 82, 4096 - 82)
    finder = b"MPG4" + b"hook" + b"\0" * 24  # type/creator of a QuickTime movie
    blob = header + entries + finder
    return blob + b"\0" * (4096 - len(blob))


def build_xdcam(root: Path) -> Record:
    """Card A: a Sony XAVC card (PRIVATE/M4ROOT) with 3 H.264 clips, NRT XML sidecars and Finder
    litter (`._C0001.MP4`, `.DS_Store`) that an offload must handle."""
    card = root / "cards" / "A_XDCAM"
    m4 = card / "PRIVATE" / "M4ROOT"
    clipdir = m4 / "CLIP"
    clipdir.mkdir(parents=True)
    for sub in ("GENERAL", "THMBNL", "SUB"):
        (m4 / sub).mkdir()
    tmp = root / ".tmp"
    tmp.mkdir(exist_ok=True)
    files: list[Record] = []
    for i, (clip, frames, tc, src) in enumerate(XDCAM_CLIPS):
        dur = frames / FPS
        mp4 = clipdir / f"{clip}.MP4"
        audio = tmp / f"{clip}.f32"
        write_raw_f32(audio, _camera_audio(dur, seed=100 + i))
        ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"{src}=s=1920x1080:r={FPS}:d={dur},{BT709_FRAMES}",
                *raw_input(audio, 2),
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-c:v",
                "libx264",
                "-profile:v",
                "high",
                "-level:v",
                "4.1",
                "-preset",
                "superfast",
                "-crf",
                "26",
                "-g",
                "25",
                "-pix_fmt",
                "yuv420p",
                "-threads",
                "2",  # fixed thread count: x264 output then does not depend on the machine
                *BT709_OUT,
                "-c:a",
                "aac",
                "-b:a",
                "256k",
                "-timecode",
                tc,
                "-flags:v",
                "+bitexact",
                "-flags:a",
                "+bitexact",
                *BITEXACT_OUT,
                "-metadata",
                f"make={XDCAM_CAMERA['make']}",
                "-metadata",
                f"model={XDCAM_CAMERA['model']}",
                out(mp4),
            ],
            what="encoding sample clip",
            path=mp4,
        )
        audio.unlink()
        xml = clipdir / f"{clip}M01.XML"
        xml.write_text(_nrt_xml(clip, frames, tc), encoding="utf-8")
        files.append(
            {
                "path": _rel(root, mp4),
                "kind": "video",
                "container": "MPEG-4",
                "clip_name": clip,
                "camera": f"{XDCAM_CAMERA['make']} {XDCAM_CAMERA['model']}",
                "video": {
                    "codec": "AVC",
                    "codec_profile": "High@L4.1",
                    "width": 1920,
                    "height": 1080,
                    "frame_rate": 25.0,
                    "frame_count": frames,
                    "scan_type": "progressive",
                    "chroma_subsampling": "4:2:0",
                    "bit_depth": 8,
                    "colour_primaries": "BT.709",
                },
                "audio": {"codec": "AAC", "channels": 2, "sample_rate": SAMPLE_RATE},
                "duration_s": dur,
                "start_timecode": tc,
                "sidecar": _rel(root, xml),
            }
        )
        files.append({"path": _rel(root, xml), "kind": "sidecar", "sidecar_of": _rel(root, mp4)})
    mediapro = m4 / "MEDIAPRO.XML"
    mediapro.write_text(_mediapro_xml([(c, n) for c, n, _, _ in XDCAM_CLIPS]), encoding="utf-8")
    status = m4 / "STATUS.BIN"
    status.write_bytes(b"SONY" + bytes(range(252)) + b"\0" * 256)  # opaque 512-byte camera state
    dot_underscore = clipdir / "._C0001.MP4"
    dot_underscore.write_bytes(_apple_double())
    ds_store = card / ".DS_Store"
    ds_store.write_bytes(b"\0\0\0\x01Bud1" + b"\0" * 6136)
    files += [
        {"path": _rel(root, mediapro), "kind": "sidecar"},
        {"path": _rel(root, status), "kind": "other"},
        {
            "path": _rel(root, dot_underscore),
            "kind": "other",
            "hidden": True,
            "junk": "AppleDouble",
        },
        {"path": _rel(root, ds_store), "kind": "other", "hidden": True, "junk": "DS_Store"},
    ]
    return {
        "path": _rel(root, card),
        "device": "camera",
        "camera": dict(XDCAM_CAMERA),
        "clip_folder": _rel(root, clipdir),
        "files": files,
    }


# --- B: ARRI-style ProRes roll ----------------------------------------------------------------

ARRI_CAMERA = {"make": "ARRI", "model": "ALEXA Mini LF"}
ARRI_REEL = "A001"


# Low-detail pictures on purpose: ProRes is intra-only, and busy test patterns cost 50-60 Mb/s
# (90 MB for this roll); a flat set with moving objects costs ~5 Mb/s and probes the same.
def _set(bg: str, boxes: list[tuple[str, str, str]]) -> str:
    draw = ",".join(f"drawbox=x='{x}':y='{y}':w=260:h=260:color={c}:t=fill" for x, y, c in boxes)
    return f"color=c={bg}:{{size}}:d={{dur}},{draw}"


ARRI_CLIPS = [  # (clip, frames, start timecode, lavfi picture)
    ("A001C001_261122_R1AB", 100, "14:23:10:00",
     _set("0x203040", [("100+t*300", "300", "orange"), ("1500-t*200", "600+t*40", "teal")])),
    ("A001C002_261122_R1AB", 125, "14:25:00:00",
     _set("0x403020", [("200+t*250", "200+t*60", "white"), ("1200", "700-t*80", "crimson")])),
    ("A001C003_261122_R1AB", 115, "14:27:30:00",
     _set("0x102018", [("800+200*sin(t)", "400", "gold"), ("100+t*350", "750", "gray")])),
]  # fmt: skip


def build_arri(root: Path) -> Record:
    """Card B: roll A001 of ProRes 422 HQ MOVs with timecode, reel name and BT.709 tags."""
    card = root / "cards" / "B_A001"
    roll = card / ARRI_REEL
    roll.mkdir(parents=True)
    tmp = root / ".tmp"
    tmp.mkdir(exist_ok=True)
    files: list[Record] = []
    for i, (clip, frames, tc, src) in enumerate(ARRI_CLIPS):
        dur = frames / FPS
        mov = roll / f"{clip}.mov"
        audio = tmp / f"{clip}.f32"
        write_raw_f32(audio, _camera_audio(dur, seed=200 + i))
        ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                src.format(size=f"s=1920x1080:r={FPS}", dur=dur) + f",{BT709_FRAMES}",
                *raw_input(audio, 2),
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-c:v",
                # prores_aw: 5x faster here than prores_ks (no trellis), same apch bitstream.
                "prores",
                "-profile:v",
                "3",  # 422 HQ
                "-vendor",
                "apl0",
                "-pix_fmt",
                "yuv422p10le",
                "-threads",
                "2",
                *BT709_OUT,
                "-c:a",
                "pcm_s24le",
                "-timecode",
                tc,
                # movenc writes the video stream's reel_name into the tmcd sample entry;
                # MediaInfo shows it as the Title of the "Other" (QuickTime TC) track.
                "-metadata:s:v:0",
                f"reel_name={ARRI_REEL}",
                # Cameras write make/model into the movie's user data; probe reads them there.
                "-metadata",
                f"make={ARRI_CAMERA['make']}",
                "-metadata",
                f"model={ARRI_CAMERA['model']}",
                "-flags:v",
                "+bitexact",
                "-flags:a",
                "+bitexact",
                *BITEXACT_OUT,
                out(mov),
            ],
            what="encoding sample clip",
            path=mov,
        )
        audio.unlink()
        files.append(
            {
                "path": _rel(root, mov),
                "kind": "video",
                "container": "MPEG-4",
                "container_profile": "QuickTime",
                "clip_name": clip,
                "camera": f"{ARRI_CAMERA['make']} {ARRI_CAMERA['model']}",
                "video": {
                    "codec": "ProRes",
                    "codec_profile": "422 HQ",
                    "codec_id": "apch",
                    "width": 1920,
                    "height": 1080,
                    "frame_rate": 25.0,
                    "frame_count": frames,
                    "scan_type": "progressive",
                    "chroma_subsampling": "4:2:2",
                    "bit_depth": 10,
                    "colour_primaries": "BT.709",
                    "transfer_characteristics": "BT.709",
                    "matrix_coefficients": "BT.709",
                },
                "audio": {
                    "codec": "PCM",
                    "channels": 2,
                    "sample_rate": SAMPLE_RATE,
                    "bit_depth": 24,
                },
                "duration_s": dur,
                "start_timecode": tc,
                "reel": ARRI_REEL,
                # Where the reel name is found, so probe can read it the same way.
                "reel_source": "MediaInfo Other track (QuickTime TC) 'Title'; "
                "ffprobe tmcd stream tag 'reel_name'",
            }
        )
    return {
        "path": _rel(root, card),
        "device": "camera",
        "camera": dict(ARRI_CAMERA),
        "reel": ARRI_REEL,
        "files": files,
    }


# --- C: sound recorder card -------------------------------------------------------------------

SOUND_RECORDER = "Sound Devices 888"
SOUND_TAKES = [  # (file, channel names, start timecode, scene, take, seconds)
    ("12A_T03.WAV", ["BOOM", "LAV1", "LAV2", "MIX"], "14:23:10:00", "12A", 3, 5.0),
    ("12A_T03_LAV3.WAV", ["LAV3"], "14:23:10:00", "12A", 3, 5.0),
    ("WILDTRACK_01.WAV", ["ROOMTONE"], "14:31:00:00", "WILD", 1, 4.0),
]
# Target RMS of each track, dBFS: dialogue-ish pink noise and a quiet room tone. Not silence.
SOUND_RMS_DBFS = {"BOOM": -24.0, "LAV1": -26.0, "LAV2": -28.0, "MIX": -22.0, "LAV3": -27.0}
ROOM_TONE_RMS_DBFS = -52.0


def _track(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    level = SOUND_RMS_DBFS.get(name, ROOM_TONE_RMS_DBFS)
    x = pink_noise(n, rng)
    if name != "ROOMTONE":  # speech-like syllabic envelope (~4 Hz) plus a 220 Hz voice partial
        t = np.arange(n) / SAMPLE_RATE
        x = x * (0.55 + 0.45 * np.sin(2 * np.pi * 3.7 * t)) + 0.5 * np.sin(2 * np.pi * 220 * t)
    return x / np.sqrt(np.mean(x**2)) * 10 ** (level / 20)


def build_sound(root: Path) -> Record:
    """Card C: a Sound Devices-style SD card with BWF polyphonic and mono takes (bext chunk)."""
    card = root / "cards" / "C_SOUND"
    folder = card / "SD01" / "26Y11M22"
    folder.mkdir(parents=True)
    tmp = root / ".tmp"
    tmp.mkdir(exist_ok=True)
    files: list[Record] = []
    for i, (name, chans, tc, scene, take, dur) in enumerate(SOUND_TAKES):
        n = round(dur * SAMPLE_RATE)
        rng = np.random.default_rng(300 + i)
        data = np.stack([_track(c, n, rng) for c in chans], axis=1)
        raw = tmp / f"{name}.f32"
        write_raw_f32(raw, data)
        wav = folder / name
        time_ref = tc_to_frames(tc) * SAMPLE_RATE // FPS  # samples since midnight
        # Sound Devices puts iXML-like key=value lines into the bext Description.
        desc = f"sSCENE={scene}\r\nsTAKE={take:02d}\r\nsTAPE=SD01\r\nsSPEED=25.000ND\r\n" + "".join(
            f"sTRK{k + 1}={c}\r\n" for k, c in enumerate(chans)
        )
        bext = {
            "description": desc,
            "originator": SOUND_RECORDER,
            "originator_reference": f"USSDV888{5012345:07d}{i:06d}",
            "origination_date": SHOOT_DATE,
            "origination_time": tc[:8],
            "time_reference": str(time_ref),
        }
        meta = [a for k, v in bext.items() for a in ("-metadata", f"{k}={v}")]
        ffmpeg(
            [
                *raw_input(raw, len(chans)),
                "-c:a",
                "pcm_s24le",
                "-write_bext",
                "1",
                "-rf64",
                "never",
                "-flags:a",
                "+bitexact",
                "-fflags",
                "+bitexact",
                "-map_metadata",
                "-1",
                *meta,
                out(wav),
            ],
            what="writing sample BWF",
            path=wav,
        )
        raw.unlink()
        files.append(
            {
                "path": _rel(root, wav),
                "kind": "audio",
                "container": "Wave",
                "audio": {
                    "codec": "PCM",
                    "channels": len(chans),
                    "sample_rate": SAMPLE_RATE,
                    "bit_depth": 24,
                },
                "duration_s": dur,
                "start_timecode": tc,
                "bwf_originator": SOUND_RECORDER,
                "bwf_time_reference": time_ref,
                "bext": bext,
                "tracks": chans,
                "scene": scene,
                "take": take,
                "rms_dbfs": [rms_dbfs(data[:, k]) for k in range(len(chans))],
            }
        )
    return {
        "path": _rel(root, card),
        "device": "sound recorder",
        "recorder": SOUND_RECORDER,
        "files": files,
    }


# --- D: photo card ----------------------------------------------------------------------------

PHOTO_CAMERA = {"make": "Canon", "model": "Canon EOS 5D Mark IV"}
JPEG_SHOTS = [  # (file, lens, iso, shutter, f-number, focal mm, captured)
    ("IMG_0003.JPG", "EF24-70mm f/2.8L II USM", 100, (1, 250), (56, 10), 35, "14:31:05"),
    ("IMG_0004.JPG", "EF24-70mm f/2.8L II USM", 400, (1, 60), (28, 10), 70, "14:32:40"),
    ("IMG_0005.JPG", "EF85mm f/1.4L IS USM", 1600, (1, 125), (14, 10), 85, "14:35:12"),
]
# Star ratings given in camera (Canon writes them as xmp:Rating inside the JPEG): the picks.
IN_CAMERA_RATINGS = {"IMG_0003.JPG": 5, "IMG_0004.JPG": 2, "IMG_0005.JPG": 4}
SHARED_RAWS = [("RAW_CANON_D30_SRGB.CRW", "IMG_0001.CRW"), ("canon_eos_6d.dng", "IMG_0002.DNG")]
DNG_FILE = "IMG_0006.DNG"


def _photo_pixels(h: int, w: int, seed: int) -> np.ndarray:
    """An 8-bit BGR picture for OpenCV: the synthetic scene, gamma-encoded."""
    lin = dng.synthetic_scene(h, w, seed)
    return (np.clip(lin, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)[..., ::-1].copy()


def _frac(v: tuple[int, int]) -> str:
    return f"{v[0]}/{v[1]}"


def build_photo(root: Path, shared_raw: Path | None = SHARED_RAW) -> Record:
    """Card D: DCIM/100CANON with EXIF'd JPEGs, a DNG we write ourselves, and (when the shared
    folder is there) two real camera RAWs copied and renamed like camera files."""
    import cv2
    import pyexiv2

    card = root / "cards" / "D_PHOTO"
    folder = card / "DCIM" / "100CANON"
    folder.mkdir(parents=True)
    files: list[Record] = []
    raws_present: list[str] = []
    if shared_raw is not None and shared_raw.is_dir():
        for src_name, dst_name in SHARED_RAWS:
            src = shared_raw / src_name
            if src.is_file():
                dst = folder / dst_name
                shutil.copyfile(src, dst)
                files.append(
                    {
                        "path": _rel(root, dst),
                        "kind": "photo",
                        "container": dst.suffix.lstrip(".").upper(),
                        "source": f"shared/media/raw/{src_name}",
                        "photo": {"raw": True},
                    }
                )
                raws_present.append(dst_name)
    h, w = 1024, 1536
    for i, (name, lens, iso, shutter, fnum, focal, hhmmss) in enumerate(JPEG_SHOTS):
        ok, buf = cv2.imencode(".jpg", _photo_pixels(h, w, 400 + i), [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        captured = f"{SHOOT_DATE.replace('-', ':')} {hhmmss}"
        img = pyexiv2.ImageData(buf.tobytes())
        try:
            img.modify_exif(
                {
                    "Exif.Image.Make": PHOTO_CAMERA["make"],
                    "Exif.Image.Model": PHOTO_CAMERA["model"],
                    "Exif.Image.Orientation": "1",
                    "Exif.Image.DateTime": captured,
                    "Exif.Photo.DateTimeOriginal": captured,
                    "Exif.Photo.LensModel": lens,
                    "Exif.Photo.ISOSpeedRatings": str(iso),
                    "Exif.Photo.ExposureTime": _frac(shutter),
                    "Exif.Photo.FNumber": _frac(fnum),
                    "Exif.Photo.FocalLength": f"{focal}/1",
                    "Exif.Photo.PixelXDimension": str(w),
                    "Exif.Photo.PixelYDimension": str(h),
                    "Exif.Photo.BodySerialNumber": "025021001234",
                }
            )
            img.modify_xmp({"Xmp.xmp.Rating": str(IN_CAMERA_RATINGS[name])})
            data = img.get_bytes()
        finally:
            img.close()
        jpg = folder / name
        jpg.write_bytes(data)
        files.append(
            {
                "path": _rel(root, jpg),
                "kind": "photo",
                "container": "JPEG",
                "source": "generated",
                "photo": {
                    "make": PHOTO_CAMERA["make"],
                    "model": PHOTO_CAMERA["model"],
                    "lens": lens,
                    "iso": iso,
                    "shutter": _frac(shutter),
                    "aperture": fnum[0] / fnum[1],
                    "focal_length_mm": float(focal),
                    "captured": f"{SHOOT_DATE}T{hhmmss}",
                    "width": w,
                    "height": h,
                    "raw": False,
                },
                "in_camera_rating": IN_CAMERA_RATINGS[name],
            }
        )
    # Our own DNG: linear scene mosaicked to RGGB, 14-bit values in 16-bit words.
    exif = dng.DngExif(
        make="Rushline",
        model="Synthetic RGGB",
        lens="Rushline 50mm F2.8",
        iso=200,
        exposure=(1, 125),
        f_number=(28, 10),
        focal_length=(50, 1),
        captured=f"{SHOOT_DATE.replace('-', ':')} 14:40:02",
    )
    dh, dw = 512, 768
    cfa = dng.bayer_from_rgb(dng.synthetic_scene(dh, dw, 7), black=512, white=16383)
    dngp = folder / DNG_FILE
    dng.write_dng(dngp, cfa, exif, black=512, white=16383)
    raws_present.append(DNG_FILE)
    files.append(
        {
            "path": _rel(root, dngp),
            "kind": "photo",
            "container": "DNG",
            "source": "generated",
            "photo": {
                "make": exif.make,
                "model": exif.model,
                "lens": exif.lens,
                "iso": exif.iso,
                "shutter": _frac(exif.exposure),
                "aperture": exif.f_number[0] / exif.f_number[1],
                "focal_length_mm": exif.focal_length[0] / exif.focal_length[1],
                "captured": f"{SHOOT_DATE}T14:40:02",
                "width": dw,
                "height": dh,
                "raw": True,
            },
            "dng": {"version": "1.4.0.0", "cfa": "RGGB", "black_level": 512, "white_level": 16383},
        }
    )
    files.sort(key=lambda r: r["path"])
    return {
        "path": _rel(root, card),
        "device": "stills camera",
        "camera": dict(PHOTO_CAMERA),
        "raws_present": sorted(raws_present),
        "shared_raws_copied": bool(
            shared_raw is not None and any(r["source"].startswith("shared/") for r in files)
        ),
        "files": files,
    }


CARD_BUILDERS = {
    "A_XDCAM": build_xdcam,
    "B_A001": build_arri,
    "C_SOUND": build_sound,
    "D_PHOTO": build_photo,
}

__all__ = [
    "CARD_BUILDERS",
    "CREATION_TIME",
    "build_arri",
    "build_photo",
    "build_sound",
    "build_xdcam",
]
