"""Storage planning: rates from the data file (every value sourced, derived or labelled an
assumption), sizes per day / shoot / destination, footprints, and a plan against the catalogue."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from pipeline.catalog.db import open_catalog
from pipeline.catalog.record import record_offload
from pipeline.errors import UserInputError
from pipeline.plan.status import plan_status
from pipeline.plan.storage import _load, codecs, load_plan, plan_storage, save_plan, sources


def test_every_rate_says_where_it_comes_from():
    srcs = sources()
    for c in codecs().values():
        assert c.status in ("source", "derived", "assumption"), c.name
        if c.status in ("source", "derived"):
            assert c.source in srcs, c.name
        if c.status in ("derived", "assumption"):
            assert c.how, c.name
    for tier in _load()["storage_tiers"].values():
        assert tier["status"] == "source" and tier["url"] or tier["how"]


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


def test_footprint_cold_is_below_hot_cloud():
    plan = plan_storage(
        "prores-hq", resolution="1920x1080", fps=25, hours=4, days=30, retention_years=5
    )
    by = {f.tier: f for f in plan.footprints}
    assert by["lto"].kgco2e < by["cold-object"].kgco2e < by["cloud-online"].kgco2e
    tb = plan.bytes_total / 1e12
    assert by["cloud-online"].kgco2e == pytest.approx(208 * tb * 5)


def _synthetic(roll: str, n: int, size: int, dest: str):
    from pipeline.offload import CopyOutcome, DestinationResult, FileRecord, OffloadResult

    files = [
        FileRecord(
            path=f"C{i}.mov",
            size=size,
            mtime="2026-11-22T10:00:00",
            hashes={"xxh128": f"{roll}{i:028x}"},
            outcomes=[CopyOutcome(destination=dest, status="copied", verified="full")],
        )
        for i in range(n)
    ]
    return OffloadResult(
        source="/card",
        roll=roll,
        template="{roll}",
        values={},
        hash_formats=["xxh128"],
        verify="full",
        started="2026-11-22T10:00:00",
        files=files,
        destinations=[DestinationResult(root=dest, roll_dir=f"{dest}/{roll}")],
    )


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
    record_offload(_synthetic("A001", 10, 400_000_000, "/mnt/SHUTTLE1"), catalog=cat)
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
