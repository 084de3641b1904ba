"""Energy and CO2e of keeping data for a retention period, every storage tier on the same scope:
operational energy (media x enclosure x facility PUE) x grid factor, plus the embodied emissions
of the media amortised over their service life, times the copies each tier really keeps. Every
factor comes from data/codec_rates.yaml with its source, or is labelled an assumption."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pipeline.errors import ProfileError, UserInputError

HOURS_PER_YEAR = 8760
TB = 10**12
# Every tier's footprint has exactly these components: a test keeps them equal across tiers.
COMPONENTS = ("device_kwh", "facility_kwh", "energy_kgco2e", "embodied_kgco2e")
FACTORS = (
    "copies",
    "raw_per_usable",
    "device_w_per_tb",
    "enclosure_factor",
    "kwh_per_tb_written",
    "pue",
    "embodied_kg_per_tb",
    "service_years",
)
SCOPE = (
    "media power x enclosure x PUE x grid factor, plus embodied emissions of the media "
    "amortised over their service life, times the copies each tier keeps; enclosure "
    "hardware, servers, network and buildings are outside every tier's scope"
)


class Factor(BaseModel):
    """One number in the footprint, with where it comes from."""

    name: str
    value: float
    unit: str
    status: str  # source | derived | assumption
    source: str | None = None
    where: str | None = None
    url: str | None = None
    how: str | None = None


class Footprint(BaseModel):
    tier: str
    label: str
    copies: float
    raw_tb: float
    kwh: float
    kgco2e: float
    components: dict[str, float]
    factors: list[Factor]
    status: str  # source when every factor is sourced or derived, else "assumption"
    reference: dict[str, Any] | None = None


class Grid(BaseModel):
    name: str
    label: str
    factor: Factor


def _factor(data: dict[str, Any], name: str, spec: dict[str, Any]) -> Factor:
    if "ref" in spec:
        shared = data["factors"].get(spec["ref"])
        if shared is None:
            raise ProfileError(f"storage factor {name!r} refers to unknown {spec['ref']!r}")
        spec = shared
    src = data["storage_sources"].get(spec.get("source") or "", {})
    return Factor(
        name=name,
        value=float(spec["value"]),
        unit=spec["unit"],
        status=spec["status"],
        source=src.get("title"),
        where=src.get("where"),
        url=src.get("url"),
        how=spec.get("how"),
    )


def grid(data: dict[str, Any], name: str | None = None, value: float | None = None) -> Grid:
    """The grid factor: a named one from the data (default `default_grid`), or the user's own."""
    if value is not None:
        if value < 0:
            raise UserInputError("the grid factor must be >= 0 kg CO2e/kWh")
        f = Factor(
            name="grid",
            value=value,
            unit="kg CO2e/kWh",
            status="assumption",
            how="given with --grid-factor",
        )
        return Grid(name="custom", label=f"{value:g} kg/kWh (given)", factor=f)
    name = name or data["default_grid"]
    if name not in data["grids"]:
        known = ", ".join(sorted(data["grids"]))
        raise UserInputError(f"unknown grid {name!r}", hint=f"choose one of {known}")
    g = data["grids"][name]
    return Grid(name=name, label=g["label"], factor=_factor(data, "grid", g["factor"]))


def tier_footprint(
    data: dict[str, Any], tier: str, usable_tb: float, years: float, g: Grid
) -> Footprint:
    """One tier: the same components, computed the same way, for every tier."""
    spec = data["storage_tiers"][tier]
    missing = [k for k in FACTORS if k not in spec["factors"]]
    if missing:
        raise ProfileError(f"storage tier {tier!r} lacks factors {', '.join(missing)}")
    f = {k: _factor(data, k, spec["factors"][k]) for k in FACTORS}
    v = {k: x.value for k, x in f.items()}
    raw = usable_tb * v["copies"] * v["raw_per_usable"]
    standing = raw * v["device_w_per_tb"] * v["enclosure_factor"] * HOURS_PER_YEAR * years / 1000
    device_kwh = standing + raw * v["kwh_per_tb_written"]
    facility_kwh = device_kwh * (v["pue"] - 1)
    parts = {
        "device_kwh": device_kwh,
        "facility_kwh": facility_kwh,
        "energy_kgco2e": (device_kwh + facility_kwh) * g.factor.value,
        "embodied_kgco2e": raw * v["embodied_kg_per_tb"] * years / v["service_years"],
    }
    factors = [*f.values(), g.factor]
    sourced = all(x.status in ("source", "derived") for x in factors)
    return Footprint(
        tier=tier,
        label=spec["label"],
        copies=v["copies"],
        raw_tb=raw,
        kwh=device_kwh + facility_kwh,
        kgco2e=parts["energy_kgco2e"] + parts["embodied_kgco2e"],
        components=parts,
        factors=factors,
        status="source" if sourced else "assumption",
        reference=spec.get("reference"),
    )


def footprints(data: dict[str, Any], total_bytes: int, years: float, g: Grid) -> list[Footprint]:
    """Every tier keeping `total_bytes` (one usable copy's worth) for `years`."""
    tb = total_bytes / TB
    return [tier_footprint(data, name, tb, years, g) for name in data["storage_tiers"]]
