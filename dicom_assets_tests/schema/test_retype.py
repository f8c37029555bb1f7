"""Rows of an earlier lake (Parquet TIME, zone-less DT, ancient dates) re-typed as today."""

import datetime as dt

import pyarrow as pa

from dicom_assets.feed_entry import ChangeAction
from dicom_assets.schema import convert_entries
from dicom_assets.schema.portable import non_portable_fields
from dicom_assets.schema.retype import retype
from dicom_assets_tests.schema.feed_entries import entry_for

METADATA = {
    "00080018": {"vr": "UI", "Value": ["1.2.3"]},
    "00080030": {"vr": "TM", "Value": ["101500.5"]},
    "0008002A": {"vr": "DT", "Value": ["20261124101500"]},
    "00100030": {"vr": "DA", "Value": ["11111111"]},
    "0040A730": {"vr": "SQ", "Value": [{"0040A122": {"vr": "TM", "Value": ["120000"]}}]},
}


def todays_table() -> pa.Table:
    return convert_entries(
        [entry_for(METADATA, 1), entry_for(None, 2, ChangeAction.DELETE, ("1", "2", "3"))]
    ).table


def earlier_version_table() -> pa.Table:
    """Today's rows with the types the previous version wrote (TM as Parquet TIME, DT without
    a zone, the ancient date kept)."""
    old = {
        "StudyTime": pa.array([dt.time(10, 15, 0, 500000), None], pa.time64("us")),
        "AcquisitionDateTime": pa.array(
            [dt.datetime(2026, 11, 24, 10, 15), None], pa.timestamp("us")
        ),
        "PatientBirthDate": pa.array([dt.date(1111, 11, 11), None], pa.date32()),
        "ContentSequence": pa.array(
            [[{"Time": dt.time(12)}], None], pa.list_(pa.struct([("Time", pa.time64("us"))]))
        ),
        "_invalid": pa.array([[], None], pa.list_(pa.string())),
    }
    table = todays_table()
    for name, column in old.items():
        table = table.set_column(table.column_names.index(name), name, column)
    return table


def test_retyped_rows_are_todays_rows():
    today = todays_table()
    old = earlier_version_table()
    assert non_portable_fields(old.schema)  # the earlier types are not portable
    batch = retype(old)
    assert batch.quarantined == [] and batch.table.equals(today)
    assert non_portable_fields(batch.table.schema) == []
    row = batch.table.to_pylist()[0]
    assert row["StudyTime"] == "10:15:00.500000"
    assert row["ContentSequence"] == [{"Time": "12:00:00.000000"}]
    assert row["PatientBirthDate"] is None and row["_invalid"] == ["PatientBirthDate"]
    assert row["AcquisitionDateTime"] == dt.datetime(2026, 11, 24, 10, 15, tzinfo=dt.UTC)
