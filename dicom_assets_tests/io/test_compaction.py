"""Small delta files of near-real-time runs are merged, with every change kept exactly once."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from dagster import asset, materialize
from fsspec.implementations.local import LocalFileSystem

from dicom_assets.io import SyncMode, WindowSync, compaction
from dicom_assets.io.compaction import compact_deltas
from dicom_assets.io.lake_io_manager import _part_files, window_state
from dicom_assets.io.writer import write_parquet_atomically
from dicom_assets.partitions import dicom_feed_partitions, window_folder
from dicom_assets.resources import LakeResource
from dicom_assets.schema import convert_entries
from dicom_assets_tests.io.test_lake_io_manager import HOUR_1, lake_resources, window_entries

ENTRIES = window_entries(HOUR_1, 1, 6)


@asset(name="dicom_instances", partitions_def=dicom_feed_partitions,
       io_manager_key="dicom_lake_io_manager")
def one_change_per_run(context, lake: LakeResource) -> WindowSync:
    """A sensor run of a window receiving one change at a time."""
    folder = lake.path("result/Dicom", window_folder(context.partition_key))
    after = window_state(lake.filesystem(), folder)["last_sequence"]
    return WindowSync(
        partition_key=context.partition_key, mode=SyncMode.INCREMENTAL, after_sequence=after,
        batches=iter([convert_entries([e for e in ENTRIES if e.sequence == after + 1])]),
        http_calls=lambda: 0,
    )


@pytest.mark.parametrize("storage", ["local", "azurite"])
def test_a_window_fed_one_change_at_a_time_keeps_few_files(storage, tmp_path, request,
                                                           monkeypatch):
    url = (request.getfixturevalue("azurite_lake_env")["DICOM_LAKE_URL"] if storage == "azurite"
           else str(tmp_path / "lake"))
    monkeypatch.setattr(compaction, "COMPACT_AFTER_DELTAS", 3)
    lake = LakeResource(url=url)
    fs, folder = lake.filesystem(), lake.path("result/Dicom", window_folder(HOUR_1))
    files_after_each_run, compacted = [], []
    for _ in ENTRIES:
        result = materialize([one_change_per_run], partition_key=HOUR_1,
                             resources=lake_resources(lake))
        assert result.success
        metadata = result.asset_materializations_for_node("dicom_instances")[0].metadata
        compacted.append(metadata["compacted_files"].value)
        fs.invalidate_cache()  # adlfs caches listings; the runs wrote through other instances
        files_after_each_run.append(len(_part_files(fs, folder)))
    # Runs 4 and 6 find three committed deltas: they merge them, then add their own.
    assert files_after_each_run == [1, 2, 3, 2, 3, 2]
    assert compacted == [0, 0, 0, 2, 0, 2]
    names = sorted(_part_files(fs, folder))
    rows = [s for name in names
            for s in pq.read_table(f"{folder}/{name}", filesystem=fs)["_sequence"].to_pylist()]
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    merged = pq.read_table(f"{folder}/{names[0]}", filesystem=fs)
    assert merged["SOPInstanceUID"].to_pylist() == [e.sop_instance_uid for e in ENTRIES[:5]]


def test_merging_drops_rows_left_twice_by_an_interrupted_merge(tmp_path, monkeypatch):
    monkeypatch.setattr(compaction, "COMPACT_AFTER_DELTAS", 3)
    fs, folder = LocalFileSystem(), str(tmp_path)
    tables = [convert_entries(ENTRIES[0:2]).table, convert_entries(ENTRIES[1:3]).table,
              convert_entries(ENTRIES[3:4]).table]
    for first, table in zip((1, 2, 4), tables):
        write_parquet_atomically(fs, f"{folder}/delta-{first:012d}-0000.parquet", table)
    write_parquet_atomically(fs, f"{folder}/delta-{9:012d}-0000.parquet", tables[2])  # not committed
    removed = compact_deltas(fs, folder, _part_files(fs, folder), start=9)
    assert removed == [f"delta-{2:012d}-0000.parquet", f"delta-{4:012d}-0000.parquet"]
    merged = pq.read_table(f"{folder}/delta-{1:012d}-0000.parquet")
    assert merged["_sequence"].to_pylist() == [1, 2, 3, 4]
    assert sorted(_part_files(fs, folder)) == [f"delta-{1:012d}-0000.parquet",
                                              f"delta-{9:012d}-0000.parquet"]


def test_few_deltas_are_left_alone(tmp_path):
    fs, folder = LocalFileSystem(), str(tmp_path)
    write_parquet_atomically(fs, f"{folder}/delta-{1:012d}-0000.parquet",
                             convert_entries(ENTRIES[:1]).table)
    assert compact_deltas(fs, folder, _part_files(fs, folder), start=5) == []
