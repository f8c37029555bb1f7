"""Keyed pseudonyms: valid, stable, key-dependent."""

from __future__ import annotations

import hashlib
import hmac
import re

from dicom_assets.deid.pseudonyms import MAX_SHIFT_DAYS, Pseudonyms

KEY = b"k" * 40
UI = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def test_uid_is_the_documented_hmac():
    uid = "1.2.826.0.1.3680043.8.498.1"
    expected = int.from_bytes(hmac.new(KEY, uid.encode(), hashlib.sha256).digest()[:16], "big")
    assert Pseudonyms(KEY).uid(uid) == f"2.25.{expected}"


def test_uids_are_valid_stable_and_keyed():
    first, second, other = Pseudonyms(KEY), Pseudonyms(KEY), Pseudonyms(b"o" * 40)
    uids = [f"1.2.3.{n}" for n in range(2000)]
    mapped = [first.uid(uid) for uid in uids]
    assert all(UI.match(value) and len(value) <= 64 for value in mapped)
    assert len(set(mapped)) == len(uids)
    assert mapped == [second.uid(uid) for uid in uids]
    assert not set(mapped) & {other.uid(uid) for uid in uids}


def test_patient_ids_and_shifts():
    pseudonyms = Pseudonyms(KEY)
    value = pseudonyms.patient_id("PID-1")
    assert value.startswith("PSEUDO-") and len(value) <= 64 and "PID-1" not in value
    assert value == Pseudonyms(KEY).patient_id("PID-1") != Pseudonyms(b"o" * 40).patient_id("PID-1")
    shifts = {pseudonyms.shift_days(f"P{n}") for n in range(500)}
    assert min(shifts) >= 1 and max(shifts) <= MAX_SHIFT_DAYS and len(shifts) > 400


def test_the_key_is_never_shown():
    pseudonyms = Pseudonyms(b"super-secret-key-0123456789abcdef")
    assert "super-secret" not in repr(pseudonyms)
    assert "super-secret" not in pseudonyms.fingerprint()
