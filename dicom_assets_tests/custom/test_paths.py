"""The path language: syntax, meaning and types (from the project's VR table)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dicom_assets.custom.paths import (
    Every,
    Index,
    Name,
    PathSyntaxError,
    PrivateTag,
    Tag,
    parse_path,
)
from dicom_assets.custom.resolve import PathError, resolve_path, suggest_keyword
from dicom_assets.lake.staging import delta_type
from dicom_assets.schema.kinds import KIND_TYPES


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("KVP", (Name("KVP"),)),
        ("PixelSpacing[0]", (Name("PixelSpacing"), Index(0))),
        ("ImageType[*]", (Name("ImageType"), Every())),
        (
            "AnatomicRegionSequence[0].CodeValue",
            (Name("AnatomicRegionSequence"), Index(0), Name("CodeValue")),
        ),
        ("PatientName.Alphabetic", (Name("PatientName"), Name("Alphabetic"))),
        ("(0018,1000)", (Tag(0x00181000),)),
        ("00181000", (Tag(0x00181000),)),
        ('(0009,"ACME 1.0",10)', (PrivateTag(0x0009, "ACME 1.0", 0x10),)),
        (" BeamSequence[ * ].(300A,00C2) ", (Name("BeamSequence"), Every(), Tag(0x300A00C2))),
    ],
)
def test_syntax(text, steps):
    assert parse_path(text) == steps


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("PixelSpacing[a]", "bad selector at character 13"),
        ("PixelSpacing[-1]", "bad selector"),
        ("KVP.", "expected a keyword"),
        ("KVP KVP", "unexpected ' '"),
        ("(0018,10)", "expected a keyword"),
        ('(0008,"X",10)', "a private group is odd"),
        ('(0009,"",10)', "cannot be empty"),
        ('Seq[0].(0009,"X",10)', "can only start a path"),
    ],
)
def test_syntax_errors_say_where(text, reason):
    with pytest.raises(PathSyntaxError, match=reason.replace("[", r"\[")):
        parse_path(text)


@pytest.mark.parametrize(
    ("text", "value_type"),
    [
        ("KVP", KIND_TYPES["float"]),  # DS
        ("Rows", KIND_TYPES["int"]),  # US
        ("StudyDate", KIND_TYPES["date"]),
        # Whatever the VR table makes TM, the column follows, as the lake stores it.
        ("StudyTime", KIND_TYPES["time"]),
        ("AcquisitionDateTime", KIND_TYPES["datetime"]),
        ("ImageType", pa.list_(pa.string())),  # multi-valued without index: a list
        ("ImageType[*]", pa.list_(pa.string())),
        ("ImageType[1]", pa.string()),
        ("PixelSpacing[0]", KIND_TYPES["float"]),
        ("PatientName", KIND_TYPES["pn"]),
        ("PatientName.Alphabetic", pa.string()),
        ("OperatorsName.Alphabetic", pa.list_(pa.string())),  # PN with VM 1-n
        ("AnatomicRegionSequence[0].CodeValue", pa.string()),
        ("AnatomicRegionSequence[*].CodeMeaning", pa.list_(pa.string())),
        ("BeamSequence[*].ControlPointSequence[*].ControlPointIndex", pa.list_(KIND_TYPES["int"])),
        ("(0018,0050)", KIND_TYPES["float"]),
        ("00280010", KIND_TYPES["int"]),
        ('(0009,"ACME 1.0",10)', pa.string()),
        ('(0009,"ACME 1.0",10)[*]', pa.list_(pa.string())),
    ],
)
def test_types_follow_the_vr_table(text, value_type):
    # The VR table's type, in the form the lake stores it (no TIME, no zone-less timestamps).
    assert resolve_path(text).value_type == delta_type(value_type)


def test_private_value_typed_by_declared_vr():
    assert resolve_path('(0009,"ACME 1.0",10)', vr="DS").value_type == KIND_TYPES["float"]
    assert resolve_path("(0011,1010)[1]", vr="IS").value_type == KIND_TYPES["int"]
    with pytest.raises(PathError, match="unknown VR 'XY'"):
        resolve_path('(0009,"ACME 1.0",10)', vr="XY")
    with pytest.raises(PathError, match="vr is only for private"):
        resolve_path("KVP", vr="DS")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("KVp", "unknown keyword 'KVp' (did you mean 'KVP'?)"),
        ("SliceThicknes", "did you mean 'SliceThickness'"),
        ("Rows[0]", "Rows has one value"),
        ("AnatomicRegionSequence.CodeValue", "choose its items with [n] or [*]"),
        ("AnatomicRegionSequence[0]", "must end at an attribute of its items"),
        ("KVP.Alphabetic", "not a sequence"),
        ("PatientName.Family", "component groups are Alphabetic"),
        ("PixelData", "binary values are kept only in _metadata"),
        ("SOPInstanceUID", "already a fixed column"),
        ("BeamSequence[0].(0009,1010)", "only dictionary attributes of items"),
    ],
)
def test_meaning_errors(text, reason):
    with pytest.raises(PathError) as error:
        resolve_path(text)
    assert reason in str(error.value)


def test_suggestions_come_from_the_dictionary():
    assert suggest_keyword("patientname") == "PatientName"
    assert suggest_keyword("Modalty") == "Modality"
    assert suggest_keyword("zzzzqqqq") is None
