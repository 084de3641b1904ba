"""Storage planning: rates from the data file (every value sourced, derived or labelled an
assumption), sizes per day / shoot / destination, footprints, and a plan against the catalogue."""

from __future__ import annotations

import json

import pytest
import typer
from test_catalog import synthetic
from typer.testing import CliRunner

from pipeline.catalog.db import open_catalog
from pipeline.catalog.record import record_offload
from pipeline.errors import UserInputError
from pipeline.plan.footprint import COMPONENTS, FACTORS
from pipeline.plan.status import plan_status
from pipeline.plan.storage import codecs, load_plan, plan_storage, save_plan, sources


def test_every_rate_says_where_it_comes_from():
    srcs = sources()
    for c in codecs().values():
        assert c.status in ("source", "derived", "assumption"), c.name
        if c.status in ("source", "derived"):
            assert c.source in srcs, c.name
        if c.status in ("derived", "assumption"):
            assert c.how, c.name
    for fp in plan_storage(
        "prores-hq", resolution="1920x1080", fps=25, hours=1, retention_years=1
    ).footprints:
        for f in fp.factors:  # every storage factor: a document (and where in it) or reasoning
            assert f.status in ("source", "derived", "assumption"), (fp.tier, f.name)
            if f.status == "source":
                assert f.source and f.where and f.url, (fp.tier, f.name)
            if f.status in ("derived", "assumption"):
                assert f.how, (fp.tier, f.name)


def test_prores_hq_uhd_matches_the_white_paper_scaling():
    plan = plan_storage("prores-hq", resolution="3840x2160", fps=23.976, hours=1, margin=0)
    assert plan.rate_status == "derived" and plan.mbps == pytest.approx(704, abs=1)
    assert plan.bytes_per_day == pytest.approx(704e6 / 8 * 3600, rel=1e-3)  # ~317 GB/h


def test_days_cameras_copies_and_margin_multiply():
    one = plan_storage("dnxhr-hq", resolution="3840x2160", fps=23.976, hours=1, margin=0)
    assert one.mbps == pytest.approx(698.44) and one.rate_status == "derived"
    big = plan_storage(
        "dnxhr-hq",
        resolution="3840x2160",
        fps=23.976,
        hours=2,
        days=10,
        cameras=3,
        copies=3,
        margin=0.25,
    )
    assert big.bytes_per_day == pytest.approx(one.bytes_per_day * 2 * 3 * 1.25, rel=1e-6)
    assert big.bytes_total == big.bytes_per_day * 10
    assert big.bytes_all_copies == big.bytes_total * 3


def test_fixed_rate_codecs_do_not_scale_and_bad_input_is_refused():
    a = plan_storage("xavc-s-4k-100", resolution="3840x2160", fps=50, hours=1)
    assert a.mbps == 100
    with pytest.raises(UserInputError):
        plan_storage("nope", resolution="1920x1080", fps=25, hours=1)
    with pytest.raises(UserInputError):
        plan_storage("prores-hq", resolution="1920by1080", fps=25, hours=1)


def _hundred_tb(years: float = 5, **kw):
    """A plan of exactly 100 TB (no margin) kept `years`."""
    hours = 100e12 / (100e6 / 8 * 3600)  # xavc-s-4k-100 writes 100 Mbit/s whatever the fps
    return plan_storage(
        "xavc-s-4k-100",
        resolution="3840x2160",
        fps=25,
        hours=hours,
        margin=0,
        retention_years=years,
        **kw,
    )


def test_every_tier_has_the_same_scope():
    plan = _hundred_tb()
    assert plan.bytes_total == pytest.approx(100e12, rel=1e-6)
    assert {f.tier for f in plan.footprints} == {"hot-disk", "cloud-online", "cold-object", "lto"}
    for f in plan.footprints:
        assert tuple(f.components) == COMPONENTS, f.tier
        assert [x.name for x in f.factors] == [*FACTORS, "grid"], f.tier
        # a tier that silently dropped energy or embodied emissions would show a zero here
        assert f.components["energy_kgco2e"] > 0 and f.components["embodied_kgco2e"] > 0, f.tier
        assert f.components["facility_kwh"] > 0, f.tier  # PUE applies to every tier's energy
        assert f.kgco2e == pytest.approx(
            f.components["energy_kgco2e"] + f.components["embodied_kgco2e"]
        )
        assert f.copies >= 2, f.tier  # replicas each tier keeps are counted
        assert f.raw_tb >= 100 * f.copies


def test_footprint_arithmetic_for_one_tier():
    plan = _hundred_tb(grid_factor=0.1)
    hot = next(f for f in plan.footprints if f.tier == "hot-disk")
    v = {x.name: x.value for x in hot.factors}
    raw = 100 * v["copies"] * v["raw_per_usable"]
    device = raw * v["device_w_per_tb"] * v["enclosure_factor"] * 8760 * 5 / 1000
    assert hot.components["device_kwh"] == pytest.approx(device)
    assert hot.kwh == pytest.approx(device * v["pue"])
    assert hot.components["energy_kgco2e"] == pytest.approx(device * v["pue"] * 0.1)
    embodied = raw * v["embodied_kg_per_tb"] * 5 / v["service_years"]
    assert hot.components["embodied_kgco2e"] == pytest.approx(embodied)


def test_ordering_for_100_tb_over_5_years():
    """LTO shelf < cold object < on-site disks holds under both sourced grids. On France's grid
    (RTE 2023, 32 g/kWh) energy is small, so embodied media and copies dominate; on the EU
    average (EEA 2018, 281 g/kWh) spinning disks' energy dominates and the gap widens."""
    for grid in ("fr", "eu"):
        by = {f.tier: f.kgco2e for f in _hundred_tb(grid_name=grid).footprints}
        assert by["lto"] < by["cold-object"] < by["hot-disk"] < by["cloud-online"], (grid, by)
    fr = {f.tier: f for f in _hundred_tb(grid_name="fr").footprints}
    hot = fr["hot-disk"].components
    assert hot["embodied_kgco2e"] > hot["energy_kgco2e"]  # France: embodied weighs more
    eu = {f.tier: f for f in _hundred_tb(grid_name="eu").footprints}
    hot = eu["hot-disk"].components
    assert hot["energy_kgco2e"] > hot["embodied_kgco2e"]
    assert eu["hot-disk"].kgco2e > 5 * eu["cold-object"].kgco2e


def test_no_tier_uses_a_whole_service_life_cycle_factor():
    """The Öko-Institut 208 kg/TB-year (servers, network, building) is a wider scope: it is shown
    for comparison, never used, so no tier sits 100x above the others for scope alone."""
    plan = _hundred_tb()
    by = {f.tier: f for f in plan.footprints}
    assert by["cloud-online"].reference["kgco2e_per_tb_year"] == 208
    assert by["cloud-online"].kgco2e < 208 * 100 * 5 / 10
    assert by["cloud-online"].kgco2e < 3 * by["hot-disk"].kgco2e


def test_status_against_the_catalogue(tmp_path):
    plan = plan_storage(
        "h264-proxy-canon",
        resolution="1280x720",
        fps=25,
        hours=1,
        days=4,
        margin=0,
        capacity_tb=0.01,
    )
    save_plan(plan, tmp_path / "p.json", overwrite=False)
    plan = load_plan(tmp_path / "p.json")
    cat = open_catalog(tmp_path / "c.sqlite")
    record_offload(synthetic("A001", 10, "/mnt/SHUTTLE1", size=400_000_000), catalog=cat)
    st = plan_status(plan, cat)
    assert st.days_shot == 1 and st.bytes_shot == 4_000_000_000
    (vol,) = st.volumes
    assert vol.volume == "SHUTTLE1" and vol.projected_bytes == 16_000_000_000
    assert vol.warning and "will need 0.02 TB" in vol.warning  # 10 GB capacity, 16 GB coming
    assert any("TB/day planned" in w for w in st.warnings)  # 4 GB/day shot vs 1.8 GB planned


def test_cli_storage_compare_and_save(tmp_path):
    from pipeline.cli import plan as plan_cli

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    plan_cli.register(app)
    r = CliRunner().invoke(
        app,
        [
            "plan",
            "storage",
            "--codec",
            "prores-hq",
            "--codec",
            "braw-8to1",
            "--resolution",
            "3840x2160",
            "--fps",
            "24",
            "--hours",
            "2",
            "--json",
            "--save",
            str(tmp_path / "p.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [d["codec"] for d in data] == ["prores-hq", "braw-8to1"]
    assert data[1]["mbps"] == pytest.approx(305.8)
    assert load_plan(tmp_path / "p.json").codec == "prores-hq"
    again = CliRunner().invoke(
        app,
        [
            "plan",
            "storage",
            "--codec",
            "prores-hq",
            "--resolution",
            "1920x1080",
            "--fps",
            "25",
            "--hours",
            "1",
            "--save",
            str(tmp_path / "p.json"),
        ],
    )
    assert again.exit_code != 0
    listed = CliRunner().invoke(app, ["plan", "codecs"])
    assert listed.exit_code == 0 and "dnxhr-hq" in listed.stdout


def _app():
    from pipeline.cli import plan as plan_cli

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    plan_cli.register(app)
    return app


def test_json_lists_components_and_sources_per_tier():
    args = ["plan", "storage", "--codec", "prores-hq", "--resolution", "3840x2160"]
    args += ["--fps", "25", "--hours", "3", "--days", "30", "--retention-years", "5", "--json"]
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code == 0, r.output
    (plan,) = json.loads(r.stdout)
    assert plan["grid"]["name"] == "fr" and plan["grid"]["factor"]["source"].startswith("RTE")
    assert "embodied" in plan["footprint_scope"]
    for tier in plan["footprints"]:
        assert set(tier["components"]) == set(COMPONENTS), tier["tier"]
        names = {f["name"] for f in tier["factors"]}
        assert names == {*FACTORS, "grid"}, tier["tier"]
        for f in tier["factors"]:
            assert f["status"] == "assumption" and f["how"] or f["source"] and f["url"], f
    pue = {
        t["tier"]: next(f for f in t["factors"] if f["name"] == "pue") for t in plan["footprints"]
    }
    assert pue["cloud-online"]["source"].startswith("Uptime Institute")
    assert pue["cloud-online"]["value"] == 1.58


def test_storage_table_fits_and_states_its_scope():
    from rich.console import Console

    from pipeline.cli.plan import footprint_notes, footprint_table

    plan = plan_storage(
        "braw-8to1", resolution="3840x2160", fps=25, hours=3, days=30, retention_years=5
    )
    con = Console(width=100, record=True)
    con.print(footprint_table(plan))
    for line in footprint_notes(plan):
        con.print(line)
    text = con.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "…" not in text  # no number or header cut short
    assert "Scope, every tier" in text and "embodied" in text and "RTE" in text


def test_codecs_table_fits_100_columns_one_line_per_codec():
    from rich.console import Console

    from pipeline.cli.plan import codecs_table

    table, srcs = codecs(), sources()
    t, notes = codecs_table(table, srcs)
    con = Console(width=100, record=True)
    con.print(t)
    lines = con.export_text().splitlines()
    assert max(len(line) for line in lines) <= 100
    for name, c in table.items():
        (row,) = [line for line in lines if f" {name} " in line]  # exactly one line each
        assert f"{c.mbps:g}" in row and c.status in row
    assert notes and all(n in srcs for n in notes)
    assert not any("White Paper" in line for line in lines)  # sources are footnotes, not cells
    r = CliRunner().invoke(_app(), ["plan", "codecs", "--sources"])
    assert r.exit_code == 0 and "[1] " in r.stdout and "h265-proxy:" in r.stdout
