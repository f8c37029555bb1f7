"""The deployed topology's runs and backfills as its GraphQL API reports them, for
test_topology.py: runs by tag, waiting until they are finished, and the partition of a run."""

from __future__ import annotations

from dicom_assets_tests.deploy.topology import DeployedTopology, wait_for

SYNC_TIMEOUT = 150  # seconds for a sensor tick, a queued run, and the views to follow
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 200) {
    ... on Runs { results { runId status tags { key value } } }
  }
}"""
BACKFILLS = """
query { partitionBackfillsOrError(limit: 20) {
  ... on PartitionBackfills { results { id status partitionNames } }
} }"""


def runs_tagged(topology: DeployedTopology, key: str, value: str) -> list[dict]:
    data = topology.graphql(RUNS, {"filter": {"tags": [{"key": key, "value": value}]}})
    return data["runsOrError"]["results"]


def finished_runs(topology: DeployedTopology, key: str, value: str) -> list[dict]:
    """The runs with that tag, once there are some and none is queued or in progress."""

    def all_finished() -> list[dict] | None:
        runs = runs_tagged(topology, key, value)
        return runs if runs and all(run["status"] in FINISHED for run in runs) else None

    return wait_for(f"runs tagged {key}={value} finished", all_finished, timeout=SYNC_TIMEOUT)


def sensor_runs(topology: DeployedTopology) -> list[dict]:
    return finished_runs(topology, "dagster/sensor_name", "dicom_change_feed_sensor")


def partition_of(run: dict) -> str:
    """The one partition a run materialized (backfill runs carry it as a one-key range)."""
    tags = {t["key"]: t["value"] for t in run["tags"]}
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = (
        tags["dagster/asset_partition_range_start"],
        tags["dagster/asset_partition_range_end"],
    )
    assert start == end, tags
    return start


def backfill_of(topology: DeployedTopology, partitions: list[str]) -> dict | None:
    results = topology.graphql(BACKFILLS)["partitionBackfillsOrError"]["results"]
    matching = [b for b in results if sorted(b["partitionNames"] or []) == sorted(partitions)]
    return matching[0] if matching else None
