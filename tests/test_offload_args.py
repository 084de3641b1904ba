"""Every offload argument is checked before anything is written: a bad destination anywhere in
the list (overlapping the card, also through a symlink; given twice), a missing source or a
bad template leaves no roll folder and no lock on any destination."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import UserInputError
from pipeline.offload import offload


@pytest.fixture()
def card(tmp_path: Path) -> Path:
    src = tmp_path / "cards" / "A001"
    (src / "CLIPS").mkdir(parents=True)
    (src / "CLIPS" / "C0001.MXF").write_bytes(os.urandom(5000))
    return src


def untouched(*drives: Path) -> None:
    for d in drives:
        assert list(d.iterdir()) == [], f"{d} was written to: {list(d.rglob('*'))}"


def drive(tmp_path: Path, name: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    return d


def test_overlap_on_second_destination_leaves_nothing_on_the_first(tmp_path, card):
    d1 = drive(tmp_path, "ssd1")
    with pytest.raises(UserInputError, match="overlaps the source"):
        offload(card, [d1, card / "CLIPS"])
    untouched(d1)  # no roll folder, no _rushline/offload.lock
    assert sorted(p.name for p in card.rglob("*")) == ["C0001.MXF", "CLIPS"]


def test_overlap_through_a_symlink_is_refused(tmp_path, card):
    d1 = drive(tmp_path, "ssd1")
    sneaky = tmp_path / "looks-like-a-drive"
    sneaky.symlink_to(card)  # <sneaky>/A001 is really inside the card
    with pytest.raises(UserInputError, match="overlaps the source"):
        offload(card, [d1, sneaky])
    untouched(d1)
    assert not (card / "A001").exists()


def test_card_inside_the_destination_roll_folder_is_refused(tmp_path, card):
    d1 = drive(tmp_path, "ssd1")
    # the roll folder <cards>/A001 is the card itself
    with pytest.raises(UserInputError, match="overlaps the source"):
        offload(card, [d1, card.parent])
    untouched(d1)


def test_same_destination_twice_through_a_symlink(tmp_path, card):
    d1 = drive(tmp_path, "ssd1")
    alias = tmp_path / "alias"
    alias.symlink_to(d1)
    with pytest.raises(UserInputError, match="twice"):
        offload(card, [d1, alias])
    untouched(d1)


def test_missing_source_and_bad_template_write_nothing(tmp_path, card):
    d1, d2 = drive(tmp_path, "ssd1"), drive(tmp_path, "ssd2")
    with pytest.raises(UserInputError, match="not a folder"):
        offload(tmp_path / "no-such-card", [d1, d2])
    with pytest.raises(UserInputError):
        offload(card, [d1, d2], template="{project}/../{roll}", values={"project": "x"})
    with pytest.raises(UserInputError):
        offload(card, [d1, d2], hashes=["crc99"])
    untouched(d1, d2)


def test_cli_overlap_is_one_line_exit_2(tmp_path, card):
    d1 = drive(tmp_path, "ssd1")
    r = CliRunner().invoke(app, ["offload", str(card), "-d", str(d1), "-d", str(card)])
    assert r.exit_code == 2 and "overlaps the source" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    untouched(d1)


def test_existing_json_output_is_refused_before_any_copy(tmp_path, card):
    d1 = drive(tmp_path, "ssd1")
    out = tmp_path / "result.json"
    out.write_text("someone's notes")
    r = CliRunner().invoke(app, ["offload", str(card), "-d", str(d1), "--json", str(out)])
    assert r.exit_code == 2 and "already exists" in r.output and "--force" in r.output
    assert out.read_text() == "someone's notes"
    untouched(d1)
    r = CliRunner().invoke(
        app, ["offload", str(card), "-d", str(d1), "--json", str(out), "--force"]
    )
    assert r.exit_code == 0 and '"exit_code": 0' in out.read_text()
