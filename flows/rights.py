"""Rights stage: apply a rights template to a batch of files (thin wrapper over the core).

(Importing `flows.rights` runs `flows/__init__` first: Prefect is offline and project-local.)
One task runs the whole batch so a single ExifTool `-stay_open` process serves every file; the
per-file results (embedded / sidecar / error, fields not written) become a table artifact.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from pipeline.rights.apply import apply_rights, summarize
from pipeline.rights.template import load_template


@task(name="rights-apply", task_run_name="rights-apply-{template}")
def apply_rights_task(
    paths: list[str],
    template: str,
    embed: bool = False,
    sidecar_style: str = "name",
    sidecar_dir: str | None = None,
    variables: dict[str, str] | None = None,
) -> list[dict]:
    """Apply `template` to `paths`; returns RightsResult dicts (JSON-safe)."""
    tpl = load_template(template, variables=variables)
    results = apply_rights(
        paths,
        tpl,
        embed=embed,
        sidecar_style=sidecar_style,  # type: ignore[arg-type]
        sidecar_dir=sidecar_dir,
    )
    return [r.model_dump() for r in results]


@flow(name="rights", log_prints=True)
def rights_flow(
    paths: list[str],
    template: str,
    embed: bool = False,
    sidecar_style: str = "name",
    sidecar_dir: str | None = None,
    variables: dict[str, str] | None = None,
) -> list[dict]:
    """The rights stage of the day: sidecars for originals, embedded rights in deliverables."""
    results = apply_rights_task(paths, template, embed, sidecar_style, sidecar_dir, variables)
    create_table_artifact(
        key="rights",
        table=[
            {
                "file": r["path"],
                "result": r["action"],
                "carried in": r["target"] or "",
                "not written": ", ".join(r["not_written"]),
                "notes": "; ".join(r["notes"]) or (r["error"] or ""),
            }
            for r in results
        ],
        description="Rights applied (template: " + template + ")",
    )
    from pipeline.rights.apply import RightsResult

    counts = summarize([RightsResult.model_validate(r) for r in results])
    print(", ".join(f"{v} {k}" for k, v in counts.items() if v))
    return results
