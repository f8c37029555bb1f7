"""``dicom_lake_maintenance``: the lake's compaction, checkpoint and vacuum as a Dagster job,
run hourly by ``dicom_lake_maintenance_schedule`` (and from the UI at any time)."""

from __future__ import annotations

from dagster import (
    DefaultScheduleStatus,
    MetadataValue,
    Output,
    ScheduleDefinition,
    job,
    op,
)

from dicom_assets.config import value_of
from dicom_assets.lake.maintenance import maintain
from dicom_assets.lake.resource import LakeResource


def vacuum_retention_hours() -> int:
    return value_of("DICOM_VACUUM_RETENTION_HOURS")


def compact_after_files() -> int:
    return value_of("DICOM_COMPACT_AFTER_FILES")


@op(description="Compact day partitions with many small files, checkpoint, vacuum.")
def maintain_dicom_lake(context, lake: LakeResource) -> Output[None]:
    with lake.storage_errors():
        report = maintain(lake.table(), vacuum_retention_hours(), compact_after_files())
    context.log.info(
        f"compacted {len(report.compacted_partitions)} partitions, vacuumed "
        f"{report.vacuumed_files} files in {report.seconds:.2f} s"
    )
    return Output(
        None,
        metadata={
            "compacted_partitions": MetadataValue.json(report.compacted_partitions),
            "files_removed": MetadataValue.int(report.files_removed),
            "files_added": MetadataValue.int(report.files_added),
            "vacuumed_files": MetadataValue.int(report.vacuumed_files),
            "checkpoint_version": MetadataValue.int(report.checkpoint_version or -1),
            "retention_hours": MetadataValue.int(vacuum_retention_hours()),
            "seconds": MetadataValue.float(round(report.seconds, 3)),
        },
    )


@job(description="Compaction, checkpoint and vacuum of the lake's Delta table.")
def dicom_lake_maintenance():
    maintain_dicom_lake()


dicom_lake_maintenance_schedule = ScheduleDefinition(
    name="dicom_lake_maintenance_schedule",
    job=dicom_lake_maintenance,
    cron_schedule="17 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
