"""Shared fixtures: the generated sample media (built once per machine) and one Prefect harness."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Tests never write into the user's own catalogue; catalogue tests give theirs a tmp path.
os.environ.setdefault("RUSHLINE_CATALOG", "off")
os.environ.setdefault("RUSHLINE_CACHE", "off")  # cache tests give theirs a tmp path

REPO = Path(__file__).resolve().parents[1]
SHARED_MEDIA = REPO.parent / "shared" / "media"
SAMPLES_DIR = Path(os.environ.get("RUSHLINE_SAMPLES", REPO / "sample_media" / "out"))


@pytest.fixture(scope="session")
def samples() -> dict:
    """Generate the sample cards and master once (xdist workers share them through a lock).

    Returns the generator's manifest: paths and the properties it wrote.
    """
    import sample_media

    SAMPLES_DIR.parent.mkdir(parents=True, exist_ok=True)
    lock = SAMPLES_DIR.parent / ".samples.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            manifest = sample_media.ensure(SAMPLES_DIR)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return manifest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def need_shared(path: Path, what: str) -> Path:
    """A `../shared` input: skipped on a machine without it, a failure under CI=true.

    CI always has `../shared` beside the clone; a missing folder there is a broken set-up
    that must not pass as a green run with the real-file tests silently skipped.
    """
    if not path.exists():
        message = f"{path} is absent ({what})"
        if in_ci():
            pytest.fail(f"{message}; CI must have ../shared beside the clone", pytrace=False)
        pytest.skip(message)
    return path


def unavailable(message: str) -> None:
    """Something this machine cannot do for a test (mount a tmpfs, drop root's capabilities):
    a skip on a developer's machine, a failure under CI=true, where it must work."""
    if in_ci():
        pytest.fail(f"{message}; CI must be able to run this test", pytrace=False)
    pytest.skip(message)


def need_tool(name: str, package: str) -> str:
    """A program a test needs (`make setup` installs it): skipped without it, a failure in CI."""
    import shutil

    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (Debian package {package}; `make setup` installs it)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def shared_raw() -> Path:
    """The real RAW files in ../shared/media/raw (never copied into the repo)."""
    return need_shared(SHARED_MEDIA / "raw", "real RAW samples")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real Dask cluster for one test module: a `dask scheduler` and two single-thread
    `dask worker` processes on 127.0.0.1 (pipeline.cluster.LocalDask), both connected; stopped
    by process id after the module (each module gets its own: one kills a worker)."""
    from pipeline.cluster import LocalDask, connect

    local = LocalDask(tmp_path_factory.mktemp("dask"))
    try:
        local.start(2)
        client = connect(local.address, timeout=60)
        client.wait_for_workers(2, timeout=60)
        client.close()
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One ephemeral Prefect API for every flow test in this worker."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def pytest_collection_modifyitems(config, items):
    """All flow tests run on one xdist worker, so one ephemeral Prefect API starts, not two."""
    for item in items:
        if item.get_closest_marker("flow"):
            item.add_marker(pytest.mark.xdist_group(name="prefect"))
