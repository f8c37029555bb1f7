"""Table E.1-1 as data: every row resolves to one action, options switch the right rows."""

from __future__ import annotations

import pytest
from pydicom.datadict import tag_for_keyword

from dicom_assets.deid.profile import OPTIONS, Profile, table_rows


def _action(profile: Profile, keyword: str) -> str:
    return profile.action(f"{tag_for_keyword(keyword):08X}")


def test_every_table_row_has_an_action():
    rows = table_rows()
    assert len(rows) > 600  # the whole table, not a hand-picked list
    profile = Profile()
    for row in rows:
        if row["tag"] == "private":
            continue
        key = row["tag"].replace("X", "0")
        assert profile.action(key) in "KXZDUPSC", row


@pytest.mark.parametrize(
    ("keyword", "action"),
    [
        ("PatientName", "P"),
        ("PatientID", "P"),
        ("PatientBirthDate", "Z"),
        ("PatientAddress", "X"),
        ("StudyInstanceUID", "U"),
        ("ReferencedSOPInstanceUID", "U"),
        ("AccessionNumber", "Z"),
        ("InstitutionName", "Z"),  # X/Z/D
        ("StudyDate", "Z"),
        ("Modality", "K"),  # not in the table, in the dictionary: kept
        ("PixelSpacing", "K"),
        ("SOPClassUID", "K"),
    ],
)
def test_basic_profile_actions(keyword, action):
    assert _action(Profile(), keyword) == action


def test_options_switch_their_columns():
    assert _action(Profile(frozenset({"retain-uids"})), "StudyInstanceUID") == "K"
    dates = Profile(frozenset({"retain-longitudinal-modified-dates"}))
    assert _action(dates, "StudyDate") == "S"
    assert _action(dates, "AcquisitionDateTime") == "S"
    assert _action(Profile(frozenset({"retain-longitudinal-full-dates"})), "StudyDate") == "K"
    assert _action(Profile(frozenset({"retain-institution-identity"})), "InstitutionName") == "K"
    assert _action(Profile(frozenset({"clean-descriptors"})), "StudyDescription") == "C"
    assert _action(Profile(), "StudyDescription") == "X"


def test_patterns_private_and_unknown_tags():
    profile = Profile()
    assert profile.action("60004000") == "X"  # (60xx,4000) Overlay Comments
    assert profile.action("601E3000") == "X"  # (60xx,3000) Overlay Data
    assert profile.action("50020010") == "X"  # (50xx,xxxx) Curve Data
    assert profile.action("00111010") == "X"  # private
    assert profile.action("00110010") == "X"  # private creator
    assert profile.action("7FE00010") == "K"  # Pixel Data: not listed (never stored anyway)
    assert profile.action("00089999") == "X"  # public but unknown to the dictionary
    assert profile.action("not-a-tag") == "X"


def test_unknown_or_conflicting_options_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        Profile(frozenset({"retain-everything"}))
    with pytest.raises(ValueError, match="exclude"):
        Profile(frozenset({"retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"}))
    assert len(OPTIONS) == 8
