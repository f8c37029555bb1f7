"""The Orthanc change feed on a real Orthanc: steady-state cost of a trickling series."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.sources.http import CountingSession
from dicom_assets.sources.orthanc import OrthancChangeFeed, orthanc_instance_id


class RecordingSession(CountingSession):
    """A real HTTP session that also remembers which URLs it called (to count them by kind)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def send(self, request, **kwargs):
        self.urls.append(request.url)
        return super().send(request, **kwargs)


def _feed(orthanc, session=None) -> OrthancChangeFeed:
    return OrthancChangeFeed(
        orthanc.dicomweb_url, orthanc.url, session=session or RecordingSession()
    )


def _today() -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(hours=2), now + dt.timedelta(hours=2)


def test_orthanc_instance_id_matches_orthanc(orthanc):
    ds = next(synthetic_instances(synthetic_study(1, series=1, instances_per_series=1)))
    [answer] = upload(orthanc.url, [encode(ds)])
    assert answer["ID"] == orthanc_instance_id(
        ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
    )


def test_trickling_series_fetches_each_change_at_most_twice(orthanc):
    """A series stored 3 instances at a time, synced after each: the steady state of the open
    window. Each poll pages ``/changes`` from the last synced sequence (no search from the
    window's start) and reads metadata for at most twice the instances it syncs."""
    study = synthetic_study(4, series=1, instances_per_series=15)
    datasets = list(synthetic_instances(study))
    start, end = _today()
    after = 0
    synced: list = []
    documents = 0
    for poll in range(5):
        assert all(
            upload(orthanc.url, [encode(ds) for ds in datasets[poll * 3 : poll * 3 + 3]], workers=1)
        )
        session = RecordingSession()
        feed = _feed(orthanc, session)
        entries = [entry for batch in feed.entries_between(start, end, after) for entry in batch]
        assert sorted(e.sop_instance_uid for e in entries) == sorted(
            ds.SOPInstanceUID for ds in datasets[poll * 3 : poll * 3 + 3]
        )
        assert feed.metadata_documents <= 2 * len(entries)
        documents += feed.metadata_documents
        if after:
            # Incremental: no binary search over the feed, no re-read of the window's start.
            assert not any(
                "last" in url or "limit=1&" in url or url.endswith("limit=1")
                for url in session.urls
            )
            assert any(f"since={after}" in url for url in session.urls)
        if poll >= 2:  # the series is mostly synced: instance-level metadata of the new ones
            assert sum("/metadata" in url for url in session.urls) == 3
            assert (
                feed.http_calls <= 3 + 3 + 1
            )  # /changes, series + study + index look-ups, 3 WADO-RS
        synced.extend(entries)
        after = max(entry.sequence for entry in entries)
    assert len({e.sop_instance_uid for e in synced}) == len(synced) == 15
    assert documents <= 2 * len(synced)


def test_instance_and_series_metadata_are_the_same_documents(orthanc):
    """The trickle path (instance-level WADO-RS) must write what the series path writes."""
    datasets = list(synthetic_instances(synthetic_study(5, series=1, instances_per_series=6)))
    assert all(upload(orthanc.url, [encode(ds) for ds in datasets[:4]], workers=1))
    start, end = _today()
    first = [e for batch in _feed(orthanc).entries_between(start, end) for e in batch]
    assert {e.extras["metadata_source"] for e in first} == {"wado-rs"}
    assert all(upload(orthanc.url, [encode(ds) for ds in datasets[4:]], workers=1))
    feed = _feed(orthanc)
    trickled = [
        e
        for batch in feed.entries_between(start, end, max(e.sequence for e in first))
        for e in batch
    ]
    assert feed.metadata_documents == 2  # instance level: 4 of the 6 were synced already
    whole = {
        e.sop_instance_uid: e.metadata
        for batch in _feed(orthanc).entries_between(start, end)
        for e in batch
    }
    assert len(whole) == 6
    for entry in trickled:
        assert isinstance(entry.metadata, bytes)  # split natively, not parsed
        assert orjson.loads(entry.metadata) == orjson.loads(whole[entry.sop_instance_uid])


@pytest.mark.parametrize("batch_size", ["2"])
def test_batch_size_from_environment(orthanc, monkeypatch, batch_size):
    monkeypatch.setenv("DICOM_BATCH_SIZE", batch_size)
    study = synthetic_study(6, series=3, instances_per_series=2)
    assert all(upload(orthanc.url, [encode(ds) for ds in synthetic_instances(study)]))
    start, end = _today()
    batches = list(_feed(orthanc).entries_between(start, end))
    assert [len(batch) for batch in batches] == [2, 2, 2]
    sequences = [e.sequence for batch in batches for e in batch]
    assert len(set(sequences)) == 6
