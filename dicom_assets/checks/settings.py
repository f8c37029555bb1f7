"""Thresholds of the checks and the lag sensor, read from the environment (defaults here).

| variable | meaning | default |
|---|---|---|
| ``DICOM_MAX_LAG_SECONDS`` | the freshness check fails when the oldest change not yet in the lake is older | 300 |
| ``DICOM_MAX_QUARANTINE_SHARE`` | the quarantine check fails with ERROR above this share of a window's changes (WARN above 0) | 0.01 |
| ``DICOM_LAG_INTERVAL_SECONDS`` | how often ``dicom_lake_lag_sensor`` measures the lag | 30 |

Read when a check or the sensor runs (not when definitions load), so a changed value applies
without reloading the code location.
"""

from __future__ import annotations

import os

from dicom_assets.config import DEFAULTS


def _number(name: str) -> float:
    raw = os.environ.get(name) or DEFAULTS[name]
    try:
        value = float(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be a number, not {raw!r}") from error
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


def max_lag_seconds() -> float:
    return _number("DICOM_MAX_LAG_SECONDS")


def max_quarantine_share() -> float:
    return _number("DICOM_MAX_QUARANTINE_SHARE")


def lag_interval_seconds() -> int:
    return max(1, int(_number("DICOM_LAG_INTERVAL_SECONDS")))
