"""The sensor in a real ``dagster-daemon``: killed while its runs are pending and started again,
it loses no change and uses no run key twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance

from dicom_assets.config import PROJECT_ROOT
from dicom_assets.devtools.samples import synthetic_instances, synthetic_study
from dicom_assets.sensors import PARTITION_TAG, RUN_KEY_TAG
from dicom_assets_tests.conftest import wait_for
from dicom_assets_tests.sensor_helpers import lake_sops, store


def _start_daemon(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["dagster-daemon", "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group (with its code server and runs)
    )


def _sync_runs(home: Path) -> list:
    with DagsterInstance.from_config(str(home)) as instance:
        return [
            run
            for run in instance.get_runs()
            if "@" in run.tags.get(RUN_KEY_TAG, "") and run.tags.get(PARTITION_TAG)
        ]


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_daemon_killed_while_runs_are_pending_then_restarted_loses_nothing(orthanc, tmp_path):
    """SIGKILL the daemon right after its sensor asked for a run, store more while it is down,
    start it again: every change lands, each once, and no run key is used twice."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    lake = tmp_path / "lake"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DICOM_SERVER_KIND": "orthanc",
        "DICOM_SERVER_URL": orthanc.dicomweb_url,
        "DICOM_LAKE_URL": str(lake),
        "DICOM_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "DICOM_SENSOR_INTERVAL_SECONDS": "2",
    }
    log = tmp_path / "daemon.log"
    first = list(synthetic_instances(synthetic_study(1, series=2, instances_per_series=3)))
    second = list(synthetic_instances(synthetic_study(2, series=1, instances_per_series=4)))
    daemons = [_start_daemon(env, log)]
    try:
        store(orthanc, first)
        assert wait_for(lambda: _sync_runs(home), timeout=180), log.read_text()[-3000:]
        os.kill(daemons[0].pid, signal.SIGKILL)  # mid-flight: the run is queued or starting
        daemons[0].wait()
        store(orthanc, second)
        daemons.append(_start_daemon(env, log))
        expected = sorted(ds.SOPInstanceUID for ds in first + second)
        assert wait_for(lambda: sorted(lake_sops(str(lake))) == expected, timeout=300), (
            sorted(lake_sops(str(lake))),
            log.read_text()[-3000:],
        )
        keys = [run.tags[RUN_KEY_TAG] for run in _sync_runs(home)]
        assert len(keys) == len(set(keys))
        time.sleep(6)  # a few more ticks: nothing is asked twice, nothing written twice
        assert sorted(lake_sops(str(lake))) == expected
    finally:
        for process in daemons:
            try:
                os.killpg(process.pid, signal.SIGINT if process is daemons[-1] else signal.SIGKILL)
            except ProcessLookupError:
                continue
        for process in daemons:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
