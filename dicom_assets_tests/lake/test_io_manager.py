"""The lake IO manager on Azurite: windows loaded downstream, storage faults, no secret anywhere."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest
from azure.storage.blob import BlobServiceClient
from dagster import AssetIn, DagsterInstance, TimeWindowPartitionMapping, asset, materialize
from dagster_shared.serdes import serialize_value

import dicom_assets.assets.instances as instances_module
from dicom_assets.assets import dicom_instances
from dicom_assets.devtools.azurite_server import ACCOUNT, ACCOUNT_KEY, AzuriteServer
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.feed_entry import ChangeFeedEntry
from dicom_assets.lake.change_log import last_synced_sequence
from dicom_assets.lake.io_manager import DicomLakeIOManager
from dicom_assets.lake.window_sync import SYNC_MODE_TAG, SyncMode, WindowSync
from dicom_assets.partitions import dicom_feed_partitions, window_of
from dicom_assets.resources import DicomServerResource, LakeResource
from dicom_assets.schema import convert_entries
from dicom_assets_tests.lake.synthetic_entries import synthetic_creates

HOUR_1, HOUR_2 = "2026-11-20-08:00", "2026-11-20-09:00"
WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk9PQ=="


def window_entries(partition_key: str, first_sequence: int, count: int) -> list[ChangeFeedEntry]:
    """Creates of synthetic instances, timestamped inside the window."""
    start, _ = window_of(partition_key)
    return synthetic_creates(first_sequence, count, start)


WINDOWS = {HOUR_1: window_entries(HOUR_1, 100, 3), HOUR_2: window_entries(HOUR_2, 200, 5)}


@asset(
    name="dicom_instances",
    partitions_def=dicom_feed_partitions,
    io_manager_key="dicom_lake_io_manager",
)
def synthetic_dicom_instances(context) -> WindowSync:
    """Stands in for the change feed only: the output goes through the real IO manager."""
    entries = WINDOWS[context.partition_key]
    return WindowSync(
        partition_key=context.partition_key,
        mode=SyncMode(context.run.tags.get(SYNC_MODE_TAG, SyncMode.FULL.value)),
        after_sequence=0,
        batches=iter([convert_entries(entries[:2]), convert_entries(entries[2:])]),
        http_calls=lambda: 0,
    )


loaded: dict[str, object] = {}


@asset(partitions_def=dicom_feed_partitions)
def hour_as_polars(dicom_instances: pl.DataFrame) -> None:
    loaded["polars"] = dicom_instances


@asset(
    partitions_def=dicom_feed_partitions, ins={"dicom_instances": AssetIn(key="dicom_instances")}
)
def hour_as_arrow(dicom_instances: pa.Table) -> None:
    loaded["arrow"] = dicom_instances


@asset(
    partitions_def=dicom_feed_partitions,
    ins={"dicom_instances": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
)
def two_hours_as_polars(dicom_instances: dict[str, pl.DataFrame]) -> None:
    loaded["range"] = dicom_instances


def sequences(snapshot) -> list[int]:
    """The ``_sequence`` of every row of a snapshot of the lake table (a ``DeltaTable``)."""
    return snapshot.to_pyarrow_table(columns=["_sequence"])["_sequence"].to_pylist()


def lake_resources(lake: LakeResource) -> dict:
    return {"lake": lake, "dicom_lake_io_manager": DicomLakeIOManager(lake=lake)}


def test_downstream_assets_load_one_window_and_a_range_from_azurite(azurite_lake_env):
    resources = lake_resources(LakeResource(url=azurite_lake_env["DICOM_LAKE_URL"]))
    for key in (HOUR_1, HOUR_2):
        assert materialize(
            [synthetic_dicom_instances], partition_key=key, resources=resources
        ).success
    loaded.clear()
    result = materialize(
        [synthetic_dicom_instances, hour_as_polars, hour_as_arrow, two_hours_as_polars],
        selection=[hour_as_polars, hour_as_arrow, two_hours_as_polars],
        partition_key=HOUR_2,
        resources=resources,
    )
    assert result.success
    polars_frame = loaded["polars"]
    assert isinstance(polars_frame, pl.DataFrame)
    assert sorted(polars_frame["_sequence"].to_list()) == [200, 201, 202, 203, 204]
    assert set(polars_frame["SOPInstanceUID"].to_list()) == {
        e.sop_instance_uid for e in WINDOWS[HOUR_2]
    }
    assert isinstance(loaded["arrow"], pa.Table) and loaded["arrow"].num_rows == 5
    window_range = loaded["range"]
    assert set(window_range) == {HOUR_1, HOUR_2}
    assert all(isinstance(frame, pl.DataFrame) for frame in window_range.values())
    assert sorted(window_range[HOUR_1]["_sequence"].to_list()) == [100, 101, 102]
    assert window_range[HOUR_2].height == 5


def test_a_full_run_replaces_a_window_in_one_commit_and_old_snapshots_still_read(azurite_lake_env):
    lake = LakeResource(url=azurite_lake_env["DICOM_LAKE_URL"])
    resources = lake_resources(lake)
    incremental = {SYNC_MODE_TAG: "incremental"}
    assert materialize(
        [synthetic_dicom_instances], partition_key=HOUR_2, resources=resources, tags=incremental
    ).success
    assert materialize(
        [synthetic_dicom_instances], partition_key=HOUR_1, resources=resources, tags=incremental
    ).success
    before = lake.table().open()
    assert materialize(
        [synthetic_dicom_instances], partition_key=HOUR_2, resources=resources
    ).success
    after = lake.table().open()
    assert after.version() == before.version() + 1  # the overwrite is one transaction
    assert after.history(1)[0]["operation"] == "WRITE"
    # Every version holds each window's rows once: old or new, never both, never neither.
    for version in range(after.version() + 1):
        in_version = sequences(lake.table().open(version))
        assert len(in_version) == len(set(in_version))
    # A reader holding the snapshot from before the overwrite still reads it.
    every_change = [100, 101, 102, 200, 201, 202, 203, 204]
    assert sorted(sequences(before)) == every_change
    assert sorted(sequences(after)) == every_change
    assert last_synced_sequence(lake, HOUR_2) == 204 and last_synced_sequence(lake, HOUR_1) == 102


# --- storage faults on a dedicated Azurite (it is stopped and restarted) ------------------------
@pytest.fixture
def own_azurite(tmp_path):
    server = AzuriteServer(tmp_path / "azurite").start()
    yield server
    server.stop()


def _committed_and_uncommitted(
    server: AzuriteServer, container: str
) -> tuple[list[str], list[str]]:
    with BlobServiceClient.from_connection_string(server.connection_string()) as client:
        box = client.get_container_client(container)
        committed = sorted(blob.name for blob in box.list_blobs())
        everything = sorted(blob.name for blob in box.list_blobs(include=["uncommittedblobs"]))
    return committed, everything


def test_storage_stopped_mid_run_fails_clearly_and_the_rerun_writes_each_change_once(
    orthanc, own_azurite, lake_env, monkeypatch
):
    container = own_azurite.new_container()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", own_azurite.connection_string())
    monkeypatch.setenv("DICOM_BATCH_SIZE", "1")  # one batch per series
    lake = LakeResource(url=f"abfs://{container}/lake", retries=1, retry_backoff=0.1)
    resources = {
        **lake_resources(lake),
        "dicom_server": DicomServerResource(url=orthanc.dicomweb_url, kind="orthanc"),
    }
    study = synthetic_study(41, series=3, instances_per_series=4)
    uploaded = list(synthetic_instances(study))
    assert all(upload(orthanc.url, [encode(ds) for ds in uploaded]))
    partition_key = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H:00")

    # Stop Azurite while the run converts its second series: its commit cannot happen.
    convert = instances_module.convert_entries
    calls = []

    def convert_then_stop_storage(entries):
        calls.append(len(entries))
        if len(calls) == 2:
            own_azurite.stop()
        return convert(entries)

    monkeypatch.setattr(instances_module, "convert_entries", convert_then_stop_storage)
    tags = {SYNC_MODE_TAG: "incremental"}
    failed = materialize(
        [dicom_instances],
        partition_key=partition_key,
        resources=resources,
        tags=tags,
        raise_on_error=False,
    )
    assert not failed.success and len(calls) == 3  # every series converted, the commit failed
    error = next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error
    full_error = error.to_string()
    assert (
        "could not be reached" in full_error and container in full_error and ACCOUNT in full_error
    )
    assert "re-run" in full_error
    assert ACCOUNT_KEY not in full_error and "site-packages/azure" not in full_error

    monkeypatch.setattr(instances_module, "convert_entries", convert)
    own_azurite.start()  # same port, same --location
    assert lake.table().open_if_exists() is None  # nothing was committed

    rerun = materialize(
        [dicom_instances], partition_key=partition_key, resources=resources, tags=tags
    )
    assert rerun.success
    table = lake.table().open().to_pyarrow_table()
    assert table.num_rows == len(uploaded)
    assert len(set(table["_sequence"].to_pylist())) == len(uploaded)
    assert set(table["SOPInstanceUID"].to_pylist()) == {ds.SOPInstanceUID for ds in uploaded}
    committed, everything = _committed_and_uncommitted(own_azurite, container)
    assert committed == everything, "an uncommitted (partial) object was left behind"
    assert any("/_delta_log/" in name for name in committed)


def test_wrong_credentials_fail_clearly_and_no_secret_reaches_logs_or_metadata(
    orthanc, azurite, lake_env, monkeypatch, capfd
):
    container = azurite.new_container()
    uploaded = list(synthetic_instances(synthetic_study(42, series=1, instances_per_series=2)))
    assert all(upload(orthanc.url, [encode(ds) for ds in uploaded]))
    partition_key = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H:00")
    url = f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/lake"
    server = DicomServerResource(url=orthanc.dicomweb_url, kind="orthanc")

    def run(key: str, mode: str):
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string(key))
        lake = LakeResource(url=url, retries=0)
        instance = DagsterInstance.ephemeral()
        result = materialize(
            [dicom_instances],
            partition_key=partition_key,
            resources={**lake_resources(lake), "dicom_server": server},
            tags={SYNC_MODE_TAG: mode},
            instance=instance,
            raise_on_error=False,
        )
        return result, serialize_value(instance.all_logs(result.run_id))

    for mode in ("full", "incremental"):  # incremental reads the window state first
        failed, failed_logs = run(WRONG_KEY, mode)
        assert not failed.success
        error = next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error
        text = error.to_string()
        assert "refused the credentials" in text and ACCOUNT in text and container in text
        assert "HttpResponseError" not in text and "site-packages/azure" not in text
        for secret in (WRONG_KEY, WRONG_KEY[:24]):
            assert secret not in text and secret not in failed_logs

    succeeded, logs = run(ACCOUNT_KEY, "full")
    assert succeeded.success
    metadata = succeeded.asset_materializations_for_node("dicom_instances")[0].metadata
    assert metadata["rows"].value == 2
    assert "connection string (AZURE_STORAGE_CONNECTION_STRING)" in metadata["lake"].value
    captured = capfd.readouterr()
    everything = logs + serialize_value(metadata) + captured.out + captured.err
    for secret in (ACCOUNT_KEY, ACCOUNT_KEY[:24], "AccountKey="):
        assert secret not in everything
    assert container in everything  # the logs did record the run against this lake
