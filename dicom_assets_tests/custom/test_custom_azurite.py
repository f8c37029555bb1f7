"""``dicom_custom_<name>`` over an ADLS Gen2 lake (Azurite): a real sync writes the change log
into an Azurite container, the custom table is materialized there from the lake (zero calls to
the DICOM server), read back with delta-rs through the lake's storage options, and queried
through the DuckDB views (``delta_scan`` over ``abfss://`` with the lake's secret)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import duckdb
from dagster import materialize

from dicom_assets.assets.custom_sql import build_custom_sql_asset
from dicom_assets.assets.custom_tables import build_custom_table_asset
from dicom_assets.custom import parse_template
from dicom_assets.custom.lake_io import custom_table
from dicom_assets.resources import LakeResource
from dicom_assets.sql.duckdb_secret import emulator_url
from dicom_assets_tests.custom.synced_lake import (
    GEOMETRY_BODY,
    backfill,
    entry_with_modality,
    sync_replayed,
)
from dicom_assets_tests.sources.azure.replay_server import replay_services

T0 = datetime(2026, 4, 6, 9, 5, tzinfo=UTC)
DELETED = "1.2.826.0.1.3680043.8.498.91"
TEMPLATE = (
    "description: CT and MR geometry.\n" + GEOMETRY_BODY + "  family_name: PatientName.Alphabetic\n"
)


def _entry(sequence: int, minutes: int, modality: str | None, **options) -> dict:
    return entry_with_modality(sequence, T0 + timedelta(minutes=minutes), modality, **options)


def changes() -> list[dict]:
    """Two windows: CT, MR and OT instances in the first; in the second one more MR, and a CT
    instance created then deleted."""
    return [
        _entry(1, 0, "CT"),
        _entry(2, 1, "MR"),
        _entry(3, 2, "OT"),
        _entry(4, 60, "MR"),
        _entry(5, 61, "CT", sop_uid=DELETED, state="Replaced"),
        _entry(6, 62, None, action="Delete", sop_uid=DELETED, state="Deleted"),
    ]


def test_custom_table_is_materialized_in_an_azurite_lake_and_read_back(
    azurite_lake_env, monkeypatch
):
    with replay_services() as start:
        service = start(changes())
        resources, instance, keys = sync_replayed(monkeypatch, service.url)
        assert keys == ["2026-04-06-09:00", "2026-04-06-10:00"]

        calls = len(service.requests)
        template = parse_template(TEMPLATE, "geometry.yaml", "geometry")
        table_asset = build_custom_table_asset(template)
        backfill(table_asset, resources, instance, keys[0], keys[1])
        sql = build_custom_sql_asset([template], [table_asset])
        assert materialize([sql], resources=resources, instance=instance).success
        assert len(service.requests) == calls  # derived from the lake: no DICOM server call

    lake = LakeResource(url=azurite_lake_env["DICOM_LAKE_URL"])
    location = custom_table(lake, "geometry")
    container = azurite_lake_env["container"]
    assert location.uri == f"az://{container}/lake/result/Dicom_Customized/geometry"
    table = location.open()
    assert table.version() == 0  # both windows in one commit
    rows = table.to_pyarrow_table().sort_by("_sequence")
    assert rows.column("_sequence").to_pylist() == [1, 2, 4, 5, 6]  # OT filtered out
    assert rows.column("modality").to_pylist() == ["CT", "MR", "MR", "CT", None]
    assert rows.column("_action").to_pylist()[-1] == "delete"
    assert rows.column("row_spacing").to_pylist()[0] == 1.0
    assert rows.column("image_type").to_pylist()[0] == ["DERIVED", "SECONDARY", "OTHER"]
    assert rows.column("family_name").to_pylist()[:4] == ["Anony Mous"] * 4
    comment = rows.schema.field("row_spacing").metadata[b"comment"]
    assert comment == b"Row spacing, mm."

    # A plain later connection reads the views over the Azurite table (DuckDB's delta extension
    # needs the emulator's URL in its environment; a real account needs nothing more).
    os.environ["AZURITE_BLOB_STORAGE_URL"] = emulator_url(lake)
    with duckdb.connect(azurite_lake_env["DICOM_DUCKDB_PATH"], read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM dicom_custom.geometry").fetchone() == (5,)
        current = connection.execute(
            "SELECT _sequence, modality FROM dicom_custom.current_geometry ORDER BY _sequence"
        ).fetchall()
        assert current == [(1, "CT"), (2, "MR"), (4, "MR")]  # the deleted CT instance is gone
