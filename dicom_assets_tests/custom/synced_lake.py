"""Helpers of the custom-table tests that sync a lake first: the sync of every window, the
replayed Azure service it reads, and the geometry template their custom tables derive."""

from __future__ import annotations

from datetime import datetime

import pytest
from dagster import DagsterInstance, materialize
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from dicom_assets.wiring import build_resources
from dicom_assets_tests.checks.lake_sync import sync
from dicom_assets_tests.sources.azure.recorded_entries import make_entry

# The body of a geometry template (CT and MR only); each module adds its own description line
# in front and may add columns after.
GEOMETRY_BODY = """\
where:
  Modality: [CT, MR]
columns:
  modality: Modality
  row_spacing:
    path: PixelSpacing[0]
    description: Row spacing, mm.
  image_type: ImageType[*]
"""


def entry_with_modality(
    sequence: int, timestamp: datetime, modality: str | None, **options
) -> dict:
    """A replayed change-feed entry (``make_entry``) whose metadata says ``modality``; None
    leaves the entry as made (a delete has no metadata)."""
    entry = make_entry(sequence, timestamp, **options)
    if modality is not None:
        entry["metadata"]["00080060"] = {"vr": "CS", "Value": [modality]}
    return entry


def sync_every_window() -> tuple[dict, DagsterInstance, list[str]]:
    """Resources from the environment, and one sync from an empty cursor: the resources, the
    instance holding the runs, and the keys of the windows synced (sorted)."""
    resources = build_resources()
    instance = DagsterInstance.ephemeral()
    _cursor, outcomes = sync(resources, instance, None)
    keys = sorted({o.dagster_run.tags["dagster/partition"] for o in outcomes})
    return resources, instance, keys


def sync_replayed(
    monkeypatch: pytest.MonkeyPatch, service_url: str
) -> tuple[dict, DagsterInstance, list[str]]:
    """``sync_every_window`` from the replayed Azure DICOM service (API v2) at ``service_url``."""
    monkeypatch.setenv("DICOM_SERVER_KIND", "azure")
    monkeypatch.setenv("DICOM_SERVER_URL", service_url)
    monkeypatch.setenv("DICOM_API_VERSION", "v2")
    return sync_every_window()


def backfill(asset, resources: dict, instance: DagsterInstance, first: str, last: str) -> None:
    """Materialize ``asset`` for the windows ``first`` to ``last`` in one run (a range run)."""
    outcome = materialize(
        [asset],
        resources=resources,
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )
    assert outcome.success
