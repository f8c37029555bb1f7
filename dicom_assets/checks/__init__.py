"""Asset checks of the lake: per-window completeness, uniqueness, identity and quarantine.

The freshness (lag) check lives with the lag sensor in :mod:`dicom_assets.observability`.
"""

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
    "IDENTITY",
    "QUARANTINE",
    "UNIQUE_SEQUENCE",
    "dicom_instances_window_checks",
    "window_check_key",
]
