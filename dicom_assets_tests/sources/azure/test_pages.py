"""Change-feed pages with each entry's metadata kept as JSON bytes: the same entries as parsing."""

import json

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dicom_assets.sources.azure.client import entries_with_raw_metadata
from dicom_assets.sources.azure.entry import entry_from_json
from dicom_assets_tests.schema.json_strategies import DATASETS, PLAUSIBLE

METADATA = st.one_of(
    PLAUSIBLE, DATASETS, st.just({}), st.none(), st.text(max_size=5), st.integers()
)
ENTRIES = st.lists(
    st.fixed_dictionaries(
        {
            "sequence": st.integers(1, 10**6),
            "timestamp": st.just("2026-11-26T10:00:00.1234567Z"),
            "action": st.sampled_from(["Create", "Update", "Delete"]),
            "state": st.just("current"),
        },
        optional={"metadata": METADATA, "studyInstanceUid": st.just("1.2")},
    ),
    max_size=6,
)


def comparable(entry: dict) -> dict:
    """An entry as entry_from_json reads it: an empty metadata object is no metadata."""
    metadata = entry.get("metadata")
    if isinstance(metadata, bytes):
        metadata = orjson.loads(metadata)
    return {**entry, "metadata": metadata or None} if "metadata" in entry else entry


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ENTRIES, st.booleans())
def test_pages_split_natively_hold_the_parsed_entries(entries, indent):
    try:
        page = json.dumps(
            entries, indent=1 if indent else None, ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (ValueError, UnicodeEncodeError):  # NaN, lone surrogates: no service's JSON
        assume(False)
    split = entries_with_raw_metadata(page)
    assert split is not None
    assert [comparable(e) for e in split] == [comparable(e) for e in orjson.loads(page)]
    for entry in split:
        if isinstance(entry.get("metadata"), bytes):  # a DICOM JSON object, not yet parsed
            assert entry_from_json(entry).metadata == entry["metadata"]


def test_a_page_that_is_not_an_array_of_objects_is_left_to_the_parser():
    assert entries_with_raw_metadata(b'{"sequence": 1}') is None
    assert entries_with_raw_metadata(b"[1]") is None
    assert entries_with_raw_metadata(b'[{"metadata": {}, "metadata": {"a": 1}}]') is None
    assert entries_with_raw_metadata(b"[]") == []
