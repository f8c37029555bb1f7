"""Templates: YAML with line numbers, every problem named by file:line and reason."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from dicom_assets.config import PROJECT_ROOT
from dicom_assets.custom import TemplateError, load_templates, output_schema, parse_template
from dicom_assets_tests.conftest import ROW_HEAD

EXAMPLES = PROJECT_ROOT / "examples" / "custom_schemas"

ISSUE_EXAMPLE = """\
description: CT acquisition parameters, one row per change of a CT instance.
where:                      # optional: equality on top-level attributes, all must hold
  Modality: CT              # a value, or a list of accepted values
columns:                    # in this order, after the fixed columns below
  kvp: KVP                                    # a keyword
  slice_thickness:                            # or a mapping with a description
    path: SliceThickness
    description: Nominal slice thickness, mm.
  row_spacing: PixelSpacing[0]                # [n]: 0-based value of a multi-valued attribute
  image_types: ImageType[*]                   # [*]: all values, a list column
  region: AnatomicRegionSequence[0].CodeValue # `.` descends into a sequence item
  region_meanings: AnatomicRegionSequence[*].CodeMeaning   # one value per item, a list column
  family_name: PatientName.Alphabetic         # a person-name component group
  scanner_tag: (0018,1000)                    # a tag, as (gggg,eeee) or gggggeeee (8 hex digits)
  acme_version: (0009,"ACME 1.0",10)          # private: group, creator, element offset in the block
"""


def problems(text: str, name: str = "t") -> list[str]:
    with pytest.raises(TemplateError) as error:
        parse_template(text, "t.yaml", name)
    return [f"{p.line}: {p.reason}" for p in error.value.problems]


def test_the_issue_example_reads_as_written():
    template = parse_template(ISSUE_EXAMPLE, "ct.yaml", "ct")
    assert [c.name for c in template.columns] == [
        "kvp",
        "slice_thickness",
        "row_spacing",
        "image_types",
        "region",
        "region_meanings",
        "family_name",
        "scanner_tag",
        "acme_version",
    ]
    assert template.description.startswith("CT acquisition")
    assert template.conditions[0].keyword == "Modality"
    assert template.conditions[0].accepted.to_pylist() == ["CT"]
    schema = output_schema(template)
    assert schema.names[:6] == ROW_HEAD
    assert schema.field("slice_thickness").metadata == {b"comment": b"Nominal slice thickness, mm."}
    assert schema.field("image_types").type == pa.list_(pa.string())
    # Only what the template needs is read from the change log.
    assert template.source_columns() == [
        *ROW_HEAD,
        "KVP",
        "SliceThickness",
        "PixelSpacing",
        "ImageType",
        "AnatomicRegionSequence",
        "PatientName",
        "DeviceSerialNumber",
        "_private",
        "Modality",
    ]


def test_every_problem_is_named_by_line():
    text = """\
description: bad
where:
  ReferencedImageSequence: x
  Rows: twelve
  Modalty: CT
columns:
  kvp: KVp
  Bad-Name: Modality
  kvp: KVP
  studyinstanceuid: Modality
  x: PixelSpacing[a]
  z:
    path: (0009,"ACME",10)
    vr: XX
  y:
    description: no path
  w:
    path: Rows
    unit: mm
extra: 1
"""
    assert problems(text) == [
        (
            "3: where on ReferencedImageSequence: a sequence has no value to compare (equality "
            "applies to top-level attributes)"
        ),
        "4: where Rows: 'twelve' is not a valid US value",
        "5: unknown keyword 'Modalty' (did you mean 'Modality'?)",
        "7: column 'kvp': bad path 'KVp': unknown keyword 'KVp' (did you mean 'KVP'?)",
        (
            "8: invalid column name 'Bad-Name': lowercase letters, digits and _, "
            "starting with a letter"
        ),
        "9: columns: 'kvp' appears twice",
        (
            "10: duplicate column name 'studyinstanceuid' "
            "(SQL engines ignore case: it clashes with 'StudyInstanceUID')"
        ),
        (
            "11: column 'x': bad path syntax 'PixelSpacing[a]': "
            "bad selector at character 13: use [n] (0-based) or [*]"
        ),
        (
            "14: column 'z': unknown VR 'XX' (one of AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, "
            "LO, LT, PN, SH, SL, SS, ST, SV, TM, UC, UI, UL, UR, US, UT, UV)"
        ),
        "16: column 'y' has no path",
        "19: column 'w': unknown key 'unit' (one of path, description, vr)",
        "20: unknown key 'extra' (one of description, where, columns)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1: the template is empty (it needs columns)"),
        ("description: x\n", "1: the template has no columns"),
        ("columns: {}\n", "1: columns is empty"),
        ("columns:\n  - KVP\n", "2: columns must be a mapping"),
        ("columns:\n  a: [KVP]\n", "2: column 'a': path must be a text"),
        ("columns:\n  a: KVP\n b: c\n", "3: not valid YAML"),
        ("columns:\n  order: KVP\n", "2: invalid column name 'order': a reserved SQL word"),
    ],
)
def test_structure_problems(text, expected):
    assert problems(text)[0].startswith(expected)


def test_template_name_rule():
    assert problems("columns:\n  a: KVP\n", name="CT-Acq") == [
        (
            "1: invalid template name 'CT-Acq': the file name must be lowercase letters, "
            "digits and _ (e.g. ct_acquisition.yaml)"
        )
    ]


def test_folder_reports_every_file(tmp_path: Path):
    (tmp_path / "good.yaml").write_text("columns:\n  kvp: KVP\n")
    (tmp_path / "bad.yaml").write_text("columns:\n  kvp: KVp\n")
    (tmp_path / "old.yml").write_text("columns:\n  kvp: KVP\n")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.raises(TemplateError) as error:
        load_templates(tmp_path)
    assert str(error.value).splitlines() == [
        (
            f"{tmp_path}/bad.yaml:2: column 'kvp': bad path 'KVp': unknown keyword 'KVp' (did you "
            "mean 'KVP'?)"
        ),
        f"{tmp_path}/old.yml:1: templates end in .yaml (rename the file)",
    ]
    (tmp_path / "bad.yaml").unlink()
    (tmp_path / "old.yml").unlink()
    assert [t.name for t in load_templates(tmp_path)] == ["good"]


def test_where_values_read_as_their_vr():
    template = parse_template(
        "where:\n  StudyDate: 20240131\n  SliceThickness: [1.25, '5']\n  Modality: [CT, MR]\n"
        "columns:\n  a: KVP\n",
        "t.yaml",
        "t",
    )
    accepted = {c.keyword: c.accepted.to_pylist() for c in template.conditions}
    assert str(accepted["StudyDate"][0]) == "2024-01-31"
    assert accepted["SliceThickness"] == [1.25, 5.0]
    assert accepted["Modality"] == ["CT", "MR"]


def test_the_shipped_examples_are_valid():
    templates = {t.name: t for t in load_templates(EXAMPLES)}
    assert {"ct_acquisition", "study_overview"} <= set(templates)
    assert templates["ct_acquisition"].conditions[0].accepted.to_pylist() == ["CT"]
    assert all(
        c.description
        for c in templates["ct_acquisition"].columns
        if c.path.text in ("KVP", "CTDIvol", "SliceThickness")
    )
