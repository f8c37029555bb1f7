"""``make demo``: a local Orthanc with sample studies, and the Dagster UI syncing it.

Orthanc listens on 127.0.0.1:8042 with its data under ``data/orthanc``; ``dagster dev`` on
127.0.0.1:3000 with its instance under ``data/dagster``; the lake is ``data/lake`` and the
DuckDB file ``data/warehouse.duckdb``. Ctrl-C stops both. Running it again reuses the data:
the sample studies have fixed UIDs, so Orthanc answers "already stored".

The partitions start at the hour of Orthanc's first change (``DICOM_PARTITIONS_START``, unless
set): the UI then lists the demo's windows, filled, not months of empty ones. The console shows
where the UI is, what got synced and errors; Dagster's whole output is in ``data/dagster.log``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import requests

from dicom_assets.config import PROJECT_ROOT
from dicom_assets.devtools.orthanc_server import OrthancServer
from dicom_assets.devtools.processes import stop_process_group
from dicom_assets.devtools.samples import (
    encode,
    pydicom_corpus,
    synthetic_instances,
    synthetic_study,
    upload,
)

ORTHANC_PORT = 8042
DAGSTER_PORT = 3000
DEMO_STUDIES = 4  # synthetic studies of 3 series x 10 instances, beside pydicom's corpus


def load_samples(orthanc: OrthancServer) -> Counter:
    """Upload pydicom's corpus and the synthetic studies; counts Orthanc's answers by status
    (``Success``: stored now, ``AlreadyStored``: held already, ``refused``: not accepted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the corpus holds deliberately odd files
        payloads = [path.read_bytes() for path in pydicom_corpus()]
        for index in range(DEMO_STUDIES):
            study = synthetic_study(index, series=3, instances_per_series=10, seed=f"demo-{index}")
            payloads.extend(encode(dataset) for dataset in synthetic_instances(study))
    answers = upload(orthanc.url, payloads)
    return Counter("refused" if answer is None else answer.get("Status", "?") for answer in answers)


def orthanc_instances(orthanc: OrthancServer) -> int:
    """How many instances Orthanc holds (not how many uploads it answered)."""
    return int(requests.get(f"{orthanc.url}/statistics", timeout=10).json()["CountInstances"])


def samples_line(answers: Counter, held: int) -> str:
    return (
        f"Orthanc holds {held} instances ({answers['Success']} stored now, "
        f"{answers['AlreadyStored']} already there, {answers['refused']} sample files refused)"
    )


def partitions_start(orthanc: OrthancServer) -> str:
    """``DICOM_PARTITIONS_START`` as set, else the hour of Orthanc's first change (stable across
    restarts: Orthanc keeps its data under ``data/orthanc``)."""
    if os.environ.get("DICOM_PARTITIONS_START"):
        return os.environ["DICOM_PARTITIONS_START"]
    from dicom_assets.partitions import first_change_window
    from dicom_assets.sources.orthanc import OrthancChangeFeed

    window = first_change_window(OrthancChangeFeed(orthanc.dicomweb_url, orthanc.url))
    return window or time.strftime("%Y-%m-%d-%H:00", time.gmtime())


# What the console shows of Dagster's output: the UI address, syncs, and errors.
SHOWN = re.compile(
    r"Serving dagster-webserver|synced window| - (ERROR|CRITICAL) - |Traceback|Error:"
)


def relay(output, log: Path) -> None:
    """Copy Dagster's output to ``log``; echo the lines a user needs."""
    with log.open("a", encoding="utf-8") as sink:
        for line in output:
            sink.write(line)
            sink.flush()
            if SHOWN.search(line):
                print(_short(line.rstrip()), flush=True)


ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _short(line: str) -> str:
    """``<time> - ... - dicom_instances - synced window ...`` -> ``<time> synced window ...``."""
    line = ANSI_COLOUR.sub("", line)
    marker = line.find("synced window")
    return f"{line[:19]} {line[marker:]}" if marker >= 0 else line


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C, `kill`, a closed terminal: the same clean stop. SIGINT is set explicitly because a
    # shell starting the demo in the background hands it down ignored, and an ignored signal
    # stays ignored in Orthanc and Dagster too (a handled one is reset to the default on exec).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    data = PROJECT_ROOT / "data"
    dagster_home = data / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")

    orthanc = OrthancServer(data / "orthanc", port=ORTHANC_PORT)
    try:
        orthanc.start()
    except RuntimeError as error:
        print(f"Cannot start Orthanc on 127.0.0.1:{ORTHANC_PORT}: {error}", file=sys.stderr)
        return 1
    dagster = None
    try:
        answers = load_samples(orthanc)
        print(f"Orthanc {orthanc.url}: {samples_line(answers, orthanc_instances(orthanc))}")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_home),
            "DICOM_SERVER_KIND": "orthanc",
            "DICOM_SERVER_URL": orthanc.dicomweb_url,
            "ORTHANC_URL": orthanc.url,
            "DICOM_PARTITIONS_START": partitions_start(orthanc),
            "PYTHONWARNINGS": "ignore",  # Dagster's beta/preview notices: in data/dagster.log
            # The example custom tables (docs/custom-tables.md), unless the user chose a folder.
            "DICOM_CUSTOM_SCHEMAS": os.environ.get("DICOM_CUSTOM_SCHEMAS")
            or str(PROJECT_ROOT / "examples" / "custom_schemas"),
        }
        log = data / "dagster.log"
        print(f"Partitions start at {env['DICOM_PARTITIONS_START']} UTC (Orthanc's first change)")
        print(
            f"Dagster UI: http://127.0.0.1:{DAGSTER_PORT}  "
            f"(Ctrl-C stops everything; full log {log})"
        )
        dagster = subprocess.Popen(
            ["dagster", "dev", "-h", "127.0.0.1", "-p", str(DAGSTER_PORT), "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, so that SIGINT reaches all of it
        )
        relay(dagster.stdout, log)  # returns when Dagster closes its output (it stopped)
        return dagster.wait() or 0
    except KeyboardInterrupt:
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not skip the clean-up
        if dagster is not None:
            stop_process_group(dagster, signal.SIGINT)
        orthanc.stop()
        print("Stopped Orthanc and Dagster.")


if __name__ == "__main__":
    sys.exit(main())
