"""Table E.3.10-1 as shipped, and what retain-safe-private keeps of an instance's private tags."""

from __future__ import annotations

import hashlib
import json

import orjson

from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.deid.safe_private import safe_keys, table_rows

KEY = "safe-private-key-" + "s" * 40
# pymedphys's e3_10_1.json (edition 2026d) records this digest of its rows (PROVENANCE.md).
UPSTREAM_DIGEST = "7acb26dbab0e3124c02d075cbf8c5510354a20ded9f89ee4765976a905d92f63"


def _deid(options: str = "retain-safe-private") -> Deidentifier:
    return Deidentifier(DeidSettings.parse("basic", options, KEY))


def _lo(text: str) -> dict:
    return {"vr": "LO", "Value": [text]}


def test_the_table_is_upstreams_rows_unchanged():
    rows = list(table_rows())
    canonical = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == UPSTREAM_DIGEST
    assert len(rows) == 479
    assert {"tag", "private_creator", "vr", "vm", "meaning"} == set().union(*rows)
    keys = safe_keys()
    assert all(group & 1 for _, group, _ in keys)  # private groups only
    assert ("GEMS_ACQU_01", 0x0019, 0x23) in keys  # Table Speed
    assert ("SIEMENS MR HEADER", 0x0019, 0x0C) in keys  # B Value
    assert len(keys) == len({(r["private_creator"], r["tag"].upper()) for r in rows})


def _instance() -> dict:
    return {
        "00080060": {"vr": "CS", "Value": ["CT"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Quist^Amalia"}]},
        "00100020": _lo("QX-55"),
        "00190010": _lo("GEMS_ACQU_01"),  # block 10 of group 0019
        "00190011": _lo("SIEMENS MR HEADER  "),  # block 11, padded as LO may be
        "00190012": _lo("ACME SECRETS"),  # block 12: not in the table
        "00191023": {"vr": "DS", "Value": [39.375]},  # GEMS Table Speed: kept
        "00191024": {"vr": "DS", "Value": [0.5]},  # GEMS Mid Scan Time: kept
        "00191030": _lo("Quist private note"),  # GEMS block, offset 30 unlisted: removed
        "0019109E": _lo("fl3d for Quist"),  # GEMS pulse sequence name: kept, cleaned
        "0019110C": {"vr": "IS", "Value": [1000]},  # SIEMENS B Value: kept
        "00191123": {"vr": "DS", "Value": [9.9]},  # SIEMENS block, offset 23 unlisted
        "00191223": {"vr": "DS", "Value": [7.0]},  # listed offset, unlisted creator
        "00191323": {"vr": "DS", "Value": [8.0]},  # block 13 has no creator
        "00430010": _lo("GEMS_ACQU_01"),  # a listed creator in a group it is not listed for
        "00431023": {"vr": "DS", "Value": [1.0]},
        "00990010": _lo("NQHeader"),
        "00991002": {"vr": "UI", "Value": ["1.2.826.0.1.3680043.2.1143.42"]},
        "00990011": _lo("NQHeader"),  # a creator whose block keeps nothing
        "00190000": {"vr": "UL", "Value": [99]},  # a private group length
    }


def test_listed_attributes_and_their_creators_are_kept_others_removed():
    deid = _deid()
    out = deid.dataset(_instance())
    private = {key for key in out if int(key[:4], 16) & 1}
    assert private == {
        "00190010", "00190011", "00191023", "00191024", "0019109E", "0019110C",
        "00990010", "00991002",
    }  # fmt: skip
    assert out["00191023"] == {"vr": "DS", "Value": [39.375]}  # the value unchanged
    assert out["0019110C"] == {"vr": "IS", "Value": [1000]}
    assert out["00190011"] == _lo("SIEMENS MR HEADER  ")
    assert out["0019109E"] == _lo("fl3d for ***")  # text: cleaned of the patient's name
    uid = out["00991002"]["Value"][0]  # a UID: its keyed pseudonym, like every UID
    assert uid == deid.pseudonyms.uid("1.2.826.0.1.3680043.2.1143.42")
    assert "Quist" not in orjson.dumps(out).decode()


def test_with_retain_uids_a_kept_uid_is_unchanged():
    out = _deid("retain-safe-private,retain-uids").dataset(_instance())
    assert out["00991002"]["Value"] == ["1.2.826.0.1.3680043.2.1143.42"]


def test_without_the_option_every_private_tag_is_removed():
    out = _deid("").dataset(_instance())
    assert not [key for key in out if int(key[:4], 16) & 1]


def test_creators_reserve_blocks_per_sequence_item():
    item_with_creator = {"00190010": _lo("GEMS_ACQU_01"), "00191023": {"vr": "DS", "Value": [1.0]}}
    item_without = {"00191023": {"vr": "DS", "Value": [2.0]}}  # the top level's creator: no
    instance = {
        "00190010": _lo("GEMS_ACQU_01"),
        "00081115": {"vr": "SQ", "Value": [item_with_creator, item_without]},
    }
    out = _deid().dataset(instance)
    first, second = out["00081115"]["Value"]
    assert first == item_with_creator
    assert second == {}
    assert "00190010" not in out  # its block keeps nothing at the top level


def test_a_kept_private_sequence_is_de_identified_inside():
    instance = {
        "20010010": _lo("Philips Imaging DD 001"),
        "2001105F": {  # Stack Sequence: listed
            "vr": "SQ",
            "Value": [{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Quist^A"}]}}],
        },
    }
    deid = _deid()
    out = deid.dataset(instance)
    [item] = out["2001105F"]["Value"]  # the name in it: the patient's pseudonym, as anywhere
    assert item["00100010"]["Value"] == [{"Alphabetic": deid.pseudonyms.patient_id("")}]
    assert out["20010010"] == instance["20010010"]
