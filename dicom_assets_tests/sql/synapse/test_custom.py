"""Synapse objects of the custom tables: golden script, types as for dicom.instances, and the
same structure as the instances' external table and current view."""

from __future__ import annotations

from dicom_assets.custom import parse_template
from dicom_assets.sql.synapse.config import SynapseConfig
from dicom_assets.sql.synapse.custom import (
    build_custom_synapse_script,
    custom_location,
    custom_table_columns,
)
from dicom_assets.sql.synapse.script import render_script
from dicom_assets_tests.sql.tsql_lexer import assert_matches_golden, shape

CONFIG = SynapseConfig(
    data_source_location="https://dicomacct.dfs.core.windows.net/dicom", lake_prefix="lake"
)

TEMPLATE = """\
description: CT acquisition parameters.
where:
  Modality: CT
columns:
  kvp:
    path: KVP
    description: Peak kilovoltage, kV.
  rows: Rows
  study_date: StudyDate
  region: AnatomicRegionSequence[0].CodeValue
  image_types: ImageType[*]
  family_name: PatientName.Alphabetic
  acme_version: (0009,"ACME 1.0",10)
"""


def template(name: str = "ct_acquisition"):
    return parse_template(TEMPLATE, f"{name}.yaml", name)


def test_golden_script() -> None:
    statements = build_custom_synapse_script(CONFIG, [template(), template("second")])
    assert_matches_golden("synapse_custom_script.sql", render_script(statements))


def test_types_follow_dicom_instances() -> None:
    types = {column.name: column.sql_type for column in custom_table_columns(template())}
    assert types["_sequence"] == "BIGINT"
    assert types["_timestamp"] == "DATETIME2"
    assert types["kvp"] == "FLOAT"
    assert types["rows"] == "BIGINT"
    assert types["study_date"] == "DATE"
    assert types["region"].startswith("VARCHAR(64)")  # CodeValue is SH: 16 characters
    assert types["family_name"].startswith("VARCHAR(768)")  # sized like PatientName
    assert types["image_types"].startswith("VARCHAR(MAX)")  # a list: JSON text
    assert types["acme_version"].startswith("VARCHAR(MAX)")  # private text: no VR to size by


def test_objects_and_locations() -> None:
    statements = build_custom_synapse_script(CONFIG, [template()])
    custom = [(s.kind, s.name) for s in statements[6:]]
    assert custom == [
        ("schema", "dicom_custom"),
        ("external_table", "dicom_custom.ct_acquisition"),
        ("view", "dicom_custom.current_ct_acquisition"),
    ]
    assert (
        custom_location(CONFIG, "ct_acquisition") == "lake/result/Dicom_Customized/ct_acquisition/"
    )
    table = statements[7]
    assert "LOCATION = N'lake/result/Dicom_Customized/ct_acquisition/'" in table.sql
    assert table.column_count == 13


def test_same_structure_as_the_instances_objects() -> None:
    from dicom_assets.sql.synapse.script import build_synapse_script
    from dicom_assets_tests.sql.synapse.test_script import known_lake

    instances = {s.kind: s for s in build_synapse_script(known_lake(), CONFIG)}
    custom = {s.kind: s for s in build_custom_synapse_script(CONFIG, [template()])}
    for kind in ("external_table",):
        a, b = shape(instances[kind].sql), shape(custom[kind].sql)
        # Same statements, only the column list differs in length.
        assert a[:8] == b[:8] and a[-20:] == b[-20:]
