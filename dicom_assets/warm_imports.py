"""What the warm run-worker process loads once (``launcher.WarmProcessRunLauncher``).

Imports Dagster's run worker, the code location and the feeds, and opens the Dagster instance
once (its first opening imports the storage layer: ~8 s of a run's start on a busy 2-core
machine, 0.4 s after that) and closes it again, so that no connection is shared with the runs
forked from this process. A failure here is ignored: a run then loads what it needs itself and
fails with the real error (e.g. a setting that is not accepted), shown in its event log.
"""

import contextlib

with contextlib.suppress(Exception):
    import dagster._cli.api
    import dagster._core.execution.api  # noqa: F401

    import dicom_assets.definitions
    import dicom_assets.sources.azure
    import dicom_assets.sources.orthanc  # noqa: F401

with contextlib.suppress(Exception):
    from dicom_assets.config import environment

    if environment().get("DAGSTER_HOME"):
        from dagster import DagsterInstance

        with DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
