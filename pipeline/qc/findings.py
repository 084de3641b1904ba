"""Records that cross rooms: a QC finding and a QC result (a failure is a finding)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"  # could not measure (exit 2)


class Finding(BaseModel):
    """One thing a check found: what, how bad, where, measured value against the limit."""

    model_config = ConfigDict(extra="forbid")

    check: str
    severity: Severity
    message: str
    start_s: float | None = None
    end_s: float | None = None
    value: Any = None
    limit: Any = None
    channel: int | None = None
    thumbnail: str | None = None  # path relative to the report, for picture findings


class QCResult(BaseModel):
    """The JSON truth of one file's QC."""

    model_config = ConfigDict(extra="forbid")

    file: str
    profile: str
    verdict: Verdict
    duration_s: float | None = None
    measurements: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    tools: dict[str, str | None] = Field(default_factory=dict)
    error: str | None = None  # set when the file could not be measured
    elapsed_s: float | None = None
    cached: bool = False  # answered from the cache (pipeline.cache), not measured now


def verdict_of(findings: list[Finding]) -> Verdict:
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return Verdict.FAIL
    if Severity.WARNING in severities:
        return Verdict.WARN
    return Verdict.PASS
