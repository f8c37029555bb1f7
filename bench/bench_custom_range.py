"""Benchmark of a custom table's backfill over a range of windows (``make bench-custom``).

A change log of W hourly windows of N synthetic instances each (one commit and one file per
window, as the sync writes them), then, in fresh processes:

- ``range, one scan``: what ``dicom_custom_<name>`` does for a backfill of the whole range (one
  run, ``BackfillPolicy.single_run``): one streamed scan of the range from the files the Delta
  log selects, the derivation, one commit;
- baseline ``range, window by window``: the same rows read window by window through the lake's
  ``read_window`` (each call opens the change log and builds a dataset of all its files, then
  filters: what the asset did before), derived per window, one commit.

Process start and imports are not counted (as in bench_custom.py). Prints seconds (wall, CPU).

Usage: uv run python bench/bench_custom_range.py [--windows W] [--per-window N] [--lake FOLDER]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_custom import TEMPLATE, entries_for, peak_rss_mib
from schema_corpus import synthetic_instances

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def build_lake(lake_url: str, windows: int, per_window: int) -> None:
    """``windows`` hourly windows from T0, each committed as a sync commits it."""
    from dicom_assets.lake.change_log import write_window
    from dicom_assets.partitions import partition_key_of
    from dicom_assets.resources import LakeResource
    from dicom_assets.schema import convert_entries

    table = LakeResource(url=lake_url).table()
    stream = synthetic_instances(windows * per_window)
    for window in range(windows):
        chunk = [md for _, md in zip(range(per_window), stream)]
        start = T0 + dt.timedelta(hours=window)
        entries = [  # spread over the window (entries_for puts them 30 ms apart from its T0)
            replace(entry, timestamp=start + dt.timedelta(seconds=3600 * i / per_window))
            for i, entry in enumerate(entries_for(chunk, window * per_window))
        ]
        table_rows = convert_entries(entries).table
        write_window(table, partition_key_of(start), [table_rows], "overwrite")


def window_by_window(lake, template, keys: list[str], start, end) -> tuple[int, int]:
    """The baseline: each window read with ``read_window``, derived, then one commit."""
    from dicom_assets.custom.delta_output import write_windows
    from dicom_assets.custom.derive import derive_table, output_schema
    from dicom_assets.custom.lake_io import custom_table
    from dicom_assets.lake.change_log import read_window

    needed = template.source_columns()
    tables = [derive_table(read_window(lake, key, needed), template) for key in keys]
    read = sum(t.num_rows for t in tables)
    batches = (batch for table in tables for batch in table.to_batches())
    summary = write_windows(
        custom_table(lake, template.name), output_schema(template), batches, start, end, "bench"
    )
    return summary.rows, read


def child(kind: str, lake_url: str, windows: int) -> None:
    from dicom_assets.custom import parse_template
    from dicom_assets.custom.lake_io import rebuild_windows
    from dicom_assets.partitions import partition_key_of
    from dicom_assets.resources import LakeResource

    lake = LakeResource(url=lake_url)
    template = parse_template(TEMPLATE, "bench.yaml", "bench")
    keys = [partition_key_of(T0 + dt.timedelta(hours=h)) for h in range(windows)]
    start, end = T0, T0 + dt.timedelta(hours=windows)
    started, cpu = time.perf_counter(), time.process_time()
    if kind == "range, one scan":
        written = rebuild_windows(lake, template, start, end)
        rows, read = written.summary.rows, written.changes_read
    else:
        rows, read = window_by_window(lake, template, keys, start, end)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    result = {"seconds": seconds, "cpu": cpu, "rows": rows, "read": read}
    print(json.dumps(result | {"peak_rss_mib": peak_rss_mib()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=120)
    parser.add_argument("--per-window", type=int, default=20)
    parser.add_argument("--lake", help="reuse (or keep) the change log in this folder")
    parser.add_argument("--child")
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, arguments.lake, arguments.windows)
        return
    with tempfile.TemporaryDirectory() as folder:
        lake_url = arguments.lake or str(Path(folder) / "lake")
        if not (Path(lake_url) / "result" / "Dicom" / "_delta_log").exists():
            started = time.perf_counter()
            build_lake(lake_url, arguments.windows, arguments.per_window)
            print(
                f"change log of {arguments.windows} windows written in "
                f"{time.perf_counter() - started:.1f} s"
            )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for kind in ("range, one scan", "range, window by window"):
            shutil.rmtree(Path(lake_url) / "result" / "Dicom_Customized", ignore_errors=True)
            command = [sys.executable, __file__, "--child", kind, "--lake", lake_url]
            command += ["--windows", str(arguments.windows)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            assert result["read"] == arguments.windows * arguments.per_window, result
            print(
                f"{kind:24s} {arguments.windows} windows, {result['read']:,} changes: "
                f"{result['seconds']:6.2f} s (CPU {result['cpu']:6.2f} s)  "
                f"peak RSS {result['peak_rss_mib']:,.0f} MiB"
            )
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
