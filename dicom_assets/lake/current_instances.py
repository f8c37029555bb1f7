"""The instances the lake holds now, read cheaply, and the delete rows that end some of them.

What reconciliation needs from the lake (``reconcile_job.py``; the comparison with the server
is in ``sources/``): for every SOP Instance UID, its latest row, kept when that row is not a
delete. Read through :func:`~dicom_assets.lake.change_log.identity_rows`: the identity
columns and ``PatientID`` only, projected (Parquet is columnar: ``_metadata`` and the other
tag columns are never read); ``_metadata`` only for the rare current rows without a
``PatientID`` value. The latest row per SOP is picked with array kernels (SOPs hashed to
integer codes, one sort by rank, the first row of each code), not per row in Python
(docs/performance.md, "Orthanc reconciliation pass"). ``current_instances`` reads every file;
the job reads through ``lake/current_index.py``, which applies the same functions
(``latest_identities``, ``merge_latest``) to the files its index does not cover yet.

Row order (:func:`lake_order_key`): ``abs(_sequence)`` descending, then the negative first.
A delete row written by reconciliation carries ``-c``, where ``c`` is the sequence of the
create it ends (``sources/orthanc/reconcile.py``): it ranks just above that create and below
any later change of the SOP, the rule of ``dicom.current_instances`` too (docs/sync.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from dicom_assets.lake.change_log import (
    change_log_files,
    column_where_null,
    identity_rows,
    write_window,
)
from dicom_assets.partitions import partition_key_of
from dicom_assets.schema import convert_entries

PATIENT_ID_TAG = "00100020"  # (0010,0020) Patient ID, as a DICOM JSON key
DELETE = "delete"  # the ``_action`` of a delete row


def lake_order_key(sequence: int) -> tuple[int, int]:
    """Rank of a row among the rows of its SOP Instance UID: the highest is the current one."""
    return abs(sequence), 1 if sequence < 0 else 0


class CurrentInstance(NamedTuple):
    """An instance the lake holds as current: its latest row's sequence and identifiers."""

    sequence: int
    study_uid: str
    series_uid: str
    sop_uid: str
    patient_id: str


@dataclass(frozen=True)
class CurrentInstances:
    """The instances the lake holds as current, as columns (one entry per instance, in the
    same order): a pass compares 100,000 of them, and one Python object each would cost more
    than reading them (the garbage collector walks every new object)."""

    sequences: list[int]
    study_uids: list[str]
    series_uids: list[str]
    sop_uids: list[str]
    patient_ids: list[str]

    def __len__(self) -> int:
        return len(self.sop_uids)

    def __iter__(self) -> Iterator[CurrentInstance]:
        columns = (self.sequences, self.study_uids, self.series_uids, self.sop_uids)
        return map(CurrentInstance._make, zip(*columns, self.patient_ids))


NONE = CurrentInstances([], [], [], [], [])


# The latest row of each SOP Instance UID (delete rows included), patient ids resolved: what
# ``current_instances`` keeps of a set of change-log files, and what the incremental index
# (``lake/current_index.py``) stores and merges with the rows of newer files.
LATEST_SCHEMA = pa.schema(
    [
        ("_sequence", pa.int64()),
        ("_action", pa.string()),
        ("StudyInstanceUID", pa.string()),
        ("SeriesInstanceUID", pa.string()),
        ("SOPInstanceUID", pa.string()),
        ("PatientID", pa.string()),
    ]
)
UID_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")  # "" for null


def _latest_rows(rows: pa.Table) -> pa.Table:
    """The latest row of each SOP Instance UID (rows without one are dropped). Among rows of
    equal rank (the same change, written twice) the first in ``rows`` is kept."""
    rows = rows.filter(pc.is_valid(rows["SOPInstanceUID"]))
    if not rows.num_rows:
        return rows
    sequence = rows["_sequence"].to_numpy()
    # lake_order_key as one number: 2 * abs(sequence), + 1 for a delete row (negative).
    rank = 2 * np.abs(sequence) + (sequence < 0)
    # SOPs as integer codes (a hash pass), so that no string is ever sorted: order the rows
    # by rank, highest first; the first row of each SOP in that order is its latest.
    sops = pc.dictionary_encode(rows["SOPInstanceUID"]).combine_chunks().indices.to_numpy()
    by_rank = np.argsort(-rank, kind="stable")
    _, first = np.unique(sops[by_rank], return_index=True)
    return rows.take(pa.array(by_rank[first]))


def _normalized(rows: pa.Table) -> pa.Table:
    """``rows`` in ``LATEST_SCHEMA`` (a column the table was written without: "" or null)."""
    columns = []
    for field in LATEST_SCHEMA:
        if field.name in rows.column_names:
            column = pc.cast(rows[field.name], field.type)
        else:
            column = pa.nulls(rows.num_rows, field.type)
        if field.name in UID_COLUMNS:
            column = pc.fill_null(column, "")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=LATEST_SCHEMA)


def _patient_id_from_metadata(text: str | None) -> str:
    if not text:
        return ""
    try:
        element = orjson.loads(text).get(PATIENT_ID_TAG) or {}
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    value = (element.get("Value") or [""])[0] if isinstance(element, dict) else ""
    return value if isinstance(value, str) else ""


def _is_current(latest: pa.Table) -> pa.ChunkedArray:
    return pc.fill_null(pc.not_equal(latest["_action"], DELETE), True)


def _with_patient_ids(dataset: ds.Dataset, latest: pa.Table) -> pa.Table:
    """``latest`` with ``PatientID`` set on every current row: where it is null, the one the
    row's ``_metadata`` holds (or ""), the value the server saw when it stored the instance.
    ``_metadata`` is read from ``dataset`` (the files ``latest`` came from) only when needed."""
    missing = pc.and_(pc.is_null(latest["PatientID"]), _is_current(latest))
    if not pc.any(missing).as_py():
        return latest
    patients = latest["PatientID"].to_pylist()
    sequences = latest["_sequence"].to_pylist()
    wanted = {sequences[index] for index in np.flatnonzero(missing.to_numpy())}
    found: dict[int, str] = {}
    extra = column_where_null(dataset, "_metadata", "PatientID")
    if extra.num_rows:
        for sequence, text in zip(extra["_sequence"].to_pylist(), extra["_metadata"].to_pylist()):
            if sequence in wanted:
                found[sequence] = _patient_id_from_metadata(text)
    for index in np.flatnonzero(missing.to_numpy()):
        patients[index] = found.get(sequences[index], "")
    column = pa.array(patients, pa.string())
    return latest.set_column(latest.schema.get_field_index("PatientID"), "PatientID", column)


def latest_identities(dataset: ds.Dataset) -> pa.Table:
    """The latest row per SOP Instance UID among the rows of ``dataset`` (all or some files of
    the change log), in ``LATEST_SCHEMA``, with the patient id of every current row resolved."""
    rows = identity_rows(dataset, extra_columns=["PatientID"])
    return _with_patient_ids(dataset, _normalized(_latest_rows(rows)))


def merge_latest(older: pa.Table, newer: pa.Table) -> pa.Table:
    """The latest rows of two sets of files together: the latest row of a SOP over all rows is
    the latest of the two sets' latest rows (the rank is a total order of a SOP's changes)."""
    return _latest_rows(pa.concat_tables([older, newer]).combine_chunks())


def instances_of(latest: pa.Table) -> CurrentInstances:
    """The current instances among the latest rows (those that are not a delete)."""
    current = latest.filter(_is_current(latest))
    if not current.num_rows:
        return NONE
    return CurrentInstances(
        sequences=current["_sequence"].to_pylist(),
        study_uids=current["StudyInstanceUID"].to_pylist(),
        series_uids=current["SeriesInstanceUID"].to_pylist(),
        sop_uids=current["SOPInstanceUID"].to_pylist(),
        patient_ids=pc.fill_null(current["PatientID"], "").to_pylist(),
    )


def current_instances(table) -> CurrentInstances:
    """The instances the lake holds now: latest row per SOP Instance UID that is not a delete,
    read from every file of the change log (``lake/current_index.py`` reads only the new ones).
    ``table``: the change log (a ``LakeResource``, ``DeltaLocation`` or local table URI)."""
    files = change_log_files(table)
    if files is None:
        return NONE
    return instances_of(latest_identities(files.dataset))


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
