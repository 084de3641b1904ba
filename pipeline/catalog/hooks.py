"""What the commands and flows call once their result exists and their reports are written:
one function per room, each returning None when the catalogue was updated (or is turned off)
and else the one line to show as a warning. The catalogue never changes a command's outcome:
no exception leaves here (except Ctrl-C), its exit code and output files stay as they were.

Turned off by `--no-catalog` (on=False) or `$RUSHLINE_CATALOG=off`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pipeline.catalog.db import turned_off

if TYPE_CHECKING:
    from pipeline.assets import Asset
    from pipeline.offload import OffloadResult
    from pipeline.qc.findings import QCResult
    from pipeline.rights.batch import ApplyOutcome

NOT_UPDATED = "the catalogue was not updated"


def _guarded(what: str, record: Callable[[], Any], *, on: bool) -> str | None:
    if not on or turned_off():
        return None
    try:
        record()
    except Exception as exc:  # noqa: BLE001 - whatever it is, the command's outcome stands
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"{NOT_UPDATED} with this {what} (the {what} itself is done): {reason}"
    return None


def offload_done(results: Sequence[OffloadResult], *, on: bool = True) -> str | None:
    """Record an offload (and its cascade): every verified copy."""
    from pipeline.catalog.db import open_catalog
    from pipeline.catalog.record import record_offload

    def record() -> None:
        cat = open_catalog()
        try:
            for res in results:
                record_offload(res, catalog=cat)
        finally:
            cat.close()

    return _guarded("offload", record, on=on)


def probe_done(assets: Iterable[Asset], *, on: bool = True) -> str | None:
    """Record what each probed file is."""
    from pipeline.catalog.record import record_probe

    items = list(assets)
    return _guarded("probe", lambda: record_probe(items), on=on and bool(items))


def qc_done(results: Iterable[QCResult], *, on: bool = True) -> str | None:
    """Record QC verdicts and key measurements."""
    from pipeline.catalog.record import record_qc

    items = list(results)
    return _guarded("QC", lambda: record_qc(items), on=on and bool(items))


def rights_done(outcome: ApplyOutcome, *, on: bool = True) -> str | None:
    """Record which files carry the template now (and where: the file or its sidecar)."""
    from pipeline.catalog.record import record_rights

    done = [r for r in outcome.results if r.action != "error"]
    per_file = {
        os.path.abspath(r.path): {
            "action": str(r.action),
            "carried_in": r.target,
            "written": list(r.written),
            "not_written": dict(r.not_written),
        }
        for r in done
    }
    return _guarded(
        "rights run",
        lambda: record_rights(list(per_file), outcome.template, fields_by_file=per_file),
        on=on and bool(per_file),
    )
