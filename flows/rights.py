"""Rights stage: apply a rights template to a batch of files (thin wrapper over the core).

(Importing `flows.rights` runs `flows/__init__` first: Prefect is offline and project-local.)
One task runs the whole batch so a single ExifTool `-stay_open` process serves every file; the
per-file results (embedded / sidecar / error, fields not written) become a table artifact.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from pipeline.catalog.hooks import rights_done
from pipeline.rights.batch import ApplyOutcome, result_rows, run_apply


@task(name="rights-apply", task_run_name="rights-apply-{template}")
def apply_rights_task(
    paths: list[str],
    template: str,
    embed: bool = False,
    sidecar_style: str = "name",
    sidecar_dir: str | None = None,
    variables: dict[str, str] | None = None,
) -> ApplyOutcome:
    """Apply `template` to `paths` (the core checks the arguments and runs the batch)."""
    return run_apply(
        paths,
        template,
        variables=variables,
        embed=embed,
        sidecar_style=sidecar_style,
        sidecar_dir=sidecar_dir,
    )


@flow(name="rights", log_prints=True)
def rights_flow(
    paths: list[str],
    template: str,
    embed: bool = False,
    sidecar_style: str = "name",
    sidecar_dir: str | None = None,
    variables: dict[str, str] | None = None,
    catalog: bool = True,
) -> list[dict]:
    """The rights stage of the day: sidecars for originals, embedded rights in deliverables."""
    outcome = apply_rights_task(paths, template, embed, sidecar_style, sidecar_dir, variables)
    create_table_artifact(
        key="rights",
        table=result_rows(outcome.results),
        description=f"Rights applied (template: {template})",
    )
    print(outcome.summary)
    if warning := rights_done(outcome, on=catalog):
        get_run_logger().warning("%s", warning)
    return [r.model_dump() for r in outcome.results]
