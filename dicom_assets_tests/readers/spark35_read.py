"""Read lake data files with Spark 3.5 as a user would; run by the pinned Spark 3.5 environment.

``python spark35_read.py FILES_JSON OUT_JSON``: reads every file with default settings and
``mergeSchema`` (without it Spark takes one file's schema and drops the other columns),
collects every row and column, and writes the Spark version, the schema, every row as plain
JSON values and the results of the docs' recipes to OUT_JSON. Not a test module: the test
(``test_spark35.py``) runs it in its own interpreter and asserts on what it writes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys

from pyspark.sql import SparkSession


def plain(value):
    """Rows as JSON values: dates ISO, timestamps ISO in UTC (the process runs with TZ=UTC),
    NaN as text, absent struct fields (None) dropped so files with fewer fields compare."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def main(files_json: str, out_json: str) -> None:
    with open(files_json) as handle:
        files = json.load(handle)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("dicom-assets-spark35")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        frame = spark.read.option("mergeSchema", "true").parquet(*files)
        rows = frame.collect()  # every row and every column decoded
        frame.createOrReplaceTempView("instances")
        # docs/schema.md, "Reading times and dates in each engine": Spark 3 has no TIME type.
        recipes = spark.sql("""
            SELECT _sequence,
                   CAST(concat_ws(' ', StudyDate, StudyTime) AS TIMESTAMP) AS study_timestamp,
                   StudyTime >= '08:00' AND StudyTime < '12:00' AS in_the_morning,
                   unix_micros(to_timestamp(concat('1970-01-01 ', StudyTime)))
                       AS micros_since_midnight
            FROM instances WHERE StudyTime IS NOT NULL""").collect()
        result = {
            "spark": spark.version,
            "schema": {f.name: f.dataType.simpleString() for f in frame.schema.fields},
            "rows": [plain(row.asDict(recursive=True)) for row in rows],
            "recipes": [plain(row.asDict()) for row in recipes],
        }
    finally:
        spark.stop()
    with open(out_json, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(*sys.argv[1:3])
