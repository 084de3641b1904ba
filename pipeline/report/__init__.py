"""Reports: JSON is the truth; HTML (and PDF) are views rendered from it.

Each room owns a template `templates/<room>.html.j2` extending `base.html.j2`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipeline.fsutil import atomic_write_text

_TEMPLATES = Path(__file__).with_name("templates")


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["human_bytes"] = human_bytes
    env.filters["timecode_s"] = seconds_label
    return env


def human_bytes(n: float | int | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    return f"{value:.2f} TB"


def seconds_label(s: float | None) -> str:
    """12.345 -> '00:00:12.345' for reports."""
    if s is None:
        return "—"
    h, rem = divmod(float(s), 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h):02d}:{int(m):02d}:{sec:06.3f}"


def render_html(
    template: str, dest: str | os.PathLike[str], *, overwrite: bool, **context: Any
) -> Path:
    """Render `templates/<template>` to `dest` atomically; returns the path.

    `overwrite` says whether an existing `dest` may be replaced (else it is an error).
    """
    context.setdefault("generated", dt.datetime.now().astimezone().isoformat(timespec="seconds"))
    html = _env().get_template(template).render(**context)
    atomic_write_text(dest, html, overwrite=overwrite)
    return Path(dest)
