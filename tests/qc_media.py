"""Small real media with known QC properties, made with ffmpeg for the QC tests.

Built once per machine into a cache folder named after this file's content (so a change here
rebuilds), under a lock so parallel workers share it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import tempfile
from pathlib import Path

from pipeline.tools import ffmpeg_exe, run

W, H, FPS = 640, 360, 25
SRC = f"s={W}x{H}:r={FPS}"
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "4", "-pix_fmt", "yuv420p"]
BT709 = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]


def moving(d: float) -> str:
    """A moving test picture like a camera's: testsrc2 rendered at 720p and scaled down, since
    testsrc2 drawn natively at 640x360 is aliased enough to fool ffmpeg's idet into seeing
    interlacing."""
    return f"testsrc2=s=1280x720:r={FPS}:d={d},scale={W}:{H}"


# The programme clip, second by second (13 s, 25 fps):
#  0.0- 2.0 moving picture          | tone -20 dBFS
#  2.0- 3.0 BLACK (mid-programme)   | 2.0-5.0 SILENCE (digital zero)
#  3.0- 5.0 dark night scene, luma 18-25 with grain: NOT black
#  5.0- 5.48 moving, then 5.44-8.0 FROZEN (held frame) | 5.0-7.0 room tone ≈ -55 dBFS: NOT silence
#  8.0-10.52 colour bars (a still card entered at a cut): NOT a freeze | 7.0-9.0 R = -L (PHASE)
#                                                       | 9.0-10.0 CLIPPED sine (both channels)
# 10.52-12.0 black/white STROBE, 2 frames each (6.25 flashes/s)       | 10.0-13.0 tone
# 12.0-12.48 fade to black, 12.48-13.0 BLACK at the tail
PROGRAMME = {
    "black_mid": (2.0, 3.0),
    "night": (3.0, 5.0),
    "freeze": (5.44, 8.0),
    "still": (8.0, 10.52),
    "strobe": (10.52, 12.0),
    "black_tail": (12.48, 13.0),
    "silence": (2.0, 5.0),
    "room_tone": (5.0, 7.0),
    "phase": (7.0, 9.0),
    "clipping": (9.0, 10.0),
    "duration": 13.0,
}

TONE = "0.1*sin(2*PI*440*t)"
CLIP = "clip(1.5*sin(2*PI*440*t)\\,-1\\,1)"


def _channel(sign: str, seed: int) -> str:
    room = f"0.003*(2*random({seed})-1)"
    return (
        f"if(lt(t\\,2)\\,{TONE}\\,if(lt(t\\,5)\\,0\\,if(lt(t\\,7)\\,{room}\\,"
        f"if(lt(t\\,9)\\,{sign}{TONE}\\,if(lt(t\\,10)\\,{CLIP}\\,{TONE})))))"
    )


def _ff(args: list[str], what: str) -> None:
    run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args], what=what)


def make_programme(dest: Path) -> None:
    night = "lutyuv=y=19+(val-16)*5/219:u=128:v=128,noise=c0s=3:c0f=t"
    strobe = "geq=lum='if(lt(mod(N\\,4)\\,2)\\,235\\,16)':cb=128:cr=128"
    graph = (
        f"{moving(2)},format=yuv420p[s0];"
        f"color=c=black:{SRC}:d=1,format=yuv420p[s1];"
        f"{moving(2)},format=yuv420p,{night}[s2];"
        f"{moving(0.48)},tpad=stop_mode=clone:stop_duration=2.52,format=yuv420p[s3];"
        f"smptehdbars={SRC}:d=2.52,format=yuv420p[s4];"
        f"color=c=black:{SRC}:d=1.48,format=yuv420p,{strobe}[s5];"
        f"{moving(1)},fade=t=out:st=0:d=0.48,format=yuv420p[s6];"
        "[s0][s1][s2][s3][s4][s5][s6]concat=n=7:v=1:a=0,setsar=1[v];"
        f"aevalsrc=exprs='{_channel('', 0)}|{_channel('-', 1)}':s=48000:d=13,"
        "aformat=channel_layouts=stereo[a]"
    )
    _ff(
        [
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-map",
            "[a]",
            *X264,
            *BT709,
            "-c:a",
            "pcm_s24le",
            str(dest),
        ],
        "making the QC test programme",
    )


def make_lineup(dest: Path) -> None:
    """A file with its line-up: 0-2 s bars and tone, 2-4 s a still slate in silence, 4-5 s
    black in silence, then 5-8 s programme (moving, tone)."""
    graph = (
        f"smptehdbars={SRC}:d=2,format=yuv420p[b];"
        f"color=c=0x404040:{SRC}:d=2,format=yuv420p,"
        "drawbox=x=100:y=100:w=200:h=80:color=white:t=fill[s];"
        f"color=c=black:{SRC}:d=1,format=yuv420p[k];"
        f"{moving(3)},format=yuv420p[p];"
        "[b][s][k][p]concat=n=4:v=1:a=0[v];"
        "aevalsrc=exprs='if(lt(t\\,2)+gte(t\\,5)\\,0.1*sin(2*PI*1000*t)\\,0)':s=48000:d=8,"
        "aformat=channel_layouts=stereo[a]"
    )
    _ff(
        [
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-map",
            "[a]",
            *X264,
            *BT709,
            "-c:a",
            "pcm_s24le",
            str(dest),
        ],
        "making the line-up clip",
    )


def make_red_flashes(dest: Path) -> None:
    """3 s: saturated red and black alternating every 3 frames (no luminance flash)."""
    red = (
        "geq=lum='if(lt(mod(N\\,6)\\,3)\\,63\\,16)':cb='if(lt(mod(N\\,6)\\,3)\\,102\\,128)'"
        ":cr='if(lt(mod(N\\,6)\\,3)\\,240\\,128)'"
    )
    _ff(
        [
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:{SRC}:d=3,format=yuv444p,{red}",
            *X264[:-2],
            "-pix_fmt",
            "yuv444p",
            *BT709,
            str(dest),
        ],
        "making the red flash clip",
    )


def make_illegal(dest: Path) -> None:
    """1 s legal moving picture, then 2 s with the top half an illegal colour (Y 200, Cr 250:
    R' ≈ 1.7) over legal grey, then 1 s legal again (a still at the head would be line-up)."""
    bad = "geq=lum='if(lt(Y\\,H/2)\\,200\\,120)':cb=128:cr='if(lt(Y\\,H/2)\\,250\\,128)'"
    graph = (
        f"{moving(1)},format=yuv444p[a];"
        f"color=c=black:{SRC}:d=2,format=yuv444p,{bad}[b];"
        f"{moving(1)},format=yuv444p[c];[a][b][c]concat=n=3:v=1:a=0[v]"
    )
    _ff(
        [
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            *X264[:-2],
            "-pix_fmt",
            "yuv444p",
            *BT709,
            str(dest),
        ],
        "making the out-of-gamut clip",
    )


def make_interlaced(dest: Path, *, declare: str) -> None:
    """2 s of 1080i25 with real field motion (50p source woven TFF), declared `declare`."""
    src = "testsrc2=s=1920x1080:r=50:d=2,format=yuv420p,tinterlace=mode=interleave_top"
    flags: list[str]
    if declare == "tff":
        flags = ["-flags", "+ildct+ilme", "-x264-params", "tff=1", "-field_order", "tt"]
        vf = f"{src},setfield=tff"
    elif declare == "bff":
        flags = ["-flags", "+ildct+ilme", "-x264-params", "bff=1", "-field_order", "bb"]
        vf = f"{src},setfield=bff"
    else:
        flags = ["-field_order", "progressive"]
        vf = f"{src},setfield=prog"
    _ff(
        [
            "-f",
            "lavfi",
            "-i",
            vf,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "18",
            *flags,
            *BT709,
            str(dest),
        ],
        "making the interlaced clip",
    )


def make_video_only(dest: Path) -> None:
    _ff(["-f", "lavfi", "-i", moving(2), *X264, *BT709, str(dest)], "video only")


def make_vfr(dest: Path) -> None:
    """2 s at 25 fps then 2 s at 10 fps in one stream (MediaInfo reports VFR)."""
    graph = (
        f"{moving(2)}[a];testsrc2=s=1280x720:r=10:d=2,scale={W}:{H}[b];[a][b]concat=n=2:v=1:a=0[v];"
        "sine=f=440:r=48000:d=4[s]"
    )
    _ff(
        [
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-map",
            "[s]",
            "-fps_mode",
            "vfr",
            *X264,
            *BT709,
            "-c:a",
            "aac",
            str(dest),
        ],
        "making the VFR clip",
    )


def make_wav(dest: Path, expr: str, seconds: float = 6.0, channels: int = 2) -> None:
    exprs = "|".join([expr] * channels)
    _ff(
        [
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc=exprs='{exprs}':s=48000:d={seconds}",
            "-c:a",
            "pcm_s24le",
            str(dest),
        ],
        "making a WAV",
    )


def make_zero_channel_wav(dest: Path) -> None:
    """A WAV whose header declares 0 channels (a broken recorder or export)."""
    data = b"\0" * 4800
    fmt = struct.pack("<HHIIHH", 1, 0, 48000, 0, 0, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    dest.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def make_truncated(dest: Path) -> None:
    """An MXF cut at 40 % of its length (an interrupted copy)."""
    full = dest.with_name("full_" + dest.name)
    _ff(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2={SRC}:d=6",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=48000:d=6",
            "-c:v",
            "mpeg2video",
            "-q:v",
            "2",
            "-pix_fmt",
            "yuv422p",
            "-c:a",
            "pcm_s24le",
            str(full),
        ],
        "making the MXF to truncate",
    )
    data = full.read_bytes()
    dest.write_bytes(data[: int(len(data) * 0.4)])
    full.unlink()


BUILDERS = {
    "programme.mov": make_programme,
    "red_flashes.mov": make_red_flashes,
    "lineup.mov": make_lineup,
    "illegal.mov": make_illegal,
    "interlaced_tff.mp4": lambda d: make_interlaced(d, declare="tff"),
    "interlaced_declared_bff.mp4": lambda d: make_interlaced(d, declare="bff"),
    "interlaced_declared_prog.mp4": lambda d: make_interlaced(d, declare="progressive"),
    "video_only.mov": make_video_only,
    "vfr.mp4": make_vfr,
    "room_tone.wav": lambda d: make_wav(d, "0.003*(2*random(0)-1)"),
    "zero_channels.wav": make_zero_channel_wav,
    "truncated.mxf": make_truncated,
}


def build_all() -> dict[str, Path]:
    """Every clip above, made once per machine (cache keyed on this file's content)."""
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"rushline-qc-media-{digest}"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for name, build in BUILDERS.items():
                dest = root / name
                if not dest.exists():
                    tmp = root / f"tmp_{os.getpid()}_{name}"
                    build(tmp)
                    tmp.rename(dest)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {name: root / name for name in BUILDERS}
