"""QC a file against a profile: one decode pass, then every check the profile turns on.

A QC failure is a finding; only what stops us from measuring (unreadable, truncated, no audio
for a loudness profile, variable frame rate...) becomes an error result (verdict "error",
exit 2), and a batch always goes on with the next file.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import exitcodes
from pipeline.errors import MediaError, RushlineError
from pipeline.profiles import Profile
from pipeline.qc.decode import DecodeStats, StreamLayout, decode_pass, probe_layout
from pipeline.qc.findings import Finding, QCResult, Severity, Verdict, verdict_of
from pipeline.qc.lineup import LineupAnalysis, check_lineup, head_by_timecode
from pipeline.qc.registry import Measured, checks_for
from pipeline.tools import tool_versions

if TYPE_CHECKING:
    from pipeline.qc.picture import PictureAnalysis
    from pipeline.qc.sound import SoundAnalysis

log = logging.getLogger("rushline.qc")

TRUNCATION_TOLERANCE = 0.97  # decoded less than this share of the declared duration: truncated


def exit_code_for(results: Iterable[QCResult]) -> int:
    """OK all pass (or warn), FAILED any fail, ERROR any file could not be measured."""
    verdicts = {r.verdict for r in results}
    if Verdict.ERROR in verdicts:
        return exitcodes.ERROR
    if Verdict.FAIL in verdicts:
        return exitcodes.FAILED
    return exitcodes.OK


def qc_file(
    path: str | os.PathLike[str],
    profile: Profile,
    *,
    thumbnails_dir: str | os.PathLike[str] | None = None,
    tools: dict[str, str | None] | None = None,
) -> QCResult:
    """QC one file against `profile`. Never raises for a bad file: see QCResult.error.

    With `thumbnails_dir`, a JPEG is written there for each picture finding and the finding's
    `thumbnail` is `<dir name>/<file>`: relative to the folder that holds `thumbnails_dir`,
    where the HTML report goes.
    """
    p = Path(path)
    tools = tools if tools is not None else tool_versions()
    return guarded(
        p, profile.name, tools, lambda: _qc(p, profile, thumbnails_dir=thumbnails_dir, tools=tools)
    )


def guarded(
    p: Path, profile: str, tools: dict[str, str | None], work: Callable[[], QCResult]
) -> QCResult:
    """Run one file's QC; what stops the measuring becomes an error result, never a raise."""
    started = time.monotonic()
    try:
        result = work()
    except RushlineError as exc:
        log.info("%s: could not measure: %s", p, exc)
        result = QCResult(
            file=str(p),
            profile=profile,
            verdict=Verdict.ERROR,
            error=str(exc),
            tools=tools,
        )
    except Exception as exc:  # a bug must not stop the batch; the log keeps the traceback
        log.exception("internal error while checking %s", p)
        result = QCResult(
            file=str(p),
            profile=profile,
            verdict=Verdict.ERROR,
            error=f"{p}: internal error while checking ({type(exc).__name__}: {exc}); "
            "please report it with the --debug log",
            tools=tools,
        )
    result.elapsed_s = round(time.monotonic() - started, 3)
    return result


def qc_files(
    paths: Iterable[str | os.PathLike[str]],
    profile: Profile,
    *,
    thumbnails_root: str | os.PathLike[str] | None = None,
) -> list[QCResult]:
    """QC several files one after the other (each decode already uses every core)."""
    from pipeline.report.qc import unique_report_names

    files = list(paths)
    tools = tool_versions()
    out = []
    for path, name in zip(files, unique_report_names(files), strict=True):
        thumbs = None
        if thumbnails_root is not None:
            thumbs = Path(thumbnails_root) / f"{name}_thumbs"
        out.append(qc_file(path, profile, thumbnails_dir=thumbs, tools=tools))
    return out


def _probe_asset(p: Path) -> Any:
    try:
        from pipeline.probe import probe_file
    except ImportError:  # probe is optional for the picture/sound checks
        return None
    return probe_file(p)


def _qc(
    p: Path,
    profile: Profile,
    *,
    thumbnails_dir: str | os.PathLike[str] | None,
    tools: dict[str, str | None],
) -> QCResult:
    layout, asset, fps, head, la = prepare(p, profile)
    stats, picture, sound = _decode(p, profile, layout, fps, la)
    m = Measured(layout=layout, decode=stats, picture=picture, sound=sound, asset=asset)
    return judge(p, profile, m, head, la, thumbnails_dir=thumbnails_dir, tools=tools)


def prepare(
    p: Path, profile: Profile
) -> tuple[StreamLayout, Any, float | None, float, LineupAnalysis | None]:
    """Before decoding: the layout, the probed asset and frame rate (refusing what cannot be
    measured), the programme start by timecode and the line-up analysis before it."""
    layout, asset, fps = _preflight(p, profile)
    head = head_by_timecode(getattr(asset, "start_timecode", None), profile.programme, fps)
    return layout, asset, fps, head, _lineup_analysis(layout, head, fps)


def judge(
    p: Path,
    profile: Profile,
    m: Measured,
    head: float,
    la: LineupAnalysis | None,
    *,
    thumbnails_dir: str | os.PathLike[str] | None,
    tools: dict[str, str | None],
) -> QCResult:
    """Findings from what a pass measured (one pass, or split QC's merged segments)."""
    layout, picture, sound = m.layout, m.picture, m.sound
    decoded = _check_decoded(p, profile, layout, picture, sound)
    if not math.isnan(head):
        m.lineup_head_s = round(head, 6)
        m.lineup_s = round(min(max(head, 0.0), decoded), 6)
    _place_programme(m, decoded)
    findings = _findings(m, profile)
    if profile.programme is not None:
        findings.extend(check_lineup(m, profile, la))
    m.measurements["decode"] = _decode_measurements(m, decoded)
    _thumbnails(findings, picture, thumbnails_dir, p)
    return QCResult(
        file=str(p),
        profile=profile.name,
        verdict=verdict_of(findings),
        duration_s=round(decoded, 3),
        measurements=m.measurements,
        findings=findings,
        tools=tools,
    )


def _lineup_analysis(layout: StreamLayout, head: float, fps: float | None) -> LineupAnalysis | None:
    """A line-up analysis for the frames and audio before the programme start by timecode."""
    if math.isnan(head) or head <= 0:
        return None
    rate = next((a.sample_rate for a in layout.audio if a.sample_rate), None) or 48000
    has_picture = layout.has_video and not layout.video_is_still
    frames = round(head * fps) if has_picture and fps else 0
    return LineupAnalysis(
        frames=frames, samples=round(head * rate), sample_rate=rate, bit_depth=layout.bit_depth
    )


def _place_programme(m: Measured, decoded: float) -> None:
    """Programme start and end: the timecode's start when known (everything before is line-up,
    even a moving countdown clock), else the picture's; the end is where the picture ends."""
    picture = m.picture
    if picture is not None:
        from pipeline.qc.picture import programme_bounds

        if m.lineup_s is not None:
            picture.lineup_frames = round(m.lineup_s * picture.fps)
        first, last = programme_bounds(picture)
        start = round(first / picture.fps, 3) if m.lineup_s is None else m.lineup_s
        m.programme_s = (start, max(start, round(last / picture.fps, 3)))
    elif m.lineup_s is not None:
        m.programme_s = (m.lineup_s, round(decoded, 3))
    if m.programme_s is not None:
        m.measurements["programme"] = {
            "start_s": m.programme_s[0],
            "end_s": m.programme_s[1],
            "by": "timecode" if m.lineup_s is not None else "picture",
        }


def _preflight(p: Path, profile: Profile) -> tuple[StreamLayout, Any, float | None]:
    """What can be refused before decoding: VFR, 0-channel audio, no audio for loudness."""
    from pipeline.qc.sound import require_audio_for

    layout = probe_layout(p)
    asset = _probe_asset(p)
    if asset is not None and asset.video and (asset.video[0].frame_rate_mode or "") == "VFR":
        raise MediaError(
            f"{p}: variable frame rate video; frame-accurate QC needs a constant frame rate",
            path=p,
            hint="conform the file to a constant frame rate first (the edit's export settings, "
            "or ffmpeg -fps_mode cfr -r <rate>)",
        )
    for a in layout.audio:
        if a.layout.startswith("0 channels"):
            raise MediaError(
                f"{p}: audio stream {a.index + 1} declares 0 channels; nothing to measure",
                path=p,
                hint="the recorder or export wrote a broken header; re-export the audio",
            )
    if profile.loudness is not None and not layout.has_audio:
        require_audio_for(profile, 0, str(p))
    has_picture = layout.has_video and not layout.video_is_still
    fps = layout.fps or (asset.video[0].frame_rate if asset is not None and asset.video else None)
    if has_picture and not fps:
        raise MediaError(f"{p}: the video has no frame rate", path=p)
    return layout, asset, fps


def _decode(
    p: Path, profile: Profile, layout: StreamLayout, fps: float | None, la: LineupAnalysis | None
) -> tuple[DecodeStats, PictureAnalysis | None, SoundAnalysis | None]:
    """The one decode pass, feeding the picture and sound analyses."""
    from pipeline.qc.picture import PictureAnalysis
    from pipeline.qc.sound import SoundAnalysis

    has_picture = layout.has_video and not layout.video_is_still
    picture = (
        PictureAnalysis(layout=layout, spec=profile.picture, fps=float(fps or 25.0))
        if has_picture
        else None
    )
    holder: dict[str, SoundAnalysis] = {}

    def on_audio_format(rate: int, channels: int) -> None:
        if channels <= 0:
            raise MediaError(
                f"{p}: the audio stream has 0 channels; nothing to measure",
                path=p,
                hint="re-export the file with its audio channels",
            )
        holder["sound"] = SoundAnalysis(profile=profile, sample_rate=rate, channels=channels)
        if la is not None and rate != la.sample_rate:
            la.samples = round(la.samples * rate / la.sample_rate)
            la.sample_rate = rate

    def on_audio(block: Any) -> None:
        holder["sound"].feed(block)
        if la is not None:
            la.feed_audio(block)

    def on_frame(index: int, planes: Any) -> None:
        assert picture is not None and la is not None
        picture.feed(index, planes)
        la.feed_frame(index, planes)

    frame_sink = (on_frame if la is not None and la.frames else picture.feed) if picture else None
    stats = decode_pass(
        layout,
        on_frame=frame_sink,
        on_audio=on_audio if layout.has_audio else None,
        on_audio_format=on_audio_format,
    )
    sound = holder.get("sound")
    if sound is not None:
        sound.finish()
        sound.close_clipping()
    return stats, picture, sound


def _check_decoded(
    p: Path,
    profile: Profile,
    layout: StreamLayout,
    picture: PictureAnalysis | None,
    sound: SoundAnalysis | None,
) -> float:
    """Refuse a pass that decoded too little to measure; returns the decoded duration."""
    from pipeline.qc.sound import require_audio_for

    if layout.has_audio and sound is None:
        raise MediaError(f"{p}: the audio could not be decoded", path=p)
    if picture is not None and picture.frames == 0:
        raise MediaError(
            f"{p}: no picture could be decoded",
            path=p,
            hint="the file is damaged or truncated; copy it again from the source",
        )
    decoded = max(
        (picture.frames / picture.fps) if picture is not None else 0.0,
        sound.duration_s() if sound is not None else 0.0,
    )
    declared = layout.duration_s
    if declared and declared > 1.0 and decoded < declared * TRUNCATION_TOLERANCE:
        raise MediaError(
            f"{p}: truncated or damaged: only {decoded:.2f} s of the {declared:.2f} s the file "
            "declares could be decoded",
            path=p,
            hint="copy the file again from the source and compare its checksum",
        )
    if sound is not None:
        require_audio_for(profile, sound.channels, str(p))
    return decoded


def _findings(m: Measured, profile: Profile) -> list[Finding]:
    """Format checks on the probed asset, every registered check the profile turns on, and
    ffmpeg's own decoding complaints."""
    domains = set()
    if m.picture is not None:
        domains.add("picture")
    if m.sound is not None:
        domains.add("sound")
    findings: list[Finding] = []
    if profile.format is not None and m.asset is not None:
        from pipeline.qc.format import check_format

        findings.extend(check_format(m.asset, profile.format))
    for check in checks_for(profile, domains=domains):
        findings.extend(_outside_lineup(m, check.name, check.func(m, profile)))
    errors = m.decode.decode_errors
    if errors:
        findings.append(
            Finding(
                check="decode",
                severity=Severity.WARNING,
                message=f"ffmpeg reported {errors} decoding problem(s); the picture "
                "or sound may be damaged in places",
                value=errors,
            )
        )
    return findings


LINEUP_STILL_JUDGED = {"clipping"}  # a clipped line-up tone is still a fault in the file


def _outside_lineup(m: Measured, check: str, found: list[Finding]) -> list[Finding]:
    """Drop findings lying wholly inside the line-up before the programme start by timecode
    (a countdown clock's sweep is not a pattern, its black is not programme black); the
    line-up is judged by pipeline.qc.lineup against the profile's line-up allowances."""
    lineup = m.lineup_s
    if not lineup or check in LINEUP_STILL_JUDGED:
        return found
    kept, dropped = [], []
    for f in found:
        end = f.end_s if f.end_s is not None else f.start_s
        (dropped if end is not None and end <= lineup + 0.05 else kept).append(f)
    if dropped:
        m.measurements.setdefault("lineup_excluded", []).extend(
            {"check": f.check, "start_s": f.start_s, "end_s": f.end_s} for f in dropped
        )
    return kept


def _decode_measurements(m: Measured, decoded: float) -> dict[str, Any]:
    stats, picture, layout = m.decode, m.picture, m.layout
    return {
        "frames": stats.frames,
        "fps": picture.fps if picture is not None else None,
        "audio_channels": stats.channels,
        "sample_rate": stats.sample_rate,
        "duration_s": round(decoded, 3),
        "declared_duration_s": layout.duration_s,
        "analysis_size": [stats.analysis_width, stats.analysis_height]
        if picture is not None
        else None,
        "bit_depth": layout.bit_depth if picture is not None else None,
        "full_range": layout.full_range if picture is not None else None,
        "decode_errors": stats.decode_errors,
    }


def _thumbnails(
    findings: list[Finding],
    picture: Any,
    thumbnails_dir: str | os.PathLike[str] | None,
    p: Path,
) -> None:
    """Write the thumbnails picture findings point at; drop the reference when not written."""
    wanted = [f for f in findings if f.thumbnail and f.thumbnail.startswith("frame:")]
    if not wanted:
        return
    if thumbnails_dir is None or picture is None:
        for f in wanted:
            f.thumbnail = None
        return
    from PIL import Image

    from pipeline.fsutil import atomic_writer

    folder = Path(thumbnails_dir)
    written: dict[int, str] = {}
    for f in wanted:
        frame = int(f.thumbnail.split(":", 1)[1])  # type: ignore[union-attr]
        if frame not in written:
            name = f"frame_{frame:07d}.jpg"
            with atomic_writer(folder / name, overwrite=True) as fh:
                Image.fromarray(picture.thumbnails[frame]).save(fh, format="JPEG", quality=85)
            written[frame] = f"{folder.name}/{name}"
        f.thumbnail = written[frame]
