"""Recorded Azure change-feed entries read into ``ChangeFeedEntry``: every action and state kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dicom_assets.feed_entry import ChangeAction
from dicom_assets.sources.azure.entry import (
    ChangeFeedEntryError,
    change_from_json,
    entry_from_json,
    parse_timestamp,
)

from .recorded_entries import make_entry, recorded_latest, recorded_page


def test_recorded_page_converts_with_every_field():
    page = recorded_page()
    entries = [entry_from_json(raw) for raw in page]

    assert [entry.sequence for entry in entries] == [1263, 1264, 1265]
    # .NET writes 7 fractional digits; the 7th is below a microsecond and is dropped.
    assert entries[0].timestamp == datetime(2022, 11, 25, 8, 44, 12, 352489, tzinfo=UTC)
    assert entries[1].timestamp == datetime(2022, 11, 25, 8, 44, 13, 24347, tzinfo=UTC)
    assert all(entry.action is ChangeAction.CREATE for entry in entries)
    for entry, raw in zip(entries, page):
        assert entry.study_instance_uid == raw["studyInstanceUid"]
        assert entry.series_instance_uid == raw["seriesInstanceUid"]
        assert entry.sop_instance_uid == raw["sopInstanceUid"]
        assert entry.metadata == raw["metadata"]  # the DICOM JSON, untouched
        assert entry.extras == {"state": "current", "partition_name": "Microsoft.Default"}
    assert entries[0].metadata["00204000"]["Value"] == ["Fake DICOM - Blue Circle"]
    assert entries[2].metadata["00100010"]["Value"] == [{"Alphabetic": "Anony Mous"}]


def test_recorded_latest_entries_convert():
    first, second = (entry_from_json(recorded_latest(index)) for index in (0, 1))
    assert (first.sequence, second.sequence) == (1265, 1300)
    assert second.timestamp - first.timestamp == timedelta(days=1)
    assert first.metadata["00280030"]["Value"] == [1.0, 1.0]  # a multi-valued DS
    assert change_from_json(recorded_latest(1)).sequence == 1300


def test_delete_keeps_uids_and_has_no_metadata():
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    raw = make_entry(7, when, action="Delete", state="Deleted", sop_uid="1.2.3.4")
    assert "metadata" not in raw
    entry = entry_from_json(raw)
    assert entry.action is ChangeAction.DELETE
    assert entry.metadata is None
    assert (entry.sop_instance_uid, entry.timestamp) == ("1.2.3.4", when)
    assert entry.extras["state"] == "deleted"
    # Some answers carry ``"metadata": null`` rather than no key: the same entry.
    assert entry_from_json({**raw, "metadata": None}) == entry


def test_update_and_replaced_create_are_kept():
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    replaced = entry_from_json(
        make_entry(1, when, action="Create", state="Replaced", with_metadata=False)
    )
    update = entry_from_json(make_entry(2, when, action="Update", state="Current"))
    assert replaced.action is ChangeAction.CREATE and replaced.extras["state"] == "replaced"
    assert replaced.metadata is None
    assert update.action is ChangeAction.UPDATE
    assert update.metadata["00080018"]["Value"] == [update.sop_instance_uid]


def test_actions_in_the_documents_spelling_are_read_too():
    raw = make_entry(3, datetime(2026, 3, 1, tzinfo=UTC), action="update")
    assert entry_from_json(raw).action is ChangeAction.UPDATE


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": "Move"}, "unknown action 'Move'"),
        ({"sequence": "12"}, "without an integer sequence"),
        ({"timestamp": "yesterday"}, "unreadable timestamp 'yesterday'"),
        ({"timestamp": None}, "has no timestamp"),
        ({"metadata": ["not", "a", "dataset"]}, "not a DICOM JSON object"),
    ],
)
def test_malformed_entries_are_refused_with_the_reason(change, message):
    raw = {**make_entry(5, datetime(2026, 3, 1, tzinfo=UTC)), **change}
    with pytest.raises(ChangeFeedEntryError, match=message):
        entry_from_json(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-11-25T08:44:13.5712388+00:00", datetime(2022, 11, 25, 8, 44, 13, 571238)),
        ("2022-11-25T08:44:13Z", datetime(2022, 11, 25, 8, 44, 13)),
        ("2022-11-25T10:44:13.5+02:00", datetime(2022, 11, 25, 8, 44, 13, 500000)),
        ("2022-11-25T08:44:13", datetime(2022, 11, 25, 8, 44, 13)),
    ],
)
def test_timestamps_become_utc(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected.replace(tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)
