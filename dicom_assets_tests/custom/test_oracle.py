"""Every path form against pydicom's test files through a real sync (Orthanc -> sensor ->
dicom_instances -> dicom_custom_<name>), each value checked against pydicom's own reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
import pytest
from dagster import materialize
from deltalake import DeltaTable
from pydicom.dataset import Dataset

from dicom_assets.assets.custom_tables import build_custom_table_asset
from dicom_assets.config import PROJECT_ROOT
from dicom_assets.custom import load_templates, parse_template
from dicom_assets.devtools.samples import upload
from dicom_assets_tests.custom.synced_lake import sync_every_window
from dicom_assets_tests.schema.pydicom_oracle import UNCONVERTIBLE, expected_value
from dicom_assets_tests.schema.test_convert_oracle import DATA, deviation

TEMPLATE = """\
description: Every path form.
columns:
  kvp: KVP
  rows: Rows
  study_date: StudyDate
  modality: Modality
  image_type: ImageType
  image_type_all: ImageType[*]
  image_type_2: ImageType[2]
  row_spacing: PixelSpacing[0]
  column_spacing: PixelSpacing[1]
  source_image: SourceImageSequence[0].ReferencedSOPInstanceUID
  source_images: SourceImageSequence[*].ReferencedSOPInstanceUID
  second_point: BeamSequence[0].ControlPointSequence[1].ControlPointIndex
  derivation_codes: DerivationCodeSequence[*].CodeValue
  beam_names: BeamSequence[*].BeamName
  control_points: BeamSequence[*].ControlPointSequence[*].ControlPointIndex
  first_beam_energy: BeamSequence[0].ControlPointSequence[0].NominalBeamEnergy
  family_name: PatientName.Alphabetic
  patient_name: PatientName
  operators: OperatorsName.Alphabetic
  ideographic_name: PatientName.Ideographic
  slice_thickness_tag: (0018,0050)
  columns_tag: 00280011
  ge_product:
    path: (0009,"GEMS_IDEN_01",04)
    description: GE private product name (text).
  ge_table_speed:
    path: (0019,"GEMS_ACQU_01",23)
    vr: DS
"""


def typed(ds: Dataset, keyword: str) -> Any:
    """The value pydicom reads, typed the way the VR table says (None when absent/invalid)."""
    if keyword not in ds:
        return None
    value = expected_value(ds[keyword], frozenset())
    return None if value is UNCONVERTIBLE or value == [] else value


def nth(values: list | None, n: int) -> Any:
    return values[n] if values is not None and len(values) > n else None


def items(ds: Dataset, keyword: str) -> list[Dataset]:
    return list(ds[keyword].value) if keyword in ds else []


def per_item(ds: Dataset, keyword: str, child: str) -> list | None:
    values = [typed(item, child) for item in items(ds, keyword)]
    return values or None


def person(ds: Dataset, keyword: str) -> Any:
    value = typed(ds, keyword)
    if value is None:
        return None
    if isinstance(value, list):
        return [v["Alphabetic"] if v else None for v in value]
    return value["Alphabetic"]


def private(ds: Dataset, group: int, creator: str, offset: int) -> Any:
    try:
        element = ds.private_block(group, creator)[offset]
    except KeyError:
        return None
    return element.value


# The attribute each column reads: Orthanc's known deviations from the files are skipped by it.
SOURCE = {
    "kvp": "KVP",
    "rows": "Rows",
    "study_date": "StudyDate",
    "modality": "Modality",
    "image_type": "ImageType",
    "image_type_all": "ImageType",
    "image_type_2": "ImageType",
    "row_spacing": "PixelSpacing",
    "column_spacing": "PixelSpacing",
    "source_image": "SourceImageSequence",
    "source_images": "SourceImageSequence",
    "second_point": "BeamSequence",
    "derivation_codes": "DerivationCodeSequence",
    "beam_names": "BeamSequence",
    "control_points": "BeamSequence",
    "first_beam_energy": "BeamSequence",
    "family_name": "PatientName",
    "patient_name": "PatientName",
    "operators": "OperatorsName",
    "ideographic_name": "PatientName",
    "slice_thickness_tag": "SliceThickness",
    "columns_tag": "Columns",
    "ge_product": "",
    "ge_table_speed": "",
}


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


ORACLE = {
    "kvp": lambda ds: typed(ds, "KVP"),
    "rows": lambda ds: typed(ds, "Rows"),
    "study_date": lambda ds: typed(ds, "StudyDate"),
    "modality": lambda ds: typed(ds, "Modality"),
    "image_type": lambda ds: typed(ds, "ImageType"),
    "image_type_all": lambda ds: typed(ds, "ImageType"),
    "image_type_2": lambda ds: nth(typed(ds, "ImageType"), 2),
    "row_spacing": lambda ds: nth(typed(ds, "PixelSpacing"), 0),
    "column_spacing": lambda ds: nth(typed(ds, "PixelSpacing"), 1),
    "source_image": lambda ds: nth(
        per_item(ds, "SourceImageSequence", "ReferencedSOPInstanceUID"), 0
    ),
    "source_images": lambda ds: per_item(ds, "SourceImageSequence", "ReferencedSOPInstanceUID"),
    "second_point": lambda ds: nth(
        [
            typed(point, "ControlPointIndex")
            for point in items(
                (items(ds, "BeamSequence") or [Dataset()])[0], "ControlPointSequence"
            )
        ],
        1,
    ),
    "derivation_codes": lambda ds: per_item(ds, "DerivationCodeSequence", "CodeValue"),
    "beam_names": lambda ds: per_item(ds, "BeamSequence", "BeamName"),
    "control_points": lambda ds: (
        [
            typed(point, "ControlPointIndex")
            for beam in items(ds, "BeamSequence")
            for point in items(beam, "ControlPointSequence")
        ]
        or None
    ),
    "first_beam_energy": lambda ds: nth(
        [
            typed(point, "NominalBeamEnergy")
            for point in items(
                (items(ds, "BeamSequence") or [Dataset()])[0], "ControlPointSequence"
            )
        ],
        0,
    ),
    "family_name": lambda ds: person(ds, "PatientName"),
    "patient_name": lambda ds: typed(ds, "PatientName"),
    "operators": lambda ds: person(ds, "OperatorsName"),
    "ideographic_name": lambda ds: (typed(ds, "PatientName") or {}).get("Ideographic"),
    "slice_thickness_tag": lambda ds: typed(ds, "SliceThickness"),
    "columns_tag": lambda ds: typed(ds, "Columns"),
    "ge_product": lambda ds: private(ds, 0x0009, "GEMS_IDEN_01", 0x04),
    "ge_table_speed": lambda ds: as_float(private(ds, 0x0019, "GEMS_ACQU_01", 0x23)),
}


@pytest.fixture(scope="module")
def corpus_lake(tmp_path_factory, corpus_files) -> dict[str, Any]:
    """pydicom's corpus in a fresh Orthanc, synced into a fresh lake, the custom table made."""
    from dicom_assets.devtools.orthanc_server import OrthancServer

    monkeypatch = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("custom-oracle")
    with OrthancServer(tmp / "orthanc") as orthanc:
        monkeypatch.setenv("DICOM_LAKE_URL", str(tmp / "lake"))
        monkeypatch.setenv("DICOM_DUCKDB_PATH", str(tmp / "warehouse.duckdb"))
        monkeypatch.setenv("DICOM_SERVER_KIND", "orthanc")
        monkeypatch.setenv("DICOM_SERVER_URL", orthanc.dicomweb_url)
        monkeypatch.delenv("ORTHANC_URL", raising=False)
        files = corpus_files + sorted((DATA / "charset_files").glob("*.dcm"))
        answers = upload(orthanc.url, [path.read_bytes() for path in files])
        stored = [path for path, answer in zip(files, answers, strict=True) if answer]
        resources, instance, keys = sync_every_window()
        template = parse_template(TEMPLATE, "every_form.yaml", "every_form")
        asset = build_custom_table_asset(template)
        for key in keys:
            assert materialize(
                [asset], partition_key=key, resources=resources, instance=instance
            ).success
        table = DeltaTable(str(tmp / "lake" / "result" / "Dicom_Customized" / "every_form"))
        rows = table.to_pyarrow_table().to_pylist()
        # The shipped examples, over the same windows.
        examples = {}
        for example in load_templates(PROJECT_ROOT / "examples" / "custom_schemas"):
            example_asset = build_custom_table_asset(example)
            for key in keys:
                assert materialize(
                    [example_asset], partition_key=key, resources=resources, instance=instance
                ).success
            path = tmp / "lake" / "result" / "Dicom_Customized" / example.name
            examples[example.name] = DeltaTable(str(path)).to_pyarrow_table()
    monkeypatch.undo()
    return {"rows": rows, "stored": stored, "table": table, "examples": examples}


def test_every_path_form_matches_pydicom(corpus_lake):
    by_uid: dict[str, list[Path]] = {}
    for path in corpus_lake["stored"]:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        by_uid.setdefault(str(ds.SOPInstanceUID), []).append(path)
    rows = corpus_lake["rows"]
    assert {r["SOPInstanceUID"] for r in rows} == set(by_uid)
    checked = {name: 0 for name in ORACLE}
    for row in rows:
        paths = by_uid[row["SOPInstanceUID"]]
        if len(paths) > 1:
            continue  # the corpus has a few files sharing a UID: Orthanc kept one of them
        ds = pydicom.dcmread(paths[0], stop_before_pixels=True)
        for name, oracle in ORACLE.items():
            if deviation(paths[0].name, SOURCE[name]):
                continue
            expected = oracle(ds)
            assert row[name] == expected, (paths[0].name, name)
            checked[name] += expected is not None
    # Every form met real values, not only nulls.
    assert [name for name, count in checked.items() if count == 0] == []


def test_descriptions_are_in_the_delta_schema(corpus_lake):
    fields = {f.name: f for f in corpus_lake["table"].schema().fields}
    assert fields["ge_product"].metadata == {"comment": "GE private product name (text)."}
    assert fields["SOPInstanceUID"].metadata["comment"].startswith("SOP Instance UID")
    assert corpus_lake["table"].protocol().min_reader_version == 1


def test_the_shipped_examples_materialize_with_values(corpus_lake):
    examples = corpus_lake["examples"]
    assert {"ct_acquisition", "study_overview", "mr_sequence"} <= set(examples)
    ct = examples["ct_acquisition"]
    # where Modality: CT (deletes aside): only CT rows, and the CT files' values.
    assert set(ct.column("_action").to_pylist()) == {"create"}
    assert ct.num_rows >= 1 and ct.column("kvp").null_count < ct.num_rows
    overview = examples["study_overview"]
    assert overview.num_rows == len(corpus_lake["rows"])  # no where: every change
    assert overview.column("modality").null_count < overview.num_rows
    mr = examples["mr_sequence"]
    assert mr.num_rows >= 1 and mr.column("echo_time").null_count < mr.num_rows
