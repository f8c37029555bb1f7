"""AzureChangeFeed against a replayed service: latest, the sensor's poll, windows in v1 and v2.

Every request the feed makes is checked against the OpenAPI documents by the replay service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from dicom_assets.feed_entry import ChangeAction
from dicom_assets.sources.azure import AzureChangeFeed
from dicom_assets.sources.azure.entry import parse_timestamp

from .recorded_entries import hourly_feed, make_entry, recorded_latest, recorded_page
from .replay_server import fast_session, replay_services

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VERSIONS = ("v1", "v2")


@pytest.fixture
def serve():
    with replay_services() as start:
        yield start


def feed_for(service, version, **kwargs) -> AzureChangeFeed:
    return AzureChangeFeed(service.url, version, fast_session(), **kwargs)


def gapped_entries():
    """Sequences 1..5, then a gap, then 300..310: a gap wider than a v1 range of 100."""
    sequences = [*range(1, 6), *range(300, 311)]
    return [make_entry(s, T0 + timedelta(seconds=s)) for s in sequences]


def flatten(batches):
    return [entry for batch in batches for entry in batch]


@pytest.mark.parametrize("version", VERSIONS)
def test_latest_reads_the_versions_route(serve, version):
    service = serve([recorded_latest(0), *recorded_page()[:2]])
    feed = feed_for(service, version)
    assert feed.latest_sequence() == 1265
    assert service.paths() == [f"/{version}/changefeed/latest"]
    assert service.requests[0].query == {"includeMetadata": "false"}
    assert feed.http_calls == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_feed_answers_latest_with_an_empty_body(serve, version):
    service = serve([])
    feed = feed_for(service, version)
    assert feed.latest_sequence() == 0
    poll = feed.poll(0)
    assert (poll.changes, poll.next_cursor) == ([], 0)
    assert list(feed.entries_between(T0, T0 + timedelta(hours=1))) == []
    assert feed.http_calls <= 3


@pytest.mark.parametrize("version", VERSIONS)
def test_poll_reads_sequence_ranges_through_gaps_up_to_latest(serve, version):
    service = serve(gapped_entries())
    feed = feed_for(service, version)

    poll = feed.poll(0)

    assert [change.sequence for change in poll.changes] == [*range(1, 6), *range(300, 311)]
    assert poll.changes[-1].timestamp == T0 + timedelta(seconds=310)
    assert poll.next_cursor == 310
    # latest, then ranges (0,100] (100,200] (200,300] (300,400]: empty ranges do not stop it.
    assert service.paths() == [f"/{version}/changefeed/latest"] + ["/v1/changefeed"] * 4
    assert [r.query for r in service.requests[1:]] == [
        {"offset": str(offset), "limit": "100", "includeMetadata": "false"}
        for offset in (0, 100, 200, 300)
    ]
    assert feed.http_calls == 5


@pytest.mark.parametrize("version", VERSIONS)
def test_poll_from_a_cursor_and_when_caught_up(serve, version):
    feed = feed_for(serve(gapped_entries()), version)
    assert [c.sequence for c in feed.poll(3).changes] == [4, 5, *range(300, 311)]
    calls = feed.http_calls
    caught_up = feed.poll(310)
    assert (caught_up.changes, caught_up.next_cursor) == ([], 310)
    assert feed.http_calls - calls == 1  # steady state: one `latest` call per poll


def test_poll_with_max_changes_never_skips_a_change(serve):
    feed = feed_for(serve(gapped_entries()), "v1")
    first = feed.poll(0, max_changes=7)
    assert [c.sequence for c in first.changes] == [1, 2, 3, 4, 5, 300, 301]
    assert first.next_cursor == 301  # the last change returned, not the end of its range
    rest = feed.poll(first.next_cursor, max_changes=7)
    assert [c.sequence for c in rest.changes] == list(range(302, 309))
    last = feed.poll(rest.next_cursor, max_changes=7)
    assert [c.sequence for c in last.changes] == [309, 310]
    assert last.next_cursor == 310
    # A page that exactly fills the room was read whole: the cursor moves to its range end.
    exact = feed.poll(0, max_changes=5)
    assert [c.sequence for c in exact.changes] == [1, 2, 3, 4, 5]
    assert exact.next_cursor == 100


def test_poll_with_a_small_page_limit_pages_smaller_ranges(serve):
    service = serve(gapped_entries())
    feed = feed_for(service, "v1", page_limit=10)
    assert [c.sequence for c in feed.poll(295).changes] == list(range(300, 311))
    assert [r.query["offset"] for r in service.requests[1:]] == ["295", "305"]


def test_poll_of_the_recorded_page(serve):
    feed = feed_for(serve(recorded_page()), "v2")
    poll = feed.poll(1200)
    assert [c.sequence for c in poll.changes] == [1263, 1264, 1265]
    assert poll.changes[2].timestamp == parse_timestamp("2022-11-25T08:44:13.5712388+00:00")


def test_v2_window_pages_by_offset_with_metadata(serve):
    inside = hourly_feed(T0, 450, per_hour=450)  # 450 entries within [T0, T0+1h)
    later = [make_entry(451 + i, T0 + timedelta(hours=1, seconds=i)) for i in range(3)]
    service = serve([*inside, *later])
    feed = feed_for(service, "v2")

    batches = list(feed.entries_between(T0, T0 + timedelta(hours=1)))

    assert [len(batch) for batch in batches] == [200, 200, 50]
    entries = flatten(batches)
    assert [e.sequence for e in entries] == list(range(1, 451))
    assert all(isinstance(e.metadata, bytes) for e in entries)  # kept as received, unparsed
    assert all(
        orjson.loads(e.metadata)["00080018"]["Value"] == [e.sop_instance_uid] for e in entries
    )
    assert service.paths() == ["/v2/changefeed"] * 3
    assert [r.query for r in service.requests] == [
        {
            "StartTime": "2026-01-01T00:00:00.000000Z",
            "EndTime": "2026-01-01T01:00:00.000000Z",
            "Offset": str(offset),
            "Limit": "200",
            "includeMetadata": "true",
        }
        for offset in (0, 200, 400)
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_window_keeps_every_action_and_state_and_its_bounds(serve, version):
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    uid = "1.2.826.0.1.3680043.8.498.77"
    history = [
        make_entry(1, start - timedelta(microseconds=1)),  # just before: out
        make_entry(2, start, sop_uid=uid, state="Replaced", with_metadata=False),  # in
        make_entry(3, start + timedelta(minutes=1), action="Update", sop_uid=uid),
        make_entry(4, start + timedelta(minutes=2), action="Delete", sop_uid=uid),
        make_entry(5, start + timedelta(minutes=3), sop_uid=uid),  # re-created
        make_entry(6, end - timedelta(microseconds=1)),  # last instant: in
        make_entry(7, end),  # the next window's first instant: out
    ]
    feed = feed_for(serve(history), version)

    entries = flatten(feed.entries_between(start, end))

    assert [(e.sequence, e.action) for e in entries] == [
        (2, ChangeAction.CREATE),
        (3, ChangeAction.UPDATE),
        (4, ChangeAction.DELETE),
        (5, ChangeAction.CREATE),
        (6, ChangeAction.CREATE),
    ]
    assert entries[0].extras["state"] == "replaced" and entries[0].metadata is None
    assert entries[2].metadata is None and entries[2].sop_instance_uid == uid
    assert entries[1].metadata is not None and entries[3].metadata is not None


@pytest.mark.parametrize("version", VERSIONS)
def test_window_after_a_cursor_skips_what_was_read(serve, version):
    entries = hourly_feed(T0, 600, per_hour=600)  # one entry every 6 s
    service = serve(entries)
    feed = feed_for(service, version)
    end = T0 + timedelta(hours=1)

    fresh = flatten(feed.entries_between(T0, end, after_sequence=500))

    assert [e.sequence for e in fresh] == list(range(501, 601))
    if version == "v2":
        # One cheap look-up of the cursor's timestamp, then the window from there (minus the
        # skew allowance): the 500 entries before are not fetched again with their metadata.
        metadata_reads = [r for r in service.requests if r.path == "/v2/changefeed"]
        starts = {parse_timestamp(r.query["StartTime"]) for r in metadata_reads}
        assert starts == {parse_timestamp(entries[499]["timestamp"]) - timedelta(seconds=5)}
        assert len(metadata_reads) == 1
        assert service.requests[0].query["includeMetadata"] == "false"


def test_v1_window_is_found_by_binary_search_and_reading_stops_after_it(serve):
    # 30 hours of 100 changes an hour; identity gaps of 700 every 250 changes.
    entries = hourly_feed(T0, 3000, per_hour=100, gap_every=250, gap=700)
    service = serve(entries)
    feed = feed_for(service, "v1")
    start, end = T0 + timedelta(hours=7), T0 + timedelta(hours=8)

    got = flatten(feed.entries_between(start, end))

    expected = [e["sequence"] for e in entries if start <= parse_timestamp(e["timestamp"]) < end]
    assert len(expected) == 100
    assert [e.sequence for e in got] == expected
    assert all(e.metadata is not None for e in got)
    latest = entries[-1]["sequence"]
    full_scan = latest // 100 + 1
    assert feed.http_calls < full_scan / 3, (feed.http_calls, full_scan)
    # Reading with metadata stopped soon after the window's end.
    metadata_offsets = [
        int(r.query["offset"]) for r in service.requests if r.query.get("includeMetadata") == "true"
    ]
    first_after_window = next(
        e["sequence"] for e in entries if parse_timestamp(e["timestamp"]) >= end
    )
    assert max(metadata_offsets) < first_after_window + 100


def test_v1_and_v2_read_the_same_window(serve):
    entries = hourly_feed(T0, 1200, per_hour=300, gap_every=90, gap=130)
    service = serve(entries)
    start, end = T0 + timedelta(hours=1, minutes=30), T0 + timedelta(hours=2, minutes=10)
    v1 = flatten(feed_for(service, "v1").entries_between(start, end, after_sequence=700))
    v2 = flatten(feed_for(service, "v2").entries_between(start, end, after_sequence=700))
    expected = [
        e["sequence"]
        for e in entries
        if start <= parse_timestamp(e["timestamp"]) < end and e["sequence"] > 700
    ]
    assert expected and [e.sequence for e in v1] == expected
    assert [e.sequence for e in v2] == expected
    assert v1 == v2


def test_window_needs_aware_times(serve):
    feed = feed_for(serve([]), "v2")
    with pytest.raises(ValueError, match="timezone-aware"):
        feed.entries_between(datetime(2026, 1, 1), datetime(2026, 1, 2))
    assert list(feed.entries_between(T0, T0)) == []
    assert feed.http_calls == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_changes_between_lists_a_window_without_metadata(serve, version):
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    history = [
        make_entry(1, start - timedelta(seconds=1)),
        make_entry(2, start),
        make_entry(3, start + timedelta(minutes=10), action="Delete"),
        *[make_entry(s, start + timedelta(minutes=20, seconds=s)) for s in range(10, 260)],
        make_entry(400, end),
    ]
    service = serve(history)
    changes = feed_for(service, version).changes_between(start, end)

    assert [c.sequence for c in changes] == [2, 3, *range(10, 260)]
    assert all(start <= c.timestamp < end for c in changes)
    window_queries = [r.query for r in service.requests if "latest" not in r.path]
    assert window_queries and all(q.get("includeMetadata") == "false" for q in window_queries)
