"""The batch flows on a real Dask cluster, on the sample media: `make cluster-demo`.

    python -m flows.cluster_demo --samples sample_media/out --out out/cluster-demo

1. starts a Dask scheduler and two worker processes on this machine (`dask` CLI, through
   `pipeline.tools.spawn`), as two machines mounting the same storage would run them;
2. QC: the sample clips (camera and sound cards) with `qc_batch_flow(cluster=...)`, then the
   same files locally (`qc_file` one after the other): same verdicts, same findings;
3. photo: the stills card exported with the `web` preset by `photo_export_flow(cluster=...)`
   and locally: same pictures made, same sizes;
4. split QC of the sample master in two segments across the workers, against one pass;
5. stops every process it started, by process id (also on Ctrl-C or an error).

Writes `summary.json` into --out; exit 0 when the cluster and the local runs agree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

# A person reads this output: Prefect's per-task INFO lines stay in the UI, the console shows
# the demo's lines and any warning (as `make demo`).
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

import flows  # noqa: F401, E402  (offline, project-local Prefect settings before Prefect loads)
from pipeline.cluster import LocalDask  # noqa: E402
from pipeline.fsutil import atomic_write_text  # noqa: E402

PROFILE = "ebu-r128"
PRESET = "web"
SPLIT_PROFILE = "fr-pad-hd"  # the master is a PAD-shaped programme with line-up


def _essentials(result: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on where a file was checked (not timings, not thumbnail paths)."""
    findings = [{k: v for k, v in f.items() if k != "thumbnail"} for f in result["findings"]]
    return {"verdict": result["verdict"], "error": result["error"], "findings": findings}


def qc_both(address: str, clips: list[Path], out: Path) -> dict[str, Any]:
    """The QC flow on the cluster and the same files locally; per-file agreement."""
    from flows.qc import qc_batch_flow
    from pipeline.profiles import load_profile
    from pipeline.qc.run import qc_file

    summary = qc_batch_flow([str(c) for c in clips], PROFILE, str(out / "qc"), catalog=False,
                            cluster=address)  # fmt: skip
    profile = load_profile(PROFILE)
    local = {str(c): qc_file(c, profile).model_dump(mode="json") for c in clips}
    files = []
    for remote in summary["results"]:
        same = _essentials(remote) == _essentials(local[remote["file"]])
        files.append({"file": remote["file"], "verdict": remote["verdict"], "same": same})
        print(f"  QC {Path(remote['file']).name}: {remote['verdict']}"
              f" {'= local' if same else '≠ LOCAL'}")  # fmt: skip
    return {"files": files, "same": all(f["same"] for f in files)}


def photo_both(address: str, pictures: list[Path], out: Path) -> dict[str, Any]:
    """The photo export flow on the cluster and the same export locally."""
    from flows.photo import photo_export_flow
    from pipeline.photo.batch import export_batch
    from pipeline.photo.presets import load_preset

    remote = photo_export_flow([str(p) for p in pictures], PRESET, str(out / "photo-cluster"),
                               force=True, cluster=address)  # fmt: skip
    local = export_batch(pictures, load_preset(PRESET), out / "photo-local", force=True, workers=1)
    files = []
    for r, h in zip(remote, local, strict=True):
        made = (r["status"], Path(r["output"] or "").name, r["width"], r["height"])
        here = (h.status, Path(h.output or "").name, h.width, h.height)
        files.append({"source": r["source"], "status": r["status"], "same": made == here})
        print(f"  export {Path(r['source']).name}: {r['status']} {r['width']}x{r['height']}"
              f" {'= local' if made == here else '≠ LOCAL'}")  # fmt: skip
    return {"files": files, "same": all(f["same"] for f in files)}


def split_qc_of_master(address: str, master: Path, out: Path) -> dict[str, Any]:
    """The master cut into two segments measured on the two workers and merged, against the
    one-pass QC of the same file: same verdict and findings, same loudness figures."""
    from flows.qc_split import qc_split_flow
    from pipeline.profiles import load_profile
    from pipeline.qc.run import qc_file

    remote = qc_split_flow(str(master), SPLIT_PROFILE, str(out / "split"), segments=2,
                           cluster=address, cache=False)  # fmt: skip
    local = qc_file(master, load_profile(SPLIT_PROFILE)).model_dump(mode="json")
    loud = ("integrated_lufs", "lra_lu", "true_peak_dbtp", "short_term_max_lufs")
    there = remote["measurements"].get("loudness") or {}
    here = local["measurements"].get("loudness") or {}
    if remote["error"]:
        print(f"  split QC {master.name}: could not measure: {remote['error']}")
    figures = {k: (there.get(k), here.get(k)) for k in loud}
    same = _essentials(remote) == _essentials(local) and all(a == b for a, b in figures.values())
    cuts = remote["measurements"].get("split", {}).get("boundaries_s")
    print(f"  split QC {master.name} (cut at {cuts} s): {remote['verdict']}"
          f" {'= one pass' if same else '≠ ONE PASS'}; integrated"
          f" {figures['integrated_lufs'][0]} LUFS")  # fmt: skip
    return {"file": str(master), "boundaries_s": cuts, "verdict": remote["verdict"],
            "loudness": figures, "same": same}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path("sample_media/out"))
    parser.add_argument("--out", type=Path, default=Path("out/cluster-demo"))
    parser.add_argument("--workers", type=int, default=2, help="worker processes to start")
    args = parser.parse_args(argv)
    # Every run measures (the workers inherit this): the demo shows the cluster at work, not
    # the cache answering; and it keeps its catalogue to itself.
    os.environ["RUSHLINE_CACHE"] = "off"
    os.environ.setdefault("RUSHLINE_CATALOG", "off")
    import sample_media

    sample_media.ensure(args.samples)
    cards = args.samples / "cards"
    clips = sorted(cards.glob("A_XDCAM/**/C*.MP4")) + sorted(cards.glob("C_SOUND/**/*.WAV"))
    pictures = sorted(p for p in (cards / "D_PHOTO").rglob("IMG_*") if p.is_file())
    args.out.mkdir(parents=True, exist_ok=True)
    with LocalDask(args.out.resolve() / "dask") as local:  # stops the processes on any exit
        local.start(args.workers)
        pids = [p.pid for p in [local.scheduler, *local.workers] if p is not None]
        print(f"Dask scheduler at {local.address}; processes {pids}")
        summary = {
            "scheduler": local.address,
            "qc": qc_both(local.address, [c.resolve() for c in clips], args.out.resolve()),
            "photo": photo_both(local.address, [p.resolve() for p in pictures], args.out.resolve()),
            "split_qc": split_qc_of_master(
                local.address, args.samples / "masters/PROGRAMME_MASTER.mxf", args.out.resolve()
            ),
        }
    text = json.dumps(summary, indent=2) + "\n"
    atomic_write_text(args.out / "summary.json", text, overwrite=True)  # the demo's own file
    agree = all(summary[k]["same"] for k in ("qc", "photo", "split_qc"))
    print(f"reports: {args.out / 'qc' / 'index.html'}, {args.out / 'split'}, "
          f"{args.out / 'photo-cluster'}")  # fmt: skip
    print(f"cluster = local: {'yes' if agree else 'NO'}; summary in {args.out / 'summary.json'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
