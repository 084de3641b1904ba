"""Hashes agree with the reference ASC MHL tool in every format, streamed or not."""

from __future__ import annotations

import os

import pytest
from ascmhl import hasher as ref

from pipeline.errors import UserInputError
from pipeline.hashing import (
    HASH_FORMATS,
    DirectoryHash,
    MultiHasher,
    c4_decode,
    c4_encode,
    check_formats,
    hash_bytes,
    hash_file,
)

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.mark.parametrize("fmt", HASH_FORMATS)
def test_each_format_matches_the_reference_tool(fmt):
    assert hash_bytes(DATA, fmt) == ref.hash_data(DATA, fmt)


def test_published_vectors():
    assert hash_bytes(b"abc", "md5") == "900150983cd24fb0d6963f7d28e17f72"
    assert hash_bytes(b"abc", "sha1") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    # the C4 id of the empty string, from the C4 specification (SMPTE ST 2114)
    assert hash_bytes(b"", "c4") == (
        "c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT"
    )


def test_c4_round_trip():
    digest = bytes(range(64))
    assert c4_decode(c4_encode(digest)) == digest
    assert len(c4_encode(b"\x00" * 64)) == 90


def test_one_read_many_formats_equals_separate_hashes(tmp_path):
    p = tmp_path / "-clip.mov"
    p.write_bytes(DATA)
    many = hash_file(p, HASH_FORMATS, chunk_size=1024 * 1024)
    assert set(many) == set(HASH_FORMATS)
    for fmt in HASH_FORMATS:
        assert many[fmt] == ref.hash_file(str(p), fmt)
    assert hash_file(p, ["xxh128"], from_device=True) == {"xxh128": many["xxh128"]}


def test_streamed_updates_equal_one_update():
    mh = MultiHasher(["xxh128", "md5"])
    for i in range(0, len(DATA), 100_003):
        mh.update(memoryview(DATA)[i : i + 100_003])
    assert mh.digests() == {f: hash_bytes(DATA, f) for f in ("xxh128", "md5")}


def test_check_formats_sorts_dedups_and_refuses_unknown():
    assert check_formats(["XXH128", "md5", "md5"]) == ["md5", "xxh128"]
    assert check_formats([]) == ["xxh128"]
    with pytest.raises(UserInputError, match="crc32"):
        check_formats(["crc32"])


@pytest.mark.parametrize("fmt", ["xxh128", "md5", "c4"])
def test_directory_hash_matches_the_reference_algorithm(fmt):
    ours, theirs = DirectoryHash(fmt), ref.DirectoryHashContext(fmt)
    files = {"b.mov": b"bbb", "a.mov": b"aaa", "é.wav": b"x"}
    for name, data in files.items():
        h = hash_bytes(data, fmt)
        ours.add_file(name, h)
        theirs.append_file_hash(name, h)
    sub_c, sub_s = hash_bytes(b"c", fmt), hash_bytes(b"s", fmt)
    ours.add_directory("CLIPS", sub_c, sub_s)
    theirs.append_directory_hashes("CLIPS", sub_c, sub_s)
    assert ours.content() == theirs.final_content_hash_str()
    assert ours.structure() == theirs.final_structure_hash_str()
