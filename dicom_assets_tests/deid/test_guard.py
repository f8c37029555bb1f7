"""One lake, one de-identification: mixing keys or modes is refused with a clear error."""

from __future__ import annotations

import fsspec
import pytest

from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.deid.guard import LakeDeidentificationMismatch, check_lake, read_record

KEY = "k" * 40


def deid(key: str = KEY, options: str = "") -> Deidentifier:
    return Deidentifier(DeidSettings.parse("basic", options, key))


def test_first_writer_records_and_the_same_settings_pass(tmp_path):
    fs, root = fsspec.filesystem("file"), str(tmp_path / "Dicom")
    check_lake(fs, root, deid())
    record = read_record(fs, root)
    assert record["profile"] == "basic" and KEY not in str(record)
    check_lake(fs, root, deid())  # again: fine


@pytest.mark.parametrize(
    ("second", "says"),
    [
        (lambda: deid("o" * 40), "another DICOM_DEID_KEY"),
        (lambda: None, "without de-identification"),
        (lambda: deid(options="retain-uids"), "retain-uids"),
    ],
)
def test_a_mismatch_is_refused(tmp_path, second, says):
    fs, root = fsspec.filesystem("file"), str(tmp_path / "Dicom")
    check_lake(fs, root, deid())
    with pytest.raises(LakeDeidentificationMismatch, match=says) as raised:
        check_lake(fs, root, second())
    assert "new, empty location" in str(raised.value)
    assert KEY not in str(raised.value)


def test_a_lake_written_before_the_record_counts_as_identified(tmp_path):
    fs, root = fsspec.filesystem("file"), str(tmp_path / "Dicom")
    fs.makedirs(f"{root}/2026/11/25/10")
    with pytest.raises(LakeDeidentificationMismatch, match="DICOM_DEIDENTIFY=off"):
        check_lake(fs, root, deid())
    check_lake(fs, root, None)
    assert read_record(fs, root) is None  # identified lakes look as before: no record


def test_an_identified_lake_stays_identified(tmp_path):
    fs, root = fsspec.filesystem("file"), str(tmp_path / "Dicom")
    check_lake(fs, root, None)  # a new lake, synced without de-identification
    fs.makedirs(f"{root}/2026/11/25/10")
    check_lake(fs, root, None)
    with pytest.raises(LakeDeidentificationMismatch):
        check_lake(fs, root, deid())


def test_an_identified_delta_table_counts_as_identified(tmp_path):
    """The Delta table's own folders start with "_" (its log, the ``_date=`` partitions): a
    table written without de-identification still holds data a de-identified run must refuse."""
    fs, root = fsspec.filesystem("file"), str(tmp_path / "Dicom")
    fs.makedirs(f"{root}/_delta_log")
    fs.makedirs(f"{root}/_date=2026-11-25")
    with pytest.raises(LakeDeidentificationMismatch, match="DICOM_DEIDENTIFY=off"):
        check_lake(fs, root, deid())
