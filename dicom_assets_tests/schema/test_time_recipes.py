"""The recipes of docs/schema.md, "Reading times and dates in each engine", on a converted
table written as Parquet: DuckDB, polars and pyarrow (Spark 3.5: readers/test_spark35.py)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dicom_assets.schema import convert_entries
from dicom_assets_tests.schema.feed_entries import entry_for

METADATA = {
    "00080020": {"vr": "DA", "Value": ["20261124"]},
    "00080030": {"vr": "TM", "Value": ["101530.5"]},
    "0008002A": {"vr": "DT", "Value": ["20261124101500"]},  # no offset: wall clock
    "00080201": {"vr": "SH", "Value": ["-0530"]},
}
TIME = dt.time(10, 15, 30, 500000)
STAMP = dt.datetime(2026, 11, 24, 10, 15, 30, 500000)
WALL_CLOCK = dt.datetime(2026, 11, 24, 10, 15)


@pytest.fixture(scope="module")
def parquet(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("recipes") / "part.parquet"
    pq.write_table(convert_entries([entry_for(METADATA, 1)]).table, path)
    return str(path)


def test_duckdb(parquet):
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'Europe/Paris'")  # any session zone
        connection.execute(f"CREATE VIEW current_instances AS SELECT * FROM '{parquet}'")
        row = connection.execute("""
            SELECT CAST(StudyTime AS TIME), StudyDate + CAST(StudyTime AS TIME),
                   AcquisitionDateTime AT TIME ZONE 'UTC'
            FROM current_instances""").fetchone()
        assert row == (TIME, STAMP, WALL_CLOCK)
        instant = connection.execute(r"""
            SELECT AcquisitionDateTime - to_minutes(
                     (CASE WHEN TimezoneOffsetFromUTC[1] = '-' THEN -1 ELSE 1 END)
                     * (CAST(TimezoneOffsetFromUTC[2:3] AS INT) * 60
                        + CAST(TimezoneOffsetFromUTC[4:5] AS INT)))
            FROM current_instances
            WHERE NOT regexp_matches(json_extract_string(_metadata, '$."0008002A".Value[0]'),
                                     '[+-]\d{4}$')""").fetchone()[0]
        assert instant == dt.datetime(2026, 11, 24, 15, 45, tzinfo=dt.UTC)


def test_polars(parquet):
    frame = pl.read_parquet(parquet).select(
        pl.col("StudyTime").str.to_time("%H:%M:%S%.f").alias("time"),
        pl.col("StudyDate")
        .dt.combine(pl.col("StudyTime").str.to_time("%H:%M:%S%.f"))
        .alias("stamp"),
        pl.col("AcquisitionDateTime").dt.replace_time_zone(None).alias("wall_clock"),
    )
    assert frame.row(0) == (TIME, STAMP, WALL_CLOCK)


def test_pyarrow(parquet):
    table = pq.read_table(parquet)
    col = table["StudyTime"]
    time = pc.binary_join_element_wise("1970-01-01 ", col, "").cast(pa.timestamp("us"))
    assert time.cast(pa.time64("us")).to_pylist() == [TIME]
    date_text = table["StudyDate"].cast(pa.string())
    stamp = pc.binary_join_element_wise(date_text, col, " ").cast(pa.timestamp("us"))
    assert stamp.to_pylist() == [STAMP]
    assert table["AcquisitionDateTime"].cast(pa.timestamp("us")).to_pylist() == [WALL_CLOCK]
