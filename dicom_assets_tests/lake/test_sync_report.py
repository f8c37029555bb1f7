"""The metadata a person reads in the UI after a real sync: typed values, links, schemas, tables."""

from __future__ import annotations

from collections import Counter

from dagster import (
    DagsterInstance,
    FloatMetadataValue,
    IntMetadataValue,
    PathMetadataValue,
    TableMetadataValue,
    TableSchemaMetadataValue,
    TimestampMetadataValue,
    materialize,
)

from dicom_assets.assets import dicom_external_tables
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.wiring import build_resources
from dicom_assets_tests.checks.lake_sync import part_files, sync


def test_materialization_metadata_renders_for_people(orthanc, lake_env, monkeypatch):
    monkeypatch.setenv("DICOM_SERVER_KIND", "orthanc")
    monkeypatch.setenv("DICOM_SERVER_URL", orthanc.dicomweb_url)
    monkeypatch.delenv("ORTHANC_URL", raising=False)
    study = synthetic_study(3, series=2, instances_per_series=2, modality="MR")
    datasets = list(synthetic_instances(study))
    del datasets[-1].Modality  # an instance without a modality is a "(none)" row, not left out
    assert all(upload(orthanc.url, [encode(ds) for ds in datasets]))
    resources = build_resources()
    _, outcomes = sync(resources, DagsterInstance.ephemeral(), None)

    metadata = [o.asset_materializations_for_node("dicom_instances")[0].metadata for o in outcomes]
    assert sum(m["rows"].value for m in metadata) == 4
    assert sum(m["creates"].value for m in metadata) == 4
    for item, outcome in zip(metadata, outcomes):
        key = outcome.dagster_run.tags["dagster/partition"]
        assert isinstance(item["rows"], IntMetadataValue)
        assert isinstance(item["write_seconds"], FloatMetadataValue)
        assert isinstance(item["first_timestamp"], TimestampMetadataValue)
        assert item["first_timestamp"].value <= item["last_timestamp"].value
        assert isinstance(item["table"], PathMetadataValue)
        assert item["table"].value.endswith("result/Dicom")
        assert item["delta_version"].value >= 0 and item["files_added"].value >= 1
        assert key in {
            path.parent.name.removeprefix("_date=") + "-" + key[11:]
            for path in part_files(lake_env["DICOM_LAKE_URL"], key)
        }
        assert isinstance(item["modalities"], TableMetadataValue)
        modalities = {r.data["modality"]: r.data["rows"] for r in item["modalities"].records}
        assert sum(modalities.values()) == item["rows"].value
        assert set(modalities) <= {"MR", "(none)"}
        schema = item["dagster/column_schema"]
        assert isinstance(schema, TableSchemaMetadataValue)
        types = {column.name: column.type for column in schema.schema.columns}
        assert types["_sequence"] == "int64" and types["SOPInstanceUID"] == "string"
        assert types["PatientName"].startswith("struct<Alphabetic")
        assert len(types) == item["column_count"].value
        described = {column.name: column.description for column in schema.schema.columns}
        assert described["ImageType"] == "Image Type (0008,0008) CS 2-n"
        assert described["PatientName"] == "Patient's Name (0010,0010) PN 1"
        assert described["_sequence"].startswith("Change-feed sequence number")
        assert all(described.values()), [n for n, d in described.items() if not d]
    modality_rows = Counter()
    for item in metadata:
        modality_rows.update(
            {r.data["modality"]: r.data["rows"] for r in item["modalities"].records}
        )
    assert modality_rows == {"MR": 3, "(none)": 1}

    views = materialize([dicom_external_tables], resources=resources)
    sql = views.asset_materializations_for_node("dicom_external_tables")[0].metadata
    preview = sql["studies_preview"]
    assert isinstance(preview, TableMetadataValue)
    [row] = preview.records
    assert row.data["StudyInstanceUID"] == study.study_uid
    assert row.data["instances"] == 4 and row.data["series"] == 2 and row.data["modalities"] == "MR"
    assert {c.name: c.type for c in preview.schema.columns}["instances"] == "int"
    assert "SOPInstanceUID" in sql["new_columns"].value  # the first registration adds every column

    again = materialize([dicom_external_tables], resources=resources)
    assert (
        again.asset_materializations_for_node("dicom_external_tables")[0]
        .metadata["new_columns"]
        .value
        == []
    )
