"""``make bench-reconcile``: one Orthanc reconciliation pass over a lake of 100,000 instances.

Goal: <= 2 s per pass (issue 16). Measured: the lake side alone
(``lake.current_instances``: the identity columns and ``PatientID`` of the Delta table, the
latest row per SOP picked by Arrow kernels), the comparison alone (``find_deletions`` in
``sources/``: listing and Orthanc IDs) and a whole pass as the job runs it
(``reconcile_job.reconcile_pass``: lake read, comparison, 10 delete rows appended), best of 3.
Baseline: reading every column of the same table (what a pass would cost without reading the
identity columns only). Then the same pass over a lake with a history 3 times as long (every
instance changed twice more: 300,000 rows, 100,000 current instances), which shows how the
pass grows with the history of changes rather than with the instances, before and after the
compaction the hourly maintenance job makes.

Steady state (issue 16: the cost of a pass must not grow with the lake): the job keeps an index
of current instances beside the table (``lake/current_index.py``); a pass after one small new
commit (10 changes) reads that one data file and merges it with the index. Measured as the job
runs it (``reconcile_pass`` with the index), best of 3 (each after its own new commit), on
both lakes, beside the full read above; and a pass with no new commit (no data file read).

The listing is answered by a stand-in on 127.0.0.1 that serves ``GET /instances`` pages of
10,000 Orthanc IDs (the lake's IDs minus 10) exactly as Orthanc pages them: loading 100,000
instances into a real Orthanc takes longer than this benchmark may run. The lake is real
(Delta, converted rows of synthetic CT instances, 100 commits of 1,000).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import fsspec
import pyarrow as pa
from bench_delta import converted, renumbered

from dicom_assets.lake.change_log import write_window
from dicom_assets.lake.current_index import IndexLocation
from dicom_assets.lake.current_instances import current_instances
from dicom_assets.lake.maintenance import compact
from dicom_assets.lake.writer import DeltaLocation
from dicom_assets.reconcile_job import reconcile_pass
from dicom_assets.sources.orthanc import OrthancChangeFeed
from dicom_assets.sources.orthanc.reconcile import find_deletions, orthanc_id_of

INSTANCES = 100_000
HOUR = "2026-11-25-17:00"


def listing_server(ids: list[str]) -> ThreadingHTTPServer:
    body_of = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            query = parse_qs(urlparse(self.path).query)
            since, limit = int(query["since"][0]), int(query["limit"][0])
            key = (since, limit)
            if key not in body_of:
                body_of[key] = json.dumps(ids[since : since + limit]).encode()
            body = body_of[key]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_lake(table: DeltaLocation, thousand, rounds: int) -> None:
    """``rounds`` changes of each of the 100,000 instances (round r: sequences after r * N)."""
    for round_ in range(rounds):
        for index in range(INSTANCES // 1000):
            rows = renumbered(thousand, 1 + index * 1000)  # the same SOPs every round
            later = pa.array(
                range(
                    1 + round_ * INSTANCES + index * 1000,
                    1 + round_ * INSTANCES + index * 1000 + rows.num_rows,
                ),
                pa.int64(),
            )
            rows = rows.set_column(rows.schema.get_field_index("_sequence"), "_sequence", later)
            write_window(table, HOUR, rows, "append")


def passes(table: DeltaLocation, url: str, first_deletes: int = 10) -> list[float]:
    feed = OrthancChangeFeed(f"{url}/dicom-web", url)
    seconds = []
    for attempt in range(3):
        result = reconcile_pass(table, feed)
        seconds.append(result.seconds)
        assert len(result.deleted) == (first_deletes if attempt == 0 else 0), len(result.deleted)
        assert result.http_calls == 10
    return seconds


def small_commit(table: DeltaLocation, thousand, sequence: int) -> None:
    """10 later changes of instances the lake holds (the set of instances is unchanged)."""
    rows = renumbered(thousand, 1).slice(0, 10)
    later = pa.array(range(sequence, sequence + rows.num_rows), pa.int64())
    rows = rows.set_column(rows.schema.get_field_index("_sequence"), "_sequence", later)
    write_window(table, HOUR, rows, "append")


def incremental_passes(table: DeltaLocation, folder: str, thousand, url: str) -> dict:
    """The steady state: the index built once, then passes after one small commit each."""
    feed = OrthancChangeFeed(f"{url}/dicom-web", url)
    index = IndexLocation(fsspec.filesystem("file"), f"{folder}/result/_dicom_index/ci.parquet")
    built = reconcile_pass(table, feed, index=index)
    assert not built.incremental and built.deleted == []
    results = []
    for attempt in range(3):
        small_commit(table, thousand, 10 * INSTANCES + 10 * attempt)
        results.append(reconcile_pass(table, feed, index=index))
        assert results[-1].incremental and results[-1].files_read == 1
        assert results[-1].deleted == [] and results[-1].lake_instances == built.lake_instances
    idle = reconcile_pass(table, feed, index=index)
    assert idle.incremental and idle.files_read == 0
    return {
        "index_build_pass_s": round(built.seconds, 3),
        "incremental_pass_best_s": round(min(r.seconds for r in results), 3),
        "incremental_lake_side_best_s": round(min(r.lake_seconds for r in results), 3),
        "files_read_of": f"{results[-1].files_read} of {results[-1].files_total}",
        "no_commit_pass_s": round(idle.seconds, 3),
        "no_commit_lake_side_s": round(idle.lake_seconds, 3),
    }


def best_of_3(action) -> tuple[float, object]:
    timings, value = [], None
    for _ in range(3):
        started = time.perf_counter()
        value = action()
        timings.append(time.perf_counter() - started)
    return min(timings), value


def main() -> None:
    thousand = converted(1000)
    with tempfile.TemporaryDirectory() as folder:
        table = DeltaLocation(str(Path(folder) / "lake"))
        started = time.perf_counter()
        write_lake(table, thousand, 1)
        print(f"lake of {INSTANCES} instances written in {time.perf_counter() - started:.1f} s")
        lake_side, current = best_of_3(lambda: current_instances(table))
        baseline, _ = best_of_3(lambda: table.open().to_pyarrow_table())
        assert len(current) == INSTANCES
        ids = sorted(orthanc_id_of(instance) for instance in current)
        server = listing_server(ids[10:])
        url = f"http://127.0.0.1:{server.server_address[1]}"
        comparison, _ = best_of_3(lambda: find_deletions(current, url))
        short = passes(table, url)
        steady = incremental_passes(table, folder, thousand, url)
        server.shutdown()
    with tempfile.TemporaryDirectory() as folder:
        table = DeltaLocation(str(Path(folder) / "lake"))
        write_lake(table, thousand, 3)
        long_lake_side, current = best_of_3(lambda: current_instances(table))
        assert len(current) == INSTANCES
        ids = sorted(orthanc_id_of(instance) for instance in current)
        server = listing_server(ids[10:])
        long = passes(table, f"http://127.0.0.1:{server.server_address[1]}")
        long_steady = incremental_passes(
            table, folder, thousand, f"http://127.0.0.1:{server.server_address[1]}"
        )
        files = len(table.open().file_uris())
        compact(table)  # what the hourly maintenance job does to a day of small commits
        compacted_files = len(table.open().file_uris())
        compacted_lake_side, _ = best_of_3(lambda: current_instances(table))
        compacted = passes(table, f"http://127.0.0.1:{server.server_address[1]}", 0)
        server.shutdown()
    print(
        json.dumps(
            {
                "instances": INSTANCES,
                "lake_side_best_s": round(lake_side, 3),
                "all_columns_baseline_best_s": round(baseline, 3),
                "comparison_best_s": round(comparison, 3),
                "pass_best_s": round(min(short), 3),
                "pass_median_s": round(statistics.median(short), 3),
                "first_pass_with_10_deletes_s": round(short[0], 3),
                "history_x3_lake_side_best_s": round(long_lake_side, 3),
                "history_x3_pass_best_s": round(min(long), 3),
                "history_x3_files": files,
                "history_x3_compacted_files": compacted_files,
                "history_x3_compacted_lake_side_best_s": round(compacted_lake_side, 3),
                "history_x3_compacted_pass_best_s": round(min(compacted), 3),
                "steady_state": steady,
                "history_x3_steady_state": long_steady,
                "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
                "goal_s": 2.0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
