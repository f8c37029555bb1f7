"""``make bench-delta``: what Delta Lake costs the lake, each figure beside its baseline.

1. A sensor run's commit of 10 instances into a table that already holds 200 commits
   (``write_window`` append with the window's app transaction), against writing the same rows as
   one plain Parquet file (what the previous version did). Goal: <= 0.5 s more.
2. Compaction of one day partition after 16 small commits (``maintenance.compact``). Goal <= 2 s.
3. ``SELECT count(*) FROM dicom.current_instances`` over 100,000 instances in DuckDB, from the
   registered views (``delta_scan``), best of 3. Goal <= 1 s. Baseline: the same count over
   ``read_parquet`` of the table's files.

The rows are real converted instances (synthetic CT studies through ``convert_entries``).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dicom_assets.devtools.samples import synthetic_instances, synthetic_study
from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.lake.change_log import write_window
from dicom_assets.lake.layout import sync_app_id
from dicom_assets.lake.maintenance import compact
from dicom_assets.lake.writer import DeltaLocation
from dicom_assets.schema import convert_entries
from dicom_assets.sql.duckdb_views import register_views

UTC = dt.UTC
HOUR = "2026-11-25-17:00"


def converted(count: int, first: int = 1) -> pa.Table:
    study = synthetic_study(first, series=max(1, count // 50), instances_per_series=min(count, 50))
    entries = []
    for offset, dataset in enumerate(list(synthetic_instances(study))[:count]):
        dataset.PixelData = b""
        entries.append(
            ChangeFeedEntry(
                first + offset,
                dt.datetime(2026, 11, 25, 17, offset % 60, tzinfo=UTC),
                ChangeAction.CREATE,
                dataset.StudyInstanceUID,
                dataset.SeriesInstanceUID,
                dataset.SOPInstanceUID,
                dataset.to_json_dict(
                    bulk_data_threshold=1, bulk_data_element_handler=lambda e: "x"
                ),
            )
        )
    return convert_entries(entries).table


def renumbered(table: pa.Table, first: int) -> pa.Table:
    """``table`` with new sequences and SOP Instance UIDs (more distinct instances)."""
    sequences = pa.array(range(first, first + table.num_rows), pa.int64())
    sops = pc.binary_join_element_wise(
        table["SOPInstanceUID"], pa.array([str(s) for s in sequences.to_pylist()]), "."
    )
    table = table.set_column(table.schema.get_field_index("_sequence"), "_sequence", sequences)
    return table.set_column(table.schema.get_field_index("SOPInstanceUID"), "SOPInstanceUID", sops)


def commit_cost(folder: Path) -> dict:
    table = DeltaLocation(str(folder / "commits"))
    ten = converted(10)
    for index in range(200):
        write_window(
            table,
            HOUR,
            renumbered(ten, 1000 + index * 10),
            "append",
            app_id=sync_app_id("dicom_instances", HOUR),
            version=1000 + index * 10 + 9,
        )
    delta, plain = [], []
    for index in range(10):
        rows = renumbered(ten, 10_000 + index * 10)
        started = time.perf_counter()
        write_window(
            table,
            HOUR,
            rows,
            "append",
            app_id=sync_app_id("dicom_instances", HOUR),
            version=10_000 + index * 10 + 9,
        )
        delta.append(time.perf_counter() - started)
        started = time.perf_counter()
        pq.write_table(rows, folder / f"plain-{index}.parquet", compression="zstd")
        plain.append(time.perf_counter() - started)
    return {"delta_commit_s": statistics.median(delta), "plain_file_s": statistics.median(plain)}


def compaction_cost(folder: Path) -> dict:
    table = DeltaLocation(str(folder / "compaction"))
    ten = converted(10)
    for index in range(16):
        write_window(table, HOUR, renumbered(ten, 1 + index * 10), "append")
    started = time.perf_counter()
    report = compact(table, compact_after=16)
    return {"compaction_s": time.perf_counter() - started, "files_removed": report.files_removed}


def count_cost(folder: Path, instances: int = 100_000) -> dict:
    table = DeltaLocation(str(folder / "count"))
    block = converted(1000)
    batches = (renumbered(block, 1 + index * 1000) for index in range(instances // 1000))
    write_window(table, HOUR, batches, "append")
    with duckdb.connect(str(folder / "w.duckdb")) as connection:
        register_views(connection, table.uri)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            count = connection.execute("SELECT count(*) FROM dicom.current_instances").fetchone()[0]
            timings.append(time.perf_counter() - started)
        assert count == instances, count
        files = [f"'{uri}'" for uri in table.open().file_uris()]
        started = time.perf_counter()
        connection.execute(
            f"SELECT count(DISTINCT SOPInstanceUID) FROM read_parquet([{', '.join(files)}])"
        ).fetchone()
        baseline = time.perf_counter() - started
    return {"count_current_s": min(timings), "parquet_distinct_s": baseline, "instances": instances}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-delta-") as tmp:
        folder = Path(tmp)
        results = {**commit_cost(folder), **compaction_cost(folder), **count_cost(folder)}
    extra = results["delta_commit_s"] - results["plain_file_s"]
    print(
        f"commit of 10 instances: {results['delta_commit_s']:.3f} s (plain Parquet file "
        f"{results['plain_file_s']:.3f} s): +{extra:.3f} s, goal <= 0.5 s "
        f"{'OK' if extra <= 0.5 else 'MISSED'}"
    )
    print(
        f"compaction of 16 small commits: {results['compaction_s']:.3f} s "
        f"({results['files_removed']} files merged), goal <= 2 s "
        f"{'OK' if results['compaction_s'] <= 2 else 'MISSED'}"
    )
    print(
        f"count(*) FROM dicom.current_instances, {results['instances']:,} instances: "
        f"{results['count_current_s']:.3f} s (count distinct over read_parquet "
        f"{results['parquet_distinct_s']:.3f} s), goal <= 1 s "
        f"{'OK' if results['count_current_s'] <= 1 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
