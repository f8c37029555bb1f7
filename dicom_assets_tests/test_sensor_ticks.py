"""Ticks of ``dicom_change_feed_sensor`` against a real Orthanc, evaluated one by one with runs
made in process: stable run keys, no lost run after a crash, retries, and the tick's polling."""

from __future__ import annotations

import pytest
from dagster import (
    DagsterRun,
    DagsterRunStatus,
    build_sensor_context,
    instance_for_test,
    materialize,
)

from dicom_assets.assets import dicom_instances
from dicom_assets.devtools.samples import synthetic_instances, synthetic_study
from dicom_assets.resources import DicomServerResource
from dicom_assets.sensors import (
    AUTO_RETRY_RUN_ID_TAG,
    PARTITION_TAG,
    RUN_KEY_TAG,
    WILL_RETRY_TAG,
    SensorCursor,
    dicom_change_feed_sensor,
    parse_cursor,
    run_key,
)
from dicom_assets.wiring import build_resources
from dicom_assets_tests.conftest import store_synthetic
from dicom_assets_tests.sensor_helpers import lake_sops, store


@pytest.fixture
def orthanc_env(orthanc_env, monkeypatch) -> dict:
    monkeypatch.setenv("DICOM_RECONCILE_INTERVAL_SECONDS", "3600")
    return orthanc_env


@pytest.fixture
def resources(orthanc_env) -> dict:
    """The product's resources for the test's Orthanc and lake."""
    return build_resources()


def tick(instance, resources, cursor):
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return dicom_change_feed_sensor(context)


def run(instance, resources, request, key=None):
    return materialize(
        [dicom_instances],
        partition_key=request.partition_key,
        resources=resources,
        instance=instance,
        tags={**request.tags, RUN_KEY_TAG: key or request.run_key},
        raise_on_error=False,
    )


def _missing_server(orthanc) -> DicomServerResource:
    """The server, at a path that answers 404: every run fails at once (no retry waits)."""
    return DicomServerResource(url=f"{orthanc.url}/missing/dicom-web/", kind="orthanc")


def first_request(instance, resources):
    """The first tick, from an empty cursor, which must ask for one run: (its result, the run)."""
    evaluated = tick(instance, resources, None)
    [request] = evaluated.run_requests
    return evaluated, request


def assert_lake_holds(lake_dir: str, datasets: list) -> None:
    """The lake holds one row for each of ``datasets``, and no other."""
    assert sorted(lake_sops(lake_dir)) == sorted(ds.SOPInstanceUID for ds in datasets)


def test_crash_before_runs_complete_loses_nothing(orthanc, orthanc_env, resources):
    first = list(synthetic_instances(synthetic_study(1, series=2, instances_per_series=2)))
    store(orthanc, first)
    with instance_for_test() as instance:
        evaluated = tick(instance, resources, None)
        keys = [request.run_key for request in evaluated.run_requests]
        assert keys and all("@" in key for key in keys)
        # The daemon dies before it stored the cursor: the same tick again asks the same runs.
        assert [r.run_key for r in tick(instance, resources, None).run_requests] == keys
        # It dies after storing the cursor but before any run was created: asked again.
        again = tick(instance, resources, evaluated.cursor)
        assert [r.run_key for r in again.run_requests] == keys
        assert (
            SensorCursor.load(again.cursor).pending == SensorCursor.load(evaluated.cursor).pending
        )
        # The runs complete: nothing is asked any more.
        for request in evaluated.run_requests:
            assert run(instance, resources, request).success
        done = tick(instance, resources, again.cursor)
        assert done.run_requests == []
        assert SensorCursor.load(done.cursor).pending == {}
        assert_lake_holds(orthanc_env["DICOM_LAKE_URL"], first)


def test_failed_run_is_asked_again_with_a_new_key(orthanc, orthanc_env, resources):
    datasets = list(synthetic_instances(synthetic_study(2, series=1, instances_per_series=3)))
    store(orthanc, datasets)
    with instance_for_test() as instance:
        evaluated, request = first_request(instance, resources)
        # The run fails (a persistent 404), as a run killed by SIGKILL ends up once Dagster's
        # run monitoring has marked it failed.
        broken = {**resources, "dicom_server": _missing_server(orthanc)}
        failed = run(instance, broken, request)
        assert not failed.success
        assert instance.get_run_by_id(failed.run_id).status == DagsterRunStatus.FAILURE
        retried = tick(instance, resources, evaluated.cursor)
        [retry] = retried.run_requests
        assert retry.run_key == run_key(
            request.partition_key, parse_cursor(evaluated.cursor), retry=1
        )
        assert retry.partition_key == request.partition_key
        # Evaluated again before the retry ran: the same retry key (Dagster runs it once).
        assert [r.run_key for r in tick(instance, resources, evaluated.cursor).run_requests] == [
            retry.run_key
        ]
        assert run(instance, resources, retry).success
        assert tick(instance, resources, retried.cursor).run_requests == []
        assert_lake_holds(orthanc_env["DICOM_LAKE_URL"], datasets)


def test_a_run_dagster_will_retry_is_left_to_run_retries(orthanc, orthanc_env, resources):
    """With ``run_retries`` on (deploy/dagster.yaml), Dagster tags a failed run ``will_retry``
    and re-runs it under the same run key: the sensor asks no retry of its own meanwhile."""
    datasets = list(synthetic_instances(synthetic_study(4, series=1, instances_per_series=2)))
    store(orthanc, datasets)
    with instance_for_test() as instance:
        evaluated, request = first_request(instance, resources)
        failed = run(instance, {**resources, "dicom_server": _missing_server(orthanc)}, request)
        instance.add_run_tags(failed.run_id, {WILL_RETRY_TAG: "true"})
        assert tick(instance, resources, evaluated.cursor).run_requests == []
        # Once Dagster has made its re-run (here: only the tag), the sensor follows up as before.
        instance.add_run_tags(failed.run_id, {AUTO_RETRY_RUN_ID_TAG: "re-run"})
        [retry] = tick(instance, resources, evaluated.cursor).run_requests
        assert retry.run_key == f"{request.run_key}#retry-1"


def test_new_change_supersedes_a_pending_retry(orthanc, orthanc_env, resources):
    datasets = list(synthetic_instances(synthetic_study(3, series=1, instances_per_series=4)))
    store(orthanc, datasets[:2])
    with instance_for_test() as instance:
        evaluated, request = first_request(instance, resources)
        assert not run(
            instance, {**resources, "dicom_server": _missing_server(orthanc)}, request
        ).success
        store(orthanc, datasets[2:])
        latest = tick(instance, resources, evaluated.cursor)
        [newer] = latest.run_requests
        assert newer.run_key == run_key(request.partition_key, parse_cursor(latest.cursor))
        assert run(instance, resources, newer).success
        assert tick(instance, resources, latest.cursor).run_requests == []
        assert_lake_holds(orthanc_env["DICOM_LAKE_URL"], datasets)


def test_changes_while_a_run_is_queued_ask_for_no_second_run(orthanc, orthanc_env, resources):
    """The queued run pages the feed when it starts: it syncs the later changes too."""
    datasets = list(synthetic_instances(synthetic_study(4, series=1, instances_per_series=4)))
    store(orthanc, datasets[:2])
    with instance_for_test() as instance:
        evaluated, request = first_request(instance, resources)
        queued = DagsterRun(
            job_name="__ASSET_JOB",
            status=DagsterRunStatus.NOT_STARTED,  # created, not launched yet
            tags={RUN_KEY_TAG: request.run_key, PARTITION_TAG: request.partition_key},
        )
        instance.add_run(queued)
        store(orthanc, datasets[2:])
        later = tick(instance, resources, evaluated.cursor)
        assert later.run_requests == []
        assert parse_cursor(later.cursor) > parse_cursor(evaluated.cursor)
        assert (
            SensorCursor.load(later.cursor).pending == SensorCursor.load(evaluated.cursor).pending
        )
        # The queued run starts (here: the same request run in process) and syncs all four.
        instance.delete_run(queued.run_id)
        assert run(instance, resources, request).success
        assert_lake_holds(orthanc_env["DICOM_LAKE_URL"], datasets)
        done = tick(instance, resources, later.cursor)
        assert done.run_requests == [] and SensorCursor.load(done.cursor).pending == {}


def test_a_tick_that_finds_nothing_keeps_polling_and_returns_on_the_first_change(
    orthanc, orthanc_env, monkeypatch
):
    """Dagster starts ticks every 5 s at most; within a tick the sensor sees a change in ~0.5 s."""
    import threading
    import time as clock

    from dicom_assets.sensors import poll_until_changes

    monkeypatch.setenv("DICOM_SENSOR_WAIT_SECONDS", "1.5")
    monkeypatch.setenv("DICOM_SENSOR_POLL_SECONDS", "0.2")
    feed = DicomServerResource(url=orthanc.dicomweb_url, kind="orthanc").change_feed()
    started = clock.monotonic()
    assert poll_until_changes(feed, 0).changes == []
    assert 1.2 <= clock.monotonic() - started < 6.0  # waited, within the budget (and load)

    monkeypatch.setenv("DICOM_SENSOR_WAIT_SECONDS", "30")
    study = synthetic_study(7, series=1, instances_per_series=1)
    storing = threading.Timer(1.0, lambda: store_synthetic(orthanc, [study]))
    started = clock.monotonic()
    storing.start()
    poll = poll_until_changes(feed, 0)
    storing.join()
    assert len(poll.changes) == 1
    assert 1.0 <= clock.monotonic() - started < 8.0  # returned on the change, not after 30 s
