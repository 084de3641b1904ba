"""One ExifTool process per batch (`-stay_open`), with honest per-tag write reports.

Starting Perl and loading ExifTool costs ~150 ms; a batch of 1 000 files pays it once. Each
command is sent as an argument list on stdin (`-@ -`, one argument a line) and ends with
`-execute{N}`; ExifTool answers `{readyN}` on stdout, and `-echo4 {readyN}` puts the same marker
on stderr after the command, so both streams are read to a known end without guessing.

ExifTool 12.57 (Debian 12) does not know the IPTC 2025.1 AI fields; asked to write one, it prints
"Warning: Tag 'X' is not defined" and still exits 0. `WriteReport.not_written` turns such lines
into per-tag reasons so nobody reports a field as written that was not.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import selectors
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline.errors import ToolError
from pipeline.tools import Process, end, exiftool_exe, run, spawn

log = logging.getLogger("rushline.exiftool")

# Lines ExifTool prints when it silently skips a tag it was asked to write.
_NOT_DEFINED = re.compile(r"Warning: Tag '([^']+)' is not (?:defined|supported)")
_NOT_WRITABLE = re.compile(
    r"Warning: Sorry, (\S+) (?:doesn't exist or isn't writable|is not writable)"
)
_NO_GROUP = re.compile(r"Warning: Tag '?([\w:-]+)'? does not exist")
_INVALID = re.compile(r"Warning: (?:\[minor\] )?(?:Can't convert|Invalid) .*?(\b[\w-]+:[\w-]+\b)")
_TRUNC = re.compile(r"Warning: \[minor\] ([\w-]+:[\w-]+) exceeds length limit", re.IGNORECASE)


def escape_value(value: str) -> str:
    """Escape a value for an argfile line under `-E`: newlines and '&' survive exactly."""
    return html.escape(value, quote=False).replace("\r", "&#xd;").replace("\n", "&#xa;")


@dataclass
class ExecResult:
    """What one `-execute` produced."""

    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("Error")]

    @property
    def warnings(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("Warning")]


@dataclass
class WriteReport:
    """The outcome of one write: which requested tags ExifTool refused, and why."""

    ok: bool
    not_written: dict[str, str] = field(default_factory=dict)  # tag -> reason
    truncated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_write_stderr(stderr: str) -> WriteReport:
    """Turn ExifTool's stderr for one write into a WriteReport (exit status is not enough)."""
    report = WriteReport(ok=True)
    for line in stderr.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("Error"):
            report.errors.append(line)
            report.ok = False
            continue
        if not line.startswith("Warning"):
            continue
        report.warnings.append(line)
        for rx in (_NOT_DEFINED, _NOT_WRITABLE, _NO_GROUP):
            m = rx.search(line)
            if m:
                report.not_written[m.group(1)] = line.removeprefix("Warning: ")
                break
        else:
            m = _TRUNC.search(line)
            if m:
                report.truncated.append(m.group(1))
                continue
            m = _INVALID.search(line)
            if m:
                report.not_written[m.group(1)] = line.removeprefix("Warning: ")
    return report


# Files with a newline in their name read in one process of their own, this many at a time.
_ALONE_BATCH = 200


def _multiline(arg: str) -> bool:
    """True when an argument cannot be one line of an argument file."""
    return "\n" in arg or "\r" in arg


# Settings of every command: UTF-8 file names and values, IPTC read as UTF-8 when a file
# does not say otherwise.
COMMON_ARGS = ("-charset", "UTF8", "-charset", "filename=UTF8", "-charset", "iptc=UTF8")


class ExifToolSession:
    """A long-lived `exiftool -stay_open True -@ -` process; use as a context manager.

    Thread-safe: one command at a time. UTF-8 everywhere (`-charset UTF8`, IPTC read as UTF-8
    when a file does not say otherwise).
    """

    def __init__(self, exe: str | None = None, *, timeout: float = 300.0) -> None:
        self.exe = exe or exiftool_exe()
        self.timeout = timeout
        self._proc: Process | None = None
        self._n = 0
        self._lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> ExifToolSession:
        if self._proc is not None:
            return self
        cmd = [self.exe, "-stay_open", "True", "-@", "-", "-common_args", *COMMON_ARGS]
        self._proc = spawn(cmd, what="ExifTool session", stdin=True)
        return self

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write(b"-stay_open\nFalse\n")
            proc.stdin.flush()
            proc.stdin.close()
        except OSError:
            pass  # it has gone already; end() reaps it
        end(proc, timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> ExifToolSession:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- commands ---------------------------------------------------------------------------
    def execute(self, args: Sequence[str | os.PathLike[str]]) -> ExecResult:
        """Run one ExifTool command (argument list, no shell) and return its output.

        An argument file takes one argument a line, so a file name holding a newline cannot
        go through the session: such a command runs in a process of its own, with the same
        settings, its arguments passed directly.
        """
        lines = [os.fspath(a) for a in args]
        if any(_multiline(ln) for ln in lines):
            return self._execute_alone(lines)
        with self._lock:
            self.start()
            proc = self._proc
            assert proc is not None and proc.stdin and proc.stdout and proc.stderr
            self._n += 1
            marker = f"{{ready{self._n}}}"
            payload = "\n".join([*lines, "-echo4", marker, f"-execute{self._n}", ""])
            log.debug("exiftool: %s", " ".join(lines[:12]))
            try:
                proc.stdin.write(payload.encode("utf-8", "surrogateescape"))
                proc.stdin.flush()
            except BrokenPipeError as exc:
                self._proc = None
                raise ToolError("ExifTool stopped unexpectedly", cmd=lines, returncode=-1) from exc
            out, err = self._read_until(proc, marker)
            return ExecResult(out, err)

    def _execute_alone(self, lines: list[str]) -> ExecResult:
        res = run(
            [self.exe, *COMMON_ARGS, *lines],
            what="running ExifTool on",
            check=False,
            timeout=self.timeout,
        )
        return ExecResult(res.stdout.decode("utf-8", "replace"), res.stderr)

    def _read_until(self, proc: Process, marker: str) -> tuple[str, str]:
        assert proc.stdout and proc.stderr
        want_out = (marker + "\n").encode()
        want_err = (marker + "\n").encode()
        bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
        ends = {proc.stdout.fileno(): want_out, proc.stderr.fileno(): want_err}
        done: set[int] = set()
        sel = selectors.DefaultSelector()
        for fd in bufs:
            sel.register(fd, selectors.EVENT_READ)
        try:
            while len(done) < 2:
                events = sel.select(self.timeout)
                if not events:
                    self.close()
                    raise ToolError(
                        f"ExifTool did not answer within {self.timeout:.0f} s",
                        cmd=[self.exe],
                        returncode=-1,
                    )
                for key, _ in events:
                    fd = key.fd
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        self._proc = None
                        raise ToolError(
                            "ExifTool stopped unexpectedly",
                            cmd=[self.exe],
                            returncode=proc.poll() or -1,
                            stderr=bufs[proc.stderr.fileno()].decode("utf-8", "replace"),
                        )
                    bufs[fd] += chunk
                    if bufs[fd].endswith(ends[fd]):
                        done.add(fd)
                        sel.unregister(fd)
        finally:
            sel.close()
        out = bytes(bufs[proc.stdout.fileno()])[: -len(want_out)]
        err = bytes(bufs[proc.stderr.fileno()])[: -len(want_err)]
        return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def read_json(
        self, paths: Sequence[str | os.PathLike[str]], tags: Sequence[str] = (), *, extra=()
    ) -> dict[str, dict[str, Any]]:
        """Read tags of many files in one command: {absolute path: {"Group:Tag": value}}.

        Missing or unreadable files are simply absent from the answer (check `Error` keys).
        Names holding a newline are read apart (see `execute`), so the rest of the batch
        keeps the session and no command line grows with the size of a card.
        """
        if not paths:
            return {}
        head = ["-j", "-G1", "-a", "-n", "-struct", *extra, *(f"-{t}" for t in tags)]
        every = [os.path.abspath(p) for p in paths]
        plain = [p for p in every if not _multiline(p)]
        odd = [p for p in every if _multiline(p)]
        rows: dict[str, dict[str, Any]] = {}
        if plain:
            rows.update(self._read_rows([*head, *plain]))
        for start in range(0, len(odd), _ALONE_BATCH):
            rows.update(self._read_rows([*head, *odd[start : start + _ALONE_BATCH]]))
        return rows

    def _read_rows(self, args: list[str]) -> dict[str, dict[str, Any]]:
        res = self.execute(args)
        text = res.stdout.strip()
        if not text:
            return {}
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ToolError(
                "ExifTool answered something that is not JSON",
                cmd=args,
                returncode=0,
                stderr=res.stderr,
            ) from exc
        return {os.path.abspath(r["SourceFile"]): r for r in rows}

    def write(
        self,
        src: str | os.PathLike[str],
        assignments: Sequence[tuple[str, str]],
        *,
        out: str | os.PathLike[str] | None = None,
        extra: Sequence[str] = (),
    ) -> WriteReport:
        """Write `-TAG=value` assignments to `out` (a new file ExifTool creates from `src`).

        Values are HTML-escaped under `-E`, so newlines and '&' survive. Without `out` the
        source is modified in place (callers in Rushline always pass `out`).
        """
        args: list[str] = ["-E", "-m", *extra]
        for tag, value in assignments:
            args.append(f"-{tag}={escape_value(value)}")
        if out is not None:
            args += ["-o", os.path.abspath(out)]
        args.append(os.path.abspath(src))
        res = self.execute(args)
        report = parse_write_stderr(res.stderr)
        if out is not None and not Path(out).exists():
            report.ok = False
            if not report.errors:
                report.errors.append(res.stderr.strip() or res.stdout.strip() or "no output")
        return report
