"""A plan against what the catalogue says was shot: bytes per day so far, per volume, and a
warning before a destination fills."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from pipeline.catalog.db import Catalog
from pipeline.catalog.identity import SOURCE
from pipeline.catalog.schema import Clip, Copy
from pipeline.plan.storage import TB, Plan

WARN_AT = 0.9


class VolumeStatus(BaseModel):
    volume: str
    used_bytes: int
    planned_bytes: int
    capacity_bytes: int | None
    projected_bytes: int
    warning: str | None = None


class PlanStatus(BaseModel):
    days_shot: int
    bytes_shot: int
    bytes_planned: int
    per_day_avg: int
    per_day_planned: int
    volumes: list[VolumeStatus] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def plan_status(plan: Plan, cat: Catalog) -> PlanStatus:
    """Compare a plan with the catalogue: per day, and per volume (used, projected, capacity)."""
    with cat.read("reading the catalogue for the plan") as s:
        days = s.execute(
            select(Clip.capture_date, func.sum(Clip.size)).group_by(Clip.capture_date)
        ).all()
        vols = s.execute(
            select(Copy.volume, func.sum(Clip.size))
            .join(Clip, Clip.id == Copy.clip_id)
            .where(Copy.status != SOURCE)  # the card a clip came from is no destination
            .group_by(Copy.volume)
        ).all()
    shot = sum(int(b or 0) for _, b in days)
    n_days = len([d for d, _ in days if d])
    avg = shot // n_days if n_days else 0
    remaining = max(plan.days - n_days, 0)
    st = PlanStatus(
        days_shot=n_days,
        bytes_shot=shot,
        bytes_planned=plan.bytes_total,
        per_day_avg=avg,
        per_day_planned=plan.bytes_per_day,
    )
    if n_days and avg > plan.bytes_per_day:
        st.warnings.append(
            f"shooting {avg / TB:.2f} TB/day against {plan.bytes_per_day / TB:.2f}"
            " TB/day planned (margin included)"
        )
    capacity = int(plan.capacity_tb * TB) if plan.capacity_tb else None
    for volume, used in sorted(vols):
        used = int(used or 0)
        projected = used + avg * remaining
        v = VolumeStatus(
            volume=volume,
            used_bytes=used,
            planned_bytes=plan.bytes_per_destination,
            capacity_bytes=capacity,
            projected_bytes=projected,
        )
        limit = capacity or plan.bytes_per_destination
        if used >= WARN_AT * limit:
            v.warning = f"{volume} holds {used / TB:.2f} TB of {limit / TB:.2f} TB"
        elif projected > limit:
            v.warning = (
                f"{volume} will need {projected / TB:.2f} TB by the end of the shoot "
                f"({limit / TB:.2f} TB {'capacity' if capacity else 'planned'})"
            )
        if v.warning:
            st.warnings.append(v.warning)
        st.volumes.append(v)
    return st
