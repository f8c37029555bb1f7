"""Every change lands exactly once: a scripted history across windows, a run killed mid-write."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, build_output_context, materialize

from dicom_assets.assets import dicom_instances
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.lake.change_log import last_synced_sequence, read_window
from dicom_assets.lake.io_manager import DicomLakeIOManager
from dicom_assets.lake.window_sync import SYNC_MODE_TAG, SyncMode, WindowSync
from dicom_assets.partitions import dicom_feed_partitions
from dicom_assets.resources import LakeResource
from dicom_assets.schema import convert_entries
from dicom_assets.sql.duckdb_views import register_views
from dicom_assets.wiring import build_resources

UTC = dt.UTC


def _entry(
    sequence: int, hour: int, action: ChangeAction, dataset=None, uids=None
) -> ChangeFeedEntry:
    """An Azure-like change-feed entry (Orthanc has no updates): metadata from a real dataset."""
    source = dataset if dataset is not None else uids
    return ChangeFeedEntry(
        sequence=sequence,
        timestamp=dt.datetime(2026, 11, 20, hour, 10 + sequence, tzinfo=UTC),
        action=action,
        study_instance_uid=source.StudyInstanceUID,
        series_instance_uid=source.SeriesInstanceUID,
        sop_instance_uid=source.SOPInstanceUID,
        metadata=None if action is ChangeAction.DELETE else dataset.to_json_dict(),
    )


def write_window(lake: LakeResource, key: str, feed: list[ChangeFeedEntry], mode: SyncMode) -> None:
    """What ``dicom_instances`` hands the IO manager for a window of ``feed``."""
    start = dt.datetime.strptime(key, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
    after = 0
    if mode is SyncMode.INCREMENTAL:
        after = last_synced_sequence(lake, key)
    entries = [
        e
        for e in feed
        if start <= e.timestamp < start + dt.timedelta(hours=1) and e.sequence > after
    ]
    context = build_output_context(
        asset_key=AssetKey("dicom_instances"),
        partition_key=key,
        asset_partitions_def=dicom_feed_partitions,
    )
    sync = WindowSync(key, mode, after, iter([convert_entries(entries)]), http_calls=lambda: 0)
    DicomLakeIOManager(lake=lake).handle_output(context, sync)


def current_state(lake: LakeResource, database: Path) -> dict[str, tuple]:
    with duckdb.connect(str(database)) as connection:
        register_views(connection, lake.table().uri)
        rows = connection.execute(
            "SELECT SOPInstanceUID, _action, PatientName.Alphabetic, SeriesDescription "
            "FROM dicom.current_instances"
        ).fetchall()
        total = connection.execute(
            "SELECT count(*), count(DISTINCT _sequence) FROM dicom.instances"
        ).fetchone()
    return {row[0]: row[1:] for row in rows}, total


def test_create_update_delete_recreate_across_windows(tmp_path):
    study = synthetic_study(7, series=1, instances_per_series=3)
    x, y, z = synthetic_instances(study)
    x_updated, z_updated, x_again = (ds.copy() for ds in (x, z, x))
    x_updated.PatientName = "Doe^Updated"
    z_updated.SeriesDescription = "Renamed series"
    x_again.SeriesDescription = "Stored again"
    feed = [
        _entry(1, 10, ChangeAction.CREATE, x),
        _entry(2, 10, ChangeAction.CREATE, y),
        _entry(3, 10, ChangeAction.CREATE, z),
        _entry(4, 11, ChangeAction.UPDATE, x_updated),
        _entry(5, 11, ChangeAction.UPDATE, z_updated),
        _entry(6, 12, ChangeAction.DELETE, uids=x),
        _entry(7, 12, ChangeAction.DELETE, uids=y),
        _entry(8, 13, ChangeAction.CREATE, x_again),
    ]
    lake = LakeResource(url=str(tmp_path / "lake"))
    # Windows synced out of order, one twice, one fully re-synced: none of it may matter.
    for key, mode in [
        ("2026-11-20-13:00", SyncMode.INCREMENTAL),
        ("2026-11-20-11:00", SyncMode.INCREMENTAL),
        ("2026-11-20-10:00", SyncMode.INCREMENTAL),
        ("2026-11-20-11:00", SyncMode.INCREMENTAL),
        ("2026-11-20-12:00", SyncMode.INCREMENTAL),
        ("2026-11-20-10:00", SyncMode.FULL),
    ]:
        write_window(lake, key, feed, mode)

    current, (rows, sequences) = current_state(lake, tmp_path / "warehouse.duckdb")
    assert (rows, sequences) == (8, 8)  # one row per change, each once
    assert current == {
        x.SOPInstanceUID: ("create", str(x.PatientName), "Stored again"),
        z.SOPInstanceUID: ("update", str(z.PatientName), "Renamed series"),
    }
    deleted_rows = read_window(lake, "2026-11-20-12:00").sort_by("_sequence")
    assert deleted_rows["_metadata"].to_pylist() == [None, None]
    assert deleted_rows["SOPInstanceUID"].to_pylist() == [x.SOPInstanceUID, y.SOPInstanceUID]


CHILD_RUN = """
import sys, time
from pathlib import Path
from dagster import materialize
from dicom_assets.assets import dicom_instances
from dicom_assets.wiring import build_resources
from dicom_assets.lake import staging, writer
from dicom_assets.lake.window_sync import SYNC_MODE_TAG
staging.GROUP_ROWS = 3  # many staged groups, streamed to delta-rs one by one
conform = staging.conform
def slow_conform(table, schema):  # inside delta-rs' write: the kill lands mid-write
    Path(sys.argv[2]).touch()
    time.sleep(0.2)
    return conform(table, schema)
staging.conform = slow_conform
result = materialize([dicom_instances], partition_key=sys.argv[1], resources=build_resources(),
                     tags={SYNC_MODE_TAG: "incremental"})
sys.exit(0 if result.success else 1)
"""


@pytest.fixture(params=["local", "azurite"])
def killed_run_env(request, orthanc_env) -> dict[str, str]:
    """The Orthanc environment with the lake in a local folder, then in an Azurite container."""
    if request.param == "local":
        return orthanc_env
    return request.getfixturevalue("azurite_lake_env")


def test_sigkill_mid_write_then_rerun_writes_each_change_once(orthanc, killed_run_env, tmp_path):
    from dicom_assets_tests.test_pipeline import evaluate_sensor

    env = killed_run_env
    local = "://" not in env["DICOM_LAKE_URL"]
    resources = build_resources()
    lake = LakeResource(url=env["DICOM_LAKE_URL"])
    first = list(synthetic_instances(synthetic_study(1, series=1, instances_per_series=3)))
    assert all(upload(orthanc.url, [encode(ds) for ds in first]))
    synced = evaluate_sensor(resources, None)
    for request in synced.run_requests:
        assert materialize(
            [dicom_instances],
            partition_key=request.partition_key,
            resources=resources,
            tags=request.tags,
        ).success

    studies = [synthetic_study(100 + i, series=10, instances_per_series=3) for i in range(8)]
    later = [ds for study in studies for ds in synthetic_instances(study)]
    assert all(upload(orthanc.url, [encode(ds) for ds in later]))
    result = evaluate_sensor(resources, synced.cursor)
    key = max(
        result.run_requests, key=lambda request: int(request.run_key.split("@")[1])
    ).partition_key
    synced_before = last_synced_sequence(lake, key)
    version_before = lake.table().open().version()
    rows_before = lake.table().open().to_pyarrow_table(columns=["_sequence"]).num_rows

    marker = tmp_path / "writing"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_RUN, key, str(marker)],
        env={**os.environ, "DICOM_BATCH_SIZE": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and child.poll() is None and not marker.exists():
            time.sleep(0.01)
        time.sleep(0.5)  # delta-rs is writing data files now, a group every 0.2 s
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"

    # Killed mid-write: no commit, the window's synced sequence untouched, readers unaffected.
    table = lake.table().open()
    assert table.version() == version_before
    assert last_synced_sequence(lake, key) == synced_before
    assert table.to_pyarrow_table(columns=["_sequence"]).num_rows == rows_before == len(first)
    if local:  # the DuckDB views over the table (on Azurite they are tested in test_readers.py)
        with duckdb.connect(env["DICOM_DUCKDB_PATH"]) as connection:
            register_views(connection, lake.table().uri)
            count = connection.execute("SELECT count(*) FROM dicom.instances").fetchone()[0]
            assert count == len(first)

    # The sensor/retry runs the window again: it commits everything the killed run had not.
    for request in result.run_requests:
        assert materialize(
            [dicom_instances],
            partition_key=request.partition_key,
            resources=resources,
            tags={SYNC_MODE_TAG: "incremental"},
        ).success
    table = lake.table().open().to_pyarrow_table(columns=["_sequence", "SOPInstanceUID"])
    sops = table["SOPInstanceUID"].to_pylist()
    assert sorted(sops) == sorted(ds.SOPInstanceUID for ds in first + later)
    assert len(set(table["_sequence"].to_pylist())) == table.num_rows
    assert last_synced_sequence(lake, key) == max(table["_sequence"].to_pylist())
    if local:
        with duckdb.connect(env["DICOM_DUCKDB_PATH"]) as connection:
            register_views(connection, lake.table().uri)
            query = "SELECT count(*) FROM dicom.current_instances"
            assert connection.execute(query).fetchone()[0] == len(first) + len(later)
