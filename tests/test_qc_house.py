"""The QC room follows the house: ffmpeg started and ended through pipeline.tools, functions
that read on one screen, exit codes from pipeline.exitcodes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from qc_media import build_all

from pipeline import exitcodes, tools
from pipeline.qc.findings import QCResult, Verdict

ROOT = Path(__file__).resolve().parent.parent
QC_FILES = [
    *sorted((ROOT / "pipeline" / "qc").glob("*.py")),
    ROOT / "pipeline" / "report" / "qc.py",
    ROOT / "pipeline" / "cli" / "qc.py",
    ROOT / "flows" / "qc.py",
]
MAX_LINES = 80


def test_qc_room_never_uses_subprocess():
    offenders = [str(p) for p in QC_FILES if "subprocess" in p.read_text(encoding="utf-8")]
    assert offenders == []


@pytest.mark.parametrize("with_audio", [False, True])
def test_decode_pass_starts_and_ends_ffmpeg_through_tools(monkeypatch, with_audio):
    from pipeline.qc.decode import decode_pass, probe_layout

    media = build_all()
    started: list[tuple[tools.Process, dict]] = []
    ended: list[tools.Process] = []
    real_spawn, real_end = tools.spawn, tools.end

    def spawn(cmd, **kw):
        proc = real_spawn(cmd, **kw)
        started.append((proc, kw))
        return proc

    def end(proc, **kw):
        ended.append(proc)
        return real_end(proc, **kw)

    monkeypatch.setattr(tools, "spawn", spawn)
    monkeypatch.setattr(tools, "end", end)
    layout = probe_layout(media["programme.mov"])
    frames: list[int] = []
    stats = decode_pass(
        layout,
        on_frame=lambda i, planes: frames.append(i),
        on_audio=(lambda block: None) if with_audio else None,
    )
    assert len(started) == 1 and ended == [started[0][0]]
    proc, kw = started[0]
    assert proc.returncode == 0 and stats.returncode == 0
    assert kw["stdout"] is True and kw["stderr"] is True and kw.get("stdin", False) is False
    assert len(kw["pass_fds"]) == (1 if with_audio else 0)
    assert stats.frames == len(frames) == 325  # 13 s at 25 fps, every frame handed over


def test_a_failing_sink_ends_ffmpeg_through_tools(monkeypatch):
    from pipeline.qc.decode import decode_pass, probe_layout

    media = build_all()
    ended: list[int | None] = []
    real_end = tools.end

    def end(proc, **kw):
        code = real_end(proc, **kw)
        ended.append(code)
        return code

    monkeypatch.setattr(tools, "end", end)

    def on_frame(i, planes):
        if i == 3:
            raise ValueError("broken check")

    with pytest.raises(ValueError, match="broken check"):
        decode_pass(probe_layout(media["programme.mov"]), on_frame=on_frame, on_audio=None)
    assert len(ended) == 1 and ended[0] != 0  # killed, and reaped by tools.end


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_LINES:
                out.append(f"{path.name}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_every_qc_function_reads_on_one_screen():
    assert [f for p in QC_FILES for f in _long_functions(p)] == []


def test_decode_pass_is_a_reader_class():
    from pipeline.qc.decode import DecodePass

    for method in ("run", "read_stderr", "read_video", "measure_video", "read_audio"):
        assert callable(getattr(DecodePass, method))


def _result(verdict: Verdict) -> QCResult:
    return QCResult(file="x.mov", profile="p", verdict=verdict)


def test_exit_codes_come_from_the_exitcodes_module(monkeypatch):
    from pipeline.qc import run

    cases = {
        (Verdict.PASS, Verdict.WARN): "OK",
        (Verdict.PASS, Verdict.FAIL): "FAILED",
        (Verdict.FAIL, Verdict.ERROR): "ERROR",
    }
    for verdicts, name in cases.items():
        assert run.exit_code_for([_result(v) for v in verdicts]) == getattr(exitcodes, name)
    # the function reads the module, not literals: moving a code moves it here too
    monkeypatch.setattr(exitcodes, "FAILED", 41)
    assert run.exit_code_for([_result(Verdict.FAIL)]) == 41
