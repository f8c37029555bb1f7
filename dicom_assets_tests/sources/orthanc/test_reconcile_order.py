"""Where a reconciliation's delete row ranks among a SOP's rows: just above the create it ends
and below any later change, in ``lake_order_key`` and in the views' rule (no server)."""

from __future__ import annotations

import duckdb

from dicom_assets.lake.current_instances import lake_order_key
from dicom_assets.resources import LakeResource
from dicom_assets.sources.orthanc.reconcile import delete_sequence


def test_delete_rank_between_the_create_and_any_later_change():
    create = 41
    assert lake_order_key(delete_sequence(create)) > lake_order_key(create)
    assert lake_order_key(delete_sequence(create)) < lake_order_key(create + 1)
    assert delete_sequence(create) < 0  # never a server's (positive) sequence


def test_views_rank_a_delete_row_just_above_the_create_it_ends(tmp_path):
    """The contract between reconcile rows and the view rule (docs/sync.md): ``current_instances``
    orders a SOP's rows by ``abs(_sequence) DESC, _sequence ASC``, i.e. ``lake_order_key``."""
    from datetime import UTC, datetime

    from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
    from dicom_assets.lake.change_log import write_window
    from dicom_assets.schema import convert_entries
    from dicom_assets.sql.duckdb_views import register_views

    lake = LakeResource(url=str(tmp_path / "lake"))
    when = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)

    def entry(sequence, action, sop):
        return ChangeFeedEntry(sequence, when, action, "1.2", "1.2.3", sop)

    def write(name, entries):
        write_window(lake.table(), "2026-11-25-10:00", convert_entries(entries).table, "append")

    creates = [(7, "1.2.3.7"), (9, "1.2.3.9"), (12, "1.2.3.9")]
    write("delta-000000000007-0000.parquet", [entry(s, ChangeAction.CREATE, u) for s, u in creates])
    deletes = [(delete_sequence(7), "1.2.3.7"), (delete_sequence(9), "1.2.3.9")]
    write(
        "reconcile-20261125T103100000000.parquet",
        [entry(s, ChangeAction.DELETE, u) for s, u in deletes],
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        register_views(connection, lake.table().uri)
        current = connection.execute(
            "SELECT SOPInstanceUID, _sequence FROM dicom.current_instances"
        ).fetchall()
    # 7: created then deleted (gone); 9: deleted, then re-created at 12 (current).
    assert current == [("1.2.3.9", 12)], (
        "dicom.current_instances must order rows by abs(_sequence) DESC, _sequence ASC so that a "
        "reconcile delete (-c) ranks just above the create c it ends (see docs/sync.md)"
    )
