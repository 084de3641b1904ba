"""Deliver stage: masters × profiles as mapped Prefect tasks, with table and markdown artifacts.

Thin over `pipeline.deliver.run`: each task makes one deliverable, QCs it and writes its rights
(a bad master is a result with status "error", never an exception); then the core's
`finish_delivery` writes the delivery note and the MHL manifest once, over the whole folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.runners import on_runner
from pipeline.deliver.run import Deliverable, DeliveryNote, Options, deliver_one, finish_delivery
from pipeline.profiles import load_profile


@task(name="deliver-one", task_run_name="deliver {master_name} as {profile}")
def deliver_task(master: str, master_name: str, profile: str, opts: Options) -> Deliverable:
    return deliver_one(Path(master), load_profile(profile), opts)


def _publish(note: DeliveryNote) -> None:
    rows = [
        {
            "master": Path(d.master).name,
            "profile": d.profile,
            "deliverable": Path(d.output).name if d.output else "",
            "status": d.status,
            "qc": d.qc_verdict or "",
            "lufs": d.measured.get("integrated_lufs"),
        }
        for d in note.deliverables
    ]
    create_table_artifact(key="deliver", table=rows, description="Deliverables and QC verdicts")
    lines = [f"# Delivery to `{note.out_dir}`", ""]
    for d in note.deliverables:
        lines.append(f"- **{Path(d.master).name} → {d.profile}: {d.status}** {d.error or ''}")
        lines.extend(f"  - {n}" for n in d.notes)
    create_markdown_artifact(key="deliver-summary", markdown="\n".join(lines))


@flow(name="rushline-deliver", log_prints=True)
def deliver_flow(
    masters: list[str],
    profiles: list[str],
    out_dir: str,
    *,
    conform: bool = False,
    head: bool = True,
    rights_template: str | None = None,
    measurements: dict[str, dict[str, Any]] | None = None,
    cluster: str | None = None,
) -> DeliveryNote:
    """Every master as every profile into `out_dir`; returns the delivery note. `cluster`
    (tcp://host:8786) makes the deliverables on that Dask cluster."""
    batch = on_runner(deliver_batch, cluster, None)
    return batch(masters, profiles, out_dir, conform=conform, head=head,
                 rights_template=rights_template, measurements=measurements)  # fmt: skip


@flow(name="rushline-deliver-batch", log_prints=True)
def deliver_batch(
    masters: list[str],
    profiles: list[str],
    out_dir: str,
    *,
    conform: bool = False,
    head: bool = True,
    rights_template: str | None = None,
    measurements: dict[str, dict[str, Any]] | None = None,
) -> DeliveryNote:
    """The deliveries themselves, on whichever task runner `deliver_flow` chose."""
    log = get_run_logger()
    opts = Options(
        out_dir=Path(out_dir),
        conform=conform,
        force=True,  # a re-run of the flow replaces what it made
        head="profile" if head else None,
        rights_template=rights_template,
        measurements=measurements or {},
    )
    futures = [deliver_task.submit(m, Path(m).name, p, opts) for m in masters for p in profiles]
    done = [f.result() for f in futures]
    note = finish_delivery(Path(out_dir), done)
    for d in done:
        log.info("%s → %s: %s %s", Path(d.master).name, d.profile, d.status, d.error or "")
    _publish(note)
    return note
