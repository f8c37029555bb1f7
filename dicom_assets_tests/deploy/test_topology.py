"""The deployed topology, run here as processes, with a real browser on its UI.

PostgreSQL (this machine's, 127.0.0.1:5432, a fresh database per run), Orthanc as the DICOM
source, the code location server (`dagster code-server start`), dagster-webserver and
dagster-daemon with the production deploy/dagster.yaml and the gRPC deploy/workspace.yaml.
The sensor-launched runs must write what Orthanc stores to the lake and the SQL views must
answer; a daemon restart (with changes stored while it is down) must lose and duplicate
nothing. Then headless Chromium launches a backfill from the UI and its runs must succeed.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest

from dicom_assets.devtools.orthanc_server import OrthancServer
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.partitions import PARTITION_KEY_FORMAT, partition_key_of
from dicom_assets_tests.deploy.deployed_files import REPO_ROOT
from dicom_assets_tests.deploy.deployed_runs import (
    SYNC_TIMEOUT,
    backfill_of,
    finished_runs,
    partition_of,
    sensor_runs,
)
from dicom_assets_tests.deploy.topology import DeployedTopology, lake_rows, view_counts, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh database on this machine's PostgreSQL, dropped afterwards."""
    name = f"dagster_topology_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@dataclass
class Deployment:
    topology: DeployedTopology
    orthanc: OrthancServer
    lake: Path
    warehouse: Path
    stored_sop_uids: list[str]

    def store_study(self, index: int) -> list[str]:
        """Stores a synthetic study (2 series of 3 instances) in Orthanc; returns its SOP UIDs."""
        datasets = list(
            synthetic_instances(synthetic_study(index, series=2, instances_per_series=3))
        )
        answers = upload(self.orthanc.url, [encode(ds) for ds in datasets])
        assert all(answer is not None for answer in answers)
        uids = [str(ds.SOPInstanceUID) for ds in datasets]
        self.stored_sop_uids.extend(uids)
        return uids


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_database) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("topology")
    lake, warehouse = workdir / "lake", workdir / "warehouse.duckdb"
    # Partitions start where the data starts, as in the demo (the hour before, which the
    # backfill test also materializes): the asset page shows its windows mostly filled.
    start = partition_key_of(datetime.now(UTC) - timedelta(hours=1))
    with OrthancServer(workdir / "orthanc") as orthanc:
        topology = DeployedTopology(
            workdir,
            postgres_database,
            app_env={
                "DICOM_SERVER_KIND": "orthanc",
                "DICOM_SERVER_URL": orthanc.dicomweb_url,
                "ORTHANC_URL": orthanc.url,
                "DICOM_LAKE_URL": str(lake),
                "DICOM_DUCKDB_PATH": str(warehouse),
                "DICOM_PARTITIONS_START": start,
            },
        )
        try:
            topology.start()
            yield Deployment(topology, orthanc, lake, warehouse, [])
        finally:
            topology.stop()


def wait_until_synced(deployment: Deployment, tmp_path: Path) -> list[tuple]:
    """Waits until the lake holds every stored instance and the views count them all."""
    expected = len(deployment.stored_sop_uids)

    def synced() -> list[tuple] | None:
        rows = lake_rows(deployment.lake)
        if len(rows) < expected:
            return None
        if view_counts(deployment.warehouse, tmp_path) != (len(rows), expected):
            return None
        return rows

    try:
        return wait_for("lake and views up to date", synced, timeout=SYNC_TIMEOUT, interval=1)
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{deployment.topology.logs()}") from error


def assert_exactly_the_stored_instances(rows: list[tuple], stored: list[str]) -> None:
    sequences = Counter(row[0] for row in rows)
    assert [s for s, n in sequences.items() if n > 1] == [], "a change-feed entry was written twice"
    assert Counter(row[1] for row in rows) == Counter(stored)
    assert {row[2] for row in rows} == {"create"}


def test_sensor_syncs_and_a_daemon_restart_loses_and_duplicates_nothing(deployment, tmp_path):
    topology = deployment.topology
    deployment.store_study(1)
    rows = wait_until_synced(deployment, tmp_path)
    assert_exactly_the_stored_instances(rows, deployment.stored_sop_uids)
    runs = sensor_runs(topology)
    assert runs and all(run["status"] == "SUCCESS" for run in runs), runs

    # Changes stored while the daemon is down wait in the feed; the cursor is in PostgreSQL.
    topology.stop_daemon()
    deployment.store_study(2)
    topology.start_daemon()
    deployment.store_study(3)

    rows = wait_until_synced(deployment, tmp_path)
    assert_exactly_the_stored_instances(rows, deployment.stored_sop_uids)
    assert len(rows) == 18
    runs = sensor_runs(topology)
    run_keys = [t["value"] for run in runs for t in run["tags"] if t["key"] == "dagster/run_key"]
    assert len(run_keys) == len(set(run_keys)) == len(runs)
    assert all(run["status"] == "SUCCESS" for run in runs), runs


# ---- the UI in a real browser -------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
UI_TIMEOUT_MS = 30_000  # the UI polls its server; CI machines are small
ARTIFACTS = REPO_ROOT / "test-artifacts"


@contextmanager
def chromium_page() -> Iterator:
    """A page of headless Chromium (Debian's), closed with its browser afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--disable-extensions"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def test_backfill_launched_from_the_ui_succeeds(deployment, tmp_path):
    from playwright.sync_api import expect

    assert CHROMIUM.exists(), "install Debian's chromium (apt-get install chromium)"
    topology = deployment.topology
    if not deployment.stored_sop_uids:  # running this test alone
        deployment.store_study(4)
    rows_before = wait_until_synced(deployment, tmp_path)
    data_window = partition_key_of(min(row[3] for row in rows_before))
    previous = datetime.strptime(data_window, PARTITION_KEY_FORMAT) - timedelta(hours=1)
    window_before = previous.strftime(PARTITION_KEY_FORMAT)
    ARTIFACTS.mkdir(exist_ok=True)

    with chromium_page() as page:
        # The sensor is on.
        page.goto(
            f"{topology.webserver_url}/locations/dicom_assets/sensors/dicom_change_feed_sensor"
        )
        running = page.locator("tr", has_text="Running").locator("input[type=checkbox]")
        expect(running).to_be_checked(timeout=UI_TIMEOUT_MS)

        # The asset and its partitions, the synced window among the materialized ones.
        page.goto(f"{topology.webserver_url}/assets/dicom_instances?view=partitions")
        expect(page.get_by_text(re.compile(r"Materialized \([1-9]\d*\)"))).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        expect(page.get_by_text(data_window).first).to_be_visible(timeout=UI_TIMEOUT_MS)

        # Backfill the synced window and the hour before it from the Materialize dialog.
        page.get_by_role("button", name="Materialize…").click()
        dialog = page.get_by_role("dialog")
        selection = dialog.locator("input[type=text]").first
        selection.fill(f"[{window_before}...{data_window}]")
        selection.press("Enter")
        expect(dialog.get_by_text("2 partitions", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
        dialog.get_by_role("button", name="Launch backfill").click()
        expect(dialog).to_be_hidden(timeout=UI_TIMEOUT_MS)

        backfill = wait_for(
            "backfill finished",
            lambda: (
                (b := backfill_of(topology, [window_before, data_window]))
                and b["status"] not in {"REQUESTED", "CANCELING", "FAILING"}
                and b
            ),
            timeout=SYNC_TIMEOUT,
            interval=1,
        )
        page.goto(f"{topology.webserver_url}/runs/b/{backfill['id']}")
        # The UI may shorten each key to its end ("…16:00...…17:00").
        selection_text = re.compile(
            rf"{re.escape(window_before[-5:])}\s*(…|\.\.\.).*{re.escape(data_window[-5:])}"
        )
        expect(page.get_by_text(selection_text)).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(page.get_by_text("Succeeded", exact=True).first).to_be_visible(timeout=UI_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / "deploy-topology-backfill.png"), full_page=True)

    assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, (backfill, topology.logs())
    runs = finished_runs(topology, "dagster/backfill", backfill["id"])
    assert {partition_of(run) for run in runs} == {window_before, data_window}, runs
    assert all(run["status"] == "SUCCESS" for run in runs), runs
    # A full re-sync of a window replaces its files: the same rows, nothing twice.
    rows_after = wait_until_synced(deployment, tmp_path)
    assert_exactly_the_stored_instances(rows_after, deployment.stored_sop_uids)
    assert sorted(r[:3] for r in rows_after) == sorted(r[:3] for r in rows_before)


def test_the_asset_page_shows_filled_partitions_and_the_lag(deployment, tmp_path):
    """What a new user sees first: windows mostly filled (not "0% filled, 16,806 partitions"),
    and how far the lake is behind the feed, in words, on the asset's pages."""
    from playwright.sync_api import expect

    topology = deployment.topology
    if not deployment.stored_sop_uids:  # running this test alone
        deployment.store_study(5)
    wait_until_synced(deployment, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        page.goto(f"{topology.webserver_url}/assets/dicom_instances?view=partitions")
        materialized = page.get_by_text(re.compile(r"^Materialized \(\d+\)$"))
        expect(materialized.first).to_be_visible(timeout=UI_TIMEOUT_MS)
        filled = int(re.search(r"\d+", materialized.first.inner_text()).group())
        missing_label = page.get_by_text(re.compile(r"^Missing \(\d+\)$"))
        missing = (
            int(re.search(r"\d+", missing_label.first.inner_text()).group())
            if missing_label.count()
            else 0
        )
        assert filled >= 1 and filled >= missing, (filled, missing)
        page.screenshot(path=str(ARTIFACTS / "asset-partitions.png"), full_page=True)

        # The lag, in words, on the asset's checks: seconds and changes behind, and what
        # the numbers count (Orthanc numbers every event, not only instances).
        page.goto(f"{topology.webserver_url}/assets/dicom_instances?view=checks")
        page.get_by_text("freshness", exact=True).first.click()
        lag = page.get_by_text(re.compile(r"s behind, \d+\+? changes behind"))
        expect(lag.first).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(page.get_by_text(re.compile("Orthanc's change numbers")).first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "asset-lag.png"), full_page=True)
