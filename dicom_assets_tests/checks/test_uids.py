"""UID syntax grades (PS3.5 §9.1)."""

import pytest

from dicom_assets.checks.uids import BROKEN, NONCONFORMANT, uid_problem


@pytest.mark.parametrize(
    "value",
    ["1.2.840.10008.5.1.4.1.1.2", "0", "2.25.0", "1.2." + "9" * 60],
)
def test_well_formed_uids_pass(value):
    assert uid_problem(value) is None


@pytest.mark.parametrize(
    ("value", "grade", "words"),
    [
        (None, BROKEN, "missing"),
        ("", BROKEN, "empty"),
        ("1.2.840.ABC", BROKEN, "characters"),
        ("1.2.840 ", BROKEN, "characters"),  # padding kept by a careless writer
        ("1.2.0123", NONCONFORMANT, "leading zero (0123)"),
        ("1..2", NONCONFORMANT, "empty component"),
        ("1.2.", NONCONFORMANT, "empty component"),
        ("1.2." + "9" * 61, NONCONFORMANT, "longer than 64"),
    ],
)
def test_bad_uids_are_graded_and_explained(value, grade, words):
    problem = uid_problem(value)
    assert problem is not None
    assert problem[0] == grade and words in problem[1]
