"""Helpers of the sensor's tests (test_sensor_ticks.py, test_sensor_daemon.py): store instances
in the test's Orthanc, read back which instances the lake holds."""

from __future__ import annotations

from dicom_assets.devtools.samples import encode, upload
from dicom_assets.resources import LakeResource


def store(orthanc, datasets: list) -> None:
    """Store ``datasets`` in Orthanc: every one must be accepted."""
    assert all(upload(orthanc.url, [encode(ds) for ds in datasets]))


def lake_sops(lake_dir: str) -> list[str]:
    table = LakeResource(url=lake_dir).table().open_if_exists()
    return (
        []
        if table is None
        else table.to_pyarrow_table(columns=["SOPInstanceUID"])["SOPInstanceUID"].to_pylist()
    )
