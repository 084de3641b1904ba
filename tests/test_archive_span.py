"""Cold archive under stress: a destination that fills (a real 2 MB tmpfs), tape spanning
over volumes with capacities, LTO capacities as data."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import bagit
import pytest
import typer
from conftest import unavailable
from typer.testing import CliRunner

from pipeline.archive import pack as pack_mod
from pipeline.archive.bag import Item
from pipeline.archive.errors import ArchiveError
from pipeline.archive.pack import archive
from pipeline.archive.spanning import Volume, lto_table, parse_capacity, plan_span
from pipeline.cli import archive as archive_cli
from pipeline.exitcodes import ArchiveExit
from pipeline.tools import run


@pytest.fixture
def small_fs(tmp_path: Path):
    """A 2 MB tmpfs (we run as root in CI); skipped where mounting is not allowed."""
    mnt = tmp_path / "TINY"
    mnt.mkdir()
    try:
        run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], what="mount tmpfs")
    except Exception as exc:  # not root, or no mount in this container
        unavailable(f"cannot mount a tmpfs here: {exc}")
    yield mnt
    with contextlib.suppress(Exception):
        run(["umount", str(mnt)], what="umount tmpfs")


def make_roll(root: Path, sizes: list[int]) -> Path:
    roll = root / "A001"
    (roll / "ascmhl").mkdir(parents=True)
    (roll / "ascmhl" / "0001_A001_2026-11-22_120000.mhl").write_text("<hashlist/>")
    for i, n in enumerate(sizes):
        (roll / f"-clip [{i}].mov").write_bytes(os.urandom(n))
    return roll


def test_full_destination_is_refused_before_writing(tmp_path, small_fs):
    roll = make_roll(tmp_path, [1_500_000, 1_500_000])
    with pytest.raises(ArchiveError) as info:
        archive([roll], [str(small_fs)], "NF_20261122_roll_001", catalog=tmp_path / "c.db")
    assert info.value.exit_code == ArchiveExit.DEST_FULL
    assert "nothing was written" in str(info.value)
    assert list(small_fs.iterdir()) == []


def test_destination_filling_mid_copy_leaves_nothing_half_written(tmp_path, small_fs, monkeypatch):
    roll = make_roll(tmp_path, [900_000, 900_000, 900_000])
    # another writer took the space after our check: the copy itself hits ENOSPC
    monkeypatch.setattr(pack_mod, "check_destination", lambda *a, **k: None)
    with pytest.raises(ArchiveError) as info:
        archive([roll], [str(small_fs)], "NF_20261122_roll_001", catalog=tmp_path / "c.db")
    assert info.value.exit_code == ArchiveExit.DEST_FULL
    assert "filled up" in str(info.value) and "TINY" in str(info.value)
    assert list(small_fs.iterdir()) == []  # no bag, no temp folder, no .part file


def test_cli_reports_a_full_destination_with_its_exit_code(tmp_path, small_fs):
    roll = make_roll(tmp_path, [3_000_000])
    app = typer.Typer()

    @app.callback()
    def _root() -> None: ...

    archive_cli.register(app)
    r = CliRunner().invoke(
        app,
        [
            "archive",
            str(roll),
            "--to",
            str(small_fs),
            "--project",
            "NF",
            "--catalog",
            str(tmp_path / "c"),
        ],
    )
    assert r.exit_code == ArchiveExit.DEST_FULL
    assert "free" in r.output and "Traceback" not in r.output


def fake(name: str, size: int) -> Item:
    return Item(Path("/src") / name, f"data/A001/{name}", size)


def test_first_fit_decreasing_keeps_histories_with_every_part():
    cap = 11_000_000  # room for tag files is kept on each volume
    vols = [Volume(Path(f"/v{i}"), cap, "10M") for i in range(3)]
    items = [fake(n, s) for n, s in [("a", 6e6), ("b", 5e6), ("c", 4e6), ("d", 3e6), ("e", 1e6)]]
    items = [Item(i.src, i.payload, int(i.size)) for i in items]
    items.append(Item(Path("/src/h"), "data/A001/ascmhl/0001.mhl", 1000))
    plans = plan_span(items, vols)
    placed = [{Path(i.payload).name for i in p.items} for p in plans]
    assert placed == [{"0001.mhl", "a", "c"}, {"0001.mhl", "b", "d", "e"}]
    assert all(p.used <= cap for p in plans)
    with pytest.raises(ArchiveError, match="does not fit"):
        plan_span([fake("huge", 20_000_000)], vols)


def test_lto_capacities_are_data_with_sources():
    table = lto_table()
    assert table["generations"]["lto-9"]["native_bytes"] == 18 * 10**12
    assert table["generations"]["lto-8"]["native_bytes"] == 12 * 10**12
    assert table["generations"]["lto-7"]["native_bytes"] == 6 * 10**12
    assert all("LTO Program" in g["source"] for g in table["generations"].values())
    assert parse_capacity("LTO9")[0] == int(18 * 10**12 * table["usable"])
    assert parse_capacity("2.5T")[0] == 2_500_000_000_000
    with pytest.raises(ArchiveError, match="lto-9"):
        parse_capacity("DLT")


def test_spanned_archive_one_self_contained_bag_per_volume(tmp_path):
    roll = make_roll(tmp_path, [400_000, 300_000, 250_000, 200_000, 100_000])
    vols = [tmp_path / f"LTO00{i}" for i in (1, 2, 3)]
    for v in vols:
        v.mkdir()
    dests = [f"{v}=1M" for v in vols]
    res = archive([roll], dests, "NF_20261122_project_001", catalog=tmp_path / "c.db")
    assert res.plan is not None and len(res.bags) == 2
    names = {Path(p).name for b in res.bags for p in [b.path]}
    assert names == {"NF_20261122_project_001-1of2", "NF_20261122_project_001-2of2"}
    archived = []
    for bag in res.bags:
        b = bagit.Bag(bag.path)
        b.validate()  # each bag stands alone
        assert any("ascmhl" in p for p in b.payload_files())
        assert b.info["Bag-Group-Identifier"] == "NF_20261122_project_001"
        plan = json.loads((Path(bag.path) / "rushline-span.json").read_text())
        assert [v["bag"] for v in plan["volumes"]] == sorted(names)
        archived += [p for p in b.payload_files() if "ascmhl" not in p]
        assert bag.bytes <= 1_000_000
    assert sorted(archived) == sorted(f"data/A001/-clip [{i}].mov" for i in range(5))
    assert list(vols[2].iterdir()) == []  # the third volume was not needed
