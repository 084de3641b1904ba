"""The programme master (built to exercise QC) and a short web master.

PROGRAMME_MASTER.mxf — 60 s, 1080i25 TFF, MPEG-2 4:2:2@High long GOP (M=3, N=12) in MXF OP1a
(XDCAM HD422 layout), 8 mono PCM 24-bit 48 kHz tracks. As in a PAD, the programme's first frame
is at 10:00:00:00 and the line-up comes before it: the file starts at 09:59:47:00.

Timeline (seconds from the first frame; timecode = 09:59:47:00 + t):

| t (s)   | picture                                   | ch1-2 (stereo mix)           |
|---------|-------------------------------------------|------------------------------|
| 0-10    | SMPTE HD bars (smptehdbars)               | 1 kHz sine, −18 dBFS (EBU)   |
| 10-12   | slate (text card)                         | digital silence              |
| 12-13   | black                                     | digital silence              |
| 13-22   | scene A, moving (testsrc2)                | programme                    |
| 22-28   | NIGHT scene: dark, textured, lit windows  | programme to 24, then        |
|         | (mean luma ≈ 20-30 of 255, moving, noisy) | ROOM TONE 24-28 (−55 dBFS)   |
| 28-32   | STILL CARD (static graphic, intended)     | programme                    |
| 32-35   | scene B, moving (testsrc)                 | programme                    |
| 35-38   | FREEZE: last frame of 34.96 held (fault)  | programme                    |
| 38-42   | scene B continues (its clock kept running)| programme                    |
| 42-43   | BLACK mid-programme (fault)               | programme                    |
| 43-52   | scene C, moving (testsrc2)                | programme, SILENCE 46-49     |
| 52-55   | fade to black                             | programme fading out         |
| 55-60   | black                                     | digital silence              |

ch3-4 carry an M&E-like bed (no tone, same room tone / dropout / fade), ch5-8 are digitally
silent from start to end. Programme loudness on ch1-2 is set to −20 LUFS (so EBU R128 /
French PAD, −23 ±1 LUFS, fails by design) and measured back from the encoded file.

PROMO_MASTER.mxf — the clean master editorial hands over for delivery: 16 s of programme only
(no line-up: `rushline deliver` adds the profile's head), same XDCAM HD422 shape with 4 tracks
(1-2 stereo mix, 3-4 M&E), start timecode 10:00:00:00, mixed at −20 LUFS so delivery must
bring it to the target. Nothing in it is a fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sample_media._ff import (
    BITEXACT_OUT,
    BT709_FRAMES,
    BT709_OUT,
    BT709_TAGS,
    FPS,
    SAMPLE_RATE,
    ffmpeg,
    measure_loudness,
    out,
    pink_noise,
    raw_input,
    write_raw_f32,
)

Record = dict[str, Any]

DURATION_S = 60.0
START_TC = "09:59:47:00"  # programme (t = 13 s) at 10:00:00:00, line-up before it
PROGRAMME = (13.0, 55.0)
PROGRAMME_TARGET_LUFS = -20.0
TONE_DBFS = -18.0
ROOM_TONE_RMS_DBFS = -55.0
WEB_TARGET_LUFS = -16.0

# Named intervals (start, end) in seconds; the expected-results file is built from these.
INTERVALS: dict[str, tuple[float, float]] = {
    "bars": (0.0, 10.0),
    "slate": (10.0, 12.0),
    "head_black": (12.0, 13.0),
    "scene_a": (13.0, 22.0),
    "night_scene": (22.0, 28.0),
    "still_card": (28.0, 32.0),
    "freeze": (35.0, 38.0),
    "mid_black": (42.0, 43.0),
    "fade_to_black": (52.0, 55.0),
    "tail_black": (55.0, 60.0),
    "line_up_tone": (0.0, 10.0),
    "head_silence": (10.0, 13.0),
    "room_tone": (24.0, 28.0),
    "silence": (46.0, 49.0),
    "tail_silence": (55.0, 60.0),
}

W, H = 1920, 1080
SIZE = f"s={W}x{H}:r={FPS}"


# --- pictures ---------------------------------------------------------------------------------


def _card_png(path: Path, lines: list[tuple[str, float]], bg: tuple[int, int, int]) -> None:
    """Render a text card with OpenCV's built-in Hershey font (deterministic, no font files)."""
    import cv2

    img = np.empty((H, W, 3), np.uint8)
    img[:] = bg
    cv2.rectangle(img, (60, 60), (W - 60, H - 60), (200, 200, 200), 4)
    y = 220
    for text, scale in lines:
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 3)
        cv2.putText(
            img,
            text,
            ((W - tw) // 2, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (235, 235, 235),
            3,
            cv2.LINE_AA,
        )
        y += th + 60
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())


def _video_graph() -> str:
    """The filter graph: one lavfi chain per timeline segment, concatenated, fields set TFF.

    Inputs 0 and 1 are the slate and still-card PNGs (looped images)."""
    # RGB sources are converted with the BT.709 matrix here, once; the night scene is designed
    # directly in YUV and must not be converted again.
    still = "scale=out_color_matrix=bt709:out_range=tv,format=yuv422p,setsar=1"
    # Night: testsrc2 squeezed into luma 16..~27 with temporal grain, plus lit windows (~6 % of
    # the picture) as in a real night exterior: dark, textured, moving, but not black.
    windows = ",".join(
        f"drawbox=x={x}:y={y}:w=160:h=100:color=0xA09070:t=fill"
        for x, y in [
            (180, 200),
            (420, 210),
            (1500, 180),
            (1660, 330),
            (300, 700),
            (880, 640),
            (1240, 760),
            (1560, 820),
        ]
    )
    night = (
        f"testsrc2={SIZE}:d=6,scale=out_color_matrix=bt709:out_range=tv,format=yuv422p,"
        "lutyuv=y='16+(val-16)*0.06':u='128+(val-128)*0.03':v='128+(val-128)*0.03',"
        f"noise=c0s=5:c0f=t+u:c0_seed=4242,{windows}"
    )
    parts = [
        f"smptehdbars={SIZE}:d=10,{still}[s0]",
        f"[0:v]{still}[s1]",
        f"color=c=black:{SIZE}:d=1,{still}[s2]",
        f"testsrc2={SIZE}:d=9,{still}[s3]",
        f"{night},setsar=1[s4]",
        f"[1:v]{still}[s5]",
        # Scene B: frames 0-74, then frame 74 held 3 s (the fault), then frames 150-249 —
        # the source clock kept running under the freeze, as with a real playout glitch.
        f"testsrc={SIZE}:d=3,tpad=stop_mode=clone:stop_duration=3,{still}[s6]",
        f"testsrc={SIZE}:d=10,trim=start_frame=150,setpts=PTS-STARTPTS,{still}[s7]",
        f"color=c=black:{SIZE}:d=1,{still}[s8]",
        f"testsrc2={SIZE}:d=12,fade=t=out:st=9:d=3,{still}[s9]",
        f"color=c=black:{SIZE}:d=5,{still}[s10]",
    ]
    cat = "".join(f"[s{i}]" for i in range(len(parts)))
    parts.append(f"{cat}concat=n={len(parts)}:v=1:a=0,setfield=tff,{BT709_TAGS}[v]")
    return ";".join(parts)


# --- sound ------------------------------------------------------------------------------------


def _programme_sound(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unit-level programme: (stereo dialogue+music mix, stereo M&E bed), each n x 2."""
    t = np.arange(n) / SAMPLE_RATE
    # Dialogue: pink noise with a ~4 Hz syllabic envelope and short pauses every ~2.3 s.
    syll = 0.5 + 0.5 * np.sin(2 * np.pi * 3.7 * t)
    pauses = (np.sin(2 * np.pi * t / 2.3) > -0.7).astype(float)
    dialogue = pink_noise(n, rng) * syll * pauses
    # Music: a slow chord (A3, E4, A4) with a breathing envelope; slightly wider on the right.
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.15 * t)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 329.63, 440.0)) / 3 * env
    chord_r = sum(np.sin(2 * np.pi * f * t + 0.3) for f in (220.0, 329.63, 440.0)) / 3 * env
    effects = pink_noise(n, rng)
    mix = np.stack([dialogue + 0.35 * chord, 0.95 * dialogue + 0.35 * chord_r], axis=1)
    me = np.stack([0.4 * effects + 0.35 * chord, 0.4 * pink_noise(n, rng) + 0.35 * chord_r], 1)
    return mix, me


def _idx(t: float) -> int:
    return round(t * SAMPLE_RATE)


def _shape(x: np.ndarray, t0: float) -> np.ndarray:
    """Cut the programme holes (room-tone slot, dropout) and fade the end; x starts at t0."""
    x = x.copy()
    for a, b in (INTERVALS["room_tone"], INTERVALS["silence"]):
        x[_idx(a - t0) : _idx(b - t0)] = 0.0
    fa, fb = INTERVALS["fade_to_black"]
    ramp = np.linspace(1.0, 0.0, _idx(fb - t0) - _idx(fa - t0))
    x[_idx(fa - t0) : _idx(fb - t0)] *= ramp[:, None]
    return x


def _calibrate(stereo: np.ndarray, target: float, tmp: Path) -> tuple[float, float]:
    """Gain that brings `stereo` to `target` LUFS, measured with ffmpeg's ebur128 (the same meter
    QC uses). Loudness scales 1:1 with gain (gates are relative), so one pass is exact."""
    raw = tmp / "calibrate.f32"
    write_raw_f32(raw, stereo)
    meas = measure_loudness(raw_input(raw, 2), "[0:a]", path=raw)
    raw.unlink()
    return 10 ** ((target - meas.integrated_lufs) / 20), meas.integrated_lufs


def programme_audio(tmp: Path) -> tuple[list[np.ndarray], Record]:
    """The 8 mono tracks of the master (float32) and the numbers they were built to."""
    n = _idx(DURATION_S)
    rng = np.random.default_rng(20261122)
    p0, p1 = PROGRAMME
    mix, me = _programme_sound(_idx(p1 - p0), rng)
    mix, me = _shape(mix, p0), _shape(me, p0)
    gain, unit_lufs = _calibrate(mix, PROGRAMME_TARGET_LUFS, tmp)
    tracks = np.zeros((n, 4))
    tracks[_idx(p0) : _idx(p1), 0:2] = mix * gain
    tracks[_idx(p0) : _idx(p1), 2:4] = me * gain * 0.5  # M&E sits ~6 dB under the mix
    # Line-up: EBU 1 kHz at −18 dBFS (peak) on the mix pair.
    a, b = INTERVALS["line_up_tone"]
    t = np.arange(_idx(b) - _idx(a)) / SAMPLE_RATE
    tone = 10 ** (TONE_DBFS / 20) * np.sin(2 * np.pi * 1000 * t)
    tracks[_idx(a) : _idx(b), 0] = tone
    tracks[_idx(a) : _idx(b), 1] = tone
    # Room tone: low, steady, broadband (pink) noise — quiet but never digital silence.
    a, b = INTERVALS["room_tone"]
    rt = pink_noise((_idx(b) - _idx(a)) * 4, rng).reshape(-1, 4) * 10 ** (ROOM_TONE_RMS_DBFS / 20)
    tracks[_idx(a) : _idx(b), :] = rt
    silent = np.zeros(n)
    mono = [tracks[:, k] for k in range(4)] + [silent] * 4
    return mono, {"calibration_gain_db": round(20 * np.log10(gain), 3), "unit_lufs": unit_lufs}


# --- encoding ---------------------------------------------------------------------------------

# XDCAM HD422 shape: MPEG-2 4:2:2@High, long GOP N=12 M=3, closed (strict_gop keeps N at 12
# once GOPs are closed), 50 Mb/s maximum with the
# 17.8 Mbit VBV buffer of the format. We cap quality with qmin so the sample stays ~50 MB
# (+69 MB of PCM)
# instead of 375 MB at a stuffed 50 Mb/s CBR; header, profile, GOP and fields are the real thing.
MPEG2_XDCAM = [
    "-c:v", "mpeg2video", "-pix_fmt", "yuv422p", "-profile:v", "0", "-level:v", "2",
    "-b:v", "50M", "-maxrate", "50M", "-bufsize", "17825792", "-qmin", "20",
    "-g", "12", "-bf", "2", "-flags:v", "+ildct+cgop+bitexact", "-mpv_flags", "+strict_gop",
    "-dc", "10",
    "-intra_vlc", "1", "-sc_threshold", "1000000000",
    "-threads", "2",
]  # fmt: skip


def build_programme_master(root: Path, tmp: Path) -> Record:
    """Write masters/PROGRAMME_MASTER.mxf and return its record (properties + design numbers)."""
    masters = root / "masters"
    masters.mkdir(parents=True, exist_ok=True)
    slate, card = tmp / "slate.png", tmp / "still_card.png"
    _card_png(
        slate,
        [
            ("RUSHLINE SAMPLE PROGRAMME", 2.4),
            ("PROD RL-0001   EPISODE 01   VERSION: MASTER", 1.4),
            ("TC IN 10:00:00:00   DUR 00:00:42:00", 1.4),
            ("1080i25 TFF   XDCAM HD422   MXF OP1a", 1.4),
            ("CH1-2 STEREO MIX   CH3-4 M&E   CH5-8 MOS", 1.4),
        ],
        (40, 40, 40),
    )
    _card_png(card, [("", 1.0), ("PART TWO", 4.0), ("THE NIGHT SHIFT", 2.0)], (90, 40, 20))
    mono, design = programme_audio(tmp)
    raws = []
    for k, trk in enumerate(mono[:5]):  # tracks 5-8 share one silent file
        p = tmp / f"ch{k + 1}.f32"
        write_raw_f32(p, trk)
        raws.append(p)
    mxf = masters / "PROGRAMME_MASTER.mxf"
    inputs = [
        *("-loop", "1", "-framerate", str(FPS), "-t", "2", "-i", out(slate)),
        *("-loop", "1", "-framerate", str(FPS), "-t", "4", "-i", out(card)),
    ]
    for p in raws:
        inputs += raw_input(p, 1)
    audio_maps = [a for i in (2, 3, 4, 5, 6, 6, 6, 6) for a in ("-map", f"{i}:a")]
    ffmpeg(
        [
            *inputs,
            "-filter_complex",
            _video_graph(),
            "-map",
            "[v]",
            *audio_maps,
            *MPEG2_XDCAM,
            *BT709_OUT,
            "-c:a",
            "pcm_s24le",
            "-flags:a",
            "+bitexact",
            "-t",
            str(DURATION_S),
            "-timecode",
            START_TC,
            *BITEXACT_OUT,
            "-f",
            "mxf",
            out(mxf),
        ],
        what="encoding the programme master",
        path=mxf,
    )
    for p in raws:
        p.unlink()
    ch12 = ["-vn", "-i", out(mxf)]
    whole = measure_loudness(ch12, "[0:a:0][0:a:1]amerge=inputs=2,", path=mxf)
    p0, p1 = PROGRAMME
    prog = measure_loudness(ch12, f"[0:a:0][0:a:1]amerge=inputs=2,atrim={p0}:{p1},", path=mxf)
    loudness = {
        "channels": [1, 2],
        "meter": "ffmpeg ebur128=peak=true (ch1+ch2 merged as stereo)",
        "programme_window_s": list(PROGRAMME),
        "programme_target_lufs": PROGRAMME_TARGET_LUFS,
        "programme_integrated_lufs": prog.integrated_lufs,
        "programme_lra_lu": prog.lra_lu,
        "programme_true_peak_dbtp": prog.true_peak_dbtp,
        "file_integrated_lufs": whole.integrated_lufs,
        "file_lra_lu": whole.lra_lu,
        "file_true_peak_dbtp": whole.true_peak_dbtp,
        **design,
    }
    properties = {
        "kind": "video",
        "container": "MXF",
        "container_profile": "OP-1a",
        "duration_s": DURATION_S,
        "start_timecode": START_TC,
        "video": {
            "codec": "MPEG Video",
            "codec_profile": "4:2:2@High",
            "width": W,
            "height": H,
            "frame_rate": 25.0,
            "frame_count": int(DURATION_S * FPS),
            "scan_type": "interlaced",
            "field_order": "tff",
            "chroma_subsampling": "4:2:2",
            "bit_depth": 8,
            "gop": {"N": 12, "M": 3},
            "bitrate_bps": 50_000_000,  # MediaInfo reads the nominal rate from the header
            "bitrate_mode": "VBR",
            "colour_primaries": "BT.709",
        },
        "audio": [
            {"codec": "PCM", "channels": 1, "sample_rate": SAMPLE_RATE, "bit_depth": 24}
            for _ in range(8)
        ],
        "audio_tracks": 8,
        "audio_channels": 8,
    }
    return {
        "path": mxf.relative_to(root).as_posix(),
        "properties": properties,
        "loudness": loudness,
        "expected_json": "masters/PROGRAMME_MASTER.expected.json",
    }


def expected_results(record: Record) -> Record:
    """What QC of PROGRAMME_MASTER against French PAD (France TV/CST RT017-like) must report."""
    iv = {k: {"start_s": a, "end_s": b} for k, (a, b) in INTERVALS.items()}
    ld = record["loudness"]
    return {
        "file": record["path"],
        "profile": "french_pad",
        "timecode_origin": START_TC,
        "intervals": iv,
        "loudness": ld,
        "night_scene": {
            "design": "testsrc2 luma scaled to 16..27 (x0.06) + temporal grain (±12) + 8 lit "
            "windows 160x100 (~6 % of the picture, luma ~140)",
            "mean_luma_8bit_range": [18, 32],
            "min_bright_pixel_ratio": 0.03,  # > 2 % above the black threshold: not black
        },
        "should_fire": [
            {"check": "loudness.integrated", "severity": "error", "why": "−20 LUFS vs −23 ±1"},
            {
                "check": "black",
                "interval": "mid_black",
                "start_s": 42.0,
                "end_s": 43.0,
                "why": "1 s black in the middle of the programme",
            },
            {
                "check": "freeze",
                "interval": "freeze",
                "start_s": 34.96,
                "end_s": 38.0,
                "severity": "warning",
                "why": "moving picture held for 3 s",
            },
            {
                "check": "silence",
                "interval": "silence",
                "start_s": 46.0,
                "end_s": 49.0,
                "channels": [1, 2, 3, 4],
                "why": "3 s digital silence inside the programme",
            },
            {
                "check": "silent_channels",
                "channels": [5, 6, 7, 8],
                "why": "tracks 5-8 are digital silence for the whole file",
            },
        ],
        "must_not_fire": [
            {
                "check": "black",
                "interval": "night_scene",
                "start_s": 22.0,
                "end_s": 28.0,
                "why": "dark but textured and lit: not black",
            },
            {
                "check": "silence",
                "interval": "room_tone",
                "start_s": 24.0,
                "end_s": 28.0,
                "why": f"room tone at {ROOM_TONE_RMS_DBFS} dBFS RMS is sound, not silence",
            },
            {
                "check": "freeze",
                "severity": "error",
                "interval": "still_card",
                "why": "the still card is intended: at most a warning/info, never an error",
            },
            {
                "check": "any",
                "interval": "bars",
                "why": "bars and tone at the head are the expected line-up",
            },
        ],
        "may_fire": [
            {
                "check": "freeze",
                "interval": "still_card",
                "start_s": 28.0,
                "end_s": 32.0,
                "severity": "warning or info",
            },
            {
                "check": "black/silence/freeze",
                "interval": "head (10-13) and tail (52-60)",
                "why": "slate, head black and fade-out/tail: allowed by the profile's head/tail "
                "allowances, otherwise info",
            },
            {
                "check": "format.video.bitrate / format.bitrate_mode",
                "why": "MediaInfo reports the 50 Mb/s header rate, but the VBR stream averages "
                "~13 Mb/s overall (quality capped to keep the sample small, where a real XDCAM "
                "HD422 master is 50 Mb/s constant)",
            },
            {
                "check": "levels",
                "interval": "bars",
                "why": "SMPTE HD bars carry sub-black and super-white PLUGE/ramp by design",
            },
        ],
    }


PROMO_DURATION_S = 16.0
PROMO_START_TC = "10:00:00:00"


def _promo_audio(tmp: Path) -> list[Path]:
    """Four mono float tracks of the promo: stereo mix at −20 LUFS, M&E ~6 dB under it."""
    rng = np.random.default_rng(20261130)
    n = _idx(PROMO_DURATION_S)
    mix, me = _programme_sound(n, rng)
    fade = np.minimum(1.0, np.minimum(np.arange(n), n - 1 - np.arange(n)) / _idx(0.5))
    mix, me = mix * fade[:, None], me * fade[:, None]
    gain, _ = _calibrate(mix, PROGRAMME_TARGET_LUFS, tmp)
    paths = []
    for k, trk in enumerate([mix[:, 0], mix[:, 1], me[:, 0] * 0.5, me[:, 1] * 0.5]):
        p = tmp / f"promo{k + 1}.f32"
        write_raw_f32(p, trk * gain)
        paths.append(p)
    return paths


def build_promo_master(root: Path, tmp: Path) -> Record:
    """masters/PROMO_MASTER.mxf: a clean programme to deliver (no line-up, no faults)."""
    raws = _promo_audio(tmp)
    mxf = root / "masters" / "PROMO_MASTER.mxf"
    mxf.parent.mkdir(parents=True, exist_ok=True)
    still = "scale=out_color_matrix=bt709:out_range=tv,format=yuv422p,setsar=1"
    graph = (
        f"testsrc2={SIZE}:d=8,{still}[a];testsrc={SIZE}:d=8,{still}[b];"
        f"[a][b]concat=n=2:v=1:a=0,setfield=tff,{BT709_TAGS}[v]"
    )
    inputs = [a for p in raws for a in raw_input(p, 1)]
    ffmpeg(
        [
            *inputs,
            "-filter_complex", graph, "-map", "[v]",
            *(a for i in range(4) for a in ("-map", f"{i}:a")),
            *MPEG2_XDCAM, *BT709_OUT,
            "-c:a", "pcm_s24le", "-flags:a", "+bitexact",
            "-t", str(PROMO_DURATION_S), "-timecode", PROMO_START_TC,
            *BITEXACT_OUT, "-f", "mxf", out(mxf),
        ],
        what="encoding the promo master",
        path=mxf,
    )  # fmt: skip
    for p in raws:
        p.unlink()
    meas = measure_loudness(["-vn", "-i", out(mxf)], "[0:a:0][0:a:1]amerge=inputs=2,", path=mxf)
    video = {
        "codec": "MPEG Video",
        "codec_profile": "4:2:2@High",
        "width": W,
        "height": H,
        "frame_rate": 25.0,
        "scan_type": "interlaced",
        "field_order": "tff",
    }
    return {
        "path": mxf.relative_to(root).as_posix(),
        "properties": {
            "kind": "video",
            "container": "MXF",
            "duration_s": PROMO_DURATION_S,
            "start_timecode": PROMO_START_TC,
            "video": video,
            "audio": [
                {"codec": "PCM", "channels": 1, "sample_rate": SAMPLE_RATE, "bit_depth": 24}
                for _ in range(4)
            ],
            "audio_tracks": 4,
        },
        "loudness": {
            "channels": [1, 2],
            "target_lufs": PROGRAMME_TARGET_LUFS,
            "integrated_lufs": meas.integrated_lufs,
            "true_peak_dbtp": meas.true_peak_dbtp,
        },
    }


def build_web_master(root: Path, tmp: Path) -> Record:
    """masters/WEB_MASTER.mp4: 10 s H.264 High 1080p25 + AAC stereo at about −16 LUFS."""
    dur = 10.0
    rng = np.random.default_rng(16)
    mix, _ = _programme_sound(_idx(dur), rng)
    gain, _ = _calibrate(mix, WEB_TARGET_LUFS, tmp)
    raw = tmp / "web.f32"
    write_raw_f32(raw, mix * gain)
    mp4 = root / "masters" / "WEB_MASTER.mp4"
    mp4.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(
        [
            "-f", "lavfi", "-i", f"testsrc2={SIZE}:d={dur},{BT709_FRAMES}",
            *raw_input(raw, 2),
            "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-profile:v", "high", "-level:v", "4.1", "-preset", "superfast",
            "-crf", "30", "-g", "50", "-pix_fmt", "yuv420p", "-threads", "2", *BT709_OUT,
            "-c:a", "aac", "-b:a", "192k",
            "-movflags", "+faststart",
            "-flags:v", "+bitexact", "-flags:a", "+bitexact",
            *BITEXACT_OUT,
            out(mp4),
        ],
        what="encoding the web master",
        path=mp4,
    )  # fmt: skip
    raw.unlink()
    meas = measure_loudness(["-vn", "-i", out(mp4)], "[0:a:0]", path=mp4)
    return {
        "path": mp4.relative_to(root).as_posix(),
        "properties": {
            "kind": "video",
            "container": "MPEG-4",
            "duration_s": dur,
            "video": {
                "codec": "AVC",
                "codec_profile": "High@L4.1",
                "width": W,
                "height": H,
                "frame_rate": 25.0,
                "scan_type": "progressive",
                "chroma_subsampling": "4:2:0",
            },
            "audio": [{"codec": "AAC", "channels": 2, "sample_rate": SAMPLE_RATE}],
        },
        "loudness": {
            "target_lufs": WEB_TARGET_LUFS,
            "integrated_lufs": meas.integrated_lufs,
            "lra_lu": meas.lra_lu,
            "true_peak_dbtp": meas.true_peak_dbtp,
        },
    }
