"""Deletions in Orthanc, which its ``/changes`` feed never reports: found by reconciliation.

Orthanc logs no change when an instance is deleted (it even drops the earlier entries of the
deleted resource), so the lake would keep a deleted instance as current forever. A
reconciliation pass compares the instances the lake holds as current with the instance IDs
Orthanc holds (``GET /instances`` pages of IDs: one cheap call per 10,000 instances) and makes
one ``delete`` entry for each instance that is gone.

This module is the comparison only, a function of (the server, the lake's current instances)
→ delete entries: it neither reads nor writes the lake. The Dagster job
(``dicom_assets/reconcile_job.py``) reads the current instances
(``lake/current_instances.py``), calls :func:`find_deletions` through the feed's
``reconcile()``, and appends the entries it returns.

Orthanc IDs derive from the UIDs (``sha1("PatientID|Study|Series|SOP")``), so the lake side
needs no Orthanc ID: the ``PatientID`` column (or ``_metadata`` where it is null) is enough.

The lake is read *before* Orthanc is listed: every instance the lake holds was in Orthanc when
it was synced, so one missing from the later listing was deleted; an instance stored after the
listing cannot be mistaken for a deleted one.

Sequence of a delete entry: ``-c``, where ``c`` is the sequence of the row it ends (the
instance's latest create). Negative numbers are a sequence space of their own: they never
collide with a server's sequence (always positive), and there is no free integer between ``c``
and the next sequence Orthanc will give (a re-create of the same SOP may get ``c + 1``).
Ordered by the lake's rule (``lake_order_key`` in ``lake/current_instances.py``:
``abs(_sequence)`` descending, then the negative first), the delete ranks just above the create
it ends and below any later change of that SOP, e.g. a re-create. Each create is ended at most
once, so delete sequences are unique too. ``_timestamp`` is the detection time.

With de-identification on (``deidentifier``), the lake holds pseudonymous UIDs and PatientIDs,
so Orthanc's IDs cannot be recomputed from it; instead Orthanc's instances are listed with their
SOP Instance UIDs (``GET /instances?expand``, one call per 10,000) and compared by keyed
pseudonym: an instance of the lake whose pseudonymous SOP Instance UID Orthanc no longer holds
was deleted. Its delete entry is written as it is (its UIDs are pseudonyms already), after the
job checked the lake to be this key's (``deid/guard.py``).

A server that lists no instance at all while the lake holds some is refused
(:class:`ReconcileRefused`): a wiped or wrongly configured server must not mark the whole lake
deleted. Deleting every instance of a server is therefore not propagated by reconciliation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.sources.http import CountingSession
from dicom_assets.sources.orthanc.feed import orthanc_instance_id

INSTANCES_PAGE = 10_000


def delete_sequence(ended_sequence: int) -> int:
    """The ``_sequence`` of the delete row that ends the row with ``ended_sequence``."""
    return -abs(ended_sequence)


class LakeInstances(Protocol):
    """The instances the lake holds as current, as columns of equal length
    (``lake.current_instances.CurrentInstances``): the latest row's sequence and identifiers."""

    sequences: list[int]
    study_uids: list[str]
    series_uids: list[str]
    sop_uids: list[str]
    patient_ids: list[str]

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class LakeInstance:
    """One instance of the lake (here: one found deleted in the server)."""

    sequence: int
    study_uid: str
    series_uid: str
    sop_uid: str
    patient_id: str


def orthanc_id_of(instance: Any) -> str:
    """The ID Orthanc gives an instance (a hash of its identifiers)."""
    return orthanc_instance_id(
        instance.patient_id, instance.study_uid, instance.series_uid, instance.sop_uid
    )


def _instance_at(current: LakeInstances, index: int) -> LakeInstance:
    return LakeInstance(
        current.sequences[index],
        current.study_uids[index],
        current.series_uids[index],
        current.sop_uids[index],
        current.patient_ids[index],
    )


def _keys(current: LakeInstances, pseudonymous: bool) -> Iterable[str]:
    """What the server's listing is compared with: SOP Instance UIDs (pseudonyms already)
    when de-identified, else the Orthanc IDs computed from the identifiers."""
    if pseudonymous:
        return current.sop_uids
    return map(
        orthanc_instance_id,
        current.patient_ids,
        current.study_uids,
        current.series_uids,
        current.sop_uids,
    )


class ReconcileRefused(RuntimeError):
    """The server lists no instance at all while the lake holds some: a wiped or wrongly
    configured server, not a deletion of everything. Nothing is written."""


@dataclass
class ReconcileResult:
    """One pass's findings: the delete entries to append (``detected_at`` is their window)."""

    lake_instances: int
    orthanc_instances: int
    deleted: list[LakeInstance]
    entries: list[ChangeFeedEntry]
    detected_at: datetime
    http_calls: int
    seconds: float


def orthanc_instance_ids(session: CountingSession, orthanc_url: str) -> set[str]:
    """Every instance ID Orthanc holds, by pages of IDs (no tags: cheap)."""
    held: set[str] = set()
    since = 0
    while True:
        response = session.get(
            f"{orthanc_url.rstrip('/')}/instances", params={"since": since, "limit": INSTANCES_PAGE}
        )
        response.raise_for_status()
        page = response.json()
        held.update(page)
        if len(page) < INSTANCES_PAGE:
            return held
        since += len(page)


def orthanc_pseudonymous_sops(
    session: CountingSession, orthanc_url: str, deidentifier: Any
) -> set[str]:
    """The pseudonymous SOP Instance UIDs of every instance Orthanc holds (pages with tags)."""
    held: set[str] = set()
    since = 0
    while True:
        response = session.get(
            f"{orthanc_url.rstrip('/')}/instances",
            params={"since": since, "limit": INSTANCES_PAGE, "expand": ""},
        )
        response.raise_for_status()
        page = response.json()
        for instance in page:
            sop = (instance.get("MainDicomTags") or {}).get("SOPInstanceUID")
            if isinstance(sop, str):
                held.add(deidentifier.entry_uid("sop_instance_uid", sop))
        if len(page) < INSTANCES_PAGE:
            return held
        since += len(page)


def deletion_entries(deleted: list[LakeInstance], detected_at: datetime) -> list[ChangeFeedEntry]:
    return [
        ChangeFeedEntry(
            sequence=delete_sequence(instance.sequence),
            timestamp=detected_at,
            action=ChangeAction.DELETE,
            study_instance_uid=instance.study_uid,
            series_instance_uid=instance.series_uid,
            sop_instance_uid=instance.sop_uid,
            metadata=None,
            extras={"orthanc_id": orthanc_id_of(instance), "source": "reconcile"},
        )
        for instance in sorted(deleted, key=lambda item: item.sequence)
    ]


def find_deletions(
    current: LakeInstances,
    orthanc_url: str,
    session: CountingSession | None = None,
    now: datetime | None = None,
    deidentifier: Any = None,
) -> ReconcileResult:
    """The delete entries for the lake's ``current`` instances Orthanc no longer holds.
    ``current`` must have been read from the lake before this call (see the module's
    docstring); raises :class:`ReconcileRefused` when Orthanc lists nothing at all."""
    started = time.perf_counter()
    session = session or CountingSession()
    before = session.http_calls
    if deidentifier is not None:
        held = orthanc_pseudonymous_sops(session, orthanc_url, deidentifier)
    else:
        held = orthanc_instance_ids(session, orthanc_url)
    if len(current) and not held:
        raise ReconcileRefused(
            f"Orthanc lists no instance while the lake holds {len(current)}: not writing "
            "deletes for all of them (wrong ORTHANC_URL / DICOM_SERVER_URL, or a wiped server?)"
        )
    keys = _keys(current, pseudonymous=deidentifier is not None)
    gone = [index for index, key in enumerate(keys) if key not in held]
    deleted = [_instance_at(current, index) for index in gone]
    detected_at = now or datetime.now(UTC)
    return ReconcileResult(
        lake_instances=len(current),
        orthanc_instances=len(held),
        deleted=deleted,
        entries=deletion_entries(deleted, detected_at),
        detected_at=detected_at,
        http_calls=session.http_calls - before,
        seconds=time.perf_counter() - started,
    )
