"""Evaluation over change-log rows made by the project's converter: nulls, short lists, sliced
batches, private blocks reserved at different places, ``where`` keeping deletes."""

from __future__ import annotations

import pyarrow as pa

from dicom_assets.custom import derive_table, parse_template
from dicom_assets.custom.evaluate import element_at
from dicom_assets.feed_entry import ChangeAction
from dicom_assets.schema.convert import convert_entries
from dicom_assets_tests.schema.feed_entries import entry_for


def element(vr: str, *values) -> dict:
    return {"vr": vr, "Value": list(values)}


def code(value: str, meaning: str) -> dict:
    return {"00080100": element("SH", value), "00080104": element("LO", meaning)}


def instance(uid: str, **elements: dict) -> dict:
    metadata = {
        "0020000D": element("UI", "1.2.3"),
        "0020000E": element("UI", "1.2.3.4"),
        "00080018": element("UI", uid),
    }
    metadata.update(elements)
    return metadata


ROWS = [
    # CT: two regions, spacing, ACME block reserved at 0x10
    instance(
        "1.1",
        **{
            "00080060": element("CS", "CT"),
            "00280030": element("DS", 0.5, 0.6),
            "00082218": {
                "vr": "SQ",
                "Value": [code("T-D3000", "Chest"), code("T-D4000", "Abdomen")],
            },
            "00100010": element("PN", {"Alphabetic": "Doe^Jane", "Ideographic": "ドウ"}),
            "00090010": element("LO", "ACME 1.0"),
            "00091010": element("LO", "v1\\v2"),
            "00091011": element("DS", 2.5),
        },
    ),
    # MR: one spacing value only, no regions, ACME block reserved at 0x11, other creator at 0x10
    instance(
        "1.2",
        **{
            "00080060": element("CS", "MR"),
            "00280030": element("DS", 0.7),
            "00090010": element("LO", "OTHER"),
            "00091010": element("LO", "not acme"),
            "00090011": element("LO", "ACME 1.0"),
            "00091110": element("LO", "v3"),
            "00091111": element("DS", "bad"),
        },
    ),
    # OT: filtered out by where
    instance("1.3", **{"00080060": element("CS", "OT"), "00280030": element("DS", 1.0, 1.0)}),
    # CT with an empty sequence and no name
    instance("1.4", **{"00080060": element("CS", "CT"), "00082218": {"vr": "SQ", "Value": []}}),
]

TEMPLATE = """\
where:
  Modality: [CT, MR]
columns:
  spacing_1: PixelSpacing[1]
  spacing: PixelSpacing
  region_0: AnatomicRegionSequence[0].CodeValue
  region_1: AnatomicRegionSequence[1].CodeMeaning
  regions: AnatomicRegionSequence[*].CodeMeaning
  ideographic: PatientName.Ideographic
  acme: (0009,"ACME 1.0",10)
  acme_second: (0009,"ACME 1.0",10)[1]
  acme_all: (0009,"ACME 1.0",10)[*]
  acme_dose:
    path: (0009,"ACME 1.0",11)
    vr: DS
  by_tag: (0009,1010)
"""


def changes() -> pa.Table:
    entries = [entry_for(m, sequence=i + 1) for i, m in enumerate(ROWS)]
    entries.append(
        entry_for(None, sequence=9, action=ChangeAction.DELETE, uids=("1.2.3", "1.2.3.4", "1.1"))
    )
    return convert_entries(entries).table


def test_values_nulls_and_private_blocks():
    rows = derive_table(changes(), parse_template(TEMPLATE, "t.yaml", "t")).to_pylist()
    assert [r["SOPInstanceUID"] for r in rows] == ["1.1", "1.2", "1.4", "1.1"]
    ct, mr, empty, delete = rows
    assert (ct["spacing_1"], mr["spacing_1"], empty["spacing_1"]) == (0.6, None, None)
    assert (ct["spacing"], mr["spacing"]) == ([0.5, 0.6], [0.7])
    assert (ct["region_0"], ct["region_1"], ct["regions"]) == (
        "T-D3000",
        "Abdomen",
        ["Chest", "Abdomen"],
    )
    assert (mr["region_0"], mr["regions"], empty["region_0"], empty["regions"]) == (
        None,
        None,
        None,
        None,
    )
    assert (ct["ideographic"], mr["ideographic"]) == ("ドウ", None)
    # The block is found by its creator wherever the row reserved it.
    assert (ct["acme"], mr["acme"], empty["acme"]) == ("v1\\v2", "v3", None)
    assert (ct["acme_second"], mr["acme_second"]) == ("v2", None)
    assert (ct["acme_all"], mr["acme_all"]) == (["v1", "v2"], ["v3"])
    assert (ct["acme_dose"], mr["acme_dose"]) == (2.5, None)  # "bad" is not a DS
    # By full tag: whatever creator holds block 0x10.
    assert (ct["by_tag"], mr["by_tag"]) == ("v1\\v2", "not acme")
    assert delete["_action"] == "delete" and delete["spacing"] is None


def test_a_sliced_batch_gives_the_same_rows():
    table = changes()
    template = parse_template(TEMPLATE, "t.yaml", "t")
    whole = derive_table(table, template).to_pylist()
    pieces = pa.Table.from_batches(
        [b for i in range(table.num_rows) for b in table.slice(i, 1).to_batches()]
    )
    assert derive_table(pieces, template).to_pylist() == whole


def test_element_at_respects_offsets_and_nulls():
    values = pa.array([[1, 2], None, [3], [], [4, 5, 6]], pa.list_(pa.int64())).slice(1)
    assert element_at(values, 0).to_pylist() == [None, 3, None, 4]
    assert element_at(values, 2).to_pylist() == [None, None, None, 6]


def test_where_on_a_multi_valued_attribute_matches_any_value():
    table = convert_entries(
        [
            entry_for(instance("2.1", **{"00080008": element("CS", "ORIGINAL", "PRIMARY")}), 1),
            entry_for(instance("2.2", **{"00080008": element("CS", "DERIVED", "LOCALIZER")}), 2),
            entry_for(instance("2.3"), 3),
        ]
    ).table
    template = parse_template(
        "where:\n  ImageType: [LOCALIZER]\ncolumns:\n  t: ImageType\n", "t.yaml", "t"
    )
    assert [r["SOPInstanceUID"] for r in derive_table(table, template).to_pylist()] == ["2.2"]
