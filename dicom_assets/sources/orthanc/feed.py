"""Orthanc's ``/changes`` feed, with metadata from its DICOMweb plugin in as few calls as possible.

Orthanc's feed names resources by Orthanc ID only. For a window we (1) find the window's first
change by binary search over ``/changes`` (its dates grow with its sequence), (2) page the window's
changes, (3) resolve the new instances to their series, one ``/instances/{id}/series`` call per
*series* (the answer lists every instance of the series), and (4) fetch each series' metadata with
one WADO-RS call, keeping the instances of the window. Orthanc IDs are
``sha1("PatientID|StudyUID|SeriesUID|SOPUID")``, so each metadata item is matched to its change
without another call. Answers are split into per-instance JSON bytes without being parsed
(:mod:`dicom_assets.sources.dicomweb`): the converter reads bytes natively, and parsing them into
dicts here (as dicomweb-client's ``retrieve_*_metadata`` do) would cost several times the
conversion.

Steady state (the sensor's incremental runs of the open window) must not pay twice: an
incremental run starts paging ``/changes`` right after the window's last synced sequence (no
binary search), and a series that only got a few new instances is read instance by instance
(one index look-up for the series' SOP UIDs, then one WADO-RS call per new instance) instead of
re-reading the whole series. Series-level metadata is used only while at least half of the
series' instances are new, so the metadata documents fetched stay below twice the number of
changes (``metadata_documents`` counts them).

Steps (1) and (2), the ``/changes`` log itself, are :mod:`.changes`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dicom_assets.config import value_of
from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.sources.dicomweb import (
    DICOM_JSON,
    InstanceDocument,
    document_of,
    documents_of,
)
from dicom_assets.sources.entries import FeedChange, FeedPoll
from dicom_assets.sources.http import CountingSession
from dicom_assets.sources.orthanc.changes import (
    NewInstance,
    last_sequence,
    new_instances_between,
    poll_changes,
)
from dicom_assets.sources.orthanc.files import instance_metadata_from_file

# Series fetched at once, and how many may wait converted-to-be (bounds memory).
FETCH_THREADS = 6
FETCH_AHEAD = 12


def orthanc_instance_id(patient_id: str, study_uid: str, series_uid: str, sop_uid: str) -> str:
    """Orthanc's public ID of an instance (its documented hashing of the four identifiers)."""
    digest = hashlib.sha1(f"{patient_id}|{study_uid}|{series_uid}|{sop_uid}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:16]}-{digest[16:24]}-{digest[24:32]}-{digest[32:]}"


@dataclass
class _Series:
    orthanc_id: str
    study_uid: str
    series_uid: str
    instance_ids: frozenset[str]


def _create_entry(
    change: NewInstance, document: InstanceDocument, series: _Series, source: str
) -> ChangeFeedEntry:
    return ChangeFeedEntry(
        sequence=change.sequence,
        timestamp=change.timestamp,
        action=ChangeAction.CREATE,
        study_instance_uid=document.study_uid or series.study_uid,
        series_instance_uid=document.series_uid or series.series_uid,
        sop_instance_uid=document.sop_uid or None,
        metadata=document.metadata,
        extras={"orthanc_id": change.orthanc_id, "metadata_source": source},
    )


class OrthancChangeFeed:
    """The :class:`~dicom_assets.sources.feed.ChangeFeed` of an Orthanc server."""

    # What its sequence numbers count, for people reading the lag (checks/freshness.py).
    sequence_meaning = (
        "Orthanc's change numbers (/changes Seq), which count every Orthanc event (new "
        "patient, study, series, stable study/series...); only NewInstance changes are synced, "
        "so the feed's last number can be ahead of the lake's with 0 changes behind"
    )

    # /changes drops the changes of a deleted instance and logs none: see reconcile().
    forgets_deleted_changes = True

    def __init__(
        self,
        dicomweb_url: str,
        orthanc_url: str,
        session: CountingSession | None = None,
        batch_size: int | None = None,
    ):
        self.orthanc_url = orthanc_url.rstrip("/")
        self.session = session or CountingSession()
        self.dicomweb_url = dicomweb_url.rstrip("/")
        self.batch_size = batch_size or value_of("DICOM_BATCH_SIZE")
        # DICOM JSON documents received from the server (series-level calls count every
        # instance of the answer): the cost that must stay below twice the changes synced.
        self.metadata_documents = 0
        self._count_lock = threading.Lock()  # series are fetched on several threads

    @property
    def http_calls(self) -> int:
        return self.session.http_calls

    def reconcile(self, current, deidentifier=None):
        """Delete entries for the lake's ``current`` instances Orthanc no longer holds (one
        pass of :func:`dicom_assets.sources.orthanc.reconcile.find_deletions`)."""
        from dicom_assets.sources.orthanc.reconcile import find_deletions

        return find_deletions(
            current, self.orthanc_url, session=self.session, deidentifier=deidentifier
        )

    # --- /changes (changes.py) ------------------------------------------------------------
    def last_sequence(self) -> int:
        return last_sequence(self.session, self.orthanc_url)

    def poll(self, after_sequence: int, max_changes: int = 10_000) -> FeedPoll:
        return poll_changes(self.session, self.orthanc_url, after_sequence, max_changes)

    def _new_instances_between(
        self, start: datetime, end: datetime, after_sequence: int
    ) -> list[NewInstance]:
        return new_instances_between(self.session, self.orthanc_url, start, end, after_sequence)

    def changes_between(self, start: datetime, end: datetime) -> list[FeedChange]:
        """The window's changes, sequence and timestamp only (``/changes`` pages, no metadata):
        what the completeness check compares a partition with."""
        return [
            FeedChange(found.sequence, found.timestamp)
            for found in self._new_instances_between(start, end, 0)
        ]

    # --- resolving instances to series --------------------------------------------------------
    def _series_of(self, instance_id: str, studies: dict[str, str]) -> _Series | None:
        response = self.session.get(f"{self.orthanc_url}/instances/{instance_id}/series")
        if response.status_code == 404:
            return None  # deleted since the change was logged; reconciliation records the delete
        response.raise_for_status()
        series = response.json()
        study_id = series["ParentStudy"]
        if study_id not in studies:
            study = self.session.get(f"{self.orthanc_url}/studies/{study_id}")
            study.raise_for_status()
            studies[study_id] = study.json()["MainDicomTags"]["StudyInstanceUID"]
        return _Series(
            orthanc_id=series["ID"],
            study_uid=studies[study_id],
            series_uid=series["MainDicomTags"]["SeriesInstanceUID"],
            instance_ids=frozenset(series["Instances"]),
        )

    def _group_by_series(
        self, instances: list[NewInstance]
    ) -> Iterator[tuple[_Series, list[NewInstance]]]:
        """The new instances by series, each group as soon as its series is known."""
        by_id = {instance.orthanc_id: instance for instance in instances}
        studies: dict[str, str] = {}
        resolved: set[str] = set()
        for instance in instances:
            if instance.orthanc_id in resolved:
                continue
            series = self._series_of(instance.orthanc_id, studies)
            if series is None:
                resolved.add(instance.orthanc_id)
                continue
            members = [by_id[i] for i in series.instance_ids if i in by_id and i not in resolved]
            resolved.update(member.orthanc_id for member in members)
            yield series, members

    # --- entries --------------------------------------------------------------------------
    def _series_entries(self, series: _Series, members: list[NewInstance]) -> list[ChangeFeedEntry]:
        wanted = {member.orthanc_id: member for member in members}
        already_synced = len(series.instance_ids) - len(members)
        if already_synced > len(members):
            documents = self._instances_metadata(series, wanted)
        else:
            documents = self._series_metadata(series)
        entries = []
        for document in documents:
            orthanc_id = orthanc_instance_id(
                document.patient_id, document.study_uid, document.series_uid, document.sop_uid
            )
            change = wanted.pop(orthanc_id, None)
            if change is None:
                continue  # an instance of the series changed in another window
            entries.append(_create_entry(change, document, series, "wado-rs"))
        # Whatever WADO-RS could not give is read from the stored file itself, one by one.
        for orthanc_id, change in wanted.items():
            dataset = self._instance_metadata_from_file(orthanc_id)
            if dataset is None:
                continue
            entries.append(_create_entry(change, document_of(dataset), series, "file"))
        return entries

    def _wado_metadata(self, path: str) -> list[InstanceDocument]:
        """The documents of one WADO-RS metadata call; none when the server answers 404 (one
        series UID under two PatientIDs, or an instance deleted meanwhile: the file fallback)."""
        response = self.session.get(
            f"{self.dicomweb_url}/{path}/metadata", headers={"Accept": DICOM_JSON}
        )
        if response.status_code == 404:
            return []
        response.raise_for_status()
        documents = documents_of(response.content, path)
        self._count_documents(len(documents))
        return documents

    def _series_metadata(self, series: _Series) -> list[InstanceDocument]:
        return self._wado_metadata(f"studies/{series.study_uid}/series/{series.series_uid}")

    def _instances_metadata(
        self, series: _Series, wanted: dict[str, NewInstance]
    ) -> list[InstanceDocument]:
        """Metadata of just the new instances of a mostly synced series (a trickling series):
        their SOP UIDs from Orthanc's index in one call, then one WADO-RS call each."""
        response = self.session.get(f"{self.orthanc_url}/series/{series.orthanc_id}/instances")
        if response.status_code == 404:
            return []
        response.raise_for_status()
        sop_uids = {
            item["ID"]: item.get("MainDicomTags", {}).get("SOPInstanceUID")
            for item in response.json()
            if item.get("ID") in wanted
        }
        documents = []
        for sop_uid in sop_uids.values():
            if sop_uid:
                documents.extend(
                    self._wado_metadata(
                        f"studies/{series.study_uid}/series/{series.series_uid}/instances/{sop_uid}"
                    )
                )
        return documents

    def _count_documents(self, count: int) -> None:
        with self._count_lock:
            self.metadata_documents += count

    def _instance_metadata_from_file(self, orthanc_id: str) -> Any:
        return instance_metadata_from_file(self.session, self.orthanc_url, orthanc_id)

    def entries_between(
        self, start: datetime, end: datetime, after_sequence: int = 0
    ) -> Iterator[list[ChangeFeedEntry]]:
        """Entries of the window, fetched series by series on a few threads: Orthanc builds
        several series' metadata at once, and the series look-ups overlap with the fetches.
        At most ``FETCH_AHEAD`` series are in flight, so memory stays bounded by the batch."""
        instances = self._new_instances_between(start, end, after_sequence)
        batch: list[ChangeFeedEntry] = []
        in_flight: deque[Future[list[ChangeFeedEntry]]] = deque()
        with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
            for series, members in self._group_by_series(instances):
                in_flight.append(pool.submit(self._series_entries, series, members))
                while len(in_flight) > FETCH_AHEAD or (in_flight and in_flight[0].done()):
                    batch.extend(in_flight.popleft().result())
                    if len(batch) >= self.batch_size:
                        yield sorted(batch, key=lambda entry: entry.sequence)
                        batch = []
            while in_flight:
                batch.extend(in_flight.popleft().result())
                if len(batch) >= self.batch_size:
                    yield sorted(batch, key=lambda entry: entry.sequence)
                    batch = []
        if batch:
            yield sorted(batch, key=lambda entry: entry.sequence)
