"""Deletions in Orthanc, which its ``/changes`` feed never reports: found by reconciliation.

Orthanc logs no change when an instance is deleted (it even drops the earlier entries of the
deleted resource), so the lake would keep a deleted instance as current forever. A
reconciliation pass compares the instances the lake holds as current with the instance IDs
Orthanc holds (``GET /instances`` pages of IDs: one cheap call per 10,000 instances) and writes
one ``delete`` row for each instance that is gone.

Orthanc IDs derive from the UIDs (``sha1("PatientID|Study|Series|SOP")``), so the lake side
needs no Orthanc ID: the ``PatientID`` column (or ``_metadata`` where it is null) is enough.

The lake is read *before* Orthanc is listed: every instance the lake holds was in Orthanc when
it was synced, so one missing from the later listing was deleted; an instance stored after the
listing cannot be mistaken for a deleted one.

Sequence of a delete row: ``-c``, where ``c`` is the sequence of the row it ends (the
instance's latest create). Negative numbers are a sequence space of their own: they never
collide with a server's sequence (always positive), and there is no free integer between ``c``
and the next sequence Orthanc will give (a re-create of the same SOP may get ``c + 1``).
Ordered by :func:`lake_order_key` (``abs(_sequence)`` descending, then the negative first), the
delete ranks just above the create it ends and below any later change of that SOP, e.g. a
re-create. Each create is ended at most once, so delete sequences are unique too.

Rows go through the lake's converter (``convert_entries``) into one atomically written file per
pass, ``result/Dicom/<window of the detection time>/reconcile-<detection time>.parquet``; the
IO manager's full re-syncs leave such files alone (they are not feed files). ``_timestamp`` is
the detection time.

With de-identification on (``deidentifier``), the lake holds pseudonymous UIDs and PatientIDs,
so Orthanc's IDs cannot be recomputed from it; instead Orthanc's instances are listed with their
SOP Instance UIDs (``GET /instances?expand``, one call per 10,000) and compared by keyed
pseudonym: an instance of the lake whose pseudonymous SOP Instance UID Orthanc no longer holds
was deleted. Its delete row is written as it is (its UIDs are pseudonyms already), after the lake
was checked to be this key's (``deid/guard.py``).

A server that lists no instance at all while the lake holds some is refused
(:class:`ReconcileRefused`): a wiped or wrongly configured server must not mark the whole lake
deleted. Deleting every instance of a server is therefore not propagated by reconciliation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fsspec
import orjson
import pyarrow.parquet as pq

from dicom_assets.deid.guard import check_lake
from dicom_assets.io.writer import write_parquet_atomically
from dicom_assets.partitions import partition_key_of, window_folder
from dicom_assets.schema import convert_entries
from dicom_assets.sources.entries import ChangeAction, ChangeFeedEntry
from dicom_assets.sources.http import CountingSession
from dicom_assets.sources.orthanc import orthanc_instance_id
from dicom_assets.sources.wado_metadata import PATIENT_ID

RECONCILE_PREFIX = "reconcile"
INSTANCES_PAGE = 10_000
_LAKE_COLUMNS = ["_sequence", "_action", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"]


def lake_order_key(sequence: int) -> tuple[int, int]:
    """Rank of a row among the rows of its SOP Instance UID: the highest is the current one."""
    return abs(sequence), 1 if sequence < 0 else 0


def delete_sequence(ended_sequence: int) -> int:
    """The ``_sequence`` of the delete row that ends the row with ``ended_sequence``."""
    return -abs(ended_sequence)


@dataclass(frozen=True)
class LakeInstance:
    """An instance the lake holds as current: its latest row's sequence and identifiers."""

    sequence: int
    study_uid: str
    series_uid: str
    sop_uid: str
    patient_id: str

    @property
    def orthanc_id(self) -> str:
        return orthanc_instance_id(self.patient_id, self.study_uid, self.series_uid, self.sop_uid)


class ReconcileRefused(RuntimeError):
    """The server lists no instance at all while the lake holds some: a wiped or wrongly
    configured server, not a deletion of everything. Nothing is written."""


@dataclass
class ReconcileResult:
    lake_instances: int
    orthanc_instances: int
    deleted: list[LakeInstance]
    file: str | None
    http_calls: int
    seconds: float


def _patient_id_from_metadata(text: str | None) -> str:
    if not text:
        return ""
    try:
        element = orjson.loads(text).get(PATIENT_ID) or {}
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    value = (element.get("Value") or [""])[0] if isinstance(element, dict) else ""
    return value if isinstance(value, str) else ""


def _file_rows(fs: fsspec.AbstractFileSystem, path: str) -> Iterable[tuple]:
    """(sequence, action, study, series, sop, patient id) of every row of one Parquet file."""
    names = set(pq.read_schema(path, filesystem=fs).names)
    columns = [name for name in _LAKE_COLUMNS if name in names]
    if "PatientID" in names:
        columns.append("PatientID")
    table = pq.read_table(path, columns=columns, filesystem=fs)
    data = {name: table[name].to_pylist() for name in columns}
    patients = data.get("PatientID") or [None] * table.num_rows
    metadata = None
    if any(patient is None for patient in patients) and "_metadata" in names:
        # Rows without a PatientID value: Orthanc hashed whatever the file holds (or "").
        metadata = pq.read_table(path, columns=["_metadata"], filesystem=fs)["_metadata"].to_pylist()
    for row in range(table.num_rows):
        patient = patients[row]
        if patient is None:
            patient = _patient_id_from_metadata(metadata[row]) if metadata else ""
        yield (
            data["_sequence"][row],
            data["_action"][row],
            data["StudyInstanceUID"][row],
            data["SeriesInstanceUID"][row],
            data["SOPInstanceUID"][row],
            patient,
        )


def current_lake_instances(fs: fsspec.AbstractFileSystem, dicom_root: str) -> dict[str, LakeInstance]:
    """The instances the lake holds now: latest row per SOP Instance UID that is not a delete."""
    latest: dict[str, tuple] = {}
    for path in sorted(fs.glob(f"{dicom_root.rstrip('/')}/**/*.parquet")):
        if path.rsplit("/", 1)[-1].startswith("."):
            continue
        for row in _file_rows(fs, path):
            sop = row[4]
            if sop is None:
                continue
            kept = latest.get(sop)
            if kept is None or lake_order_key(row[0]) > lake_order_key(kept[0]):
                latest[sop] = row
    return {
        sop: LakeInstance(row[0], row[2] or "", row[3] or "", sop, row[5] or "")
        for sop, row in latest.items()
        if row[1] != ChangeAction.DELETE.value
    }


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
            extras={"orthanc_id": instance.orthanc_id, "source": "reconcile"},
        )
        for instance in sorted(deleted, key=lambda item: item.sequence)
    ]


def write_deletions(
    fs: fsspec.AbstractFileSystem, dicom_root: str, entries: list[ChangeFeedEntry], detected_at: datetime
) -> str | None:
    """One atomically written Parquet file of delete rows in the detection time's window."""
    if not entries:
        return None
    batch = convert_entries(entries)
    if batch.quarantined:  # three UIDs and a sequence always convert; anything else is a bug
        raise ValueError(f"delete rows could not be converted: {batch.quarantined[0].reason}")
    folder = f"{dicom_root.rstrip('/')}/{window_folder(partition_key_of(detected_at))}"
    fs.makedirs(folder, exist_ok=True)
    path = f"{folder}/{RECONCILE_PREFIX}-{detected_at:%Y%m%dT%H%M%S%f}.parquet"
    write_parquet_atomically(fs, path, batch.table)
    return path


def reconcile_orthanc(
    fs: fsspec.AbstractFileSystem,
    dicom_root: str,
    orthanc_url: str,
    session: CountingSession | None = None,
    now: Any = None,
    deidentifier: Any = None,
) -> ReconcileResult:
    """One pass: write delete rows for the lake's current instances Orthanc no longer holds."""
    started = time.perf_counter()
    session = session or CountingSession()
    before = session.http_calls
    check_lake(fs, dicom_root, deidentifier)
    current = current_lake_instances(fs, dicom_root)  # first: see the module's docstring
    if deidentifier is not None:
        held = orthanc_pseudonymous_sops(session, orthanc_url, deidentifier)
        identity = lambda instance: instance.sop_uid
    else:
        held = orthanc_instance_ids(session, orthanc_url)
        identity = lambda instance: instance.orthanc_id
    if current and not held:
        raise ReconcileRefused(
            f"Orthanc lists no instance while the lake holds {len(current)}: not writing "
            "deletes for all of them (wrong ORTHANC_URL / DICOM_SERVER_URL, or a wiped server?)"
        )
    deleted = [instance for instance in current.values() if identity(instance) not in held]
    detected_at = now or datetime.now(UTC)
    path = write_deletions(fs, dicom_root, deletion_entries(deleted, detected_at), detected_at)
    return ReconcileResult(
        lake_instances=len(current),
        orthanc_instances=len(held),
        deleted=deleted,
        file=path,
        http_calls=session.http_calls - before,
        seconds=time.perf_counter() - started,
    )
