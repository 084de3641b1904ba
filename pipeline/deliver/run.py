"""Deliver: for each master × profile, make the deliverable, QC it, and only then let it go.

Per deliverable: check the master fits (spec.plan_delivery), normalise its sound
(loudnorm.normalise_audio), encode to a temporary name in a work folder inside the delivery
folder, QC the result against the same profile (one decode), then rename it to its final name
(pass) or move it to `_failed/` with its QC report (fail). Nothing is ever written under a final
name before it passed. Then rights (embedded or side-carred), an ASC MHL manifest of the
delivery folder and a delivery note (JSON, the truth, and HTML).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.deliver.encode import ProgressSink, run_encode
from pipeline.deliver.graph import Sources, build_command, head_frames, tc_minus
from pipeline.deliver.spec import DeliverError, Plan, inspect_master, plan_delivery
from pipeline.errors import RushlineError
from pipeline.fsutil import fsync_dir
from pipeline.profiles import HeadSpec, Profile, loudness_summary
from pipeline.qc.findings import QCResult, Verdict

log = logging.getLogger("rushline.deliver")

WORK_DIR = ".rushline-deliver"
FAILED_DIR = "_failed"
REPORTS_DIR = "_reports"
NOTE_NAME = "delivery_note"
TRUNCATION_TOLERANCE = 0.97
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


def _normalise(plan: Plan, work: Path, opts: Options, d: Deliverable) -> Path | None:
    a, loud = plan.encode.audio, plan.profile.loudness
    if a is None or not a.normalise:
        return None
    if loud is None:
        d.notes.append("the profile has no loudness target: the master's sound is not normalised")
        return None
    from pipeline.deliver.loudnorm import normalise_audio

    res = normalise_audio(
        plan.master.path,
        target_lufs=loud.target_lufs,
        true_peak_max_dbtp=loud.max_true_peak_dbtp,
        work_dir=work,
        channels_map=loud.channels or _delivered_channels(plan),
        measurement=opts.measurements.get(str(plan.master.path)),
    )
    d.normalisation = res.model_dump(mode="json")
    d.notes.extend(res.notes)
    if res.limiter_used:
        d.notes.append(
            f"true-peak limiter used: up to {res.max_gain_reduction_db:.1f} dB of gain reduction "
            f"to stay under {loud.max_true_peak_dbtp:g} dBTP"
        )
    return res.wav


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
    wav = _normalise(plan, work, opts, d)
    slate = _slate(plan, work, opts, size, today)
    tc = plan.profile.programme_start_timecode()
    if tc and plan.fps is not None:
        d.programme_start_timecode = tc
        head_s = float(sum(head_frames(plan, plan.fps)) / plan.fps) if plan.encode.head else 0.0
        d.head_s = round(head_s, 3)
        tc = tc_minus(tc, head_s, plan.fps)
        d.start_timecode = tc
    meta = {"title": opts.title or m.path.stem, "comment": f"rushline deliver {plan.profile.name}"}
    tmp = work / name
    cmd = build_command(plan, Sources(m.path, wav, slate, size), tmp, timecode=tc, metadata=meta)
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
    """Rename the checked file to its final name; never replace a file unless told to."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if overwrite:
        os.replace(tmp, dest)
    else:
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise DeliverError(
                f"{dest} exists already; not overwriting it",
                path=dest,
                hint="move it away, choose another --out, or use --force",
            ) from None
        tmp.unlink()
    fsync_dir(dest.parent)


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


def _rights(d: Deliverable, template_name: str) -> None:
    from pipeline.rights.apply import apply_rights
    from pipeline.rights.template import load_template

    try:
        res = apply_rights([d.output], load_template(template_name), embed=True)[0]
    except RushlineError as exc:
        d.rights = {"action": "error", "error": str(exc)}
        return
    d.rights = res.model_dump(mode="json")
    if res.error:
        d.notes.append(f"rights not written: {res.error}")


def deliver(
    masters: Sequence[str | os.PathLike[str]],
    profiles: Sequence[Profile],
    opts: Options,
    *,
    on_start: StartSink | None = None,
    on_progress: ProgressSink | None = None,
) -> DeliveryNote:
    """Every master × every profile; then rights, the MHL manifest and the delivery note."""
    from pipeline.tools import tool_versions

    opts.out_dir.mkdir(parents=True, exist_ok=True)
    done: list[Deliverable] = []
    try:
        for master in masters:
            for profile in profiles:
                d = deliver_one(
                    Path(master), profile, opts, on_start=on_start, on_progress=on_progress
                )
                if d.status == "delivered" and opts.rights_template:
                    _rights(d, opts.rights_template)
                done.append(d)
    finally:
        with contextlib.suppress(OSError):
            (opts.out_dir / WORK_DIR).rmdir()
    note = DeliveryNote(
        created=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        out_dir=str(opts.out_dir),
        deliverables=done,
        tools=tool_versions(),
    )
    from pipeline.report.deliver import write_note

    write_note(note, opts.out_dir, overwrite=True)
    if opts.manifest and any(d.status == "delivered" for d in done):
        note.manifest = str(write_manifest(opts.out_dir))
    return note


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
