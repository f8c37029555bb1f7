"""``make demo``'s own parts: true counts, partitions from the first change, a quiet console."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from dicom_assets.devtools import demo
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.partitions import partition_key_of


def test_counts_are_what_orthanc_holds_not_its_answers(orthanc, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_STUDIES", 1)
    first = demo.load_samples(orthanc)
    held = demo.orthanc_instances(orthanc)
    second = demo.load_samples(orthanc)  # the demo started again: nothing new
    assert demo.orthanc_instances(orthanc) == held
    assert first["Success"] == held  # pydicom's corpus holds duplicates: answered, not stored
    assert first["AlreadyStored"] == sum(first.values()) - first["refused"] - held
    assert second["Success"] == 0, (first, second)
    assert second["AlreadyStored"] == first["Success"] + first["AlreadyStored"], (first, second)
    assert demo.samples_line(second, held).startswith(
        f"Orthanc holds {held} instances (0 stored now"
    )


def test_partitions_start_at_the_first_change(orthanc, monkeypatch):
    monkeypatch.delenv("DICOM_PARTITIONS_START", raising=False)
    before = partition_key_of(datetime.now(UTC))
    study = synthetic_study(1, series=1, instances_per_series=2)
    assert all(upload(orthanc.url, [encode(ds) for ds in synthetic_instances(study)]))
    start = demo.partitions_start(orthanc)
    assert before <= start <= partition_key_of(datetime.now(UTC))
    monkeypatch.setenv("DICOM_PARTITIONS_START", "2026-01-01-00:00")
    assert demo.partitions_start(orthanc) == "2026-01-01-00:00"  # set by the user: kept


def test_the_console_shows_the_ui_syncs_and_errors_only(tmp_path, capsys):
    output = io.StringIO(
        "/x/decorator_utils.py:232: BetaWarning: Parameter `backfill_policy` is in beta\n"
        "Use 'dg dev' instead\n"
        "\x1b[32m2026-12-02 07:08:56 +0000\x1b[0m - dagster-webserver - \x1b[34mINFO\x1b[0m - "
        "Serving dagster-webserver on http://127.0.0.1:3000 in process 1\n"
        "2026-12-02 07:09:22 +0000 - dagster - DEBUG - __ASSET_JOB - r - 1 - RUN_START - Started\n"
        "2026-12-02 07:09:40 +0000 - dagster - INFO - __ASSET_JOB - r - dicom_instances - synced "
        "window 2026-12-02-07:00: 156 rows (156 creates), 155 instances, 1 files, 0 quarantined\n"
        "2026-12-02 07:09:41 +0000 - dagster - ERROR - __ASSET_JOB - r - dicom_instances - "
        "DICOM_LAKE_URL='/x': the local lake folder /x cannot be written\n"
    )
    demo.relay(output, tmp_path / "dagster.log")
    shown = capsys.readouterr().out.splitlines()
    ui = "Serving dagster-webserver on http://127.0.0.1:3000 in process 1"
    synced = "synced window 2026-12-02-07:00: 156 rows (156 creates), 155 instances, 1 files"
    error = "ERROR - __ASSET_JOB - r - dicom_instances - DICOM_LAKE_URL='/x': the local lake"
    assert len(shown) == 3
    assert shown[0] == f"2026-12-02 07:08:56 +0000 - dagster-webserver - INFO - {ui}"
    assert shown[1].startswith(f"2026-12-02 07:09:40 {synced}")
    assert error in shown[2]
    assert (tmp_path / "dagster.log").read_text() == output.getvalue()  # everything kept there
