"""What the warm run-worker process imports once (``launcher.WarmProcessRunLauncher``).

A failure here is ignored: the run then imports the code location itself and fails with the
real error (e.g. a setting that is not accepted), shown in the run's event log.
"""

import contextlib

with contextlib.suppress(Exception):
    import dagster._cli.api  # noqa: F401 - the run worker's entry point

    import dicom_assets.definitions
    import dicom_assets.sources.azure
    import dicom_assets.sources.orthanc  # noqa: F401 - the feeds are imported lazily by runs
