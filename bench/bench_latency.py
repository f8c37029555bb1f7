"""``make bench-latency``: time from the server accepting an instance to its row in
``dicom.current_instances``, with the Dagster daemon syncing (goal: p95 <= 10 s with a series
every 10 s, <= 15 s with one every 2 s).

Scenarios: each source (Orthanc, and the Azure change-feed replay server of the tests standing
in for the Azure DICOM service) x each variant (``baseline``: Dagster's DefaultRunLauncher, a
new Python process per run, sensor every 5 s, one poll per tick; ``warm``: this project's
``dagster.yaml``, runs forked from a warm process, sensor ticks polling the feed every 0.5 s) x each
interval between series. Every scenario gets a fresh server and a fresh Dagster instance under a
temp folder; ``dagster-daemon run`` (or ``dagster dev`` with ``--dev``) drives the sensor. One
series is stored every interval for ``--duration`` seconds, while a poller queries the DuckDB file.
Baseline and change run in the same invocation, one after the other, so they see the same machine.
Each instance's latency is split with the Dagster instance's run records and the materialization
metadata into: sensor (accepted -> run created), queue (created -> dequeued by the run coordinator:
its dequeue interval, and the wait behind the window's running run; counted from acceptance when an
already queued run picked the instance up), process start (dequeued -> run started: a new Python
process loading the code), fetch (server + conversion), write, run overhead (the rest of the run:
asset checks, events), and visible (run end -> row seen; negative when seen before the run ended).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(PROJECT))

import duckdb

from dicom_assets.devtools.orthanc_server import OrthancServer
from dicom_assets.devtools.processes import free_port, stop_process_group
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets_tests.sources.azure.recorded_entries import make_entry
from dicom_assets_tests.sources.azure.replay_server import ReplayChangeFeedService

BASELINE_LAUNCHER = "run_launcher:\n  module: dagster\n  class: DefaultRunLauncher\n"


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
        command,
        cwd=PROJECT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGINT reaches all of it
    )


def stop_dagster(process: subprocess.Popen) -> None:
    stop_process_group(process, signal.SIGINT)


class OrthancSource:
    name = "orthanc"

    def __init__(self, work: Path):
        self.orthanc = OrthancServer(work / "orthanc").start()

    def env(self) -> dict[str, str]:
        return {
            "DICOM_SERVER_KIND": "orthanc",
            "DICOM_SERVER_URL": self.orthanc.dicomweb_url,
            "ORTHANC_URL": self.orthanc.url,
        }

    def store_series(
        self, index: int, instances: int, poller: VisibilityPoller
    ) -> dict[str, float]:
        """Store one series; returns each SOP's time of acceptance (Orthanc's answer received)."""
        study = synthetic_study(10_000 + index, series=1, instances_per_series=instances)
        accepted = {}
        for dataset in synthetic_instances(study):
            assert upload(self.orthanc.url, [encode(dataset)], workers=1)[0] is not None
            accepted[dataset.SOPInstanceUID] = time.time()
            poller.expect([dataset.SOPInstanceUID])
        return accepted

    def stop(self) -> None:
        self.orthanc.stop()


class AzureReplaySource:
    """The tests' Azure change-feed replay server: a store is a new ``create`` entry (with the
    recorded instance's metadata, new UIDs) at the current time."""

    name = "azure-replay"

    def __init__(self, work: Path):
        self.service = ReplayChangeFeedService().start()
        self.sequence = 0

    def env(self) -> dict[str, str]:
        return {"DICOM_SERVER_KIND": "azure", "DICOM_SERVER_URL": self.service.url}

    def store_series(
        self, index: int, instances: int, poller: VisibilityPoller
    ) -> dict[str, float]:
        series = f"1.2.826.0.1.3680043.8.498.77.{index}"
        accepted = {}
        for number in range(instances):
            self.sequence += 1
            sop = f"{series}.{number + 1}"
            self.service.entries.append(
                make_entry(self.sequence, datetime.now(UTC), sop_uid=sop, series_uid=series,
                           study_uid=f"1.2.826.0.1.3680043.8.498.78.{index}")
            )  # fmt: skip
            accepted[sop] = time.time()
            poller.expect([sop])
            time.sleep(0.02)  # about Orthanc's pace of single uploads
        return accepted

    def stop(self) -> None:
        assert not self.service.violations, self.service.violations
        self.service.stop()


def breakdown(
    dagster_home: Path, accepted: dict[str, float], poller: VisibilityPoller
) -> dict[str, list[float]]:
    """Per instance, where the time went, from run records and materialization metadata."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import AssetKey, DagsterEventType, DagsterInstance, RunsFilter

    with DagsterInstance.get() as instance:
        materializations = instance.fetch_materializations(
            AssetKey("dicom_instances"), limit=10_000
        ).records
        runs = {
            r.dagster_run.run_id: r for r in instance.get_run_records(RunsFilter(), limit=10_000)
        }
        dequeued = {
            run_id: min(
                (
                    e.timestamp
                    for e in instance.all_logs(run_id, of_type=DagsterEventType.RUN_STARTING)
                ),
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
        spans.append(
            (metadata["first_sequence"].value, metadata["last_sequence"].value, run, metadata)
        )
    parts: dict[str, list[float]] = {
        k: []
        for k in ("sensor", "queue", "process start", "fetch", "write", "run overhead", "visible")
    }
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


def run_scenario(args, source_class, variant: str, interval: float) -> dict:
    """One scenario: fresh server, fresh Dagster instance, series every ``interval`` s."""
    work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    dagster_home = work / "dagster"
    dagster_home.mkdir()
    instance_yaml = (PROJECT / "dagster.yaml").read_text()
    if variant == "baseline":
        instance_yaml += "\n" + BASELINE_LAUNCHER
    (dagster_home / "dagster.yaml").write_text(instance_yaml)
    sensor_interval = args.sensor_interval or ("5" if variant == "baseline" else "1")
    poller = VisibilityPoller(work / "warehouse.duckdb")
    source = source_class(work)
    env = {
        **os.environ,
        **source.env(),
        "DAGSTER_HOME": str(dagster_home),
        "DICOM_LAKE_URL": str(work / "lake"),
        "DICOM_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DICOM_SENSOR_INTERVAL_SECONDS": str(sensor_interval),
        # The baseline's sensor returns after one poll, as before; the change polls within a tick.
        "DICOM_SENSOR_WAIT_SECONDS": "0" if variant == "baseline" else "4",
        "DICOM_PARTITIONS_START": time.strftime("%Y-%m-%d-00:00", time.gmtime(time.time() - 86400)),
    }
    label = (
        f"{source.name}, {variant}, a series every {interval:g} s, sensor every {sensor_interval} s"
    )
    print(f"--- {label}", flush=True)
    dagster = start_dagster(env, args.dev, work / "dagster.log")
    accepted: dict[str, float] = {}
    loads = [os.getloadavg()[0]]
    index = 1
    try:
        poller.start()
        warm = source.store_series(0, 1, poller)  # the views exist once this one is visible
        deadline = time.time() + 240
        while not set(warm) <= set(poller.seen) and time.time() < deadline:
            time.sleep(0.5)
        if not set(warm) <= set(poller.seen):
            print("warm-up instance never became visible within 240 s", file=sys.stderr)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
            return {"label": label, "failed": True}
        print(
            "warm-up visible after "
            f"{poller.seen[next(iter(warm))] - next(iter(warm.values())):.1f} s"
        )
        started = time.time()
        while time.time() - started < args.duration:
            accepted.update(source.store_series(index, args.instances, poller))
            loads.append(os.getloadavg()[0])
            index += 1
            time.sleep(max(0.0, started + (index - 1) * interval - time.time()))
        deadline = time.time() + 120
        while not set(accepted) <= set(poller.seen) and time.time() < deadline:
            time.sleep(0.5)
    finally:
        poller.stop.set()
        stop_dagster(dagster)
        source.stop()
    latencies = [poller.seen[sop] - at for sop, at in accepted.items() if sop in poller.seen]
    missing = len(accepted) - len(latencies)
    result = {
        "label": label, "source": source.name, "variant": variant, "interval": interval,
        "instances": len(accepted), "missing": missing, "load": (min(loads), max(loads)),
        "failed": False,
    }  # fmt: skip
    print(f"{len(accepted)} instances in {index - 1} series of {args.instances}")
    if latencies:
        result.update(
            p50=percentile(latencies, 0.5), p95=percentile(latencies, 0.95), max=max(latencies)
        )
        print(
            f"accepted -> visible in dicom.current_instances: p50 {result['p50']:.1f} s, "
            f"p95 {result['p95']:.1f} s, max {result['max']:.1f} s"
        )
    parts = breakdown(dagster_home, accepted, poller)
    result["parts"] = {
        name: (statistics.median(v), percentile(v, 0.95)) for name, v in parts.items() if v
    }
    for name, (median, p95) in result["parts"].items():
        print(f"  {name:<13} median {median:6.2f} s   p95 {p95:6.2f} s")
    print(
        f"never visible: {missing}; unreadable DuckDB copies while polling: {poller.lock_conflicts}"
    )
    print(
        f"load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f}, "
        f"CPUs: {os.cpu_count()}",
        flush=True,
    )
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _p95_of(result: dict, name: str) -> str:
    return f"{result['parts'][name][1]:.1f} s" if name in result["parts"] else "-"


SOURCES = {"orthanc": OrthancSource, "azure": AzureReplaySource}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=90, help="seconds of storing series")
    parser.add_argument(
        "--intervals", default="10,2", help="seconds between two series, per scenario"
    )
    parser.add_argument("--instances", type=int, default=5, help="instances per series")
    parser.add_argument("--sources", default="orthanc,azure")
    parser.add_argument("--variants", default="baseline,warm")
    parser.add_argument("--sensor-interval", default=None, help="override the variants' interval")
    parser.add_argument(
        "--dev", action="store_true", help="run `dagster dev` instead of the daemon alone"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    args = parser.parse_args()
    results = []
    for name in args.sources.split(","):
        for interval in (float(i) for i in args.intervals.split(",")):
            for variant in args.variants.split(","):
                results.append(run_scenario(args, SOURCES[name], variant, interval))
    print(
        "\n| source | variant | series every | p50 | p95 | max | process start p95 "
        "| sensor p95 | queue p95 | load |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        if r.get("failed") or "p95" not in r:
            print(f"| {r['label']} | failed |")
            continue
        part = functools.partial(_p95_of, r)
        print(
            f"| {r['source']} | {r['variant']} | {r['interval']:g} s | {r['p50']:.1f} s | "
            f"**{r['p95']:.1f} s** | {r['max']:.1f} s | {part('process start')} | "
            f"{part('sensor')} | "
            f"{part('queue')} | {r['load'][0]:.1f}-{r['load'][1]:.1f} |"
        )
    return 1 if any(r.get("failed") or r.get("missing") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
