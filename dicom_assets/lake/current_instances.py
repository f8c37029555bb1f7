"""The instances the lake holds now, read cheaply, and the delete rows that end some of them.

What reconciliation needs from the lake (``reconcile_job.py``; the comparison with the server
is in ``sources/``): for every SOP Instance UID, its latest row, kept when that row is not a
delete. Read through :func:`~dicom_assets.lake.change_log.current_identities`: the identity
columns and ``PatientID`` only, projected (Parquet is columnar: ``_metadata`` and the other
tag columns are never read); ``_metadata`` only for the rare current rows without a
``PatientID`` value. The latest row per SOP is picked by Arrow kernels (one sort, one pass
over the sorted SOPs), not per row in Python: at 100,000 instances the read and the pick take
a fraction of the pass (docs/performance.md, "Orthanc reconciliation pass").

Row order (:func:`lake_order_key`): ``abs(_sequence)`` descending, then the negative first.
A delete row written by reconciliation carries ``-c``, where ``c`` is the sequence of the
create it ends (``sources/orthanc/reconcile.py``): it ranks just above that create and below
any later change of the SOP, the rule of ``dicom.current_instances`` too (docs/sync.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.lake.change_log import column_where_null, current_identities, write_window
from dicom_assets.partitions import partition_key_of
from dicom_assets.schema import convert_entries

PATIENT_ID_TAG = "00100020"  # (0010,0020) Patient ID, as a DICOM JSON key
DELETE = "delete"  # the ``_action`` of a delete row


def lake_order_key(sequence: int) -> tuple[int, int]:
    """Rank of a row among the rows of its SOP Instance UID: the highest is the current one."""
    return abs(sequence), 1 if sequence < 0 else 0


@dataclass(frozen=True)
class CurrentInstance:
    """An instance the lake holds as current: its latest row's sequence and identifiers."""

    sequence: int
    study_uid: str
    series_uid: str
    sop_uid: str
    patient_id: str


def _latest_rows(rows: pa.Table) -> pa.Table:
    """The latest row of each SOP Instance UID (rows without one are dropped)."""
    rows = rows.filter(pc.is_valid(rows["SOPInstanceUID"]))
    sequence = rows["_sequence"]
    # lake_order_key as one number: 2 * abs(sequence), + 1 for a delete row (negative).
    rank = pc.add(pc.multiply(pc.abs(sequence), 2), pc.cast(pc.less(sequence, 0), pa.int64()))
    rows = rows.append_column("_rank", rank)
    rows = rows.take(
        pc.sort_indices(rows, [("SOPInstanceUID", "ascending"), ("_rank", "descending")])
    )
    sops = rows["SOPInstanceUID"].combine_chunks()
    if len(sops) == 0:
        return rows
    # The first row of each run of equal SOPs is its latest.
    first = pc.not_equal(sops.slice(1), sops.slice(0, len(sops) - 1))
    starts = pa.concat_arrays([pa.array([True]), first.fill_null(True)])
    return rows.filter(starts)


def _patient_id_from_metadata(text: str | None) -> str:
    if not text:
        return ""
    try:
        element = orjson.loads(text).get(PATIENT_ID_TAG) or {}
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    value = (element.get("Value") or [""])[0] if isinstance(element, dict) else ""
    return value if isinstance(value, str) else ""


def _patient_ids(table, current: pa.Table) -> list[str]:
    """``PatientID`` of each current row; where it is null, the one its ``_metadata`` holds
    (or ""): the value the server saw when it stored the instance."""
    column = current["PatientID"] if "PatientID" in current.column_names else None
    patients = column.to_pylist() if column is not None else [None] * current.num_rows
    missing = [index for index, value in enumerate(patients) if value is None]
    if not missing:
        return patients
    sequences = current["_sequence"].to_pylist()
    wanted = {sequences[index] for index in missing}
    found: dict[int, str] = {}
    extra = column_where_null(table, "_metadata", "PatientID")
    if extra.num_rows:
        for sequence, text in zip(extra["_sequence"].to_pylist(), extra["_metadata"].to_pylist()):
            if sequence in wanted:
                found[sequence] = _patient_id_from_metadata(text)
    for index in missing:
        patients[index] = found.get(sequences[index], "")
    return patients


def current_instances(table) -> list[CurrentInstance]:
    """The instances the lake holds now: latest row per SOP Instance UID that is not a delete.
    ``table``: the change log (a ``LakeResource``, ``DeltaLocation`` or local table URI)."""
    rows = current_identities(table, extra_columns=["PatientID"])
    if not rows.num_rows:
        return []
    latest = _latest_rows(rows)
    current = latest.filter(pc.fill_null(pc.not_equal(latest["_action"], DELETE), True))
    patients = _patient_ids(table, current)
    return [
        CurrentInstance(sequence, study or "", series or "", sop, patient)
        for sequence, study, series, sop, patient in zip(
            current["_sequence"].to_pylist(),
            _texts(current, "StudyInstanceUID"),
            _texts(current, "SeriesInstanceUID"),
            current["SOPInstanceUID"].to_pylist(),
            patients,
        )
    ]


def _texts(rows: pa.Table, column: str) -> list:
    """A column's values (all None when a table was written without that column)."""
    if column in rows.column_names:
        return rows[column].to_pylist()
    return [None] * rows.num_rows


def append_deletes(table, entries: list, detected_at: datetime) -> int | None:
    """One Delta append of delete rows (``ChangeFeedEntry``) in the detection time's window;
    the table version (None: nothing to write). A full re-sync of that window replaces only
    the feed's rows (positive sequences), never these."""
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
