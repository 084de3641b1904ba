"""The offload and verify rooms keep the house rules: one exit-code module, one NFC helper,
functions that read on one screen, and one cascade (in the core) that the CLI and the flow
both call."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from pipeline import exitcodes, mhl, verify
from pipeline.offload import (
    Failure,
    NoVerifiedCopyError,
    cascade,
    cascade_origin,
    exit_code_for,
    offload,
)
from pipeline.verify import NoHistoryError

REPO = Path(__file__).resolve().parents[1]
ROOM = [
    *sorted((REPO / "pipeline" / "offload").glob("*.py")),
    REPO / "pipeline" / "verify.py",
    REPO / "pipeline" / "mhl.py",
    REPO / "pipeline" / "hashing.py",
    REPO / "pipeline" / "report" / "offload.py",
    REPO / "pipeline" / "cli" / "offload.py",
    REPO / "flows" / "offload.py",
]


def test_exit_codes_come_from_the_one_module():
    assert Failure is exitcodes.OffloadExit
    assert exit_code_for([Failure.CONFLICT, Failure.MISMATCH]) == exitcodes.OffloadExit.MISMATCH
    assert NoHistoryError.exit_code == exitcodes.VerifyExit.NO_HISTORY
    assert not [n for n in dir(verify) if n.startswith("EXIT_")]
    for py in ROOM:
        tree = ast.parse(py.read_text())
        enums = [
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ClassDef)
            and any(getattr(b, "id", "") == "IntEnum" for b in n.bases)
        ]
        assert not enums, f"{py}: its own exit-code enum {enums}"


def test_one_nfc_helper():
    assert not hasattr(mhl, "nfc") and not hasattr(verify, "_nfc")
    for py in ROOM:
        assert "unicodedata" not in py.read_text(), f"{py} normalises names itself"


@pytest.mark.parametrize("py", ROOM, ids=lambda p: str(p.relative_to(REPO)))
def test_functions_read_on_one_screen(py):
    tree = ast.parse(py.read_text())
    long = [
        (n.name, n.end_lineno - n.lineno + 1)
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno - n.lineno >= 80
    ]
    assert not long, long


def test_cascade_lives_in_the_core(tmp_path):
    for py in (REPO / "pipeline" / "cli" / "offload.py", REPO / "flows" / "offload.py"):
        text = py.read_text()
        assert "cascade" in text and "relative_to(first.root)" not in text, py
    src = tmp_path / "P" / "A001"
    src.mkdir(parents=True)
    (src / "C.MXF").write_bytes(os.urandom(3000))
    d1, slow = tmp_path / "ssd", tmp_path / "nas"
    d1.mkdir()
    slow.mkdir()
    first = offload(src, [d1], template="{project}/{roll}", values={"project": "Doc{x}"})
    assert first.exit_code == 0
    second = cascade(first, [slow])
    assert second.exit_code == 0 and second.cascade_from == str(d1 / "Doc{x}" / "A001")
    assert (slow / "Doc{x}" / "A001" / "C.MXF").read_bytes() == (src / "C.MXF").read_bytes()
    # nothing verified to cascade from: the error carries the first step's exit code
    gone = offload(src, [tmp_path / "not-mounted"])
    with pytest.raises(NoVerifiedCopyError) as err:
        cascade_origin(gone)
    assert err.value.exit_code == Failure.DEST_GONE
