"""The main job on the sample media: `make demo`.

A day on set and in post, in one flow, on the generated sample media:

1. probe     — what every file on the cards and the masters is;
2. offload   — each card to two "drives" (folders standing in for mounted SSDs), hashed once,
               every copy re-read and verified, an ASC MHL history per roll;
3. rights    — XMP sidecars for the offloaded photo originals (never touched);
4. qc        — the programme master against the French PAD profile; the master's expected
               findings are compared with what QC found;
5. deliver   — the clean promo master QC'd on arrival, then made into a French PAD and a web
               version, loudness-normalised (reusing the arrival measurement), rights embedded
               (or side-carred for MXF), QC'd again;
6. photo     — the stills card ingested with renaming, picks from in-camera ratings, web/print/
               social exports with rights embedded and checked, a contact sheet and a portfolio.

Writes `summary.json` (the truth) and `summary.html` into --out. Re-running finishes the job:
verified copies are not copied again.

    python -m flows.demo --samples sample_media/out --out out/demo
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# A person reads this output: Prefect's per-task INFO lines stay in the UI (the API handler
# still gets them), the console shows our stage lines and any warning.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

from prefect import flow, get_run_logger  # noqa: E402

from flows.deliver import deliver_flow  # noqa: E402
from flows.offload import offload_flow  # noqa: E402
from flows.photo import (  # noqa: E402
    photo_export_flow,
    photo_ingest_task,
    photo_previews_task,
    photo_sheets_task,
)
from flows.probe import probe_task  # noqa: E402
from flows.qc import qc_batch_flow  # noqa: E402
from flows.rights import rights_flow  # noqa: E402
from pipeline.fsutil import atomic_write_text  # noqa: E402
from pipeline.photo.picks import select  # noqa: E402
from pipeline.qc.expected import compare_expected  # noqa: E402
from pipeline.report import render_html  # noqa: E402
from pipeline.tools import tool_versions  # noqa: E402

RIGHTS_TEMPLATE = "example"
PAD_PROFILE = "fr-pad-hd"
WEB_PROFILE = "web-h264"
PHOTO_RENAME = "{date}_{client}_{seq:04}"
PORTFOLIO_INTRO = Path(__file__).resolve().parents[1] / "profiles/photo/portfolio-intro.example.md"


def _load_manifest(samples: Path) -> dict[str, Any]:
    manifest = samples / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found; run `make samples` first")
    return json.loads(manifest.read_text(encoding="utf-8"))


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


def rights_stage(originals: list[Path], out_dir: Path) -> dict[str, Any]:
    """Sidecars for the offloaded originals (never touched); deliverables and photo exports get
    their rights embedded where they are made (deliver and photo stages)."""
    _stage("rights", "XMP sidecars for the offloaded originals, which are never modified")
    sidecar_dir = out_dir / "rights" / "sidecars"
    sidecar_dir.mkdir(parents=True, exist_ok=True)
    results = rights_flow(
        [str(p) for p in originals], RIGHTS_TEMPLATE, sidecar_dir=str(sidecar_dir)
    )
    errors = [r for r in results if r["action"] == "error"]
    not_written = sum(len(r["not_written"]) for r in results)
    return {
        "verdict": "fail" if errors else ("warn" if not_written else "pass"),
        "headline": f"{len(results)} sidecars for originals in {sidecar_dir}; "
        f"{len(errors)} errors, {not_written} fields not written",
        "results": results,
    }


def qc_stage(masters: Path, out_dir: Path) -> dict[str, Any]:
    _stage("qc", f"the programme master against {PAD_PROFILE} (it is built to fail)")
    pad = qc_batch_flow([str(masters / "PROGRAMME_MASTER.mxf")], PAD_PROFILE, str(out_dir / "qc"))
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
        f"{len(check['missed'])} missed, {len(check['false_alarms'])} false alarms)",
        "expected": check,
        "report_html": pad["report_html"],
        "report_json": pad["report_json"],
    }


def deliver_stage(masters: Path, out_dir: Path) -> dict[str, Any]:
    """QC the clean promo on arrival, then deliver it as PAD and web, each QC'd again."""
    promo = masters / "PROMO_MASTER.mxf"
    _stage("deliver", f"{promo.name} as {PAD_PROFILE} and {WEB_PROFILE}, each QC'd before it goes")
    arrival = qc_batch_flow([str(promo)], PAD_PROFILE, str(out_dir / "deliver" / "arrival_qc"))
    loudness = arrival["results"][0]["measurements"].get("loudness") or {}
    note = deliver_flow(
        [str(promo)],
        [PAD_PROFILE, WEB_PROFILE],
        str(out_dir / "deliver" / "delivery"),
        rights_template=RIGHTS_TEMPLATE,
        measurements={str(promo): loudness},
    )
    made = [d.model_dump(mode="json") for d in note.deliverables]
    ok = note.ok
    return {
        "verdict": "pass" if ok else "fail",
        "headline": "; ".join(
            f"{Path(d['output'] or d['master']).name} ({d['profile']}): {d['status']}, QC "
            f"{d['qc_verdict'] or '—'}, {_lufs(d)}"
            for d in made
        ),
        "deliverables": made,
        "manifest": note.manifest,
        "report_html": str(out_dir / "deliver" / "delivery" / "delivery_note.html"),
    }


def _lufs(d: dict[str, Any]) -> str:
    value = d.get("measured", {}).get("integrated_lufs")
    return f"{value:.1f} LUFS" if isinstance(value, int | float) else "loudness —"


def photo_stage(card: Path, out_dir: Path) -> dict[str, Any]:
    """Ingest the stills card, pick, export for web/print/social, sheets and portfolio."""
    _stage("photo", "ingest, picks, web/print/social exports, contact sheet, portfolio")
    base = out_dir / "photo"
    drive = base / "PHOTO_SSD"
    drive.mkdir(parents=True, exist_ok=True)  # stands in for the photographer's mounted SSD
    ingest = photo_ingest_task(str(card), [str(drive)], PHOTO_RENAME, {"client": "RushlineStudios"})
    if not ingest["renamed_dirs"]:
        return {"verdict": "fail", "headline": f"ingest failed (exit {ingest['exit_code']})"}
    renamed = Path(ingest["renamed_dirs"][0])
    photos = sorted(str(p) for p in renamed.rglob("*") if p.is_file() and _is_photo(p))
    previews = photo_previews_task(photos, str(base / "previews"))
    picks = [str(p) for p in select([Path(p) for p in photos], min_rating=4)]
    # Every photo for the web gallery; the picks also for print and social.
    exports = {
        preset: photo_export_flow(
            chosen, preset, str(base / "export" / preset), RIGHTS_TEMPLATE, force=True
        )
        for preset, chosen in (("web", photos), ("print", picks), ("social-4x5", picks))
    }
    pdfs = photo_sheets_task(
        photos, picks, str(base), str(PORTFOLIO_INTRO), RIGHTS_TEMPLATE, previews["by_source"]
    )
    failed = [r for rs in exports.values() for r in rs if r["status"] != "exported"]
    return {
        "verdict": "pass" if not failed and ingest["exit_code"] == 0 else "fail",
        "headline": f"{len(photos)} photos ingested and renamed, {len(picks)} picks (4+ stars); "
        + ", ".join(f"{k}: {sum(r['status'] == 'exported' for r in v)}" for k, v in exports.items())
        + f" exported; contact sheet {pdfs['sheet']['pages']} p., "
        f"portfolio {pdfs['portfolio']['pages']} p.",
        "ingest": ingest,
        "previews": {k: v for k, v in previews.items() if k != "by_source"},
        "exports": exports,
        "failed": failed,
        "report_html": pdfs["portfolio"]["out"],
        "contact_sheet": pdfs["sheet"]["out"],
    }


def _is_photo(path: Path) -> bool:
    return path.suffix.lower() in {".jpg", ".jpeg", ".dng", ".crw", ".cr2", ".cr3", ".nef", ".tif"}


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
    stages["rights"] = rights_stage(originals, out_dir)
    stages["qc"] = qc_stage(masters, out_dir)
    stages["deliver"] = deliver_stage(masters, out_dir)
    stages["photo"] = photo_stage(samples_dir / "cards" / "D_PHOTO", out_dir)
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
    # The demo's clips go into a catalogue of its own, not into the user's.
    catalog = Path(args.out).resolve() / "catalog.sqlite"
    os.environ.setdefault("RUSHLINE_CATALOG", str(catalog))
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
    if os.environ["RUSHLINE_CATALOG"] == str(catalog):
        print(f"  catalogue:                 {catalog}")
        print(f"Try: RUSHLINE_CATALOG={catalog} .venv/bin/rushline catalog search reel:A001")
    stages = summary["stages"]
    # The programme master is built to fail QC; every other stage must pass.
    failed = [n for n, st in stages.items() if n != "qc" and st.get("verdict") == "fail"]
    return 1 if stages["qc"]["expected"]["missed"] or failed else 0


if __name__ == "__main__":
    sys.exit(main())
