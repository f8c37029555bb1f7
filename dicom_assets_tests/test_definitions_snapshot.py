"""The code location's shape, compared with a checked-in snapshot: an accidental rename of an
asset, check, sensor, job, schedule or resource (or a changed interval or partitioning) fails
here, before it orphans a sensor cursor, a run history or an operator's bookmark.

A deliberate change: re-write the snapshot and commit it with the change, so the diff shows it::

    UPDATE_DEFINITIONS_SNAPSHOT=1 uv run pytest dicom_assets_tests/test_definitions_snapshot.py

The definitions are loaded in a fresh process with the settings' defaults (no
DICOM_CUSTOM_SCHEMAS: no custom tables), whatever the tests before this one imported or set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")
UPDATE = "UPDATE_DEFINITIONS_SNAPSHOT"


def _target(sensor: Any) -> dict[str, Any]:
    jobs = sorted(target.job_name for target in sensor.targets if target.job_name)
    selection = sensor.asset_selection
    return {"jobs": jobs, "assets": None if selection is None else str(selection)}


def describe(defs: Any) -> dict[str, Any]:
    """What the snapshot holds: names, intervals, partitions and wiring, nothing volatile."""
    repo = defs.get_repository_def()
    graph = defs.resolve_asset_graph()
    assets = {}
    for assets_def in repo.assets_defs_by_key.values():
        for key in assets_def.keys:
            spec = assets_def.specs_by_key[key]
            assets[key.to_user_string()] = {
                "group": spec.group_name,
                "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
                "partitions": None if spec.partitions_def is None else str(spec.partitions_def),
            }
    sensors = {
        sensor.name: {
            "kind": type(sensor).__name__,
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
            "default_status": sensor.default_status.value,
            **_target(sensor),
        }
        for sensor in repo.sensor_defs
    }
    schedules = {
        schedule.name: {
            "cron": schedule.cron_schedule,
            "job": schedule.job_name,
            "timezone": schedule.execution_timezone,
        }
        for schedule in repo.schedule_defs
    }
    return {
        "assets": dict(sorted(assets.items())),
        "asset_checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "sensors": dict(sorted(sensors.items())),
        "jobs": sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__")),
        "schedules": dict(sorted(schedules.items())),
        "resources": sorted(repo.get_top_level_resources()),
    }


def described_in_a_fresh_process() -> dict[str, Any]:
    prefixes = ("DICOM_", "ORTHANC_", "SYNAPSE_", "AZURE_")
    environ = {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
    environ["DICOM_SERVER_URL"] = "http://127.0.0.1:9/dicom-web/"
    shown = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "dicom_assets_tests.test_definitions_snapshot"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(shown.stdout)


def test_the_definitions_match_the_snapshot():
    current = described_in_a_fresh_process()
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get(UPDATE):
        SNAPSHOT.write_text(text)
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, (
        f"the definitions differ from {SNAPSHOT.name}. A deliberate change? Re-write it with "
        f"{UPDATE}=1 uv run pytest dicom_assets_tests/{Path(__file__).name} and commit it "
        "with the change."
    )


if __name__ == "__main__":
    from dicom_assets.definitions import defs

    print(json.dumps(describe(defs)))
