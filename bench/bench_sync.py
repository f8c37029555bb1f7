"""``make bench``: sync a synthetic corpus from Orthanc through ``dicom_instances`` and compare
with the limit, a plain loop of series-level WADO-RS metadata calls, in the same run.

Prints instances/s for both and their ratio, HTTP calls per instance, and peak RSS of the
materialization process. Goals: ratio >= 0.7 (>= 0.8 to the raw-GET loop), <= 0.05 calls per
instance, peak RSS < 1 GB. The limit loop uses dicomweb-client, which parses each answer; a stricter
loop of the same calls as raw GETs (answers never parsed, as the source itself receives them) is
printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from dicom_assets.devtools.orthanc_server import OrthancServer
from dicom_assets.devtools.samples import (
    encode,
    synthetic_instance,
    synthetic_study,
    upload,
)


def load_corpus(
    orthanc: OrthancServer, instances: int, per_series: int, series_per_study: int
) -> list:
    """Store ``instances`` synthetic instances in series of ``per_series``; returns the studies."""
    studies, payloads, stored = [], [], 0
    index = 0
    while stored < instances:
        study = synthetic_study(index, series=series_per_study, instances_per_series=per_series)
        studies.append(study)
        for series_index in range(series_per_study):
            for number in range(per_series):
                payloads.append(encode(synthetic_instance(study, series_index, number)))
        stored += study.instance_count
        index += 1
        if len(payloads) >= 2_000:
            assert all(upload(orthanc.url, payloads, workers=8))
            payloads = []
    if payloads:
        assert all(upload(orthanc.url, payloads, workers=8))
    return studies


def child_sync(orthanc_url: str, lake: str) -> dict:
    """Runs in its own process: materialize every window that has changes; report figures."""
    os.environ.update(
        DICOM_SERVER_KIND="orthanc",
        DICOM_SERVER_URL=f"{orthanc_url}/dicom-web/",
        DICOM_LAKE_URL=lake,
        DICOM_DUCKDB_PATH=str(Path(lake).parent / "warehouse.duckdb"),
    )
    from dagster import materialize

    from dicom_assets.assets import dicom_instances
    from dicom_assets.partitions import partition_key_of
    from dicom_assets.sources.orthanc import OrthancChangeFeed
    from dicom_assets.wiring import build_resources

    poll = OrthancChangeFeed(f"{orthanc_url}/dicom-web/", orthanc_url).poll(0, max_changes=10**9)
    windows = sorted({partition_key_of(change.timestamp) for change in poll.changes})
    resources = build_resources()
    rows = calls = 0
    started = time.perf_counter()
    timings = {"server_seconds": 0.0, "conversion_seconds": 0.0, "write_seconds": 0.0}
    for key in windows:
        result = materialize([dicom_instances], partition_key=key, resources=resources)
        metadata = result.asset_materializations_for_node("dicom_instances")[0].metadata
        rows += metadata["rows"].value
        calls += metadata["http_calls"].value
        for name in timings:
            timings[name] += metadata[name].value
    elapsed = time.perf_counter() - started
    return {
        "rows": rows,
        "http_calls": calls,
        "seconds": elapsed,
        "windows": len(windows),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **timings,
    }


def child_baseline(orthanc_url: str, series_json: str) -> dict:
    """The limit: one series-level WADO-RS metadata call per series, nothing else."""
    from dicomweb_client.api import DICOMwebClient

    series = json.loads(Path(series_json).read_text())
    client = DICOMwebClient(url=f"{orthanc_url}/dicom-web")
    started = time.perf_counter()
    instances = sum(len(client.retrieve_series_metadata(study, uid)) for study, uid in series)
    elapsed = time.perf_counter() - started
    return {
        "rows": instances,
        "http_calls": len(series),
        "seconds": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child_raw_baseline(orthanc_url: str, series_json: str) -> dict:
    """A stricter limit: the same calls as raw GETs, answers read but never parsed (what the
    source itself now does before splitting them natively)."""
    import requests

    series = json.loads(Path(series_json).read_text())
    session = requests.Session()
    started = time.perf_counter()
    received = 0
    for study, uid in series:
        response = session.get(
            f"{orthanc_url}/dicom-web/studies/{study}/series/{uid}/metadata",
            headers={"Accept": "application/dicom+json"},
            timeout=120,
        )
        response.raise_for_status()
        received += len(response.content)
    elapsed = time.perf_counter() - started
    return {
        "http_calls": len(series),
        "seconds": elapsed,
        "bytes": received,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--per-series", type=int, default=100)
    parser.add_argument("--series-per-study", type=int, default=4)
    parser.add_argument("--child", choices=["sync", "baseline", "raw-baseline"])
    parser.add_argument("--orthanc-url")
    parser.add_argument("--target")
    args = parser.parse_args()
    if args.child == "sync":
        print(json.dumps(child_sync(args.orthanc_url, args.target)))
        return 0
    if args.child == "baseline":
        print(json.dumps(child_baseline(args.orthanc_url, args.target)))
        return 0
    if args.child == "raw-baseline":
        print(json.dumps(child_raw_baseline(args.orthanc_url, args.target)))
        return 0

    with (
        tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp,
        OrthancServer(Path(tmp) / "orthanc") as orthanc,
    ):
        started = time.perf_counter()
        studies = load_corpus(orthanc, args.instances, args.per_series, args.series_per_study)
        print(
            f"stored {sum(s.instance_count for s in studies)} instances in "
            f"{time.perf_counter() - started:.1f} s"
        )
        series_file = Path(tmp) / "series.json"
        series_file.write_text(
            json.dumps([[s.study_uid, uid] for s in studies for uid in s.series_uids])
        )
        baseline = run_child(
            "--child", "baseline", "--orthanc-url", orthanc.url, "--target", str(series_file)
        )
        raw = run_child(
            "--child", "raw-baseline", "--orthanc-url", orthanc.url, "--target", str(series_file)
        )
        sync = run_child(
            "--child", "sync", "--orthanc-url", orthanc.url, "--target", str(Path(tmp) / "lake")
        )

    sync_rate = sync["rows"] / sync["seconds"]
    base_rate = baseline["rows"] / baseline["seconds"]
    print(f"\n{'':24}{'asset sync':>14}{'WADO-RS loop':>14}")
    print(f"{'instances':24}{sync['rows']:>14,}{baseline['rows']:>14,}")
    print(f"{'seconds':24}{sync['seconds']:>14.2f}{baseline['seconds']:>14.2f}")
    print(f"{'instances/s':24}{sync_rate:>14,.0f}{base_rate:>14,.0f}")
    print(f"{'HTTP calls':24}{sync['http_calls']:>14,}{baseline['http_calls']:>14,}")
    print(
        f"{'HTTP calls / instance':24}{sync['http_calls'] / sync['rows']:>14.4f}"
        f"{baseline['http_calls'] / baseline['rows']:>14.4f}"
    )
    print(f"{'peak RSS (MB)':24}{sync['peak_rss_mb']:>14.0f}{baseline['peak_rss_mb']:>14.0f}")
    print(
        f"\nasset time split: server {sync['server_seconds']:.2f} s, conversion "
        f"{sync['conversion_seconds']:.2f} s, write {sync['write_seconds']:.2f} s "
        f"({sync['windows']} window(s))"
    )
    ratio = sync_rate / base_rate
    raw_rate = baseline["rows"] / raw["seconds"]
    goals = {
        "ratio >= 0.7": ratio >= 0.7,
        "ratio to the raw-GET loop >= 0.8": sync_rate / raw_rate >= 0.8,
        "calls/instance <= 0.05": sync["http_calls"] / sync["rows"] <= 0.05,
        "peak RSS < 1 GB": sync["peak_rss_mb"] < 1024,
    }
    print(f"ratio asset/limit: {ratio:.2f}")
    print(
        f"stricter limit, the same calls as raw GETs never parsed: {raw_rate:,.0f} instances/s "
        f"({raw['seconds']:.2f} s); ratio asset/raw loop: {sync_rate / raw_rate:.2f}"
    )
    for goal, met in goals.items():
        print(f"  {'met ' if met else 'MISSED'} {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
