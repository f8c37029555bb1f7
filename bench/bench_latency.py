"""``make bench-latency``: time from Orthanc accepting an instance to its row in
``dicom.current_instances``, with the Dagster daemon syncing (goal: p95 <= 30 s).

A fresh Orthanc and a fresh Dagster instance (this project's ``dagster.yaml``) run under a temp
folder; ``dagster-daemon run`` (or ``dagster dev`` with ``--dev``) drives the sensor. One series
is stored every ``--interval`` seconds for ``--duration`` seconds, while a poller queries the
DuckDB file. Each instance's latency is split with the Dagster instance's run records and the
materialization metadata into: sensor (accepted -> run created), queue (created -> dequeued by
the run coordinator: its dequeue interval, and the wait behind the window's running run;
counted from acceptance when an already queued run picked the instance up), process start
(dequeued -> run started: a new Python process loading the code), fetch (server + conversion),
write, run overhead (the rest of the run: asset checks, events), and visible (run end -> row seen; negative when seen before the run ended).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(PROJECT))

import duckdb

from dicom_assets.devtools.orthanc_server import OrthancServer, free_port
from dicom_assets.devtools.processes import stop_process_group
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


class VisibilityPoller(threading.Thread):
    """Queries ``dicom.current_instances`` every ``period`` s; records when each SOP appears.

    It queries a copy of the DuckDB file: a reader holding the file (even read-only) makes the
    writer's lock fail, so polling the file itself would fail the view refresh it measures.
    """

    def __init__(self, database: Path, period: float = 0.25):
        super().__init__(daemon=True)
        self.database, self.period = database, period
        self.waiting: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.sequences: dict[str, int] = {}
        self.lock_conflicts = 0
        self.stop = threading.Event()
        self.guard = threading.Lock()

    def expect(self, sop_uids: list[str]) -> None:
        with self.guard:
            self.waiting.update({sop: time.time() for sop in sop_uids})

    def run(self) -> None:
        while not self.stop.is_set():
            with self.guard:
                wanted = [sop for sop in self.waiting if sop not in self.seen]
            if wanted and self.database.exists():
                copy = self.database.with_name("poller-copy.duckdb")
                try:
                    shutil.copyfile(self.database, copy)
                    with duckdb.connect(str(copy), read_only=True) as connection:
                        rows = connection.execute(
                            "SELECT SOPInstanceUID, _sequence FROM dicom.current_instances "
                            "WHERE SOPInstanceUID IN (SELECT unnest(?))",
                            [wanted],
                        ).fetchall()
                    now = time.time()
                    for sop, sequence in rows:
                        self.seen.setdefault(sop, now)
                        self.sequences[sop] = sequence
                except (duckdb.Error, OSError):
                    self.lock_conflicts += 1  # copied mid-write, or no views yet: next poll
            self.stop.wait(self.period)


def start_dagster(env: dict, dev: bool, log: Path) -> subprocess.Popen:
    command = (
        ["dagster", "dev", "-h", "127.0.0.1", "-p", str(free_port()), "-w", "workspace.yaml"]
        if dev
        else ["dagster-daemon", "run", "-w", "workspace.yaml"]
    )
    return subprocess.Popen(
        command, cwd=PROJECT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGINT reaches all of it
    )


def stop_dagster(process: subprocess.Popen) -> None:
    stop_process_group(process, signal.SIGINT)


def store_series(orthanc: OrthancServer, index: int, instances: int, poller: VisibilityPoller) -> dict[str, float]:
    """Store one series; returns each SOP's time of acceptance (Orthanc's answer received)."""
    study = synthetic_study(10_000 + index, series=1, instances_per_series=instances)
    accepted = {}
    for dataset in synthetic_instances(study):
        assert upload(orthanc.url, [encode(dataset)], workers=1)[0] is not None
        accepted[dataset.SOPInstanceUID] = time.time()
        poller.expect([dataset.SOPInstanceUID])
    return accepted


def breakdown(dagster_home: Path, accepted: dict[str, float], poller: VisibilityPoller) -> dict[str, list[float]]:
    """Per instance, where the time went, from run records and materialization metadata."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import AssetKey, DagsterEventType, DagsterInstance, RunsFilter

    with DagsterInstance.get() as instance:
        materializations = instance.fetch_materializations(AssetKey("dicom_instances"), limit=10_000).records
        runs = {r.dagster_run.run_id: r for r in instance.get_run_records(RunsFilter(), limit=10_000)}
        dequeued = {
            run_id: min(
                (e.timestamp for e in instance.all_logs(run_id, of_type=DagsterEventType.RUN_STARTING)),
                default=None,
            )
            for run_id in {record.run_id for record in materializations}
        }
    spans = []
    for record in materializations:
        metadata = record.asset_materialization.metadata
        run = runs.get(record.run_id)
        if run is None or not metadata["rows"].value:
            continue
        spans.append((metadata["first_sequence"].value, metadata["last_sequence"].value, run, metadata))
    parts: dict[str, list[float]] = {k: [] for k in ("sensor", "queue", "process start", "fetch", "write", "run overhead", "visible")}
    for sop, at in accepted.items():
        sequence = poller.sequences.get(sop)
        match = [s for s in spans if sequence is not None and s[0] <= sequence <= s[1]]
        if not match:
            continue
        _, _, run, metadata = min(match, key=lambda s: s[2].create_timestamp)
        # A run created before the instance was accepted may still fetch it (it pages the feed
        # when it starts): then the instance waited in "queue" only.
        created = max(run.create_timestamp.timestamp(), at)
        fetch = metadata["server_seconds"].value + metadata["conversion_seconds"].value
        write = metadata["write_seconds"].value
        parts["sensor"].append(created - at)
        launched = max(dequeued.get(run.dagster_run.run_id) or created, created)
        parts["queue"].append(launched - created)
        parts["process start"].append(run.start_time - launched)
        parts["fetch"].append(fetch)
        parts["write"].append(write)
        parts["run overhead"].append(run.end_time - run.start_time - fetch - write)
        parts["visible"].append(poller.seen[sop] - run.end_time)
    return parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds of storing series")
    parser.add_argument("--interval", type=float, default=10, help="seconds between two series")
    parser.add_argument("--instances", type=int, default=5, help="instances per series")
    parser.add_argument("--sensor-interval", default=os.environ.get("DICOM_SENSOR_INTERVAL_SECONDS", "5"))
    parser.add_argument("--dev", action="store_true", help="run `dagster dev` instead of the daemon alone")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    dagster_home = work / "dagster"
    dagster_home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", dagster_home / "dagster.yaml")
    poller = VisibilityPoller(work / "warehouse.duckdb")
    orthanc = OrthancServer(work / "orthanc").start()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DICOM_SERVER_KIND": "orthanc",
        "DICOM_SERVER_URL": orthanc.dicomweb_url,
        "ORTHANC_URL": orthanc.url,
        "DICOM_LAKE_URL": str(work / "lake"),
        "DICOM_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DICOM_SENSOR_INTERVAL_SECONDS": str(args.sensor_interval),
    }
    dagster = start_dagster(env, args.dev, work / "dagster.log")
    accepted: dict[str, float] = {}
    try:
        poller.start()
        warm = store_series(orthanc, 0, 1, poller)  # the views exist once this one is visible
        deadline = time.time() + 180
        while not set(warm) <= set(poller.seen) and time.time() < deadline:
            time.sleep(0.5)
        if not set(warm) <= set(poller.seen):
            print(f"warm-up instance never became visible; see {work / 'dagster.log'}", file=sys.stderr)
            return 1
        print(f"warm-up visible after {poller.seen[next(iter(warm))] - next(iter(warm.values())):.1f} s")
        started, index = time.time(), 1
        while time.time() - started < args.duration:
            accepted.update(store_series(orthanc, index, args.instances, poller))
            index += 1
            time.sleep(max(0.0, started + index * args.interval - time.time() - args.interval))
        deadline = time.time() + 120
        while not set(accepted) <= set(poller.seen) and time.time() < deadline:
            time.sleep(0.5)
    finally:
        poller.stop.set()
        stop_dagster(dagster)
        orthanc.stop()
    latencies = [poller.seen[sop] - at for sop, at in accepted.items() if sop in poller.seen]
    missing = len(accepted) - len(latencies)
    print(
        f"{len(accepted)} instances in {index - 1} series of {args.instances}, one every "
        f"{args.interval:g} s for {args.duration:g} s; sensor interval {args.sensor_interval} s; "
        f"{'dagster dev' if args.dev else 'dagster-daemon run'}"
    )
    if latencies:
        print(
            f"accepted -> visible in dicom.current_instances: p50 {percentile(latencies, 0.5):.1f} s, "
            f"p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies):.1f} s"
            f" (goal p95 <= 30 s: {'met' if percentile(latencies, 0.95) <= 30 else 'NOT met'})"
        )
    for name, values in breakdown(dagster_home, accepted, poller).items():
        if values:
            print(
                f"  {name:<13} median {statistics.median(values):6.2f} s   "
                f"p95 {percentile(values, 0.95):6.2f} s   max {max(values):6.2f} s"
            )
    print(f"never visible: {missing}; unreadable DuckDB copies while polling: {poller.lock_conflicts}")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}, CPUs: {os.cpu_count()}")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
