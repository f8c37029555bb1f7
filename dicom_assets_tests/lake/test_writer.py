"""The Delta writer: one schema (no silent cast), atomic window overwrite, app transactions,
two concurrent writers, compaction and vacuum under a reader of an older snapshot."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pyarrow as pa
import pytest

from dicom_assets.lake.change_log import (
    current_identities,
    last_synced_sequence,
    read_window,
    write_window,
)
from dicom_assets.lake.layout import sync_app_id
from dicom_assets.lake.maintenance import compact, maintain
from dicom_assets.lake.maintenance_job import dicom_lake_maintenance
from dicom_assets.lake.schema_guard import LakeSchemaConflict
from dicom_assets.lake.writer import DeltaLocation
from dicom_assets.resources import LakeResource

UTC = dt.UTC
HOUR = "2026-11-25-17:00"


def rows(sequences, hour=17, **columns) -> pa.Table:
    timestamps = [dt.datetime(2026, 11, 25, hour, s % 60, tzinfo=UTC) for s in sequences]
    data = {
        "_sequence": pa.array(sequences, pa.int64()),
        "_timestamp": pa.array(timestamps, pa.timestamp("us", tz="UTC")),
        "_action": pa.array(["create"] * len(sequences)),
        "SOPInstanceUID": pa.array([f"1.2.{s}" for s in sequences]),
    }
    data.update(columns)
    return pa.table(data)


def test_a_type_conflict_is_an_error_never_a_silent_cast(tmp_path):
    table = str(tmp_path / "t")
    write_window(table, HOUR, rows([1], Rows=pa.array([512], pa.int64())), "append")
    with pytest.raises(LakeSchemaConflict, match="Rows: long in the table, double written"):
        write_window(table, HOUR, rows([2], Rows=pa.array([2.7])), "append")
    nested = pa.array([[{"CodeValue": 5}]], pa.list_(pa.struct([("CodeValue", pa.int64())])))
    write_window(table, HOUR, rows([3], Seq=nested), "append")
    conflicting = pa.array(
        [[{"CodeValue": "5"}]], pa.list_(pa.struct([("CodeValue", pa.string())]))
    )
    with pytest.raises(LakeSchemaConflict, match=r"Seq\[\]\.CodeValue"):
        write_window(table, HOUR, rows([4], Seq=conflicting), "append")
    stored = read_window(table, HOUR)
    assert sorted(stored["_sequence"].to_pylist()) == [1, 3]  # nothing of the refused writes
    assert stored.schema.field("Rows").type == pa.int64()


def test_new_columns_and_nested_fields_merge_old_rows_null(tmp_path):
    table = str(tmp_path / "t")
    first = pa.array([[{"A": "x"}]], pa.list_(pa.struct([("A", pa.string())])))
    second = pa.array(
        [[{"A": "y", "B": 2}]], pa.list_(pa.struct([("A", pa.string()), ("B", pa.int64())]))
    )
    write_window(table, HOUR, rows([1], Seq=first), "append")
    write_window(table, HOUR, rows([2], Seq=second, Modality=pa.array(["CT"])), "append")
    stored = read_window(table, HOUR).sort_by("_sequence")
    assert stored["Modality"].to_pylist() == [None, "CT"]
    assert stored["Seq"].to_pylist() == [[{"A": "x", "B": None}], [{"A": "y", "B": 2}]]


def test_overwrite_replaces_only_the_windows_feed_rows_and_commits_the_app_transaction(tmp_path):
    table = DeltaLocation(str(tmp_path / "t"))
    write_window(table, HOUR, rows([1, 2]), "append", app_id="a/w", version=2)
    write_window(table, "2026-11-25-18:00", rows([3], hour=18), "append")
    write_window(table, HOUR, rows([-1]), "append")  # a reconciliation delete row
    commit = write_window(table, HOUR, rows([1, 2, 4]), "overwrite", app_id="a/w", version=4)
    assert commit.rows == 3 and commit.version == 3  # versions 0-2 before it
    assert sorted(read_window(table, HOUR)["_sequence"].to_pylist()) == [-1, 1, 2, 4]
    assert read_window(table, "2026-11-25-18:00")["_sequence"].to_pylist() == [3]
    assert table.open().transaction_version("a/w") == 4
    assert last_synced_sequence(table, "x") == 0
    identities = current_identities(table)
    assert set(identities.column_names) == {"_sequence", "_action", "SOPInstanceUID"}


def _append_many(table: DeltaLocation, hour: int, count: int) -> None:
    key = f"2026-11-25-{hour:02d}:00"
    for index in range(count):
        sequence = hour * 1000 + index + 1
        write_window(
            table,
            key,
            rows([sequence], hour=hour),
            "append",
            app_id=sync_app_id("dicom_instances", key),
            version=sequence,
        )


@pytest.fixture(params=["local", "azurite"])
def shared_table(request, tmp_path) -> DeltaLocation:
    if request.param == "local":
        return DeltaLocation(str(tmp_path / "t"))
    env = request.getfixturevalue("azurite_lake_env")
    return LakeResource(url=env["DICOM_LAKE_URL"]).table()


def test_two_writers_on_different_windows_lose_no_commit(shared_table):
    table = shared_table
    write_window(table, HOUR, rows([1]), "append")  # the table exists before they race
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(table, hour, 12)) for hour in (10, 11)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(180)
        assert writer.exitcode == 0
    sequences = table.open().to_pyarrow_table(columns=["_sequence"])["_sequence"].to_pylist()
    assert sorted(sequences) == sorted([1, *range(10001, 10013), *range(11001, 11013)])
    assert last_synced_sequence(table, "2026-11-25-10:00") == 10012
    assert last_synced_sequence(table, "2026-11-25-11:00") == 11012


def test_compaction_vacuum_and_a_reader_of_an_older_snapshot(tmp_path):
    table = DeltaLocation(str(tmp_path / "t"))
    for sequence in range(1, 17):  # 16 sensor runs, 16 small files in one day partition
        write_window(table, HOUR, rows([sequence]), "append")
    old = table.open()
    report = compact(table, compact_after=16)
    assert report.compacted_partitions == ["2026-11-25"] and report.files_removed == 16
    assert len(table.open().file_uris()) == 1
    report = maintain(table, retention_hours=168)
    assert report.vacuumed_files == 0  # the compacted-away files are younger than the retention
    assert sorted(old.to_pyarrow_table()["_sequence"].to_pylist()) == list(range(1, 17))
    assert sorted(table.open().to_pyarrow_table()["_sequence"].to_pylist()) == list(range(1, 17))
    assert (
        table.open().protocol().min_reader_version,
        table.open().protocol().min_writer_version,
    ) == (1, 2)


def test_the_maintenance_job_runs_on_the_lake(tmp_path):
    lake = LakeResource(url=str(tmp_path / "lake"))
    for sequence in range(1, 17):
        write_window(lake.table(), HOUR, rows([sequence]), "append")
    result = dicom_lake_maintenance.execute_in_process(resources={"lake": lake})
    assert result.success
    assert len(lake.table().open().file_uris()) == 1
    assert sorted(read_window(lake, HOUR)["_sequence"].to_pylist()) == list(range(1, 17))


def test_a_derived_table_replaces_all_of_a_windows_rows(tmp_path):
    table = str(tmp_path / "derived")
    write_window(table, HOUR, rows([-1, 1, 2]), "append")
    write_window(table, HOUR, rows([-1, 1]), "overwrite", feed_rows_only=False)
    assert sorted(read_window(table, HOUR)["_sequence"].to_pylist()) == [-1, 1]
