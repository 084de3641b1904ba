"""`archive SOURCE... --to DEST`: collect, check, bag (one bag, or one per volume when the
destination is a set of volumes), and tell the catalogue where each file now lives."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.archive.bag import BagResult, Item, build_bag, check_algorithms, check_destination
from pipeline.archive.bag import collect as collect_items
from pipeline.archive.errors import ArchiveError
from pipeline.archive.naming import check_name, span_name
from pipeline.archive.records import record_archive
from pipeline.archive.spanning import Volume, parse_volume, plan_json, plan_span
from pipeline.catalog.db import CatalogError
from pipeline.exitcodes import ArchiveExit

log = logging.getLogger("rushline.archive")
SPAN_TAG = "rushline-span.json"


@dataclass
class ArchiveResult:
    name: str
    bags: list[BagResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    catalog_note: str | None = None


def _record(bag: BagResult, catalog: object) -> None:
    try:
        bag.clips_recorded = record_archive(bag.name, bag.path, bag.entries, catalog=catalog)  # type: ignore[arg-type]
    except CatalogError as exc:
        log.warning("%s", exc)
        bag.catalog_note = f"the catalogue was not updated: {exc}"


def archive(
    sources: Sequence[str | os.PathLike[str]],
    dests: Sequence[str],
    name: str,
    *,
    info: dict[str, str] | None = None,
    algorithms: Sequence[str] = ("sha256",),
    catalog: object = None,
    record: bool = True,
    progress: Callable[[Item], None] | None = None,
) -> ArchiveResult:
    """Archive the sources as one bag at DEST/NAME, or spanned over several volumes (each
    DEST may say its capacity: PATH=lto-9); records the result in the catalogue."""
    check_name(name)
    algs = check_algorithms(algorithms)
    if not dests:
        raise ArchiveError("no destination given (--to DEST)", exit_code=ArchiveExit.BAG_INVALID)
    items, skipped = collect_items(sources)
    total = sum(i.size for i in items)
    srcs = [Path(os.path.abspath(s)) for s in sources]
    volumes = [parse_volume(d) for d in dests]
    for v in volumes:
        check_destination(srcs, v.path, 0)
    result = ArchiveResult(name, skipped=skipped)
    kw: dict[str, Any] = {"algorithms": algs, "catalog": catalog, "progress": progress}
    if len(volumes) == 1 and "=" not in dests[0]:
        check_destination(srcs, volumes[0].path, total)
        result.bags.append(build_bag(items, volumes[0].path, name, info=info, **kw))
    else:
        result.plan = _span(items, volumes, name, info or {}, result, kw)
    if record:
        for bag in result.bags:
            _record(bag, catalog)
    result.catalog_note = next((b.catalog_note for b in result.bags if b.catalog_note), None)
    return result


def _span(
    items: Sequence[Item],
    volumes: Sequence[Volume],
    name: str,
    info: dict[str, str],
    result: ArchiveResult,
    kw: dict[str, Any],
) -> dict[str, Any]:
    plans = plan_span(items, volumes)
    names = [span_name(name, n, len(plans)) for n in range(1, len(plans) + 1)]
    for n, bag in enumerate(names):
        final = plans[n].volume.path / bag
        if os.path.lexists(final):
            raise ArchiveError(
                f"{final} exists already; not overwriting it",
                exit_code=ArchiveExit.CONFLICT,
                path=final,
            )
    plan = plan_json(name, plans, names)
    for n, (p, bag) in enumerate(zip(plans, names, strict=True), start=1):
        extra = info | {"Bag-Group-Identifier": name, "Bag-Count": f"{n} of {len(plans)}"}
        extra_tags = {SPAN_TAG: json.dumps(plan, indent=2, ensure_ascii=False) + "\n"}
        result.bags.append(
            build_bag(p.items, p.volume.path, bag, info=extra, extra_tags=extra_tags, **kw)
        )
    return plan
