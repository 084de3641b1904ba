"""The main job on the sample media: `make demo`.

A day on set and in post, in one flow: probe the cards, then each later stage (offload, rights,
QC, deliver) adds its step. Writes `summary.json` (the truth) and `summary.html` into --out.

    python -m flows.demo --samples sample_media/out --out out/demo
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.probe import probe_task
from pipeline.fsutil import atomic_write_text
from pipeline.report import render_html
from pipeline.tools import tool_versions


def _load_manifest(samples: Path) -> dict[str, Any]:
    manifest = samples / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found; run `make samples` first")
    return json.loads(manifest.read_text(encoding="utf-8"))


@flow(name="rushline-demo", log_prints=True)
def demo_flow(samples: str, out: str) -> dict[str, Any]:
    """Probe the sample cards and run every stage that exists; returns the summary."""
    log = get_run_logger()
    samples_dir, out_dir = Path(samples).resolve(), Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(samples_dir)
    cards = sorted((samples_dir / "cards").iterdir())
    started = time.monotonic()
    summary: dict[str, Any] = {"samples": str(samples_dir), "out": str(out_dir), "stages": {}}

    assets = probe_task([str(c) for c in cards] + [str(samples_dir / "masters")])
    media = [a for a in assets if a.kind.value in ("video", "audio", "photo")]
    summary["stages"]["probe"] = {
        "files": len(assets),
        "media": len(media),
        "errors": [{"path": a.path, "error": a.error} for a in assets if a.error],
        "assets": [a.model_dump(mode="json", exclude_none=True) for a in assets],
    }
    log.info(
        "probe: %d files, %d media, %d errors",
        len(assets),
        len(media),
        len(summary["stages"]["probe"]["errors"]),
    )

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
    print(f"Demo finished in {summary['elapsed_s']} s. Results:")
    print(f"  summary (JSON, the truth): {out / 'summary.json'}")
    print(f"  summary for people:        {out / 'summary.html'}")
    for name, stage in summary["stages"].items():
        for key in ("report_html", "report_json"):
            if stage.get(key):
                print(f"  {name} {key.split('_')[1].upper():<4}:               {stage[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
