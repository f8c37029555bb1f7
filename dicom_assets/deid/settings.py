"""DICOM_DEIDENTIFY, DICOM_DEID_OPTIONS and DICOM_DEID_KEY, validated; the key is never shown."""

from __future__ import annotations

from dataclasses import dataclass, field

from dicom_assets.config import setting_value
from dicom_assets.deid.profile import OPTIONS

MODES = ("off", "basic")
MIN_KEY_CHARS = 32


class DeidSettingsError(ValueError):
    """A de-identification setting is wrong; the message names the variable, never the key."""


@dataclass(frozen=True)
class DeidSettings:
    mode: str = "off"
    options: frozenset[str] = frozenset()
    key: str = field(default="", repr=False)  # repr=False: never in logs or tracebacks

    @property
    def enabled(self) -> bool:
        return self.mode == "basic"

    @classmethod
    def parse(cls, mode: str | None, options: str | None, key: str | None) -> DeidSettings:
        mode = (mode or "off").strip().lower()
        if mode not in MODES:
            raise DeidSettingsError(
                f"DICOM_DEIDENTIFY must be one of {', '.join(MODES)}, not {mode!r}"
            )
        chosen = frozenset(o.strip().lower() for o in (options or "").split(",") if o.strip())
        unknown = sorted(chosen - set(OPTIONS))
        if unknown:
            raise DeidSettingsError(
                f"DICOM_DEID_OPTIONS: unknown option(s) {', '.join(unknown)}; valid options: "
                f"{', '.join(OPTIONS)}"
            )
        if {"retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"} <= chosen:
            raise DeidSettingsError(
                "DICOM_DEID_OPTIONS: retain-longitudinal-full-dates and "
                "retain-longitudinal-modified-dates exclude each other; choose one"
            )
        key = key or ""
        if mode == "basic" and len(key) < MIN_KEY_CHARS:
            state = "is not set" if not key else f"has {len(key)} characters"
            raise DeidSettingsError(
                f"DICOM_DEID_KEY {state}: DICOM_DEIDENTIFY=basic needs a secret key of at least "
                f"{MIN_KEY_CHARS} characters (e.g. `python -c 'import secrets; "
                f"print(secrets.token_urlsafe(48))'`), kept as a secret"
            )
        if mode == "off" and chosen:
            raise DeidSettingsError(
                "DICOM_DEID_OPTIONS is set but DICOM_DEIDENTIFY is off: set DICOM_DEIDENTIFY=basic "
                "or unset the options"
            )
        return cls(mode, chosen if mode == "basic" else frozenset(), key if mode == "basic" else "")


def settings_from_environment() -> DeidSettings:
    """The settings as the environment holds them now (checked when the definitions load)."""
    return DeidSettings.parse(
        setting_value("DICOM_DEIDENTIFY"),
        setting_value("DICOM_DEID_OPTIONS"),
        setting_value("DICOM_DEID_KEY"),
    )
