"""`check_rights`: which template fields a file lacks or carries with another value (QC)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.exiftool import ExifToolSession
from pipeline.qc.findings import Finding, Severity
from pipeline.rights.fields import FIELD_NAMES, expected_values
from pipeline.rights.show import EffectiveRights, show_rights
from pipeline.rights.template import FileContext, RightsTemplate, pattern_of


def _match(want: Any, got: Any, values: dict[str, Any], unknown: set[str]) -> bool:
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_match(w, g, values, unknown) for w, g in zip(want, got, strict=True))
        )
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            _match(v, got.get(k), values, unknown) for k, v in want.items()
        )
    if got is None:
        return False
    return pattern_of(str(want).strip(), values, unknown).fullmatch(str(got).strip()) is not None


def check_rights(
    path: str | os.PathLike[str],
    template: RightsTemplate,
    fields: list[str] | None = None,
    *,
    severity: Severity | str = Severity.WARNING,
    effective: EffectiveRights | None = None,
    session: ExifToolSession | None = None,
) -> list[Finding]:
    """Findings (check `rights.<field>`) for each template field missing or different.

    `fields` limits the check (a delivery profile's `rights.required_fields`); a required field
    the template leaves empty must then merely be present. Variables are expanded for this file;
    `{seq}` (unknowable afterwards) matches any number, and `{date}`/`{year}` match anything
    when the file has no capture date.
    """
    sev = Severity(severity)
    p = Path(path)
    if effective is None:
        effective = show_rights([p], session=session)[0]
    if effective.error and not effective.fields:
        return [Finding(check="rights.read", severity=Severity.ERROR, message=effective.error)]
    from pipeline.rights.apply import _capture_info

    own = session is None
    s = session or ExifToolSession()
    try:
        meta = _capture_info(s, [p]).get(os.path.abspath(p), {})
    finally:
        if own:
            s.close()
    unknown = {"seq"} | (set() if meta.get("captured") else {"date", "year"})
    values = FileContext(p, captured=meta.get("captured"), camera=meta.get("camera")).values(
        template
    )
    want_all = expected_values(template)
    if fields:
        bad = [f for f in fields if f not in FIELD_NAMES]
        if bad:
            return [
                Finding(
                    check="rights.fields",
                    severity=Severity.ERROR,
                    message=f"unknown rights field(s) {', '.join(bad)}; known: "
                    + ", ".join(FIELD_NAMES),
                )
            ]
        names = list(fields)
    else:
        names = list(want_all)
    findings: list[Finding] = []
    for fld in names:
        got = effective.fields.get(fld)
        want = want_all.get(fld)
        if got in (None, "", []):
            findings.append(
                Finding(
                    check=f"rights.{fld}",
                    severity=sev,
                    message=f"{fld} is missing" + (f" (template: {want!r})" if want else ""),
                    value=None,
                    limit=want,
                )
            )
        elif want is not None and not _match(want, got, values, unknown):
            findings.append(
                Finding(
                    check=f"rights.{fld}",
                    severity=sev,
                    message=f"{fld} is {got!r}; the template says {want!r}",
                    value=got,
                    limit=want,
                )
            )
    return findings
