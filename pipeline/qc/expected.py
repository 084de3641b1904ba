"""A QC result against what a file was built to show (a golden expectation).

Sample masters (and a facility's own test masters) carry an `expected.json`: which findings must
fire, inside which time ranges, and which must not fire in which intervals (a dark night scene
is not black). This compares a QC result with it, so a regression in a check shows as a missed
fault or a false alarm.
"""

from __future__ import annotations

from typing import Any


def compare_expected(expected: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """What the master was built to show vs what QC found: every `should_fire` found, no
    `must_not_fire` as a finding of that kind inside its interval."""
    findings = result.get("findings", [])

    def overlaps(f: dict[str, Any], start: float, end: float) -> bool:
        if f.get("start_s") is None:
            return False
        f_end = f.get("end_s") if f.get("end_s") is not None else f["start_s"]
        return f["start_s"] < end and f_end > start

    found, missed = [], []
    for exp in expected.get("should_fire", []):
        check = exp["check"]
        if check == "silent_channels":
            hits = [f for f in findings if f["check"] == "silence.channel"]
            ok = len(hits) >= len(exp.get("channels", [])) > 0
        elif "start_s" in exp:
            hits = [
                f
                for f in findings
                if f["check"] == check
                and f["severity"] != "info"
                and overlaps(f, exp["start_s"], exp["end_s"])
            ]
            ok = bool(hits)
        else:
            ok = any(f["check"] == check and f["severity"] == exp.get("severity") for f in findings)
        (found if ok else missed).append(f"{check}: {exp['why']}")
    false_alarms = []
    intervals = expected.get("intervals", {})
    for exp in expected.get("must_not_fire", []):
        span = intervals.get(exp.get("interval", ""), {})
        start, end = exp.get("start_s", span.get("start_s")), exp.get("end_s", span.get("end_s"))
        if start is None or end is None:
            continue
        for f in findings:
            kind_matches = exp["check"] == "any" or f["check"] == exp["check"]
            sev_matches = (
                f["severity"] == exp["severity"] if "severity" in exp else (f["severity"] != "info")
            )
            if kind_matches and sev_matches and overlaps(f, start, end):
                false_alarms.append(f"{f['check']} at {f['start_s']:.2f} s: {exp['why']}")
    return {"found": found, "missed": missed, "false_alarms": false_alarms}
