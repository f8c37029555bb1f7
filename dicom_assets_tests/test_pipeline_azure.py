"""End to end with the Azure DICOM service's change feed (replayed, checked against its OpenAPI
documents): every create, update and delete lands, and current_instances is the server's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from dagster import build_sensor_context, materialize

from dicom_assets.assets import dicom_external_tables
from dicom_assets.sensors import dicom_change_feed_sensor
from dicom_assets.wiring import build_resources
from dicom_assets_tests.conftest import run_requested

from .sources.azure.recorded_entries import make_entry
from .sources.azure.replay_server import replay_services

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
UID = "1.2.826.0.1.3680043.8.498.4242"
OTHER = "1.2.826.0.1.3680043.8.498.4343"


def history() -> list[dict]:
    """create -> update -> delete -> re-create of one instance, across two windows."""
    return [
        make_entry(
            1, T0 + timedelta(minutes=1), sop_uid=UID, state="Replaced", with_metadata=False
        ),
        make_entry(2, T0 + timedelta(minutes=2), sop_uid=OTHER),
        make_entry(3, T0 + timedelta(minutes=30), action="Update", sop_uid=UID, state="Replaced"),
        make_entry(
            4, T0 + timedelta(hours=1, minutes=5), action="Delete", sop_uid=UID, state="Deleted"
        ),
        make_entry(7, T0 + timedelta(hours=1, minutes=6), sop_uid=UID),  # gap 5-6 in sequences
    ]


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_every_change_lands_and_current_state_is_right(api_version, lake_env, monkeypatch):
    with replay_services() as start:
        service = start(history())
        monkeypatch.setenv("DICOM_SERVER_KIND", "azure")
        monkeypatch.setenv("DICOM_SERVER_URL", service.url)
        monkeypatch.setenv("DICOM_API_VERSION", api_version)
        resources = build_resources()

        with build_sensor_context(cursor=None, resources=resources) as context:
            result = dicom_change_feed_sensor(context)
        keys = [request.partition_key for request in result.run_requests]
        assert keys == ["2026-03-02-09:00", "2026-03-02-10:00"]
        run_requested(resources, result)
        assert materialize([dicom_external_tables], resources=resources).success

    with duckdb.connect(lake_env["DICOM_DUCKDB_PATH"], read_only=True) as connection:
        rows = connection.execute(
            "SELECT _sequence, _action, SOPInstanceUID, _metadata IS NULL "
            "FROM dicom.instances ORDER BY 1"
        ).fetchall()
        assert rows == [
            (1, "create", UID, True),
            (2, "create", OTHER, False),
            (3, "update", UID, False),
            (4, "delete", UID, True),
            (7, "create", UID, False),
        ]
        current = connection.execute(
            "SELECT SOPInstanceUID, _sequence FROM dicom.current_instances ORDER BY 1"
        ).fetchall()
        assert current == [(UID, 7), (OTHER, 2)] or current == sorted([(UID, 7), (OTHER, 2)])
        assert connection.execute("SELECT sum(instances) FROM dicom.studies").fetchone()[0] == 2
