"""Every setting the product reads from the environment, with its default, in one place.

Dagster resources take these through ``EnvVar`` when the variable is set (so values are read when
a run starts, and secrets never become part of the definitions), or the default otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagster import EnvVar

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# name -> default (None: no default, must be set for the feature that needs it)
DEFAULTS: dict[str, str | None] = {
    "DICOM_SERVER_URL": None,
    "DICOM_SERVER_KIND": "azure",
    "ORTHANC_URL": None,  # derived from DICOM_SERVER_URL when unset
    "DICOM_API_VERSION": "v2",
    "DICOM_AUTH": "none",
    "DICOM_AUDIENCE": "https://dicom.healthcareapis.azure.com",
    "DICOM_LAKE_URL": "data/lake",
    "DICOM_DUCKDB_PATH": "data/warehouse.duckdb",
    "DICOM_SQL_TARGET": "duckdb",
    "SYNAPSE_SQL_ENDPOINT": None,
    "SYNAPSE_DATABASE": "dicomdb",
    "DICOM_PARTITIONS_START": "2025-01-01-00:00",
    "DICOM_SENSOR_INTERVAL_SECONDS": "5",
    "DICOM_RECONCILE_INTERVAL_SECONDS": "60",  # Orthanc deletions (sources/reconcile.py)
    # Entries converted at a time: bounds a run's memory (DICOM JSON dicts of a realistic
    # instance take ~150 kB in Python) while keeping conversion at full speed (>= 1,000).
    "DICOM_BATCH_SIZE": "2000",
    # Checks and lag (dicom_assets/checks/settings.py reads them when a check or sensor runs).
    "DICOM_MAX_LAG_SECONDS": "300",
    "DICOM_MAX_QUARANTINE_SHARE": "0.01",
    "DICOM_LAG_INTERVAL_SECONDS": "30",
    # Custom tables (docs/custom-tables.md): a folder of <name>.yaml templates; unset: none.
    "DICOM_CUSTOM_SCHEMAS": None,
    # De-identification before landing (docs/deidentification.md); the key is a secret.
    "DICOM_DEIDENTIFY": "off",
    "DICOM_DEID_OPTIONS": "",
    "DICOM_DEID_KEY": None,
    # Lake maintenance (lake/maintenance.py): vacuum keeps unreferenced files this long, so a
    # reader holding an older snapshot still reads it; a day partition with this many small
    # files is compacted.
    "DICOM_VACUUM_RETENTION_HOURS": "168",
    "DICOM_COMPACT_AFTER_FILES": "16",
}


def setting(name: str) -> Any:
    """An ``EnvVar`` when the variable is set, else its default (for resource fields)."""
    if os.environ.get(name):
        return EnvVar(name)
    return DEFAULTS[name] or ""


def setting_value(name: str) -> str:
    """The value now (for things decided when definitions load, e.g. the partition start)."""
    return os.environ.get(name) or DEFAULTS[name] or ""


def resolve_local_path(path: str) -> Path:
    """Relative paths resolve against the project root, not the process's working directory."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def is_remote_url(url: str) -> bool:
    return "://" in url and not url.startswith("file://")
