"""``dicom_custom_<name>`` over a month of windows synced from the (replayed) Azure change feed:
backfilled from the lake with zero calls to the DICOM server, re-materialized when the template
changes, one atomic overwrite per window (range)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow.compute as pc
import pytest
from dagster import materialize
from deltalake import DeltaTable

from dicom_assets.assets.custom_sql import build_custom_sql_asset
from dicom_assets.assets.custom_tables import build_custom_table_asset
from dicom_assets.custom import parse_template
from dicom_assets.partitions import partition_key_of
from dicom_assets_tests.custom.synced_lake import (
    GEOMETRY_BODY,
    backfill,
    entry_with_modality,
    sync_replayed,
)
from dicom_assets_tests.sources.azure.replay_server import replay_services

T0 = datetime(2026, 3, 1, 8, 10, tzinfo=UTC)
DAYS = 30
REPLACED = "1.2.826.0.1.3680043.8.498.77"
UPDATED = "1.2.826.0.1.3680043.8.498.78"

TEMPLATE = "description: Image geometry of CT and MR instances.\n" + GEOMETRY_BODY
EDITED = TEMPLATE + "  family_name: PatientName.Alphabetic\n"

# The changes after the month, in order: (minutes after its last day's 08:30, modality, options).
LAST_CHANGES = [
    (0, "CT", {"sop_uid": REPLACED, "state": "Replaced"}),
    (1, "CT", {"action": "Update", "sop_uid": REPLACED, "state": "Replaced"}),
    (2, None, {"action": "Delete", "sop_uid": REPLACED, "state": "Deleted"}),
    (3, "MR", {"sop_uid": UPDATED, "state": "Replaced"}),
    (4, "MR", {"action": "Update", "sop_uid": UPDATED}),
]


def month_of_changes() -> list[dict]:
    """Three instances a day for 30 days (CT, MR, OT); at the end one CT instance updated and
    then deleted, and one updated with new pixel spacing."""
    entries, sequence = [], 0
    for day in range(DAYS):
        for index, modality in enumerate(("CT", "MR", "OT")):
            sequence += 1
            moment = T0 + timedelta(days=day, minutes=index)
            entries.append(entry_with_modality(sequence, moment, modality))
    last = T0 + timedelta(days=DAYS - 1, minutes=20)
    for offset, (minutes, modality, options) in enumerate(LAST_CHANGES, start=1):
        moment = last + timedelta(minutes=minutes)
        entries.append(entry_with_modality(sequence + offset, moment, modality, **options))
    entries[-1]["metadata"]["00280030"] = {"vr": "DS", "Value": [0.25, 0.25]}
    return entries


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Any:
    """A lake holding a month of windows, and the replayed service that fed it (still up)."""
    monkeypatch = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("custom-month")
    with replay_services() as start:
        service = start(month_of_changes())
        monkeypatch.setenv("DICOM_LAKE_URL", str(tmp / "lake"))
        monkeypatch.setenv("DICOM_DUCKDB_PATH", str(tmp / "warehouse.duckdb"))
        resources, instance, keys = sync_replayed(monkeypatch, service.url)
        yield {
            "service": service,
            "resources": resources,
            "instance": instance,
            "keys": keys,
            "lake": tmp / "lake",
        }
    monkeypatch.undo()


def custom_rows(month, name: str) -> Any:
    path = month["lake"] / "result" / "Dicom_Customized" / name
    return DeltaTable(str(path)).to_pyarrow_table().sort_by("_sequence")


def backfill_month(month, asset, first: str, last: str) -> None:
    backfill(asset, month["resources"], month["instance"], first, last)


def test_a_month_is_backfilled_from_the_lake_without_calling_the_server(month):
    assert len(month["keys"]) == DAYS  # one window a day
    calls_before = len(month["service"].requests)
    template = parse_template(TEMPLATE, "geometry.yaml", "geometry")
    asset = build_custom_table_asset(template)
    backfill_month(month, asset, month["keys"][0], month["keys"][-1])
    assert len(month["service"].requests) == calls_before  # zero HTTP calls to the DICOM server

    rows = custom_rows(month, "geometry")
    # CT and MR of every day, the replaced instance's create, update and delete, the updated
    # instance's create and update.
    assert rows.num_rows == 2 * DAYS + 5
    assert set(rows.column("modality").to_pylist()) == {"CT", "MR", None}
    assert rows.column("_action").to_pylist()[-5:] == [
        "create",
        "update",
        "delete",
        "create",
        "update",
    ]
    assert rows.column("row_spacing").to_pylist()[0] == 1.0
    assert rows.column("image_type").to_pylist()[0] == ["DERIVED", "SECONDARY", "OTHER"]
    # Every window's rows fall in their window.
    windows = {partition_key_of(t) for t in rows.column("_timestamp").to_pylist()}
    assert windows == set(month["keys"])

    # The whole range again (a second backfill): the same rows, none twice.
    backfill_month(month, asset, month["keys"][0], month["keys"][-1])
    again = custom_rows(month, "geometry")
    assert again.column("_sequence").to_pylist() == rows.column("_sequence").to_pylist()


def test_an_edited_template_re_materializes_with_the_new_column(month):
    first, second = month["keys"][:2]
    original = build_custom_table_asset(parse_template(TEMPLATE, "edit.yaml", "edit"))
    backfill_month(month, original, first, second)
    before = custom_rows(month, "edit")
    assert "family_name" not in before.column_names

    edited = build_custom_table_asset(parse_template(EDITED, "edit.yaml", "edit"))
    assert materialize(
        [edited], partition_key=first, resources=month["resources"], instance=month["instance"]
    ).success
    after = custom_rows(month, "edit")
    assert after.num_rows == before.num_rows  # the window's rows replaced, not added
    in_first = pc.equal(
        pc.floor_temporal(after.column("_timestamp"), unit="day"),
        pc.floor_temporal(before.column("_timestamp")[0], unit="day"),
    )
    names = after.column("family_name")
    assert set(pc.filter(names, in_first).to_pylist()) == {"Anony Mous"}
    assert set(pc.filter(names, pc.invert(in_first)).to_pylist()) == {None}


def test_a_column_whose_type_changed_is_refused_not_cast(month):
    key = month["keys"][0]
    asset = build_custom_table_asset(parse_template(TEMPLATE, "typed.yaml", "typed"))
    assert materialize(
        [asset], partition_key=key, resources=month["resources"], instance=month["instance"]
    ).success
    changed = TEMPLATE.replace("path: PixelSpacing[0]", "path: Modality")
    asset = build_custom_table_asset(parse_template(changed, "typed.yaml", "typed"))
    outcome = materialize(
        [asset],
        partition_key=key,
        resources=month["resources"],
        instance=month["instance"],
        raise_on_error=False,
    )
    assert not outcome.success
    error = outcome.get_step_failure_events()[0].event_specific_data.error
    failure = error.message + (error.cause.message if error.cause else "")
    assert "row_spacing" in failure and "give the column a new name" in failure
    assert custom_rows(month, "typed").column("row_spacing").type == "double"


def test_current_view_shows_updates_and_drops_deletes(month):
    template = parse_template(TEMPLATE, "current.yaml", "current")
    asset = build_custom_table_asset(template)
    backfill_month(month, asset, month["keys"][0], month["keys"][-1])
    sql = build_custom_sql_asset([template], [asset])
    assert materialize([sql], resources=month["resources"], instance=month["instance"]).success

    # A plain later connection, no project code: the views read the Delta table themselves.
    with duckdb.connect(os.environ["DICOM_DUCKDB_PATH"], read_only=True) as connection:
        history = connection.execute(
            "SELECT _action FROM dicom_custom.current WHERE SOPInstanceUID = ? ORDER BY _sequence",
            [REPLACED],
        ).fetchall()
        assert history == [("create",), ("update",), ("delete",)]
        assert connection.execute(
            "SELECT count(*) FROM dicom_custom.current_current WHERE SOPInstanceUID = ?", [REPLACED]
        ).fetchone() == (0,)
        assert connection.execute(
            "SELECT _action, row_spacing FROM dicom_custom.current_current "
            "WHERE SOPInstanceUID = ?",
            [UPDATED],
        ).fetchall() == [("update", 0.25)]
        # One current row per instance: CT and MR of every day, and the updated one.
        assert connection.execute(
            "SELECT count(*), count(DISTINCT SOPInstanceUID) FROM dicom_custom.current_current"
        ).fetchone() == (2 * DAYS + 1, 2 * DAYS + 1)
        described = dict(
            connection.execute(
                "SELECT column_name, column_type FROM (DESCRIBE dicom_custom.current)"
            ).fetchall()
        )
        assert described["row_spacing"] == "DOUBLE"
        assert described["image_type"] == "VARCHAR[]"
