"""Every change lands exactly once: a scripted history across windows, and a run killed mid-write."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from dagster import AssetKey, build_output_context, materialize

from dicom_assets.assets import dicom_instances
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.io.lake_io_manager import ParquetLakeIOManager, window_state
from dicom_assets.io.window_sync import SYNC_MODE_TAG, SyncMode, WindowSync
from dicom_assets.partitions import dicom_feed_partitions, window_folder
from dicom_assets.resources import LakeResource
from dicom_assets.schema import convert_entries
from dicom_assets.sources.entries import ChangeAction, ChangeFeedEntry
from dicom_assets.sql.duckdb_views import register_views
from dicom_assets.wiring import build_resources

UTC = dt.UTC


def _entry(sequence: int, hour: int, action: ChangeAction, dataset=None, uids=None) -> ChangeFeedEntry:
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
        folder = lake.path("result/Dicom", window_folder(key))
        after = int(window_state(lake.filesystem(), folder)["last_sequence"])
    entries = [
        e for e in feed
        if start <= e.timestamp < start + dt.timedelta(hours=1) and e.sequence > after
    ]
    context = build_output_context(
        asset_key=AssetKey("dicom_instances"), partition_key=key, asset_partitions_def=dicom_feed_partitions
    )
    sync = WindowSync(key, mode, after, iter([convert_entries(entries)]), http_calls=lambda: 0)
    ParquetLakeIOManager(lake).handle_output(context, sync)


def current_state(lake: LakeResource, database: Path) -> dict[str, tuple]:
    with duckdb.connect(str(database)) as connection:
        register_views(connection, lake.dicom_root(), files=1)
        rows = connection.execute(
            "SELECT SOPInstanceUID, _action, PatientName.Alphabetic, SeriesDescription "
            "FROM dicom.current_instances"
        ).fetchall()
        total = connection.execute("SELECT count(*), count(DISTINCT _sequence) FROM dicom.instances").fetchone()
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
    deleted_rows = pq.read_table(next(Path(lake.dicom_root(), "2026/11/20/12").glob("delta-*.parquet")))
    assert deleted_rows["_metadata"].to_pylist() == [None, None]
    assert deleted_rows["SOPInstanceUID"].to_pylist() == [x.SOPInstanceUID, y.SOPInstanceUID]


CHILD_RUN = """
import sys
from dagster import materialize
from dicom_assets.assets import dicom_instances
from dicom_assets.wiring import build_resources
from dicom_assets.io import lake_io_manager
from dicom_assets.io.window_sync import SYNC_MODE_TAG
lake_io_manager.ROW_GROUP_ROWS = 3  # a part file per batch of 3: the kill lands between files
result = materialize([dicom_instances], partition_key=sys.argv[1], resources=build_resources(),
                     tags={SYNC_MODE_TAG: "incremental"})
sys.exit(0 if result.success else 1)
"""


def _visible_parquet(lake_dir: str) -> list[Path]:
    """What a reader globbing ``**/*.parquet`` sees (hidden temporaries end in ``.tmp-…``)."""
    return sorted(Path(lake_dir, "result", "Dicom").rglob("*.parquet"))


def test_sigkill_mid_write_then_rerun_writes_each_change_once(orthanc, orthanc_env, monkeypatch):
    from dicom_assets_tests.test_pipeline import evaluate_sensor

    resources = build_resources()
    first = list(synthetic_instances(synthetic_study(1, series=1, instances_per_series=3)))
    assert all(upload(orthanc.url, [encode(ds) for ds in first]))
    synced = evaluate_sensor(resources, None)
    for request in synced.run_requests:
        assert materialize([dicom_instances], partition_key=request.partition_key,
                           resources=resources, tags=request.tags).success

    studies = [synthetic_study(100 + i, series=10, instances_per_series=3) for i in range(8)]
    later = [ds for study in studies for ds in synthetic_instances(study)]
    assert all(upload(orthanc.url, [encode(ds) for ds in later]))
    result = evaluate_sensor(resources, synced.cursor)
    key = max(result.run_requests, key=lambda request: int(request.run_key.split("@")[1])).partition_key
    folder = Path(orthanc_env["DICOM_LAKE_URL"], "result", "Dicom", window_folder(key))
    state_before = window_state(LakeResource(url=orthanc_env["DICOM_LAKE_URL"]).filesystem(), str(folder))

    existing = set(folder.glob("*.parquet"))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_RUN, key],
        env={**os.environ, "DICOM_BATCH_SIZE": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: set[Path] = set(existing)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            new = [path for path in folder.glob("delta-*.parquet") if path not in seen]
            for path in new:  # every file a reader can see is complete
                assert pq.read_table(path).num_rows > 0
                seen.add(path)
            if seen - existing:
                os.kill(child.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"

    # Killed mid-write: some files, the window's state untouched, every visible file readable.
    fs = LakeResource(url=orthanc_env["DICOM_LAKE_URL"]).filesystem()
    assert window_state(fs, str(folder)) == state_before
    written = sum(pq.read_table(path).num_rows for path in _visible_parquet(orthanc_env["DICOM_LAKE_URL"]))
    assert len(first) < written < len(first) + len(later)
    with duckdb.connect() as connection:
        glob = str(Path(orthanc_env["DICOM_LAKE_URL"], "result", "Dicom")) + "/**/*.parquet"
        assert connection.execute(f"SELECT count(*) FROM read_parquet('{glob}', union_by_name=true)").fetchone()[0] == written

    # The sensor/retry runs the window again: it redoes what the killed run had started.
    for request in result.run_requests:
        assert materialize([dicom_instances], partition_key=request.partition_key,
                           resources=resources, tags={SYNC_MODE_TAG: "incremental"}).success
    table = pq.ParquetDataset([str(p) for p in _visible_parquet(orthanc_env["DICOM_LAKE_URL"])]).read()
    sops = table["SOPInstanceUID"].to_pylist()
    assert sorted(sops) == sorted(ds.SOPInstanceUID for ds in first + later)
    assert len(set(table["_sequence"].to_pylist())) == table.num_rows
    with duckdb.connect(orthanc_env["DICOM_DUCKDB_PATH"]) as connection:
        register_views(connection, str(Path(orthanc_env["DICOM_LAKE_URL"], "result", "Dicom")), files=1)
        assert connection.execute("SELECT count(*) FROM dicom.current_instances").fetchone()[0] == len(first) + len(later)
    assert not [p for p in folder.iterdir() if ".tmp-" in p.name]
