"""The QC and probe cache (pipeline.cache): an unchanged file, profile and Rushline are answered
from the cache without decoding; a changed file or an edited profile is measured again;
`--no-cache` always measures; a damaged entry is a warning and a new measurement; two
processes writing at once leave a readable cache."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sys
from pathlib import Path

import pytest
from qc_media import build_all
from typer.testing import CliRunner

from pipeline import cache, tools
from pipeline.cli import app
from pipeline.profiles import load_profile

PROFILE = (
    "name: pic\ntitle: Picture\nsummary: tests\nkind: broadcast\nsource:\n  document: tests\n"
    "picture:\n  levels:\n    max_out_of_range_pixels_percent: {limit}\n"
)


@pytest.fixture(scope="module")
def media():
    return build_all()


@pytest.fixture()
def store(tmp_path, monkeypatch) -> Path:
    """The cache turned on, in this test's own folder."""
    root = tmp_path / "cache"
    monkeypatch.setenv("RUSHLINE_CACHE", str(root))
    return root


@pytest.fixture()
def clip(media, tmp_path) -> Path:
    """illegal.mov (a levels warning with a thumbnail) copied where the test may change it."""
    dest = tmp_path / "in" / "illegal [a].mov"
    dest.parent.mkdir()
    shutil.copyfile(media["illegal.mov"], dest)
    return dest


@pytest.fixture()
def profile_yaml(tmp_path) -> Path:
    p = tmp_path / "pic.yaml"
    p.write_text(PROFILE.format(limit=1.0), encoding="utf-8")
    return p


@pytest.fixture()
def decodes(monkeypatch) -> list[Path]:
    """Every decode pass QC starts (the real one runs): a cache hit adds none."""
    from pipeline.qc import run

    real, seen = run.decode_pass, []

    def counting(layout, *args, **kwargs):
        seen.append(layout)
        return real(layout, *args, **kwargs)

    monkeypatch.setattr(run, "decode_pass", counting)
    return seen


@pytest.fixture()
def hashes(monkeypatch) -> list[str]:
    """Every file the cache reads whole to hash it."""
    import pipeline.hashing

    real, seen = pipeline.hashing.hash_file, []

    def counting(path, *args, **kwargs):
        seen.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pipeline.hashing, "hash_file", counting)
    return seen


def _qc(clip: Path, profile_yaml: Path, **kw):
    return cache.qc_file_cached(clip, load_profile(profile_yaml), **kw)


def _same_findings(a, b) -> None:
    def strip(r):
        return [f.model_dump(exclude={"thumbnail"}) for f in r.findings]

    assert strip(a) == strip(b) and a.measurements == b.measurements and a.verdict == b.verdict


def test_unchanged_file_is_a_hit_without_decoding_or_hashing(
    store, clip, profile_yaml, decodes, hashes
):
    first = _qc(clip, profile_yaml)
    assert not first.cached and len(decodes) == 1 and hashes == [str(clip)]
    assert first.findings and first.verdict == "warn"
    second = _qc(clip, profile_yaml)
    assert second.cached and len(decodes) == 1  # no decode: answered from the cache
    assert len(hashes) == 1  # the stat signature's memo: not even hashed again
    _same_findings(first, second)
    assert second.file == str(clip)


def test_same_content_touched_or_copied_is_a_hit(store, clip, profile_yaml, decodes, hashes):
    _qc(clip, profile_yaml)
    os.utime(clip, ns=(1_000_000_000, 1_000_000_000))  # new stat signature, same bytes
    assert _qc(clip, profile_yaml).cached and len(hashes) == 2  # hashed again, same content
    twin = clip.with_name("-twin.mov")
    shutil.copyfile(clip, twin)
    hit = _qc(twin, profile_yaml)
    assert hit.cached and hit.file == str(twin) and len(decodes) == 1


def test_changed_content_is_a_miss(store, clip, profile_yaml, decodes):
    _qc(clip, profile_yaml)
    with open(clip, "r+b") as fh:  # one byte in the middle of the picture data
        fh.seek(clip.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0xFF]))
    again = _qc(clip, profile_yaml)
    assert not again.cached and len(decodes) == 2


def test_edited_profile_yaml_is_a_miss(store, clip, profile_yaml, decodes):
    _qc(clip, profile_yaml)
    profile_yaml.write_text(PROFILE.format(limit=99.0), encoding="utf-8")  # same name
    edited = _qc(clip, profile_yaml)
    assert not edited.cached and len(decodes) == 2
    assert edited.verdict == "pass"  # the new limit was applied, not an old answer
    assert _qc(clip, profile_yaml).cached and len(decodes) == 2


def test_hit_writes_reports_and_thumbnails_and_no_cache_measures_again(
    store, clip, profile_yaml, decodes, tmp_path
):
    def run(out: str, *extra: str):
        res = CliRunner().invoke(
            app,
            ["qc", str(clip), "-p", str(profile_yaml), "--html", str(tmp_path / out / "r.html"),
             "--json", str(tmp_path / out / "r.json"), *extra],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        data = json.loads((tmp_path / out / "r.json").read_text(encoding="utf-8"))
        thumbs = sorted((tmp_path / out / "r_thumbs").iterdir())
        return res.output, data, thumbs

    out1, data1, thumbs1 = run("one")
    out2, data2, thumbs2 = run("two")
    assert len(decodes) == 1 and not data1["cached"] and data2["cached"]
    assert "(cached)" in out2 and "(cached)" not in out1
    assert [t.name for t in thumbs2] == [t.name for t in thumbs1] and thumbs2
    assert thumbs2[0].read_bytes() == thumbs1[0].read_bytes()
    assert data2["findings"] == data1["findings"]  # thumbnail paths too: r_thumbs/<frame>.jpg
    assert "r_thumbs/" in (tmp_path / "two" / "r.html").read_text(encoding="utf-8")
    out3, data3, _ = run("three", "--no-cache")
    assert len(decodes) == 2 and not data3["cached"] and "(cached)" not in out3


def test_hit_without_thumbnails_first_then_html(store, clip, profile_yaml, decodes, tmp_path):
    """A first QC without a report still keeps its thumbnails for a later HTML report."""
    plain = _qc(clip, profile_yaml)
    assert all(f.thumbnail is None for f in plain.findings)
    hit = _qc(clip, profile_yaml, thumbnails_dir=tmp_path / "page_thumbs")
    assert hit.cached and len(decodes) == 1
    refs = [f.thumbnail for f in hit.findings if f.thumbnail]
    assert refs and all((tmp_path / r).is_file() for r in refs)


def test_damaged_entry_warns_and_measures_again(store, clip, profile_yaml, decodes, caplog):
    _qc(clip, profile_yaml)
    (entry,) = (store / "qc").glob("*.json")
    (memo,) = (store / "hash").glob("*.json")
    entry.write_text('{"layout": 1, "value": {"verdict": "pass"', encoding="utf-8")
    memo.write_bytes(b"\xff\xfe not json")
    with caplog.at_level(logging.WARNING, logger="rushline.cache"):
        again = _qc(clip, profile_yaml)
    assert not again.cached and len(decodes) == 2 and again.verdict == "warn"
    warned = [r.getMessage() for r in caplog.records]
    assert any(str(entry) in m and "ignored" in m for m in warned)
    assert all("\n" not in m for m in warned)
    assert _qc(clip, profile_yaml).cached  # the damaged entry was replaced by the new one
    entry.write_text(json.dumps({"layout": 1, "value": {"file": 3}}), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="rushline.cache"):
        assert not _qc(clip, profile_yaml).cached  # valid JSON, not a result: a miss too


def test_errors_are_never_cached(store, media, profile_yaml, decodes):
    for _ in range(2):
        r = _qc(media["vfr.mp4"], profile_yaml)
        assert r.verdict == "error" and not r.cached
    assert not list(store.glob("qc/*.json")) and len(decodes) == 0  # refused before decoding


def test_turned_off_by_default_in_tests_and_by_flag(clip, profile_yaml, decodes, monkeypatch):
    assert cache.turned_off() and cache.Cache.open() is None  # conftest: RUSHLINE_CACHE=off
    for _ in range(2):
        assert not _qc(clip, profile_yaml).cached
    monkeypatch.setenv("RUSHLINE_CACHE", str(clip.parent / "c"))
    for _ in range(2):
        assert not _qc(clip, profile_yaml, cache=False).cached
    assert len(decodes) == 4 and not (clip.parent / "c").exists()


def test_unwritable_cache_is_a_warning_not_a_failure(clip, profile_yaml, monkeypatch, caplog):
    blocker = clip.parent / "a file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("RUSHLINE_CACHE", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING, logger="rushline.cache"):
        for _ in range(2):
            r = _qc(clip, profile_yaml)
            assert r.verdict == "warn" and not r.cached
    assert sum("not written" in rec.getMessage() for rec in caplog.records) == 1  # once


# --- probe ----------------------------------------------------------------------------------


@pytest.fixture()
def card(samples, tmp_path) -> Path:
    dest = tmp_path / "card"
    shutil.copytree(Path(samples["root"]) / samples["cards"]["C_SOUND"]["path"], dest)
    return dest


def test_probe_hit_miss_and_no_cache(store, card, monkeypatch, tmp_path):
    first, hits = cache.probe_paths_cached([card])
    media = [a for a in first if a.kind == "audio"]
    assert hits == 0 and len(media) == 3 and all(a.ok for a in media)
    probed: list[str] = []
    import pipeline.probe

    real = pipeline.probe.probe_file
    monkeypatch.setattr(pipeline.probe, "probe_file", lambda p: probed.append(str(p)) or real(p))
    second, hits = cache.probe_paths_cached([card])
    assert hits == 3 and not probed
    assert [a.model_dump() for a in second] == [a.model_dump() for a in first]
    changed = next(a for a in media if a.path.endswith("WILDTRACK_01.WAV"))
    with open(changed.path, "ab") as fh:
        fh.write(b"\0" * 16)
    third, hits = cache.probe_paths_cached([card])
    assert hits == 2 and probed == [changed.path]
    assert cache.probe_paths_cached([card], cache=False)[1] == 0
    res = CliRunner().invoke(app, ["probe", str(card), "--no-catalog"])
    assert res.exit_code == 0 and "3 of" in res.output and "from the cache" in res.output
    res = CliRunner().invoke(app, ["probe", str(card), "--no-catalog", "--no-cache"])
    assert res.exit_code == 0 and "from the cache" not in res.output


# --- two processes ----------------------------------------------------------------------------


def _writer(root: str, files: list[str], rounds: int) -> int:
    os.environ["RUSHLINE_CACHE"] = root
    store = cache.Cache.open()
    assert store is not None
    big = {"findings": ["x" * 1000] * 200}  # large enough that a torn write would show
    for i in range(rounds):
        for f in files:
            store.content_hash(f)
        store.put("qc", f"k{i % 5}", {**big, "writer": os.getpid(), "round": i})
    return os.getpid()


def test_two_processes_writing_at_once_leave_a_readable_cache(tmp_path, caplog):
    root = tmp_path / "cache"
    files = []
    for i in range(6):
        f = tmp_path / f"f{i}.bin"
        f.write_bytes(os.urandom(200_000 + i))
        files.append(str(f))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pids = pool.starmap(_writer, [(str(root), files, 60), (str(root), files[::-1], 60)])
    assert len(set(pids)) == 2
    store = cache.Cache(root)
    with caplog.at_level(logging.WARNING, logger="rushline.cache"):
        entries = [store.get("qc", f"k{i}") for i in range(5)]
        assert all(e and e["value"]["writer"] in pids for e in entries)
        from pipeline.hashing import hash_file

        for f in files:
            assert store.content_hash(f) == hash_file(f, ["xxh128"])["xxh128"]
    assert not caplog.records  # nothing damaged
    assert not [p for p in root.rglob("*") if p.name.endswith(".part")]  # no temp left over


def test_two_qc_commands_at_once_then_a_hit(store, clip, profile_yaml, tmp_path):
    """Two `rushline qc` processes measure the same file at once and both write the entry."""
    procs = []
    try:
        for i in range(2):
            cmd = [sys.executable, "-m", "pipeline", "qc", str(clip), "-p", str(profile_yaml),
                   "--json", str(tmp_path / f"r{i}.json"), "--no-catalog"]  # fmt: skip
            procs.append(tools.spawn(cmd, what="a test QC", stdout=True, stderr=True))
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                tools.end(p, timeout=5)
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, (out + err).decode(errors="replace")  # warn: exit 0
        assert b"ignored" not in err and b"not written" not in err
    (entry,) = store.glob("qc/*.json")
    assert json.loads(entry.read_text(encoding="utf-8"))["value"]["verdict"] == "warn"
    assert _qc(clip, profile_yaml).cached
