"""The main job on the sample media: `make demo`.

A day on set and in post, in one flow, on the generated sample media:

1. probe     — what every file on the cards and the masters is;
2. offload   — each card to two "drives" (folders standing in for mounted SSDs), hashed once,
               every copy re-read and verified, an ASC MHL history per roll;
3. rights    — XMP sidecars for the offloaded photo originals (never touched), rights embedded in
               the deliverables, then checked against the template;
4. qc        — the programme master against the French PAD profile, the web deliverable against
               the web profile; the master's expected findings are compared with what QC found.

Writes `summary.json` (the truth) and `summary.html` into --out. Re-running finishes the job:
verified copies are not copied again.

    python -m flows.demo --samples sample_media/out --out out/demo
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.offload import offload_flow
from flows.probe import probe_task
from flows.qc import qc_batch_flow
from flows.rights import rights_flow
from pipeline.fsutil import atomic_write_text, atomic_writer
from pipeline.report import render_html
from pipeline.tools import tool_versions

RIGHTS_TEMPLATE = "example"
PAD_PROFILE = "fr-pad-hd"
WEB_PROFILE = "web-h264"


def _load_manifest(samples: Path) -> dict[str, Any]:
    manifest = samples / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found; run `make samples` first")
    return json.loads(manifest.read_text(encoding="utf-8"))


def _copy_new(src: Path, dest: Path) -> Path:
    """Copy src to dest unless dest exists (a re-run keeps the deliverable it already made)."""
    if not dest.exists():
        with open(src, "rb") as fin, atomic_writer(dest, overwrite=False) as fout:
            shutil.copyfileobj(fin, fout, 8 << 20)
    return dest


def compare_expected(expected: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """What the master was built to show vs what QC found: every `should_fire` found, no
    `must_not_fire` as a finding of that kind inside its interval."""
    findings = result.get("findings", [])

    def overlaps(f: dict[str, Any], start: float, end: float) -> bool:
        if f.get("start_s") is None:
            return False
        f_end = f.get("end_s") if f.get("end_s") is not None else f["start_s"]
        return f["start_s"] < end and f_end > start

    found, missed = [], []
    for exp in expected.get("should_fire", []):
        check = exp["check"]
        if check == "silent_channels":
            hits = [f for f in findings if f["check"] == "silence.channel"]
            ok = len(hits) >= len(exp.get("channels", [])) > 0
        elif "start_s" in exp:
            hits = [
                f
                for f in findings
                if f["check"] == check
                and f["severity"] != "info"
                and overlaps(f, exp["start_s"], exp["end_s"])
            ]
            ok = bool(hits)
        else:
            ok = any(f["check"] == check and f["severity"] == exp.get("severity") for f in findings)
        (found if ok else missed).append(f"{check}: {exp['why']}")
    false_alarms = []
    intervals = expected.get("intervals", {})
    for exp in expected.get("must_not_fire", []):
        span = intervals.get(exp.get("interval", ""), {})
        start, end = exp.get("start_s", span.get("start_s")), exp.get("end_s", span.get("end_s"))
        if start is None or end is None:
            continue
        for f in findings:
            kind_matches = exp["check"] == "any" or f["check"] == exp["check"]
            sev_matches = (
                f["severity"] == exp["severity"] if "severity" in exp else (f["severity"] != "info")
            )
            if kind_matches and sev_matches and overlaps(f, start, end):
                false_alarms.append(f"{f['check']} at {f['start_s']:.2f} s: {exp['why']}")
    return {"found": found, "missed": missed, "false_alarms": false_alarms}


@flow(name="rushline-demo", log_prints=True)
def demo_flow(samples: str, out: str) -> dict[str, Any]:
    """The whole day on the sample media; returns the summary (also written as JSON)."""
    log = get_run_logger()
    samples_dir, out_dir = Path(samples).resolve(), Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(samples_dir)
    cards = sorted(p for p in (samples_dir / "cards").iterdir() if p.is_dir())
    masters = samples_dir / "masters"
    started = time.monotonic()
    stages: dict[str, Any] = {}
    summary: dict[str, Any] = {"samples": str(samples_dir), "out": str(out_dir), "stages": stages}

    # 1. probe ---------------------------------------------------------------------------------
    assets = probe_task([str(c) for c in cards] + [str(masters)])
    media = [a for a in assets if a.kind.value in ("video", "audio", "photo")]
    stages["probe"] = {
        "headline": f"{len(assets)} files, {len(media)} media",
        "files": len(assets),
        "media": len(media),
        "errors": [{"path": a.path, "error": a.error} for a in assets if a.error],
        "assets": [a.model_dump(mode="json", exclude_none=True) for a in assets],
    }

    # 2. offload: every card to two drives -----------------------------------------------------
    drives = [out_dir / "offload" / "SSD_A", out_dir / "offload" / "SSD_B"]
    for d in drives:
        d.mkdir(parents=True, exist_ok=True)  # stand-ins for mounted drives
    rolls = []
    for card in cards:
        res = offload_flow(
            str(card),
            [str(d) for d in drives],
            template="{project}/{roll}",
            values={"project": "Demo"},
            report_dir=str(out_dir / "offload" / "reports"),
        )
        r = res["results"][0]
        rolls.append(
            {
                "roll": r["roll"],
                "exit_code": res["exit_code"],
                "files": len(r["files"]),
                "bytes": r["bytes_total"],
                "throughput_mb_s": r["throughput_mb_s"],
                "destinations": [d["roll_dir"] for d in r["destinations"]],
                "report_html": next(
                    (p for d in r["destinations"] for p in d["reports"] if p.endswith(".html")),
                    None,
                ),
            }
        )
    offload_ok = all(r["exit_code"] == 0 for r in rolls)
    stages["offload"] = {
        "verdict": "pass" if offload_ok else "fail",
        "headline": f"{len(rolls)} rolls to {len(drives)} drives, every copy re-read and verified"
        if offload_ok
        else "some rolls failed: see their reports",
        "rolls": rolls,
        "report_html": rolls[0]["report_html"] if rolls else None,
    }

    # 3. rights: sidecars for originals, embedded in deliverables ------------------------------
    photo_roll = next((Path(r["destinations"][0]) for r in rolls if "PHOTO" in r["roll"]), None)
    originals = (
        sorted(p for p in photo_roll.rglob("*") if p.is_file() and p.parent.name != "ascmhl")
        if photo_roll
        else []
    )
    originals = [p for p in originals if "_rushline" not in p.parts and p.suffix.lower() != ".xmp"]
    sidecar_dir = out_dir / "rights" / "sidecars"
    sidecar_dir.mkdir(parents=True, exist_ok=True)
    side = rights_flow([str(p) for p in originals], RIGHTS_TEMPLATE, sidecar_dir=str(sidecar_dir))
    # Stand-in deliverables until the deliver stage exists: the web master and the camera
    # JPEGs, copied from the verified offload into deliver/ (files Rushline makes, so embedded).
    deliver = out_dir / "deliver"
    deliverables = [_copy_new(masters / "WEB_MASTER.mp4", deliver / "WEB_MASTER.mp4")]
    deliverables += [
        _copy_new(p, deliver / "photos" / p.name) for p in originals if p.suffix.lower() == ".jpg"
    ]
    embedded = rights_flow([str(p) for p in deliverables], RIGHTS_TEMPLATE, embed=True)
    rights_results = side + embedded
    errors = [r for r in rights_results if r["action"] == "error"]
    not_written = sum(len(r["not_written"]) for r in rights_results)
    stages["rights"] = {
        "verdict": "fail" if errors else ("warn" if not_written else "pass"),
        "headline": f"{len(side)} sidecars for originals in {sidecar_dir}, rights embedded in "
        f"{len(embedded)} deliverables in {deliver}; {len(errors)} errors, "
        f"{not_written} fields not written",
        "results": rights_results,
    }

    # 4. QC: the master against French PAD, the web deliverable against the web profile --------
    pad = qc_batch_flow([str(masters / "PROGRAMME_MASTER.mxf")], PAD_PROFILE, str(out_dir / "qc"))
    web = qc_batch_flow([str(deliver / "WEB_MASTER.mp4")], WEB_PROFILE, str(out_dir / "qc" / "web"))
    expected_path = masters / "PROGRAMME_MASTER.expected.json"
    check = compare_expected(
        json.loads(expected_path.read_text(encoding="utf-8")), pad["results"][0]
    )
    master = pad["results"][0]
    stages["qc"] = {
        "verdict": master["verdict"],
        "headline": f"PROGRAMME_MASTER vs {PAD_PROFILE}: {master['verdict']} "
        f"(built to fail: {len(check['found'])} designed faults found, "
        f"{len(check['missed'])} missed, {len(check['false_alarms'])} false alarms); "
        f"WEB_MASTER vs {WEB_PROFILE}: {web['results'][0]['verdict']}",
        "expected": check,
        "report_html": pad["report_html"],
        "report_json": pad["report_json"],
        "web_report_html": web["report_html"],
    }
    for line in check["missed"]:
        log.warning("designed fault NOT found: %s", line)
    for line in check["false_alarms"]:
        log.warning("false alarm: %s", line)

    summary["generator_version"] = manifest.get("generator_version")
    summary["elapsed_s"] = round(time.monotonic() - started, 2)
    summary["tools"] = tool_versions()
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    render_html("demo.html.j2", out_dir / "summary.html", summary=summary, tools=summary["tools"])
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="sample_media/out", help="generated sample media")
    parser.add_argument("--out", default="out/demo", help="where results go")
    args = parser.parse_args(argv)
    summary = demo_flow(args.samples, args.out)
    out = Path(summary["out"])
    print()
    print(f"Demo finished in {summary['elapsed_s']} s.")
    for name, stage in summary["stages"].items():
        verdict = f"[{stage['verdict']}] " if stage.get("verdict") else ""
        print(f"  {name:<8} {verdict}{stage.get('headline', '')}")
    print("Results:")
    print(f"  summary (JSON, the truth): {out / 'summary.json'}")
    print(f"  summary for people:        {out / 'summary.html'}")
    for name, stage in summary["stages"].items():
        if stage.get("report_html"):
            print(f"  {name + ' report:':<27}{stage['report_html']}")
    missed = summary["stages"]["qc"]["expected"]["missed"]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
