"""Windows of generated feeds (random gaps, bursts, quiet hours) read through v1's binary search
and v2's time windows equal the brute-force answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicom_assets.sources.azure import AzureChangeFeed
from dicom_assets.sources.azure.client import ChangeFeedClient
from dicom_assets.sources.azure.entry import parse_timestamp
from dicom_assets.sources.azure.v1_search import last_sequence_before

from .recorded_entries import make_entry
from .replay_server import fast_session, replay_services

T0 = datetime(2026, 1, 1, tzinfo=UTC)

steps = st.lists(
    st.tuples(
        # sequence step: mostly 1, sometimes an identity gap wider than a range of 100
        st.one_of(st.just(1), st.integers(2, 5), st.integers(90, 450)),
        # time step in seconds: bursts (0) and quiet spells
        st.one_of(st.just(0), st.integers(1, 120), st.integers(600, 7200)),
    ),
    min_size=0,
    max_size=300,
)


def build(feed_steps):
    entries, sequence, moment = [], 0, T0
    for sequence_step, seconds in feed_steps:
        sequence += sequence_step
        moment += timedelta(seconds=seconds)
        entries.append(make_entry(sequence, moment, with_metadata=False))
    return entries


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    feed_steps=steps,
    start_fraction=st.floats(-0.1, 1.1),
    length_minutes=st.integers(1, 600),
    after_fraction=st.floats(0, 1),
)
def test_windows_equal_brute_force(feed_steps, start_fraction, length_minutes, after_fraction):
    entries = build(feed_steps)
    latest = entries[-1]["sequence"] if entries else 0
    after = int(latest * after_fraction) if after_fraction > 0.5 else 0
    span = parse_timestamp(entries[-1]["timestamp"]) - T0 if entries else timedelta(hours=1)
    # Windows anywhere in the feed's time span, and a little before and after it.
    start = T0 + span * start_fraction
    end = start + timedelta(minutes=length_minutes)
    expected = [
        e["sequence"]
        for e in entries
        if start <= parse_timestamp(e["timestamp"]) < end and e["sequence"] > after
    ]
    with replay_services() as serve:
        service = serve(entries)
        for version in ("v1", "v2"):
            feed = AzureChangeFeed(service.url, version, fast_session())
            batches = list(feed.entries_between(start, end, after_sequence=after))
            got = [entry.sequence for batch in batches for entry in batch]
            assert got == expected, version
            assert all(batches), "no empty batches"


def test_search_lands_just_before_the_first_entry_at_the_time():
    # 1..50 one minute apart, a gap to 1000, then 1000..1049 one minute apart.
    entries = [make_entry(s, T0 + timedelta(minutes=s), with_metadata=False) for s in range(1, 51)]
    entries += [
        make_entry(s, T0 + timedelta(minutes=s - 949), with_metadata=False)
        for s in range(1000, 1050)
    ]
    with replay_services() as serve:
        service = serve(entries)
        client = ChangeFeedClient(service.url, "v1", fast_session())
        # The first entry at or after minute 60 is sequence 1009 (minute 60).
        found = last_sequence_before(client, T0 + timedelta(minutes=60), 0, 1049, 100)
        assert 1000 - 100 <= found <= 1008
        calls = len(service.requests)
        # Before everything: reading starts at the lower bound.
        assert last_sequence_before(client, T0, 0, 1049, 100) == 0
        # After everything: reading starts close to the end.
        assert last_sequence_before(client, T0 + timedelta(days=1), 0, 1049, 100) >= 1049 - 100
    assert calls <= 12
