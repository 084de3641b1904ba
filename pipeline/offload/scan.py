"""Reading the card: the destination template, and a walk of the roll's files and folders."""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline import mhl
from pipeline.errors import UserInputError
from pipeline.names import nfc, printable
from pipeline.offload.models import DEFAULT_IGNORE, STATE_DIR, Notice


def render_template(template: str, values: dict[str, str]) -> str:
    """Render a destination folder template like `{project}/{date}/{camera}{roll}`.

    Values may not contain path separators or be `.`/`..`; the result must stay relative.
    """
    for key, val in values.items():
        if val is None:
            continue
        v = str(val)
        if "/" in v or "\\" in v or "\x00" in v or v in (".", "..") or v != v.strip():
            raise UserInputError(
                f"template value {key}={v!r} would leave the destination folder",
                hint="use a plain name without '/', '\\', '..' or surrounding spaces",
            )
    try:
        rendered = template.format(**{k: str(v) for k, v in values.items() if v is not None})
    except KeyError as exc:
        raise UserInputError(
            f"the destination template {template!r} needs a value for {exc.args[0]!r}",
            hint=f"pass --{exc.args[0]} or change --template",
        ) from None
    except (ValueError, IndexError) as exc:
        raise UserInputError(f"bad destination template {template!r}: {exc}") from None
    p = PurePosixPath(rendered)
    if rendered.startswith(("/", "\\")) or p.is_absolute() or not rendered.strip("/"):
        raise UserInputError(f"destination template {template!r} renders to {rendered!r}")
    if any(part in ("..", ".", "") for part in rendered.strip("/").split("/")):
        raise UserInputError(
            f"destination template {template!r} renders to {rendered!r}, "
            "which escapes or is not a plain folder path"
        )
    return rendered.strip("/")


@dataclass
class SourceFile:
    rel: str
    abs: str
    size: int
    mtime_ns: int


@dataclass
class Scan:
    files: list[SourceFile] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    dir_mtimes: dict[str, dt.datetime] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: files whose name equals another file's after NFC (Linux allows both; macOS, exFAT and
    #: the ASC MHL do not): {rel: the other rel}. Never copied, each reported as a conflict.
    twins: dict[str, str] = field(default_factory=dict)


def ignored(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


class _Walker:
    def __init__(self, scan: Scan, ignore: Sequence[str], keep: frozenset[str]):
        self.scan, self.ignore, self.keep = scan, ignore, keep

    def walk(self, abs_dir: str, rel_dir: str) -> None:
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            self.scan.unreadable.append((rel_dir or ".", exc.strerror or str(exc)))
            return
        for e in entries:
            self.entry(e, f"{rel_dir}/{e.name}" if rel_dir else e.name, top=not rel_dir)

    def entry(self, e: os.DirEntry[str], rel: str, *, top: bool) -> None:
        scan = self.scan
        if top and e.name in (mhl.MHL_FOLDER, STATE_DIR) and e.is_dir(follow_symlinks=False):
            # the roll's history (checked and extended, not copied as media) and, when the
            # source is itself a Rushline copy (cascade), its lock and reports
            return
        if ignored(e.name, self.ignore) and nfc(rel) not in self.keep:
            scan.notices.append(
                Notice(path=rel, kind="ignored", message="not copied: on the ignore list")
            )
            return
        try:
            st = e.stat(follow_symlinks=False)
        except OSError as exc:
            scan.unreadable.append((rel, exc.strerror or str(exc)))
            return
        if stat.S_ISLNK(st.st_mode):
            target = printable(os.readlink(e.path))
            scan.notices.append(
                Notice(
                    path=rel,
                    kind="symlink",
                    message=f"symbolic link to {target!r} not followed and not copied",
                )
            )
        elif stat.S_ISDIR(st.st_mode):
            scan.dirs.append(rel)
            scan.dir_mtimes[rel] = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
            self.walk(e.path, rel)
        elif stat.S_ISREG(st.st_mode):
            scan.files.append(SourceFile(rel, e.path, st.st_size, st.st_mtime_ns))
        else:
            scan.notices.append(
                Notice(path=rel, kind="special", message="not a regular file; not copied")
            )


def _find_twins(files: list[SourceFile]) -> dict[str, str]:
    """Files whose relative paths are equal after NFC: {each of them: the first other one}."""
    by_key: dict[str, list[str]] = {}
    for f in files:
        by_key.setdefault(nfc(f.rel), []).append(f.rel)
    twins: dict[str, str] = {}
    for rels in by_key.values():
        if len(rels) > 1:
            for r in rels:
                twins[r] = next(o for o in rels if o != r)
    return twins


def scan_source(
    source: Path, ignore: Sequence[str] = DEFAULT_IGNORE, keep: frozenset[str] = frozenset()
) -> Scan:
    """Walk the card: regular files and folders (empty ones too, spanned clips need the tree).

    `keep` holds (NFC) paths copied even when their name is on the ignore list: files the
    card's own ASC MHL history lists are part of the roll.

    Symlinks are not followed (a link may point off the card) and, like special files and
    ignored names, are reported as notices. The card's own `ascmhl/` folder is its history.
    Names that differ only by Unicode normalisation are set apart in `twins`.
    """
    scan = Scan()
    _Walker(scan, ignore, keep).walk(str(source), "")
    scan.twins = _find_twins(scan.files)
    return scan
