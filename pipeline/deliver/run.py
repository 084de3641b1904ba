"""Deliver: for each master × profile, make the deliverable, QC it, and only then let it go.

Per deliverable (`deliver_one`): check the master fits (spec.plan_delivery), normalise its
sound (loudnorm.normalise_audio); for a lossy audio codec, encode the sound alone, measure it
and correct the gain (codecgain); encode to a temporary name in a work folder inside the
delivery folder, QC the result against the same profile (one decode), then rename it to its
final name (pass) or move it to `_failed/` with its QC report (fail), and write its rights
(embedded in MP4/MOV, an XMP sidecar beside MXF, read back). Nothing is ever written under a
final name before it passed. Then `finish_delivery` (used by `deliver`, the CLI and the flow):
the delivery note (JSON, the truth, and HTML) and an ASC MHL manifest of the delivery folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from pipeline.deliver.encode import ProgressSink, run_encode
from pipeline.deliver.graph import Sources, build_command, head_frames, tc_minus
from pipeline.deliver.spec import DeliverError, Plan, inspect_master, plan_delivery
from pipeline.errors import RushlineError
from pipeline.fsutil import place
from pipeline.profiles import HeadSpec, Profile, loudness_summary
from pipeline.qc.findings import QCResult, Verdict

if TYPE_CHECKING:
    from pipeline.deliver.loudnorm import NormalisedAudio

log = logging.getLogger("rushline.deliver")

WORK_DIR = ".rushline-deliver"
FAILED_DIR = "_failed"
REPORTS_DIR = "_reports"
NOTE_NAME = "delivery_note"
TRUNCATION_TOLERANCE = 0.97
CODEC_TP_MARGIN_DB = 0.1  # codec headroom beyond the peak growth measured through the codec
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")

Status = Literal["delivered", "failed", "error"]
StartSink = Callable[[str, float], None]  # (label, expected seconds): an encode begins


class Deliverable(BaseModel):
    """One master × one profile: what was made, how, and the QC verdict."""

    master: str
    profile: str
    status: Status
    output: str | None = None  # final path (delivered) or the _failed/ path
    error: str | None = None
    qc_verdict: str | None = None
    qc_report: str | None = None
    qc_findings: list[dict[str, Any]] = Field(default_factory=list)  # errors and warnings
    measured: dict[str, Any] = Field(default_factory=dict)  # loudness and format, from QC
    normalisation: dict[str, Any] | None = None
    notes: list[str] = Field(default_factory=list)
    start_timecode: str | None = None
    programme_start_timecode: str | None = None
    head_s: float = 0.0
    rights: dict[str, Any] | None = None
    command: list[str] = Field(default_factory=list)
    encode_s: float | None = None
    qc_s: float | None = None


class DeliveryNote(BaseModel):
    created: str
    out_dir: str
    deliverables: list[Deliverable]
    manifest: str | None = None
    tools: dict[str, str | None] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(d.status == "delivered" for d in self.deliverables)


class Options(BaseModel):
    """Settings of one deliver run (explicit, no globals)."""

    out_dir: Path
    conform: bool = False
    force: bool = False
    title: str | None = None  # default: the master's file name without extension
    version: str = "V1"
    head: HeadSpec | None | Literal["profile"] = "profile"  # None: no head at all
    rights_template: str | None = None
    measurements: dict[str, dict[str, Any]] = Field(default_factory=dict)  # master -> QC loudness
    manifest: bool = True


def safe_name(text: str) -> str:
    """A file name part with no path separator or control character."""
    return _UNSAFE.sub("_", text).strip() or "_"


def output_name(plan: Plan, opts: Options, today: str) -> str:
    enc = plan.encode
    stem = plan.master.path.stem
    fields = {
        "stem": stem,
        "profile": plan.profile.name,
        "title": opts.title or stem,
        "version": opts.version,
        "date": today,
        "ext": enc.wrapper,
    }
    return safe_name(enc.naming.format(**{k: safe_name(v) for k, v in fields.items()}))


def _with_head(profile: Profile, opts: Options) -> Profile:
    enc = profile.encode
    # The override shortens or removes a head the profile asks for; it never adds one.
    if enc is None or opts.head == "profile" or enc.head is None:
        return profile
    return profile.model_copy(update={"encode": enc.model_copy(update={"head": opts.head})})


def _delivered_channels(plan: Plan) -> list[int] | None:
    """The master channels (1-based) the output tracks carry: the mix the listener hears."""
    a = plan.encode.audio
    if a is None:
        return None
    chs = list(dict.fromkeys(c for t in a.tracks for c in t.source if c <= plan.master.channels))
    return chs or None


def _normalise(
    plan: Plan,
    work: Path,
    opts: Options,
    d: Deliverable,
    *,
    target_offset_lu: float = 0.0,
    headroom_db: float = 0.0,
) -> NormalisedAudio | None:
    """The master's sound at the profile's target (plus an offset and codec headroom)."""
    a, loud = plan.encode.audio, plan.profile.loudness
    if a is None or not a.normalise:
        return None
    if loud is None:
        d.notes.append("the profile has no loudness target: the master's sound is not normalised")
        return None
    from pipeline.deliver.loudnorm import normalise_audio

    ceiling = loud.max_true_peak_dbtp - headroom_db
    res = normalise_audio(
        plan.master.path,
        target_lufs=loud.target_lufs + target_offset_lu,
        true_peak_max_dbtp=ceiling,
        work_dir=work,
        channels_map=loud.channels or _delivered_channels(plan),
        measurement=opts.measurements.get(str(plan.master.path)),
    )
    d.normalisation = res.model_dump(mode="json")
    d.notes.extend(res.notes)
    if res.limiter_used:
        d.notes.append(
            f"true-peak limiter used: up to {res.max_gain_reduction_db:.1f} dB of gain reduction "
            f"to stay under {ceiling:g} dBTP"
        )
    return res


def _codec_gain(
    plan: Plan, src: Sources, work: Path, opts: Options, d: Deliverable, norm: NormalisedAudio
) -> tuple[float, Path]:
    """For a lossy codec: the gain that puts the encoded sound on target, and the WAV to use.

    When that gain would take the encoded sound over the ceiling (inter-sample peaks grow
    through the codec), the sound is normalised again with that much headroom (the limiter
    acts where needed) and checked again. PCM: (0, the WAV) unchanged.
    """
    from pipeline.deliver.codecgain import check_codec, is_lossy
    from pipeline.qc.sound import programme_channels

    a, loud = plan.encode.audio, plan.profile.loudness
    if a is None or loud is None or not is_lossy(a.codec):
        return 0.0, norm.wav
    target, ceiling = loud.target_lufs, loud.max_true_peak_dbtp
    prog = programme_channels(plan.profile, sum(t.width for t in a.tracks))
    kw = {"target": target, "ceiling": ceiling, "prog": prog, "layout": loud.layout}
    check = check_codec(plan, src, work, **kw)
    offset = 0.0
    if check.over_ceiling_db > 0 and check.first_lufs is not None:
        wav_tp = norm.measured_after.true_peak_dbtp
        growth = (check.true_peak_dbtp or ceiling) - ((wav_tp or ceiling) + check.gain_db)
        headroom = max(growth, 0.0) + CODEC_TP_MARGIN_DB
        raise_db = target - check.first_lufs
        d.notes.append(
            f"{a.codec}: making up the codec's {raise_db:+.2f} LU would take the encoded sound "
            f"over {ceiling:g} dBTP (peaks move {growth:+.2f} dB through the codec): the sound "
            f"is normalised again (replacing the pass above) to {target + raise_db:.2f} LUFS "
            f"under {ceiling - headroom:.2f} dBTP"
        )
        offset = target - check.first_lufs
        again = _normalise(plan, work, opts, d, target_offset_lu=offset, headroom_db=headroom)
        assert again is not None
        norm = again
        src = Sources(src.master, norm.wav, src.slate_png, src.size)
        check = check_codec(plan, src, work, **kw)
    d.notes.append(check.note(a.codec, target, offset))
    if check.over_ceiling_db > 0:
        d.notes.append(
            f"after the codec the true peak is {check.true_peak_dbtp:.2f} dBTP, over the "
            f"{ceiling:g} dBTP ceiling by {check.over_ceiling_db:.2f} dB"
        )
    if d.normalisation is not None:
        d.normalisation["codec_correction"] = {**dataclasses.asdict(check), "offset_lu": offset}
    return check.gain_db, norm.wav


def _slate(plan: Plan, work: Path, opts: Options, size: tuple[int, int], today: str) -> Path | None:
    head = plan.encode.head
    if head is None or head.slate_s <= 0:
        return None
    from pipeline.deliver.slate import render_slate, slate_lines

    lines = slate_lines(
        title=opts.title or plan.master.path.stem,
        version=opts.version,
        duration_s=plan.master.duration_s,
        loudness=loudness_summary(plan.profile.loudness),
        date=today,
        profile=plan.profile.name,
        start_tc=plan.profile.programme_start_timecode(),
    )
    return render_slate(work / "slate.png", lines, size)


def _encode(
    plan: Plan, work: Path, name: str, opts: Options, d: Deliverable, progress: ProgressSink | None
) -> Path:
    """Normalise, build and run the encode into `work`; returns the temporary file."""
    today = dt.date.today().isoformat()
    m, v = plan.master, plan.encode.video
    size = (v.width or m.width or 0, v.height or m.height or 0) if v is not None else (0, 0)
    norm = _normalise(plan, work, opts, d)
    slate = _slate(plan, work, opts, size, today)
    src = Sources(m.path, norm.wav if norm else None, slate, size)
    if norm is not None:
        gain, wav = _codec_gain(plan, src, work, opts, d, norm)
        src = Sources(m.path, wav, slate, size, gain_db=gain)
    tc = plan.profile.programme_start_timecode()
    if tc and plan.fps is not None:
        d.programme_start_timecode = tc
        head_s = float(sum(head_frames(plan, plan.fps)) / plan.fps) if plan.encode.head else 0.0
        d.head_s = round(head_s, 3)
        tc = tc_minus(tc, head_s, plan.fps)
        d.start_timecode = tc
    meta = {"title": opts.title or m.path.stem, "comment": f"rushline deliver {plan.profile.name}"}
    tmp = work / name
    cmd = build_command(plan, src, tmp, timecode=tc, metadata=meta)
    d.command = cmd
    res = run_encode(
        cmd, tmp, what=f"encoding {m.path} for {plan.profile.name}", on_progress=progress
    )
    d.encode_s = res.elapsed_s
    return tmp


def _check_length(plan: Plan, qc: QCResult, d: Deliverable) -> None:
    """A master that decodes shorter than it says is truncated: never deliver half a programme."""
    declared = plan.master.duration_s
    if not declared or qc.duration_s is None:
        return
    got = qc.duration_s - d.head_s
    if declared > 1.0 and got < declared * TRUNCATION_TOLERANCE:
        raise DeliverError(
            f"{plan.master.path}: truncated or damaged: only {got:.2f} s of the {declared:.2f} s "
            "it declares could be decoded into the deliverable",
            path=plan.master.path,
            hint="copy the master again from the source and compare its checksum",
        )


def _summarise_qc(qc: QCResult, d: Deliverable) -> None:
    d.qc_verdict = qc.verdict.value if hasattr(qc.verdict, "value") else str(qc.verdict)
    d.qc_s = qc.elapsed_s
    d.qc_findings = [
        f.model_dump(mode="json", include={"check", "severity", "message", "value", "limit"})
        for f in qc.findings
        if str(getattr(f.severity, "value", f.severity)) in ("error", "warning")
    ]
    loud = qc.measurements.get("loudness") or {}
    d.measured = {
        k: loud.get(k)
        for k in ("integrated_lufs", "true_peak_dbtp", "lra_lu", "channels")
        if k in loud
    }
    d.measured["duration_s"] = qc.duration_s


def _write_report(qc: QCResult, dest: Path) -> str:
    from pipeline.report.qc import write_qc_json

    write_qc_json(qc, dest, overwrite=True)
    return str(dest)


def _place(tmp: Path, dest: Path, *, overwrite: bool) -> None:
    """Give the checked file its final name, durably; never replace a file unless told to."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    place(tmp, dest, overwrite=overwrite)


def deliver_one(
    master: Path,
    profile: Profile,
    opts: Options,
    *,
    on_start: StartSink | None = None,
    on_progress: ProgressSink | None = None,
) -> Deliverable:
    """One master × one profile. Never raises for a bad master: see Deliverable.error.

    Ctrl-C goes up (after the work folder is removed): the batch stops, nothing half-made stays.
    """
    from pipeline.qc.run import qc_file

    d = Deliverable(master=str(master), profile=profile.name, status="error")
    work = opts.out_dir / WORK_DIR / secrets.token_hex(6)
    try:
        profile = _with_head(profile, opts)
        plan = plan_delivery(inspect_master(master), profile, conform=opts.conform)
        d.notes.extend(plan.notes)
        name = output_name(plan, opts, dt.date.today().isoformat())
        final = opts.out_dir / name
        if final.exists() and not opts.force:
            raise DeliverError(
                f"{final} exists already; not overwriting it",
                path=final,
                hint="move it away, choose another --out, or use --force",
            )
        work.mkdir(parents=True)
        if on_start is not None:
            on_start(f"{master.name} → {name}", (plan.master.duration_s or 0.0) + plan.head_s)
        tmp = _encode(plan, work, name, opts, d, on_progress)
        # The deliverable is checked against the profile as it is: its head sits before the
        # programme start timecode, so QC reads it as line-up (pipeline.qc.lineup).
        qc = qc_file(tmp, profile)
        qc.file = str(final)
        _summarise_qc(qc, d)
        if qc.verdict == Verdict.ERROR:
            raise DeliverError(f"{master}: the deliverable could not be checked: {qc.error}")
        _check_length(plan, qc, d)
        if qc.verdict in (Verdict.PASS, Verdict.WARN):
            _place(tmp, final, overwrite=opts.force)
            d.qc_report = _write_report(qc, opts.out_dir / REPORTS_DIR / f"{name}.qc.json")
            d.status, d.output = "delivered", str(final)
            if opts.rights_template:
                apply_deliverable_rights(d, opts.rights_template)
        else:
            failed = opts.out_dir / FAILED_DIR / name
            _place(tmp, failed, overwrite=True)
            d.qc_report = _write_report(qc, failed.with_name(f"{name}.qc.json"))
            d.status, d.output = "failed", str(failed)
            d.error = f"{name} failed QC against {profile.name}; kept in {FAILED_DIR}/"
    except RushlineError as exc:
        d.status, d.error = "error", str(exc)
    except OSError as exc:  # a full disk, a folder we may not write...
        d.status, d.error = "error", f"{master}: {exc.strerror or exc} ({exc.filename or ''})"
    except Exception as exc:  # a bug must not stop the batch; the log keeps the traceback
        log.exception("internal error while delivering %s", master)
        d.status = "error"
        d.error = f"{master}: internal error ({type(exc).__name__}: {exc}); please report it"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return d


def apply_deliverable_rights(d: Deliverable, template_name: str) -> None:
    """Rights from the template: embedded in MP4/MOV, an XMP sidecar beside an MXF, read back.

    `d.rights` records what was written, what was not (and why) and where; a deliverable whose
    rights could not be written stays delivered, with a note saying so.
    """
    from pipeline.rights.apply import apply_rights
    from pipeline.rights.template import load_template

    assert d.output is not None
    try:
        template = load_template(template_name)
        res = apply_rights([d.output], template, embed=True, made_here=True)[0]
    except RushlineError as exc:
        d.rights = {"action": "error", "error": str(exc), "template": template_name}
        d.notes.append(f"rights not written: {exc}")
        return
    d.rights = {"template": template_name, **res.model_dump(mode="json")}
    if res.error:
        d.notes.append(f"rights not written: {res.error}")
        return
    where = (
        "embedded"
        if res.action == "embedded"
        else f"in the XMP sidecar {Path(res.target or '').name}"
    )
    missing = f"; not written: {', '.join(sorted(res.not_written))}" if res.not_written else ""
    d.notes.append(
        f"rights ({template_name}) {where}: {len(res.written)} field(s) read back{missing}"
    )


def finish_delivery(
    out_dir: Path, deliverables: Sequence[Deliverable], *, manifest: bool = True
) -> DeliveryNote:
    """Close a delivery: the note (JSON + HTML) and, when anything was delivered, the MHL."""
    from pipeline.report.deliver import write_note
    from pipeline.tools import tool_versions

    with contextlib.suppress(OSError):
        (out_dir / WORK_DIR).rmdir()
    note = DeliveryNote(
        created=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        out_dir=str(out_dir),
        deliverables=list(deliverables),
        tools=tool_versions(),
    )
    write_note(note, out_dir, overwrite=True)
    if manifest and any(d.status == "delivered" for d in deliverables):
        note.manifest = str(write_manifest(out_dir))
    return note


def deliver(
    masters: Sequence[str | os.PathLike[str]],
    profiles: Sequence[Profile],
    opts: Options,
    *,
    on_start: StartSink | None = None,
    on_progress: ProgressSink | None = None,
) -> DeliveryNote:
    """Every master × every profile (each with its rights); then the MHL manifest and the note."""
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    done: list[Deliverable] = []
    try:
        for master in masters:
            for profile in profiles:
                done.append(
                    deliver_one(
                        Path(master), profile, opts, on_start=on_start, on_progress=on_progress
                    )
                )
    finally:
        with contextlib.suppress(OSError):
            (opts.out_dir / WORK_DIR).rmdir()
    return finish_delivery(opts.out_dir, done, manifest=opts.manifest)


def write_manifest(out_dir: Path) -> Path:
    """An ASC MHL generation of the delivery folder (not `_failed/`, not the work folder)."""
    from pipeline import mhl
    from pipeline.hashing import DEFAULT_FORMAT, hash_file

    formats = [DEFAULT_FORMAT]
    entries: list[mhl.FileEntry] = []
    skip = {mhl.MHL_FOLDER, FAILED_DIR, WORK_DIR}
    now = dt.datetime.now(dt.UTC)
    for root, dirs, files in os.walk(out_dir):
        dirs[:] = sorted(x for x in dirs if x not in skip and not x.startswith("."))
        for fname in sorted(files):
            if fname.startswith("."):
                continue
            p = Path(root) / fname
            st = p.stat()
            digests = hash_file(p, formats)
            entries.append(
                mhl.FileEntry(
                    path=p.relative_to(out_dir).as_posix(),
                    size=st.st_size,
                    mtime=dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
                    hashes=[mhl.HashRecord(f, digests[f], "original", now) for f in formats],
                )
            )
    dirs_rel = sorted({Path(e.path).parent.as_posix() for e in entries} - {"."})
    return mhl.write_generation(
        out_dir,
        entries,
        dirs=dirs_rel,
        formats=formats,
        process="in-place",
        ignore=[f"{FAILED_DIR}/", f"{WORK_DIR}/"],
        comment="rushline deliver",
        now=now,
    )
