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


def test_only_tools_starts_programs():
    """One place starts programs: no other module of the core even names subprocess."""
    offenders = [
        str(p.relative_to(REPO))
        for p in sorted((REPO / "pipeline").rglob("*.py"))
        if p != REPO / "pipeline" / "tools.py" and "subprocess" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


MAX_FUNCTION_LINES = 80


def test_functions_read_on_one_screen():
    """No function in the core is longer than a screen unless a comment in it says why."""
    offenders = []
    for p in sorted((REPO / "pipeline").rglob("*.py")):
        text = p.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = node.end_lineno - node.lineno + 1
            body = lines[node.lineno - 1 : node.end_lineno]
            if length > MAX_FUNCTION_LINES and not any("# long:" in ln for ln in body):
                offenders.append(f"{p.relative_to(REPO)}:{node.lineno} {node.name} ({length})")
    assert offenders == []


def _commands(group) -> list:
    found = []
    for cmd in group.commands.values():
        if hasattr(cmd, "commands"):  # a group (typer may bring its own click)
            found += _commands(cmd)
        else:
            found.append(cmd)
    return found


def test_every_command_goes_through_the_error_boundary():
    """Each CLI command is wrapped by `user_errors`: no traceback reaches a user."""
    import typer.main

    from pipeline.cli import app

    commands = _commands(typer.main.get_group(app))
    assert len(commands) >= 8
    unwrapped = [
        c.name for c in commands if not getattr(c.callback, "__rushline_boundary__", False)
    ]
    assert unwrapped == []


def test_one_exit_code_table():
    """Exit codes are defined once (pipeline/exitcodes.py), not per room."""
    import re

    offenders = []
    for p in sorted((REPO / "pipeline").rglob("*.py")):
        if p.name == "exitcodes.py":
            continue
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*EXIT_\w+\s*=\s*\d+|class \w+\(IntEnum\)", line):
                offenders.append(f"{p.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []
