"""How much a shoot writes, per day, per destination and in total, and what keeping it costs in
energy and CO2e per storage tier (footprint.py). Numbers come from data/codec_rates.yaml, where
each value says whether it is from a source, derived, or an assumption."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from pipeline.errors import ProfileError, UserInputError
from pipeline.fsutil import atomic_write_text
from pipeline.plan.footprint import SCOPE, Footprint, Grid, footprints, grid

DATA = Path(__file__).with_name("data") / "codec_rates.yaml"
TB = 10**12


class CodecRate(BaseModel):
    name: str
    family: str
    mbps: float
    width: int
    height: int
    fps: float
    scales: bool
    status: str
    source: str | None = None
    how: str | None = None


class Plan(BaseModel):
    codec: str
    width: int
    height: int
    fps: float
    mbps: float
    rate_status: str
    hours_per_day: float
    days: int
    cameras: int
    copies: int
    margin: float
    bytes_per_day: int  # one copy, margin included
    bytes_total: int  # one copy
    bytes_per_destination: int
    bytes_all_copies: int
    capacity_tb: float | None = None
    retention_years: float = 0
    footprint_scope: str = SCOPE
    grid: Grid | None = None
    footprints: list[Footprint] = Field(default_factory=list)


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    try:
        return yaml.safe_load(DATA.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"cannot read {DATA}: {exc}", path=DATA) from exc


def codecs() -> dict[str, CodecRate]:
    return {k: CodecRate(name=k, **v) for k, v in _load()["codecs"].items()}


def sources() -> dict[str, dict[str, str]]:
    return dict(_load()["sources"])


def rate_mbps(codec: CodecRate, width: int, height: int, fps: float) -> tuple[float, str]:
    """The codec's rate at this picture and frame rate, and how we got it."""
    if not codec.scales:
        return codec.mbps, codec.status
    factor = (width * height) / (codec.width * codec.height) * (fps / codec.fps)
    if abs(factor - 1) < 1e-6:
        return codec.mbps, codec.status
    return codec.mbps * factor, "derived"


def parse_resolution(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().replace("×", "x").partition("x")
    if not sep or not w.strip().isdigit() or not h.strip().isdigit():
        raise UserInputError(f"cannot read the resolution {text!r}", hint="write e.g. 3840x2160")
    return int(w), int(h)


def keeping(
    total_bytes: int, years: float, grid_name: str | None = None, grid_factor: float | None = None
) -> tuple[Grid, list[Footprint]]:
    """Energy and CO2e of keeping `total_bytes` for `years` in each storage tier."""
    g = grid(_load(), grid_name, grid_factor)
    return g, footprints(_load(), total_bytes, years, g)


def plan_storage(
    codec: str,
    *,
    resolution: str,
    fps: float,
    hours: float,
    days: int = 1,
    copies: int = 2,
    cameras: int = 1,
    margin: float = 0.2,
    retention_years: float = 0,
    capacity_tb: float | None = None,
    grid_name: str | None = None,
    grid_factor: float | None = None,
) -> Plan:
    """Size a shoot: `hours` recorded per camera per day, for `days`, on `copies` destinations."""
    table = codecs()
    if codec not in table:
        raise UserInputError(f"unknown codec {codec!r}", hint="`rushline plan codecs` lists them")
    if min(hours, fps) <= 0 or min(days, copies, cameras) < 1 or margin < 0:
        raise UserInputError("hours and fps must be > 0; days, copies, cameras >= 1; margin >= 0")
    width, height = parse_resolution(resolution)
    mbps, status = rate_mbps(table[codec], width, height, fps)
    per_day = int(mbps * 1e6 / 8 * hours * 3600 * cameras * (1 + margin))
    total = per_day * days
    plan = Plan(
        codec=codec,
        width=width,
        height=height,
        fps=fps,
        mbps=round(mbps, 2),
        rate_status=status,
        hours_per_day=hours,
        days=days,
        cameras=cameras,
        copies=copies,
        margin=margin,
        bytes_per_day=per_day,
        bytes_total=total,
        bytes_per_destination=total,
        bytes_all_copies=total * copies,
        capacity_tb=capacity_tb,
        retention_years=retention_years,
    )
    if retention_years > 0:
        plan.grid, plan.footprints = keeping(total, retention_years, grid_name, grid_factor)
    return plan


def save_plan(plan: Plan, out: str | os.PathLike[str], *, overwrite: bool) -> None:
    atomic_write_text(out, plan.model_dump_json(indent=2) + "\n", overwrite=overwrite)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    try:
        return Plan.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise UserInputError(
            f"cannot read the plan {path}: {exc}",
            path=path,
            hint="make one with `rushline plan storage ... --save PLAN.json`",
        ) from exc
