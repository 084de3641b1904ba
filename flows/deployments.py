"""Register Rushline's flows as deployments on a Prefect process work pool.

Workers on every machine (`prefect worker start --pool rushline --type process`) pick up runs
from one Prefect server. Nothing is built, pushed or pulled: each deployment's entrypoint is a
module path (`flows.qc.qc_batch_flow`) that every worker imports from its own Rushline install,
so the code must be installed (or the repo mounted) on each worker machine, and media and
reports are passed by path on shared storage mounted at the same place everywhere.

    python -m flows.deployments [--pool NAME] [--api http://server:4200/api]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType
from prefect.workers.process import ProcessWorker

from pipeline import exitcodes
from pipeline.errors import RushlineError

DEFAULT_POOL = "rushline"
TAGS = ["rushline"]


@dataclass(frozen=True)
class Stage:
    """One deployment: the flow's module path, its name, and example parameters to show."""

    entrypoint: str  # module.attribute, imported by the worker from the installed package
    name: str
    example: dict[str, Any] = field(default_factory=dict)


STAGES: tuple[Stage, ...] = (
    Stage(
        "flows.qc.qc_batch_flow",
        "qc",
        {"paths": ["/mnt/media/master.mxf"], "profile": "fr-pad-hd", "out_dir": "/mnt/reports"},
    ),
    Stage(
        "flows.qc_split.qc_split_flow",
        "qc-split",
        {
            "path": "/mnt/media/master.mxf",
            "profile": "fr-pad-hd",
            "out_dir": "/mnt/reports",
            "segments": 4,
            "cluster": "tcp://render1:8786",
        },
    ),
    Stage(
        "flows.deliver.deliver_flow",
        "deliver",
        {
            "masters": ["/mnt/media/master.mxf"],
            "profiles": ["fr-pad-hd", "web-h264"],
            "out_dir": "/mnt/deliveries",
        },
    ),
    Stage(
        "flows.dailies.dailies_flow",
        "dailies",
        {"paths": ["/mnt/raid/A001"], "out_dir": "/mnt/dailies/A001"},
    ),
    Stage(
        "flows.offload.offload_flow",
        "offload",
        {"source": "/media/A001", "destinations": ["/mnt/raid/rushes", "/mnt/shuttle/rushes"]},
    ),
    Stage(
        "flows.photo.photo_export_flow",
        "export",
        {"sources": ["/mnt/raid/photo/IMG_0001.CR3"], "preset": "web", "out": "/mnt/exports"},
    ),
    Stage(
        "flows.rights.rights_flow",
        "rights",
        {"paths": ["/mnt/raid/A001"], "template": "/mnt/rights/production.yaml"},
    ),
    Stage(
        "flows.demo.demo_flow",
        "demo",
        {"samples": "/mnt/rushline/sample_media/out", "out": "/mnt/reports/demo"},
    ),
)


@dataclass(frozen=True)
class Registered:
    """A deployment the server now knows: `<flow name>/<deployment name>` and its id."""

    full_name: str
    deployment_id: str
    example: dict[str, Any]

    def run_command(self) -> str:
        """The `prefect deployment run` line that starts one run with the example parameters."""
        cmd = ["prefect", "deployment", "run", self.full_name]
        for key, value in self.example.items():
            text = value if isinstance(value, str) else json.dumps(value)
            cmd += ["-p", f"{key}={text}"]
        return shlex.join(cmd)


class PoolTypeError(RushlineError):
    """The named work pool exists but its workers are not local processes."""


def load_flow(entrypoint: str) -> Flow[..., Any]:
    """The flow object at `module.attribute` (what the worker will import too)."""
    module, _, attr = entrypoint.rpartition(".")
    found = getattr(importlib.import_module(module), attr)
    if not isinstance(found, Flow):
        raise TypeError(f"{entrypoint} is not a Prefect flow")
    return found


def ensure_pool(pool: str) -> bool:
    """Create the process work pool `pool` when missing; True when it was created.

    The base job template comes from the installed ProcessWorker, so nothing is looked up in
    Prefect's online collection registry (the CLI's `work-pool create` asks the server for it).
    """
    with get_client(sync_client=True) as client:
        try:
            found = client.read_work_pool(pool)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(
                WorkPoolCreate(name=pool, type="process", base_job_template=template)
            )
            return True
    if found.type != "process":
        raise PoolTypeError(
            f"work pool {pool!r} is a {found.type!r} pool, not a process pool",
            hint="choose another --pool",
        )
    return False


def register(pool: str = DEFAULT_POOL, stages: Sequence[Stage] = STAGES) -> list[Registered]:
    """Create the pool if needed and register (or update) one deployment per stage."""
    ensure_pool(pool)
    done = []
    for stage in stages:
        fl = load_flow(stage.entrypoint)
        deployment = fl.to_deployment(
            name=stage.name,
            work_pool_name=pool,
            entrypoint_type=EntrypointType.MODULE_PATH,
            tags=TAGS,
        )
        deployment_id = deployment.apply(work_pool_name=pool)
        done.append(Registered(f"{fl.name}/{stage.name}", str(deployment_id), stage.example))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", default=DEFAULT_POOL, help="process work pool (made if missing)")
    parser.add_argument("--api", help="Prefect server API, e.g. http://127.0.0.1:4200/api")
    args = parser.parse_args(argv)
    api = args.api or os.environ.get("PREFECT_API_URL")
    if not api:
        # Without a server the deployments would land in this machine's ephemeral database,
        # where no worker on another machine can see them.
        print(
            "no Prefect server given: pass --api http://HOST:4200/api or set PREFECT_API_URL "
            "(`make server` starts one)",
            file=sys.stderr,
        )
        return exitcodes.ERROR
    try:
        with temporary_settings({PREFECT_API_URL: api}):
            registered = register(args.pool)
    except httpx.HTTPError as exc:
        print(f"cannot reach the Prefect server at {api}: {exc}; is it running?", file=sys.stderr)
        return exitcodes.ERROR
    except PoolTypeError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    print(f"{len(registered)} deployments on work pool {args.pool!r} at {api}")
    for r in registered:
        print(f"\n{r.full_name}\n  {r.run_command()}")
    print(
        "\nOn each worker machine, with PREFECT_API_URL set to this server's API:\n"
        f"  prefect worker start --pool {args.pool} --type process --install-policy never"
    )
    return exitcodes.OK


if __name__ == "__main__":
    sys.exit(main())
