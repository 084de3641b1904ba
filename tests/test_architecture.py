"""House rules that code review alone would miss."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_prefect():
    offenders = [
        str(p.relative_to(REPO))
        for p in sorted((REPO / "pipeline").rglob("*.py"))
        if "prefect" in _imports(p)
    ]
    assert offenders == [], f"pipeline/ must stay Prefect-free: {offenders}"


def test_importing_the_core_does_not_load_prefect():
    code = (
        "import sys, pipeline, pipeline.cli, pipeline.probe, pipeline.tools;"
        "print('prefect' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_shell_strings_anywhere():
    offenders = []
    for base in ("pipeline", "flows", "sample_media", "bench"):
        for p in sorted((REPO / base).rglob("*.py")):
            text = p.read_text(encoding="utf-8")
            if "shell=True" in text or "os.system(" in text:
                offenders.append(str(p.relative_to(REPO)))
    assert offenders == []
