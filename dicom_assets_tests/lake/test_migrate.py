"""``dicom-assets migrate-lake`` on a lake in the previous version's layout (Parquet folders)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dicom_assets.cli import main
from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.lake.change_log import last_synced_sequence, read_window
from dicom_assets.resources import LakeResource
from dicom_assets.schema import convert_entries
from dicom_assets_tests.lake.synthetic_entries import synthetic_creates

UTC = dt.UTC


def _entries(first: int, hour: int, count: int) -> list[ChangeFeedEntry]:
    return synthetic_creates(first, count, dt.datetime(2026, 11, 20, hour, tzinfo=UTC))


def _old_lake(root: Path) -> dict[str, list[int]]:
    """What the previous version left: part/delta/reconcile files, _state.json, a duplicate."""
    dicom = root / "result" / "Dicom"
    ten, eleven = dicom / "2026/11/20/10", dicom / "2026/11/20/11"
    ten.mkdir(parents=True)
    eleven.mkdir(parents=True)
    first = convert_entries(_entries(1, 10, 3)).table
    later = convert_entries(_entries(4, 10, 2)).table
    # A zone-less timestamp column as an old version might have written it (not in _metadata).
    later = later.append_column(
        "AcquisitionDateTime",
        pa.array([dt.datetime(2026, 11, 20, 9, 0)] * later.num_rows, pa.timestamp("us")),
    )
    pq.write_table(first, ten / "part-000000000001-0000.parquet")
    pq.write_table(later, ten / "delta-000000000004-0000.parquet")
    pq.write_table(later.slice(0, 1), ten / "delta-000000000004-0001.parquet")  # left by a crash
    (ten / "_state.json").write_text(json.dumps({"last_sequence": 7}))  # 6, 7 were quarantined
    pq.write_table(
        convert_entries(_entries(20, 11, 2)).table, eleven / "part-000000000020-0000.parquet"
    )
    delete = ChangeFeedEntry(
        -20,
        dt.datetime(2026, 11, 20, 11, 50, tzinfo=UTC),
        ChangeAction.DELETE,
        "1.2",
        "1.2.3",
        first["SOPInstanceUID"][0].as_py(),
    )
    pq.write_table(
        convert_entries([delete]).table, eleven / "reconcile-20261120T115000000000.parquet"
    )
    return {"2026-11-20-10:00": [1, 2, 3, 4, 5], "2026-11-20-11:00": [-20, 20, 21]}


def test_migrate_lake_converts_every_window_once_and_resumes_the_sync(tmp_path, capsys):
    expected = _old_lake(tmp_path / "lake")
    assert main(["migrate-lake", "--lake", str(tmp_path / "lake")]) == 0
    assert "migrated 2 windows (8 rows, 1 duplicate rows dropped)" in capsys.readouterr().out

    lake = LakeResource(url=str(tmp_path / "lake"))
    table = lake.table().open()
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    for key, sequences in expected.items():
        assert sorted(read_window(lake, key)["_sequence"].to_pylist()) == sequences
    assert last_synced_sequence(lake, "2026-11-20-10:00") == 7  # from _state.json
    assert last_synced_sequence(lake, "2026-11-20-11:00") == 21
    schema = pa.schema(table.schema().to_arrow())
    # Rows re-converted from their _metadata: today's types (TM as text), whatever was written.
    assert schema.field("StudyTime").type == pa.string()
    assert not any(pa.types.is_time(field.type) for field in schema)
    assert all(field.type.tz == "UTC" for field in schema if pa.types.is_timestamp(field.type))

    # Re-running commits nothing new; --remove-old deletes the old files.
    version = table.version()
    assert main(["migrate-lake", "--lake", str(tmp_path / "lake"), "--remove-old"]) == 0
    assert "2 already migrated" in capsys.readouterr().out
    assert lake.table().open().version() == version
    assert not list((tmp_path / "lake" / "result" / "Dicom" / "2026").rglob("*.parquet"))
    assert sorted(lake.table().open().to_pyarrow_table()["_sequence"].to_pylist()) == sorted(
        value for values in expected.values() for value in values
    )
