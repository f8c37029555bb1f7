"""The index of current instances: over a scripted history of the change log (appends, a
reconciliation delete, a window's overwrite, compaction, vacuum), a pass that reads only the
files the index does not cover returns what a full read returns, at every step."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from dicom_assets.lake.change_log import write_window
from dicom_assets.lake.current_index import IndexLocation, indexed_current_instances
from dicom_assets.lake.current_instances import current_instances
from dicom_assets.lake.layout import CURRENT_INSTANCES_INDEX
from dicom_assets.lake.maintenance import compact, maintain
from dicom_assets.resources import LakeResource

UTC = dt.UTC
HOUR = "2026-11-25-17:00"


def rows(changes, hour=17, with_patient=True) -> pa.Table:
    """Change-log rows: ``changes`` are (sequence, SOP, action); patient "P<SOP>" either in
    the ``PatientID`` column or only in ``_metadata`` (as rows written before that column)."""
    sequences = [sequence for sequence, _, _ in changes]
    sops = [f"1.2.{sop}" for _, sop, _ in changes]
    metadata = [orjson.dumps({"00100020": {"vr": "LO", "Value": [f"P{s}"]}}) for s in sops]
    data = {
        "_sequence": pa.array(sequences, pa.int64()),
        "_timestamp": pa.array(
            [dt.datetime(2026, 11, 25, hour, abs(s) % 60, tzinfo=UTC) for s in sequences],
            pa.timestamp("us", tz="UTC"),
        ),
        "_action": pa.array([action for _, _, action in changes]),
        "StudyInstanceUID": pa.array(["1.9"] * len(changes)),
        "SeriesInstanceUID": pa.array(["1.9.1"] * len(changes)),
        "SOPInstanceUID": pa.array(sops),
        "_metadata": pa.array([text.decode() for text in metadata]),
    }
    if with_patient:
        data["PatientID"] = pa.array([f"P{sop}" for sop in sops])
    return pa.table(data)


def as_set(current) -> set[tuple]:
    return set(current)


@pytest.fixture(params=["local", "azurite"])
def lake(request, tmp_path) -> LakeResource:
    if request.param == "local":
        return LakeResource(url=str(tmp_path / "lake"))
    return LakeResource(url=request.getfixturevalue("azurite_lake_env")["DICOM_LAKE_URL"])


def passes_equal_full_read(lake: LakeResource, index: IndexLocation):
    """Two passes: the first brings the index up to date, the second (no new commit) must read
    no data file; both must equal a full read."""
    first = indexed_current_instances(lake, index)
    expected = as_set(current_instances(lake))
    assert as_set(first.current) == expected
    second = indexed_current_instances(lake, index)
    assert as_set(second.current) == expected
    assert second.incremental and second.files_read == 0 and not second.index_written
    return first


def test_incremental_passes_equal_a_full_read_over_a_history(lake):
    index = IndexLocation.of(lake)
    table = lake.table()
    assert indexed_current_instances(lake, index).files_total == 0  # no table yet: nothing
    write_window(
        table, HOUR, rows([(1, 1, "create"), (2, 2, "create"), (3, 3, "create")]), "append"
    )
    first = passes_equal_full_read(lake, index)
    assert not first.incremental and first.full_read_reason == "no index"
    assert first.files_read == first.files_total == 1

    write_window(table, HOUR, rows([(4, 1, "update")]), "append")  # a later change of SOP 1
    step = passes_equal_full_read(lake, index)
    assert step.incremental and step.files_read == 1 and step.files_total == 2
    write_window(table, HOUR, rows([(-2, 2, "delete")]), "append")  # reconciliation's delete
    assert passes_equal_full_read(lake, index).files_read == 1
    write_window(table, HOUR, rows([(5, 5, "create")], with_patient=False), "append")
    step = passes_equal_full_read(lake, index)
    assert step.incremental and ("1.2.5", "P1.2.5") in {
        (i.sop_uid, i.patient_id) for i in step.current
    }

    # A full re-sync of the window replaces the feed's rows (not the delete): files removed.
    replaced = rows([(1, 1, "create"), (4, 1, "update"), (5, 5, "create"), (6, 6, "create")])
    write_window(table, HOUR, replaced, "overwrite")
    step = passes_equal_full_read(lake, index)
    assert not step.incremental and step.full_read_reason.startswith("files removed")
    assert {i.sop_uid for i in step.current} == {"1.2.1", "1.2.5", "1.2.6"}  # 3 replaced away

    for sequence in range(7, 10):  # small commits in another window, then compaction
        write_window(
            table, "2026-11-25-18:00", rows([(sequence, sequence, "create")], 18), "append"
        )
    assert passes_equal_full_read(lake, index).files_read == 3
    assert compact(table, compact_after=2).files_removed > 0
    step = passes_equal_full_read(lake, index)
    assert not step.incremental and step.full_read_reason.startswith("files removed")

    write_window(table, HOUR, rows([(10, 2, "create")]), "append")  # SOP 2 stored again
    assert passes_equal_full_read(lake, index).incremental
    assert maintain(table, retention_hours=0).vacuumed_files > 0  # compacted-away files go
    step = passes_equal_full_read(lake, index)
    assert "1.2.2" in {i.sop_uid for i in step.current}
    assert len(step.current) == len(current_instances(lake)) == 7


def test_a_corrupt_or_foreign_index_falls_back_to_a_full_read(tmp_path):
    lake = LakeResource(url=str(tmp_path / "lake"))
    index = IndexLocation.of(lake)
    write_window(lake.table(), HOUR, rows([(1, 1, "create"), (2, 2, "create")]), "append")
    passes_equal_full_read(lake, index)
    Path(index.path).write_bytes(b"PAR1 not an index")
    step = indexed_current_instances(lake, index)
    assert not step.incremental and step.full_read_reason == "index unreadable (ArrowInvalid)"
    assert as_set(step.current) == as_set(current_instances(lake))
    assert indexed_current_instances(lake, index).incremental  # rebuilt by the full read

    # The table deleted and written anew: the index's files and id are another table's.
    shutil.rmtree(lake.dicom_root())
    write_window(lake.table(), HOUR, rows([(3, 3, "create")]), "append")
    step = indexed_current_instances(lake, index)
    assert step.full_read_reason == "index of another table"
    assert [i.sop_uid for i in step.current] == ["1.2.3"]


def test_a_pass_without_new_commits_reads_no_data_file(tmp_path):
    """Proven by taking every data file away: the table's log is all the pass reads."""
    lake = LakeResource(url=str(tmp_path / "lake"))
    index = IndexLocation.of(lake)
    for sequence in range(1, 4):
        write_window(lake.table(), HOUR, rows([(sequence, sequence, "create")]), "append")
    expected = as_set(indexed_current_instances(lake, index).current)
    root = Path(lake.dicom_root())
    aside = tmp_path / "aside"
    shutil.move(root / "_date=2026-11-25", aside)
    with pytest.raises(Exception):  # noqa: B017 - a full read needs the files
        current_instances(lake)
    step = indexed_current_instances(lake, index)
    assert step.incremental and step.files_read == 0 and as_set(step.current) == expected
    assert index.path == lake.path(CURRENT_INSTANCES_INDEX)
    assert not index.path.startswith(str(root))  # outside the table's folder: no reader sees it
