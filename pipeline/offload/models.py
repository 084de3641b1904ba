"""The records of an offload: what happened to each file on each destination, and the result."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from pipeline.errors import OffloadError
from pipeline.exitcodes import OffloadExit

#: Names reported and not copied (macOS metadata droppings); the user can extend the list.
DEFAULT_IGNORE: tuple[str, ...] = (".DS_Store", "._*", ".Spotlight-V100", ".Trashes", ".fseventsd")
STATE_DIR = "_rushline"  # lock and reports, inside each roll folder, ignored by the MHL
PART_SUFFIX = ".rushline-part"
DEFAULT_TEMPLATE = "{roll}"

#: The failure classes of an offload are its exit codes (pipeline.exitcodes.OffloadExit).
Failure = OffloadExit


class VerifyLevel(StrEnum):
    SIZE = "size"
    FULL = "full"
    SOURCE = "source"


_PRECEDENCE = (
    Failure.MISMATCH,
    Failure.DEST_GONE,
    Failure.DEST_WRITE,
    Failure.SOURCE_READ,
    Failure.CONFLICT,
    Failure.SOURCE_HISTORY,
    Failure.LOCKED,
)


def exit_code_for(failures: Iterable[Failure | None]) -> int:
    """The exit code of a run: the most serious failure class, 0 when there is none."""
    present = set(failures)
    for f in _PRECEDENCE:
        if f in present:
            return int(f)
    return 0


class OffloadLockedError(OffloadError):
    exit_code = int(Failure.LOCKED)


class NoVerifiedCopyError(OffloadError):
    """A cascade was asked for but no destination holds a complete, verified copy."""

    exit_code = int(Failure.DEST_WRITE)


class FileStatus(StrEnum):
    COPIED = "copied"
    IDENTICAL = "identical"  # already there with the same content: verified, not copied again
    FAILED = "failed"


class CopyOutcome(BaseModel):
    """What happened to one file on one destination."""

    destination: str
    status: FileStatus
    verified: str | None = None  # the level that passed: size / full / source
    failure: Failure | None = None
    error: str | None = None


class FileRecord(BaseModel):
    """One file of the roll: its hashes and its fate on every destination."""

    path: str  # relative to the roll, POSIX separators, exactly as on the card
    size: int
    mtime: str
    hashes: dict[str, str] = Field(default_factory=dict)
    outcomes: list[CopyOutcome] = Field(default_factory=list)
    failure: Failure | None = None
    error: str | None = None
    history: str | None = None  # source history check: matched / mismatch / new
    read_s: float = 0.0
    clip: dict[str, Any] | None = None  # probe summary for the report
    thumbnail: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and all(o.failure is None for o in self.outcomes)


class Notice(BaseModel):
    """Something on the card we did not copy, or noticed, and say so (never silently)."""

    path: str
    kind: str  # ignored / symlink / special / missing-from-card / history / unreadable
    message: str


class DestinationResult(BaseModel):
    root: str
    roll_dir: str
    ok: bool = True
    failure: Failure | None = None
    error: str | None = None
    manifest: str | None = None
    files_copied: int = 0
    files_identical: int = 0
    files_failed: int = 0
    bytes_written: int = 0
    already_offloaded: bool = False
    history_extended: bool = False
    reports: list[str] = Field(default_factory=list)

    def fail(self, failure: Failure, message: str) -> None:
        """Mark this destination failed (the first failure is the one reported)."""
        self.ok = False
        if self.failure is None:
            self.failure = failure
            self.error = message


class OffloadResult(BaseModel):
    """The truth about one offload; the JSON report is this model."""

    source: str
    roll: str
    template: str
    values: dict[str, str]
    hash_formats: list[str]
    verify: VerifyLevel
    started: str
    finished: str = ""
    duration_s: float = 0.0
    bytes_total: int = 0
    throughput_mb_s: float = 0.0
    files: list[FileRecord] = Field(default_factory=list)
    dirs: list[str] = Field(default_factory=list)
    destinations: list[DestinationResult] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)
    source_history_generations: int = 0
    cascade_from: str | None = None
    tools: dict[str, str | None] = Field(default_factory=dict)
    failures: list[Failure] = Field(default_factory=list)
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def settle_exit_code(self, extra: Iterable[Failure] = ()) -> None:
        """Recompute `failures` and `exit_code` from every file and destination."""
        found: set[Failure] = set(self.failures) | set(extra)
        for rec in self.files:
            if rec.failure is not None:
                found.add(rec.failure)
            found.update(o.failure for o in rec.outcomes if o.failure is not None)
        found.update(d.failure for d in self.destinations if d.failure is not None)
        self.failures = sorted(found)
        self.exit_code = exit_code_for(found)
