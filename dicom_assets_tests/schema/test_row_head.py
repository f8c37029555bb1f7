import datetime as dt

import pytest

from dicom_assets.schema.row_head import Unreadable, metadata_json, payload_text, read_head
from dicom_assets_tests.schema.feed_entries import entry_for


def test_head_normalises_timestamp_and_falls_back_to_metadata_uids():
    entry = entry_for({"0020000D": {"vr": "UI", "Value": ["1.2"]}})
    naive = entry.__class__(**{**entry.__dict__, "timestamp": dt.datetime(2026, 1, 1, 5)})
    head = read_head(naive)
    assert head.timestamp == dt.datetime(2026, 1, 1, 5, tzinfo=dt.UTC)
    assert head.uids == {
        "StudyInstanceUID": "1.2",
        "SeriesInstanceUID": None,
        "SOPInstanceUID": None,
    }
    assert head.action == "create"


@pytest.mark.parametrize("metadata", [[{}], 5, "[1]", b"\xff"])
def test_non_object_metadata_is_unreadable(metadata):
    with pytest.raises(Unreadable):
        read_head(entry_for(metadata))


def test_serialisation_never_fails_on_odd_python():
    assert metadata_json({"a": "\udc80"}) == b'{"a":"\\udc80"}'
    assert metadata_json({1: "x"}) == b'{"1":"x"}'
    assert payload_text(object()).startswith('"<object')
