"""The value-type registry: one entry per kind, and the native codes checked against it."""

import types

import pyarrow as pa
import pytest

from dicom_assets import native
from dicom_assets.schema.kinds import ACCEPTED_VRS, KIND_TYPES, KINDS, VR_KINDS, kind_of_vr
from dicom_assets.schema.private import guess_carrier
from dicom_assets.schema.raw import raw_type
from dicom_assets.schema.vr import spec_for_key
from dicom_assets.sql.synapse.types import tsql_type

STANDARD_VRS = [
    "AE",
    "AS",
    "AT",
    "CS",
    "DA",
    "DS",
    "DT",
    "FD",
    "FL",
    "IS",
    "LO",
    "LT",
    "OB",
    "OD",
    "OF",
    "OL",
    "OV",
    "OW",
    "PN",
    "SH",
    "SL",
    "SQ",
    "SS",
    "ST",
    "SV",
    "TM",
    "UC",
    "UI",
    "UL",
    "UN",
    "UR",
    "US",
    "UT",
    "UV",
]


def test_every_standard_vr_has_exactly_one_kind():
    assert sorted(VR_KINDS) == sorted(STANDARD_VRS)
    assert sum(len(kind.vrs) for kind in KINDS.values()) == len(STANDARD_VRS)


def test_the_other_modules_read_the_entries():
    pn = KINDS["pn"]
    assert spec_for_key("00100010").value_type() is pn.arrow_type is KIND_TYPES["pn"]
    assert raw_type(spec_for_key("00100010")).field("Value").type == pa.list_(pn.carrier)
    assert guess_carrier({"vr": "PN"}) is None and guess_carrier({"vr": "US"}) == pa.float64()
    assert ACCEPTED_VRS["float"] >= set(KINDS["int"].vrs)
    assert tsql_type("Rows", KINDS["int"].arrow_type) == KINDS["int"].sql_type
    assert tsql_type("StudyTime", KINDS["time"].arrow_type)[0].startswith("VARCHAR(15)")
    assert kind_of_vr("DS") is KINDS["float"] and kind_of_vr("XX") is None


def test_the_built_extensions_export_the_codes_the_entries_name():
    # The install compiles them (scripts/bootstrap.sh provides gcc).
    assert native.available() and native.temporal_available()
    for kind in KINDS.values():
        assert kind.native_code is not None, kind.name
        assert (kind.temporal_code is not None) == (kind.temporal is not None), kind.name
    assert len({k.native_code for k in KINDS.values() if k.native in ("TEXT", "NUMBER")}) == 2


def test_a_build_whose_codes_differ_from_the_entries_is_refused():
    stale = types.ModuleType("dicom_assets.native._shredder")
    stale.KIND_SKIP, stale.KIND_TEXT = 0, 1
    with pytest.raises(ImportError, match="rebuild the extension"):
        native.codes(stale, {"SKIP", "TEXT", "NUMBER"})
    stale.KIND_NUMBER = 1  # two names, one code
    with pytest.raises(ImportError, match="rebuild the extension"):
        native.codes(stale, {"SKIP", "TEXT", "NUMBER"})
    stale.KIND_NUMBER = 2
    assert native.codes(stale, {"SKIP", "TEXT", "NUMBER"}) == {"SKIP": 0, "TEXT": 1, "NUMBER": 2}
    assert native.codes(None, {"SKIP"}) == {}
