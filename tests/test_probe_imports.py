"""Probe is a core room of its own: it reads AI provenance without importing the rights room."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_probe_and_provenance_do_not_import_rights():
    for rel in ("pipeline/probe.py", "pipeline/provenance.py", "pipeline/sidecars.py"):
        bad = sorted(
            m for m in _imported_modules(REPO / rel) if m.split(".")[:2] == ["pipeline", "rights"]
        )
        assert bad == [], f"{rel} imports the rights room: {bad}"


def test_probing_with_provenance_never_loads_the_rights_room(tmp_path):
    """At run time too: a probe that reads provenance leaves `pipeline.rights` unloaded."""
    from pipeline.tools import ffmpeg_exe, run

    jpg = tmp_path / "p.jpg"
    run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=64x48", "-frames:v", "1",
         str(jpg)], what="making")  # fmt: skip
    code = (
        "import sys; from pipeline.probe import probe_paths;"
        f"a = probe_paths([{str(jpg)!r}]); assert a[0].ai is not None, a[0].notes;"
        "print(sorted(m for m in sys.modules if m.startswith('pipeline.rights')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"
