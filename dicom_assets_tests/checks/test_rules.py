"""The check rules on windows built in memory: the cases a live Orthanc cannot stage on demand
(late changes racing a sync, count-only feeds, reconciliation rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
from dagster import AssetCheckSeverity

from dicom_assets.checks import rules
from dicom_assets.checks.window_data import FILE_COLUMN, ROW_COLUMNS, WindowContents
from dicom_assets.sources.entries import FeedChange

START = datetime(2026, 11, 25, 17, tzinfo=UTC)
UID = "1.2.826.0.1.3680043.8.498.1"


def window(sequences: list[int], last_sequence: int) -> WindowContents:
    rows = len(sequences)
    table = pa.table(
        {
            "_sequence": pa.array(sequences, pa.int64()),
            "_timestamp": pa.array([START] * rows, ROW_COLUMNS["_timestamp"]),
            "_action": ["delete" if s < 0 else "create" for s in sequences],
            "StudyInstanceUID": [UID] * rows,
            "SeriesInstanceUID": [UID] * rows,
            "SOPInstanceUID": [f"{UID}.{abs(s)}" for s in sequences],
            FILE_COLUMN: ["part-000000000001-0000.parquet"] * rows,
        }
    )
    return WindowContents(
        "2026-11-25-17:00", "lake/result/Dicom/2026/11/25/17", table, last_sequence=last_sequence
    )


def feed(*sequences_and_minutes: tuple[int, float]) -> rules.FeedWindow:
    changes = [FeedChange(s, START + timedelta(minutes=m)) for s, m in sequences_and_minutes]
    return rules.FeedWindow(count=len(changes), changes=changes)


def test_a_change_committed_while_the_sync_ran_is_pending_not_missing():
    synced_at = START + timedelta(minutes=30)
    listing = feed((1, 1), (2, 2), (3, 29.95))  # 3: 3 s before the run started, after its read
    result = rules.completeness(window([1, 2], last_sequence=2), listing, synced_at, False)
    assert result.passed
    assert result.metadata["pending"].value == 1 and result.metadata["missing"].value == 0

    # The same change long before the run started must have been read: missing.
    late = rules.completeness(window([1, 2], 2), feed((1, 1), (2, 2), (3, 10)), synced_at, False)
    assert not late.passed and late.severity == AssetCheckSeverity.ERROR
    assert "sequences 3" in late.description


def test_a_hole_below_the_last_synced_sequence_is_missing_however_recent():
    synced_at = START + timedelta(minutes=30)
    listing = feed((1, 29.99), (2, 29.99), (3, 29.99))
    result = rules.completeness(window([1, 3], last_sequence=3), listing, synced_at, False)
    assert not result.passed
    assert [r.data["sequence"] for r in result.metadata["missing_changes"].records] == [2]


def test_rows_the_feed_does_not_list_warn_unless_the_feed_forgets_deletions():
    synced_at = START + timedelta(minutes=30)
    # 7: an instance deleted since (Orthanc drops its change); -7: reconciliation's delete row.
    contents = window([5, 7, -7], last_sequence=7)
    azure = rules.completeness(contents, feed((5, 1)), synced_at, feed_forgets_deleted=False)
    assert not azure.passed and azure.severity == AssetCheckSeverity.WARN
    assert [r.data["sequence"] for r in azure.metadata["not_in_feed_rows"].records] == [7]
    orthanc = rules.completeness(contents, feed((5, 1)), synced_at, feed_forgets_deleted=True)
    assert orthanc.passed
    assert orthanc.metadata["reconciled_deletes"].value == 1


def test_a_count_only_feed_compares_numbers():
    contents = window([1, 2, 3], last_sequence=3)
    assert rules.completeness(contents, rules.FeedWindow(count=3), START, False).passed
    short = rules.completeness(contents, rules.FeedWindow(count=5), START, False)
    assert not short.passed and short.severity == AssetCheckSeverity.ERROR
    assert "lists 5" in short.description and "holds 3" in short.description


def test_sequences_read_as_ranges():
    assert rules._ranges([9, 3, 4, 5, 12, 13]) == "3-5, 9, 12-13"
    assert rules._ranges(range(0, 100, 2), limit=3) == "0, 2, 4, …"
