"""Asset checks of the lake, all here: per-window completeness, uniqueness, identity and
quarantine (``window_checks.py``), and freshness with the lag sensor that evaluates it
(``freshness.py``).
"""

from dicom_assets.checks.freshness import FRESHNESS, dicom_lake_freshness, dicom_lake_lag_sensor
from dicom_assets.checks.window_checks import (
    COMPLETENESS,
    IDENTITY,
    QUARANTINE,
    UNIQUE_SEQUENCE,
    dicom_instances_window_checks,
    window_check_key,
)

__all__ = [
    "COMPLETENESS",
    "FRESHNESS",
    "IDENTITY",
    "QUARANTINE",
    "UNIQUE_SEQUENCE",
    "dicom_instances_window_checks",
    "dicom_lake_freshness",
    "dicom_lake_lag_sensor",
    "window_check_key",
]
