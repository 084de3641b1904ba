"""The archive's naming scheme: `{project}_{date}_{kind}_{seq}`, strict and validated.

A bag name outlives every tool that made it (an LTO tape is read decades later, by people who
never met us), so it is plain ASCII that every file system and tape catalogue keeps as is:
letters, digits and '-' inside each field, '_' between fields, nothing else. Anything else is
refused with a message that says which field is wrong and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
from dataclasses import dataclass
from pathlib import Path

from pipeline.archive.errors import ArchiveError
from pipeline.exitcodes import ArchiveExit

DEFAULT_TEMPLATE = "{project}_{date}_{kind}_{seq}"
KINDS = ("roll", "delivery", "project")
FIELDS = ("project", "date", "kind", "seq")
PROJECT_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
LITERAL_RE = re.compile(r"^[A-Za-z0-9_-]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
MAX_NAME = 100
SEQ_MAX = 999


def _bad(message: str) -> ArchiveError:
    return ArchiveError(message, exit_code=ArchiveExit.BAD_NAME)


@dataclass(frozen=True)
class BagName:
    """The four fields of a bag name, each already validated."""

    project: str
    date: str  # YYYYMMDD
    kind: str
    seq: int

    def render(self, template: str = DEFAULT_TEMPLATE) -> str:
        fields = {"project": self.project, "date": self.date, "kind": self.kind}
        name = check_template(template).format(seq=f"{self.seq:03d}", **fields)
        return check_name(name)


def check_project(project: str) -> str:
    if not PROJECT_RE.match(project):
        raise _bad(
            f"project {project!r} is not allowed in an archive name: use 1-32 ASCII letters, "
            "digits and '-' (not first or last), e.g. 'NIGHTFALL' or 'nightfall-s01'"
        )
    return project


def check_date(date: str | dt.date | None) -> str:
    """YYYYMMDD from a date, 'YYYY-MM-DD' or 'YYYYMMDD' (today when None); a real calendar day."""
    if date is None:
        return dt.date.today().strftime("%Y%m%d")
    if isinstance(date, dt.date):
        return date.strftime("%Y%m%d")
    raw = date.replace("-", "") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) else date
    try:
        if not re.fullmatch(r"\d{8}", raw):
            raise ValueError
        return dt.datetime.strptime(raw, "%Y%m%d").strftime("%Y%m%d")
    except ValueError:
        raise _bad(
            f"date {date!r} is not a calendar date: use YYYYMMDD or YYYY-MM-DD, e.g. 20261122"
        ) from None


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise _bad(f"kind {kind!r} is not an archive kind: use one of {', '.join(KINDS)}")
    return kind


def check_seq(seq: int) -> int:
    if not 1 <= seq <= SEQ_MAX:
        raise _bad(f"sequence {seq} is out of range: use 1 to {SEQ_MAX}")
    return seq


def check_template(template: str) -> str:
    """A template uses each of {project} {date} {kind} {seq} exactly once, plus [A-Za-z0-9_-]."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _bad(f"name template {template!r} cannot be read: {exc}") from None
    used = []
    for literal, field, spec, conv in parts:
        if not LITERAL_RE.match(literal):
            raise _bad(
                f"name template {template!r}: the text {literal!r} has characters outside "
                "A-Z a-z 0-9 '_' '-'"
            )
        if field is None:
            continue
        if field not in FIELDS or spec or conv:
            raise _bad(
                f"name template {template!r}: unknown field {{{field}}}; the fields are "
                + " ".join("{" + f + "}" for f in FIELDS)
            )
        used.append(field)
    if sorted(used) != sorted(FIELDS):
        raise _bad(
            f"name template {template!r} must use each of "
            + " ".join("{" + f + "}" for f in FIELDS)
            + " exactly once"
        )
    return template


def check_name(name: str) -> str:
    """A final bag name: 1-100 ASCII letters, digits, '_' and '-', starting with a letter or
    digit (so it is never read as an option, never hidden, never needs quoting)."""
    if not NAME_RE.match(name):
        raise _bad(
            f"archive name {name!r} is not allowed: use at most {MAX_NAME} ASCII letters, "
            "digits, '_' and '-', starting with a letter or a digit"
        )
    return name


def make_name(
    project: str,
    kind: str,
    *,
    date: str | dt.date | None = None,
    seq: int | None = None,
    template: str = DEFAULT_TEMPLATE,
    dest: str | os.PathLike[str] | None = None,
) -> str:
    """The validated bag name; without `seq`, the next number free in `dest` (1 when none)."""
    check_template(template)
    fields = BagName(check_project(project), check_date(date), check_kind(kind), 1)
    if seq is not None:
        return BagName(fields.project, fields.date, fields.kind, check_seq(seq)).render(template)
    taken = set(os.listdir(dest)) if dest is not None and Path(dest).is_dir() else set()
    for n in range(1, SEQ_MAX + 1):
        name = BagName(fields.project, fields.date, fields.kind, n).render(template)
        if name not in taken and not any(t.startswith(name + "-") for t in taken):
            return name
    raise _bad(f"every sequence number 1-{SEQ_MAX} is taken in {dest}; use another date")


def span_name(name: str, index: int, count: int) -> str:
    """The name of volume `index` (1-based) of `count` in a spanned archive: NAME-2of3."""
    return check_name(f"{name}-{index}of{count}")
