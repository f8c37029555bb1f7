"""The settings fail the definitions load with a message that names the variable, never the key."""

from __future__ import annotations

import pytest

from dicom_assets.definitions import build_resources
from dicom_assets.deid import DeidSettings, DeidSettingsError

KEY = "a-secret-key-that-is-long-enough-0123456789"


def test_off_by_default(monkeypatch):
    for name in ("DICOM_DEIDENTIFY", "DICOM_DEID_OPTIONS", "DICOM_DEID_KEY"):
        monkeypatch.delenv(name, raising=False)
    resources = build_resources()
    assert resources["lake"].deidentifier() is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DICOM_DEIDENTIFY": "basic"}, "DICOM_DEID_KEY is not set"),
        ({"DICOM_DEIDENTIFY": "basic", "DICOM_DEID_KEY": "short-secret"}, "DICOM_DEID_KEY has 12"),
        ({"DICOM_DEIDENTIFY": "full"}, "DICOM_DEIDENTIFY must be"),
        (
            {
                "DICOM_DEIDENTIFY": "basic",
                "DICOM_DEID_KEY": KEY,
                "DICOM_DEID_OPTIONS": "retain-all",
            },
            "DICOM_DEID_OPTIONS: unknown option",
        ),
        ({"DICOM_DEID_OPTIONS": "retain-uids"}, "DICOM_DEIDENTIFY is off"),
    ],
)
def test_wrong_settings_fail_the_load(monkeypatch, env, named):
    for name in ("DICOM_DEIDENTIFY", "DICOM_DEID_OPTIONS", "DICOM_DEID_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(DeidSettingsError, match=named) as raised:
        build_resources()
    assert "short-secret" not in str(raised.value)


def test_the_key_is_masked(monkeypatch):
    monkeypatch.setenv("DICOM_DEIDENTIFY", "basic")
    monkeypatch.setenv("DICOM_DEID_KEY", KEY)
    monkeypatch.setenv(
        "DICOM_DEID_OPTIONS", "retain-longitudinal-modified-dates, clean-descriptors"
    )
    resources = build_resources()
    lake = resources["lake"].process_config_and_initialize()
    deidentifier = lake.deidentifier()
    assert deidentifier.settings.options == {
        "retain-longitudinal-modified-dates",
        "clean-descriptors",
    }
    settings = DeidSettings.parse("basic", "", KEY)
    for shown in (
        repr(settings),
        repr(deidentifier),
        str(deidentifier.fingerprint()),
        repr(resources["lake"]),
        repr(lake),
    ):
        assert KEY not in shown
