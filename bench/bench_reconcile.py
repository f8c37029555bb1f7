"""``make bench-reconcile``: one Orthanc reconciliation pass over a lake of 100,000 instances.

Goal: <= 2 s per pass (issue 16). Measured: the lake side alone
(``current_lake_instances``: the identity columns and ``PatientID`` of the Delta table) and a
whole pass (``reconcile_orthanc``: lake read, listing, comparison, 10 delete rows written),
best of 3. Baseline: reading every column of the same table (what a pass would cost without
reading identity columns only).

The listing is answered by a stand-in on 127.0.0.1 that serves ``GET /instances`` pages of
10,000 Orthanc IDs (the lake's IDs minus 10) exactly as Orthanc pages them: loading 100,000
instances into a real Orthanc takes longer than this benchmark may run. The lake is real
(Delta, converted rows of synthetic CT instances, 100 commits of 1,000).
"""

from __future__ import annotations

import json
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

from bench_delta import converted, renumbered

from dicom_assets.lake.change_log import write_window
from dicom_assets.lake.writer import DeltaLocation
from dicom_assets.sources.orthanc.reconcile import (
    current_lake_instances,
    reconcile_orthanc,
)

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


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        table = DeltaLocation(str(Path(folder) / "lake"))
        thousand = converted(1000)
        started = time.perf_counter()
        for index in range(INSTANCES // 1000):
            write_window(table, HOUR, renumbered(thousand, 1 + index * 1000), "append")
        print(f"lake of {INSTANCES} instances written in {time.perf_counter() - started:.1f} s")

        lake_side, baseline = [], []
        for _ in range(3):
            started = time.perf_counter()
            current = current_lake_instances(table)
            lake_side.append(time.perf_counter() - started)
            started = time.perf_counter()
            table.open().to_pyarrow_table()
            baseline.append(time.perf_counter() - started)
        assert len(current) == INSTANCES
        ids = sorted(instance.orthanc_id for instance in current.values())
        server = listing_server(ids[10:])
        url = f"http://127.0.0.1:{server.server_address[1]}"
        passes = []
        for attempt in range(3):
            result = reconcile_orthanc(table, url)
            passes.append(result.seconds)
            assert len(result.deleted) == (10 if attempt == 0 else 0), len(result.deleted)
            assert result.http_calls == 10
        server.shutdown()
    print(
        json.dumps(
            {
                "instances": INSTANCES,
                "lake_side_best_s": round(min(lake_side), 3),
                "all_columns_baseline_best_s": round(min(baseline), 3),
                "pass_best_s": round(min(passes), 3),
                "pass_median_s": round(statistics.median(passes), 3),
                "first_pass_with_10_deletes_s": round(passes[0], 3),
                "goal_s": 2.0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
