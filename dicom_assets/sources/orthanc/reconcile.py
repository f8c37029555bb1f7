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

Rows go through the lake's converter (``convert_entries``) into one Delta append per pass, in
the window of the detection time (``_timestamp`` is the detection time); a full re-sync of
that window replaces only the feed's rows (positive sequences), never these. The lake side is
read through :func:`dicom_assets.lake.change_log.current_identities`: the identity columns
and ``PatientID`` only (``_metadata`` only for the rare rows without a ``PatientID`` value).

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.lake.change_log import column_where_null, current_identities, write_window
from dicom_assets.partitions import partition_key_of
from dicom_assets.schema import convert_entries
from dicom_assets.sources.dicomweb import PATIENT_ID
from dicom_assets.sources.http import CountingSession
from dicom_assets.sources.orthanc.feed import orthanc_instance_id

INSTANCES_PAGE = 10_000


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
    version: int | None  # the Delta table version of the delete rows (None: none written)
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


def current_lake_instances(table) -> dict[str, LakeInstance]:
    """The instances the lake holds now: latest row per SOP Instance UID that is not a delete.
    ``table``: the change log (a ``LakeResource``, ``DeltaLocation`` or local table URI)."""
    rows = current_identities(table, extra_columns=["PatientID"])
    if not rows.num_rows:
        return {}
    data = {name: rows[name].to_pylist() for name in rows.column_names}
    patients = data.get("PatientID") or [None] * rows.num_rows
    latest: dict[str, int] = {}
    sequences, sops = data["_sequence"], data["SOPInstanceUID"]
    for row in range(rows.num_rows):
        sop = sops[row]
        if sop is None:
            continue
        kept = latest.get(sop)
        if kept is None or lake_order_key(sequences[row]) > lake_order_key(sequences[kept]):
            latest[sop] = row
    current = {
        sop: row for sop, row in latest.items() if data["_action"][row] != ChangeAction.DELETE.value
    }
    missing = {sequences[row] for row in current.values() if patients[row] is None}
    from_metadata: dict[int, str] = {}
    if missing:
        # Rows without a PatientID value: Orthanc hashed whatever the metadata holds (or "").
        extra = column_where_null(table, "_metadata", "PatientID")
        if extra.num_rows:
            for sequence, text in zip(
                extra["_sequence"].to_pylist(), extra["_metadata"].to_pylist()
            ):
                if sequence in missing:
                    from_metadata[sequence] = _patient_id_from_metadata(text)
    return {
        sop: LakeInstance(
            sequences[row],
            data["StudyInstanceUID"][row] or "",
            data["SeriesInstanceUID"][row] or "",
            sop,
            patients[row] if patients[row] is not None else from_metadata.get(sequences[row], ""),
        )
        for sop, row in current.items()
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


def write_deletions(table, entries: list[ChangeFeedEntry], detected_at: datetime) -> int | None:
    """One Delta append of delete rows in the detection time's window; the table version."""
    if not entries:
        return None
    batch = convert_entries(entries)
    if batch.quarantined:  # three UIDs and a sequence always convert; anything else is a bug
        raise ValueError(f"delete rows could not be converted: {batch.quarantined[0].reason}")
    commit = write_window(
        table,
        partition_key_of(detected_at),
        batch.table,
        "append",
        metadata={"dicom.operation": "reconcile"},
    )
    return commit.version


def reconcile_orthanc(
    table,
    orthanc_url: str,
    session: CountingSession | None = None,
    now: Any = None,
    deidentifier: Any = None,
) -> ReconcileResult:
    """One pass: write delete rows for the lake's current instances Orthanc no longer holds."""
    started = time.perf_counter()
    session = session or CountingSession()
    before = session.http_calls
    current = current_lake_instances(table)  # first: see the module's docstring
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
    version = write_deletions(table, deletion_entries(deleted, detected_at), detected_at)
    return ReconcileResult(
        lake_instances=len(current),
        orthanc_instances=len(held),
        deleted=deleted,
        version=version,
        http_calls=session.http_calls - before,
        seconds=time.perf_counter() - started,
    )
