"""A real sync (Orthanc -> sensor -> run -> lake) with retain-safe-private, and without it.

An instance made with pydicom carries safe private attributes of Table E.3.10-1 (a GEMS and a
SIEMENS block) and unlisted ones (a free-text note in a listed creator's block, and the corpus's
own private block). With the option the listed ones land, in ``_private`` and ``_metadata``,
and nothing unlisted does; without it no private tag lands.
"""

from __future__ import annotations

import orjson
import pytest
from dagster import DagsterInstance

from dicom_assets.definitions import build_resources
from dicom_assets.devtools.samples import encode, upload
from dicom_assets_tests.deid.phi_corpus import phi_corpus
from dicom_assets_tests.deid.test_sync_deid import KEY, _lake_rows, _sync, _tick

NOTE = "Quixlander private scanner note"


@pytest.fixture
def basic_env(orthanc_env, monkeypatch):
    monkeypatch.setenv("DICOM_DEIDENTIFY", "basic")
    monkeypatch.setenv("DICOM_DEID_KEY", KEY)
    return orthanc_env


def _instance_with_private_blocks():
    [ds] = phi_corpus(patients=1, studies=1, series=1, instances=1).datasets
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
    ds.add_new(0x00191023, "DS", "39.375")  # Table Speed: listed
    ds.add_new(0x00191030, "LO", NOTE)  # the same block, offset 30: not listed
    ds.add_new(0x00190011, "LO", "SIEMENS MR HEADER")
    ds.add_new(0x0019110C, "IS", "1000")  # B Value: listed
    return ds


def _private_tags(row: dict) -> dict[str, dict]:
    return {entry["tag"]: entry for entry in row["_private"] or []}


def test_retain_safe_private_lands_listed_private_attributes_only(
    orthanc, basic_env, monkeypatch, tmp_path
):
    assert all(upload(orthanc.url, [encode(_instance_with_private_blocks())]))
    instance = DagsterInstance.ephemeral()
    rows = {}
    plan = None
    for name, options in (("kept", "retain-safe-private"), ("removed", "")):
        monkeypatch.setenv("DICOM_LAKE_URL", str(tmp_path / name))
        monkeypatch.setenv("DICOM_DEID_OPTIONS", options)
        resources = build_resources()
        plan = plan or _tick(instance, resources, None).run_requests
        _sync(instance, resources, plan)
        [rows[name]] = [r for r in _lake_rows(str(tmp_path / name)) if r["_action"] == "create"]

    kept = rows["kept"]
    private = _private_tags(kept)
    assert set(private) == {"00191023", "0019110C"}
    assert private["00191023"]["creator"] == "GEMS_ACQU_01"
    assert private["00191023"]["value"] == "39.375"
    assert private["0019110C"]["creator"] == "SIEMENS MR HEADER"
    assert private["0019110C"]["value"] == "1000"
    metadata = orjson.loads(kept["_metadata"])
    assert metadata["00191023"]["Value"] == [39.375]
    assert metadata["00190010"]["Value"] == ["GEMS_ACQU_01"]
    assert metadata["00190011"]["Value"] == ["SIEMENS MR HEADER"]
    assert not {"00191030", "00110010", "00111010", "00111011"} & set(metadata)
    assert NOTE not in repr(kept) and "QX PRIVATE NOTES" not in repr(kept)

    removed = rows["removed"]
    assert not _private_tags(removed)
    metadata = orjson.loads(removed["_metadata"])
    assert not [key for key in metadata if int(key[:4], 16) & 1]
    assert NOTE not in repr(removed)
