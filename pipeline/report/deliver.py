"""The delivery note: JSON (the truth) and an HTML view for the people who receive it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.fsutil import atomic_write_text
from pipeline.report import render_html

NOTE_NAME = "delivery_note"


def note_paths(out_dir: Path) -> tuple[Path, Path]:
    return out_dir / f"{NOTE_NAME}.json", out_dir / f"{NOTE_NAME}.html"


def write_note(note: Any, out_dir: Path, *, overwrite: bool) -> tuple[Path, Path]:
    """Write `delivery_note.json` and `delivery_note.html` into the delivery folder."""
    js, html = note_paths(out_dir)
    data = note.model_dump(mode="json")
    import json

    atomic_write_text(
        js, json.dumps(data, indent=2, ensure_ascii=False) + "\n", overwrite=overwrite
    )
    rows = [_row(d) for d in data["deliverables"]]
    render_html(
        "deliver.html.j2",
        html,
        overwrite=overwrite,
        note=data,
        rows=rows,
        tools=data.get("tools") or {},
    )
    return js, html


def _row(d: dict[str, Any]) -> dict[str, Any]:
    norm = d.get("normalisation") or {}
    after = norm.get("measured_after") or {}
    return {
        **d,
        "output_name": Path(d["output"]).name if d.get("output") else "—",
        "master_name": Path(d["master"]).name,
        "gain": f"{norm['gain_db']:+.2f} dB" if "gain_db" in norm else "—",
        "limiter": (
            f"yes, up to {norm.get('max_gain_reduction_db', 0):.1f} dB"
            if norm.get("limiter_used")
            else ("no" if norm else "—")
        ),
        "after_lufs": after.get("integrated_lufs"),
    }
