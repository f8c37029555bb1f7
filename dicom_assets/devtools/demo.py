"""``make demo``: a local Orthanc with sample studies, and the Dagster UI syncing it.

Orthanc listens on 127.0.0.1:8042 with its data under ``data/orthanc``; ``dagster dev`` on
127.0.0.1:3000 with its instance under ``data/dagster``; the lake is ``data/lake`` and the
DuckDB file ``data/warehouse.duckdb``. Ctrl-C stops both. Running it again reuses the data:
the sample studies have fixed UIDs, so Orthanc answers "already stored".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

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


def load_samples(orthanc: OrthancServer) -> tuple[int, int]:
    """Upload pydicom's corpus and the synthetic studies; returns (accepted, refused)."""
    payloads = [path.read_bytes() for path in pydicom_corpus()]
    for index in range(DEMO_STUDIES):
        study = synthetic_study(index, series=3, instances_per_series=10, seed=f"demo-{index}")
        payloads.extend(encode(dataset) for dataset in synthetic_instances(study))
    answers = upload(orthanc.url, payloads)
    accepted = sum(answer is not None for answer in answers)
    return accepted, len(answers) - accepted


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
        accepted, refused = load_samples(orthanc)
        print(f"Orthanc {orthanc.url}: {accepted} sample instances stored ({refused} refused by Orthanc)")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_home),
            "DICOM_SERVER_KIND": "orthanc",
            "DICOM_SERVER_URL": orthanc.dicomweb_url,
            "ORTHANC_URL": orthanc.url,
            # The example custom tables (docs/custom-tables.md), unless the user chose a folder.
            "DICOM_CUSTOM_SCHEMAS": os.environ.get("DICOM_CUSTOM_SCHEMAS")
            or str(PROJECT_ROOT / "examples" / "custom_schemas"),
        }
        print(f"Dagster UI: http://127.0.0.1:{DAGSTER_PORT}  (Ctrl-C stops everything)")
        dagster = subprocess.Popen(
            ["dagster", "dev", "-h", "127.0.0.1", "-p", str(DAGSTER_PORT), "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT,
            env=env,
            start_new_session=True,  # its own process group, so that SIGINT reaches all of it
        )
        while dagster.poll() is None:
            time.sleep(0.5)
        return dagster.returncode or 0
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
