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
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

# A person reads this output: Prefect's per-task INFO lines stay in the UI (the API handler
# still gets them), the console shows our stage lines and any warning.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

from prefect import flow, get_run_logger  # noqa: E402

from flows.offload import offload_flow  # noqa: E402
from flows.probe import probe_task  # noqa: E402
from flows.qc import qc_batch_flow  # noqa: E402
from flows.rights import rights_flow  # noqa: E402
from pipeline.fsutil import atomic_write_text, atomic_writer  # noqa: E402
from pipeline.qc.expected import compare_expected  # noqa: E402
from pipeline.report import render_html  # noqa: E402
from pipeline.tools import tool_versions  # noqa: E402

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


def _stage(name: str, what: str) -> None:
    """A stage line for the person running the demo, and the same line in the flow's log."""
    print(f"» {name:<8} {what}", flush=True)
    get_run_logger().info("%s: %s", name, what)


def probe_stage(cards: list[Path], masters: Path) -> dict[str, Any]:
    _stage("probe", "what every file on the cards and the masters is")
    assets = probe_task([str(c) for c in cards] + [str(masters)])
    media = [a for a in assets if a.kind.value in ("video", "audio", "photo")]
    return {
        "headline": f"{len(assets)} files, {len(media)} media",
        "files": len(assets),
        "media": len(media),
        "errors": [{"path": a.path, "error": a.error} for a in assets if a.error],
        "assets": [a.model_dump(mode="json", exclude_none=True) for a in assets],
    }


def _roll_row(res: dict[str, Any]) -> dict[str, Any]:
    r = res["results"][0]
    return {
        "roll": r["roll"],
        "exit_code": res["exit_code"],
        "files": len(r["files"]),
        "bytes": r["bytes_total"],
        "throughput_mb_s": r["throughput_mb_s"],
        "destinations": [d["roll_dir"] for d in r["destinations"]],
        "report_html": next(
            (p for d in r["destinations"] for p in d["reports"] if p.endswith(".html")), None
        ),
    }


def offload_stage(cards: list[Path], out_dir: Path) -> dict[str, Any]:
    drives = [out_dir / "offload" / "SSD_A", out_dir / "offload" / "SSD_B"]
    _stage("offload", f"{len(cards)} cards to two drives, every copy re-read and verified")
    for d in drives:
        d.mkdir(parents=True, exist_ok=True)  # stand-ins for mounted drives
    rolls = [
        _roll_row(
            offload_flow(
                str(card),
                [str(d) for d in drives],
                template="{project}/{roll}",
                values={"project": "Demo"},
                report_dir=str(out_dir / "offload" / "reports"),
            )
        )
        for card in cards
    ]
    ok = all(r["exit_code"] == 0 for r in rolls)
    return {
        "verdict": "pass" if ok else "fail",
        "headline": f"{len(rolls)} rolls to {len(drives)} drives, every copy re-read and verified"
        if ok
        else "some rolls failed: see their reports",
        "rolls": rolls,
        "report_html": rolls[0]["report_html"] if rolls else None,
    }


def _photo_originals(rolls: list[dict[str, Any]]) -> list[Path]:
    roll = next((Path(r["destinations"][0]) for r in rolls if "PHOTO" in r["roll"]), None)
    if roll is None:
        return []
    return sorted(
        p
        for p in roll.rglob("*")
        if p.is_file()
        and p.parent.name != "ascmhl"
        and "_rushline" not in p.parts
        and p.suffix.lower() != ".xmp"
    )


def rights_stage(originals: list[Path], masters: Path, out_dir: Path) -> dict[str, Any]:
    _stage("rights", "XMP sidecars for the originals, rights embedded in the deliverables")
    sidecar_dir = out_dir / "rights" / "sidecars"
    sidecar_dir.mkdir(parents=True, exist_ok=True)
    side = rights_flow([str(p) for p in originals], RIGHTS_TEMPLATE, sidecar_dir=str(sidecar_dir))
    # Copies of the web master and the camera JPEGs stand in for deliverables made by
    # Rushline (files we make get their rights embedded; originals only get sidecars).
    deliver = out_dir / "deliver"
    deliverables = [_copy_new(masters / "WEB_MASTER.mp4", deliver / "WEB_MASTER.mp4")]
    deliverables += [
        _copy_new(p, deliver / "photos" / p.name) for p in originals if p.suffix.lower() == ".jpg"
    ]
    embedded = rights_flow([str(p) for p in deliverables], RIGHTS_TEMPLATE, embed=True)
    results = side + embedded
    errors = [r for r in results if r["action"] == "error"]
    not_written = sum(len(r["not_written"]) for r in results)
    return {
        "verdict": "fail" if errors else ("warn" if not_written else "pass"),
        "headline": f"{len(side)} sidecars for originals in {sidecar_dir}, rights embedded in "
        f"{len(embedded)} deliverables in {deliver}; {len(errors)} errors, "
        f"{not_written} fields not written",
        "results": results,
        "web_deliverable": str(deliverables[0]),
    }


def qc_stage(masters: Path, web_file: Path, out_dir: Path) -> dict[str, Any]:
    _stage("qc", f"the programme master against {PAD_PROFILE}, the web file against {WEB_PROFILE}")
    pad = qc_batch_flow([str(masters / "PROGRAMME_MASTER.mxf")], PAD_PROFILE, str(out_dir / "qc"))
    web = qc_batch_flow([str(web_file)], WEB_PROFILE, str(out_dir / "qc" / "web"))
    expected = json.loads((masters / "PROGRAMME_MASTER.expected.json").read_text(encoding="utf-8"))
    master = pad["results"][0]
    check = compare_expected(expected, master)
    for line in check["missed"]:
        get_run_logger().warning("designed fault NOT found: %s", line)
    for line in check["false_alarms"]:
        get_run_logger().warning("false alarm: %s", line)
    return {
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


def _write_summary(summary: dict[str, Any], out_dir: Path) -> None:
    summary["tools"] = tool_versions()
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    atomic_write_text(out_dir / "summary.json", text, overwrite=True)
    render_html(
        "demo.html.j2",
        out_dir / "summary.html",
        overwrite=True,
        summary=summary,
        tools=summary["tools"],
    )


@flow(name="rushline-demo")
def demo_flow(samples: str, out: str) -> dict[str, Any]:
    """The whole day on the sample media; returns the summary (also written as JSON)."""
    samples_dir, out_dir = Path(samples).resolve(), Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(samples_dir)
    cards = sorted(p for p in (samples_dir / "cards").iterdir() if p.is_dir())
    masters = samples_dir / "masters"
    started = time.monotonic()
    stages: dict[str, Any] = {}
    stages["probe"] = probe_stage(cards, masters)
    stages["offload"] = offload_stage(cards, out_dir)
    originals = _photo_originals(stages["offload"]["rolls"])
    stages["rights"] = rights_stage(originals, masters, out_dir)
    stages["qc"] = qc_stage(masters, Path(stages["rights"]["web_deliverable"]), out_dir)
    summary: dict[str, Any] = {
        "samples": str(samples_dir),
        "out": str(out_dir),
        "stages": stages,
        "generator_version": manifest.get("generator_version"),
        "elapsed_s": round(time.monotonic() - started, 2),
    }
    _write_summary(summary, out_dir)
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
