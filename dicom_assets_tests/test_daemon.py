"""The product as it runs: the Dagster daemon's sensor and automation against a real Orthanc."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from dagster._core.launcher import WorkerStatus

from dicom_assets.config import PROJECT_ROOT
from dicom_assets.devtools.processes import stop_process_group
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.launcher import PID_TAG, WarmProcessRunLauncher
from dicom_assets_tests.conftest import wait_for

pytestmark = pytest.mark.e2e


def current_instance_count(database: Path) -> int | None:
    """Rows of dicom.current_instances, or None while the views do not exist or are locked."""
    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            return connection.execute("SELECT count(*) FROM dicom.current_instances").fetchone()[0]
    except (duckdb.Error, OSError):
        return None


@pytest.fixture
def daemon(orthanc, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DICOM_SERVER_KIND": "orthanc",
        "DICOM_SERVER_URL": orthanc.dicomweb_url,
        "DICOM_LAKE_URL": str(tmp_path / "lake"),
        "DICOM_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "DICOM_SENSOR_INTERVAL_SECONDS": "2",
    }
    with open(tmp_path / "daemon.log", "wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            ["dagster-daemon", "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield {"home": home, "tmp": tmp_path, "process": process}
    finally:
        stop_process_group(process, signal.SIGINT)


def test_daemon_syncs_new_instances_and_refreshes_views(orthanc, daemon):
    study = synthetic_study(1, series=2, instances_per_series=5)
    assert all(upload(orthanc.url, [encode(ds) for ds in synthetic_instances(study)]))
    database = daemon["tmp"] / "warehouse.duckdb"

    assert wait_for(lambda: current_instance_count(database) == 10, timeout=150), (
        daemon["tmp"] / "daemon.log"
    ).read_text()[-3000:]

    # The views were registered by the automation condition after the sync, not by the test.
    with DagsterInstance.from_config(str(daemon["home"])) as instance:
        views = instance.get_latest_materialization_event(AssetKey("dicom_external_tables"))
        synced = instance.get_latest_materialization_event(AssetKey("dicom_instances"))
        assert synced is not None and views is not None
        assert views.timestamp > synced.timestamp
        assert synced.asset_materialization.metadata["rows"].value == 10
        # Launched by the local instance's WarmProcessRunLauncher: forked run workers, each
        # recorded with its pid, ordinary successful Dagster runs.
        assert isinstance(instance.run_launcher, WarmProcessRunLauncher)
        run = instance.get_run_by_id(synced.run_id)
        assert run.status == DagsterRunStatus.SUCCESS
        pid = int(run.tags[PID_TAG])
        assert pid != daemon["process"].pid
        worker = instance.run_launcher.check_run_worker_health(run)
        assert worker.status == WorkerStatus.FAILED  # gone after the run: a dead worker is seen

    more = synthetic_study(2, series=1, instances_per_series=3)
    assert all(upload(orthanc.url, [encode(ds) for ds in synthetic_instances(more)]))
    assert wait_for(lambda: current_instance_count(database) == 13, timeout=120)
