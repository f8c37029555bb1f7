"""Every setting the product reads from the environment, in one table, checked when the
definitions load.

Each row of :data:`SETTINGS` says a variable's name, its default, how a value is checked
(``check`` returns the typed value or raises ``ValueError`` with the reason), the accepted form
in words, and whether it is a secret (its value is never shown). ``definitions.py`` calls
:func:`validate_settings` before it builds anything, so a bad value stops the code location from
loading with one line per bad variable::

    DICOM_SERVER_KIND='orthank' is not accepted: not one of orthanc, azure
    (accepted: orthanc or azure)

Code that needs a value reads it with :func:`value_of` (typed, checked the same way). Dagster
resources take theirs through :func:`setting`: an ``EnvVar`` when the variable is set (read
when a run starts, so secrets never become part of the definitions), else the default.

Adding a setting is adding one row (and its line in the README's configuration table).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dagster import EnvVar, Failure

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PARTITION_START_FORMAT = "%Y-%m-%d-%H:%M"


class SettingError(Failure):
    """A setting's value is not accepted. A ``dagster.Failure``, so a run failing on it shows
    this message as its error's first line (Dagster does not wrap a ``Failure``)."""

    def __init__(self, message: str):
        super().__init__(description=message, allow_retries=False)

    def __str__(self) -> str:
        return self.description or ""


# --- checks: each returns the typed value or raises ValueError(reason) ------------------------


def one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value.lower() not in choices:
            raise ValueError(f"not one of {', '.join(choices)}")
        return value.lower()

    return check


def number(minimum: float = 0.0, maximum: float = float("inf")) -> Callable[[str], float]:
    def check(value: str) -> float:
        try:
            parsed = float(value)
        except ValueError:
            raise ValueError("not a number") from None
        if not minimum <= parsed <= maximum:  # also refuses nan
            raise ValueError(f"outside {minimum:g} to {maximum:g}")
        return parsed

    return check


def integer(minimum: int = 1) -> Callable[[str], int]:
    def check(value: str) -> int:
        try:
            parsed = int(value)
        except ValueError:
            raise ValueError("not a whole number") from None
        if parsed < minimum:
            raise ValueError(f"below {minimum}")
        return parsed

    return check


def http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("not an http(s) URL with a host")
    try:
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("its port is not a number from 0 to 65535") from None
    return value


def host_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?", value):
        raise ValueError("not a host name (no scheme, no path)")
    return value


def text(value: str) -> str:
    return value


def partition_start(value: str) -> datetime:
    try:
        return datetime.strptime(value, PARTITION_START_FORMAT)
    except ValueError:
        raise ValueError("not a YYYY-MM-DD-HH:MM time") from None


def resolve_local_path(path: str) -> Path:
    """Relative paths resolve against the project root, not the process's working directory."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def is_remote_url(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


def _probe_writable_folder(folder: Path) -> None:
    """Raise ValueError unless a folder can be created at ``folder`` (or written in it).

    Probes the nearest existing folder by creating (and removing) a temporary folder in it:
    permission bits alone say nothing to root, and ``/proc`` or a read-only mount refuse only
    when asked.
    """
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{existing} is a file, not a folder")
    try:
        Path(tempfile.mkdtemp(prefix=".dicom-assets-probe-", dir=existing)).rmdir()
    except OSError as error:
        raise ValueError(
            f"cannot create folders in {existing} ({error.strerror or error})"
        ) from None


def reads_environ(check: Callable[[str, Mapping[str, str]], Any]) -> Callable[..., Any]:
    """Mark a check that also needs the other variables (called as ``check(value, environ)``)."""
    check.reads_environ = True  # type: ignore[attr-defined]
    return check


@reads_environ
def lake_url(value: str, environ: Mapping[str, str]) -> str:
    if is_remote_url(value):
        # Lazy: the Azure URL and credential rules live with the Azure storage code.
        from dicom_assets.lake.azure_storage import choose_credential, parse_lake_url

        try:
            choose_credential(parse_lake_url(value, environ), environ)
        except ValueError as error:
            raise ValueError(str(error)) from None
        return value
    _probe_writable_folder(resolve_local_path(value.removeprefix("file://")))
    return value


def writable_file(value: str) -> str:
    path = resolve_local_path(value)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a file")
    _probe_writable_folder(path.parent)
    return value


def sas_token(value: str) -> str:
    if "sig=" not in value:
        raise ValueError("no sig= field (copy the whole token, with or without its '?')")
    return value


def connection_string(value: str) -> str:
    fields = dict(part.split("=", 1) for part in value.split(";") if "=" in part)
    if not ({"AccountName", "BlobEndpoint"} & fields.keys()):
        raise ValueError("neither AccountName= nor BlobEndpoint= in it")
    return value


def deid_options(value: str, environ: Mapping[str, str]) -> str:
    """The options the de-identification profile knows, in a combination it allows."""
    from dicom_assets.deid.settings import MIN_KEY_CHARS, DeidSettings

    mode = environ.get("DICOM_DEIDENTIFY") or "off"
    try:
        DeidSettings.parse(mode, value, "k" * MIN_KEY_CHARS)  # the key is checked on its own row
    except ValueError as error:
        raise ValueError(str(error).removeprefix("DICOM_DEID_OPTIONS: ")) from None
    return value


deid_options.reads_environ = True  # type: ignore[attr-defined]


def templates_folder(value: str) -> str:
    if not resolve_local_path(value).is_dir():
        raise ValueError("no such folder")
    return value


def min_length(characters: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) < characters:
            raise ValueError(f"shorter than {characters} characters")
        return value

    return check


def storage_account(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{3,24}", value):
        raise ValueError("not a storage account name (3-24 lowercase letters and digits)")
    return value


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None  # None: no default
    check: Callable[[str], Any]
    accepted: str  # the accepted form, in words, for error messages and docs
    secret: bool = False
    # When it must be set (it has no default then): a test on the other settings' values.
    required_when: Callable[[Callable[[str], str]], bool] | None = None

    def shown(self, value: str) -> str:
        """The value as it may appear in a message: secrets masked."""
        if self.secret:
            return f"'***' ({len(value)} characters, masked)"
        return repr(value)


def _always(value_of: Callable[[str], str]) -> bool:
    return True


LAKE_FORMS = (
    "a writable local folder, abfss://<container>@<account>.dfs.core.windows.net/<prefix> "
    "or abfs://<container>/<prefix>"
)
SECONDS = "a number of seconds >= 0"

SETTINGS: dict[str, Setting] = {
    row.name: row
    for row in (
        Setting("DICOM_SERVER_URL", None, http_url,
                "the server's DICOMweb base URL, http(s)://host[:port]/path "
                "(Orthanc: http://127.0.0.1:8042/dicom-web/)", required_when=_always),
        Setting("DICOM_SERVER_KIND", "azure", one_of("orthanc", "azure"), "orthanc or azure"),
        Setting("ORTHANC_URL", None, http_url,
                "Orthanc's REST root, http(s)://host[:port] "
                "(derived from DICOM_SERVER_URL when unset)"),
        Setting("DICOM_API_VERSION", "v2", one_of("v1", "v2"), "v2 or v1"),
        Setting("DICOM_AUTH", "none", one_of("none", "azure"), "none or azure"),
        Setting("DICOM_AUDIENCE", "https://dicom.healthcareapis.azure.com", http_url,
                "the Entra ID audience URL of the DICOM service"),
        Setting("DICOM_LAKE_URL", "data/lake", lake_url, LAKE_FORMS),
        Setting("DICOM_DUCKDB_PATH", "data/warehouse.duckdb", writable_file,
                "a DuckDB file path whose folder is writable"),
        Setting("DICOM_SQL_TARGET", "duckdb", one_of("duckdb", "synapse"), "duckdb or synapse"),
        Setting("SYNAPSE_SQL_ENDPOINT", None, host_name,
                "<workspace>-ondemand.sql.azuresynapse.net",
                required_when=lambda get: get("DICOM_SQL_TARGET").lower() == "synapse"),
        Setting("SYNAPSE_DATABASE", "dicomdb", host_name, "a database name (letters, digits, -)"),
        Setting("SYNAPSE_MASTER_KEY_PASSWORD", None, text, "a password", secret=True),
        Setting("DICOM_PARTITIONS_START", "2025-01-01-00:00", partition_start,
                "the first hourly window as YYYY-MM-DD-HH:MM (UTC), e.g. 2026-11-25-00:00"),
        # The sensor's minimum interval; Dagster's daemon starts ticks at most every 5 s anyway,
        # and a tick that finds nothing polls again every POLL seconds for up to WAIT seconds.
        Setting("DICOM_SENSOR_INTERVAL_SECONDS", "1", integer(1), "a whole number of seconds >= 1"),
        Setting("DICOM_SENSOR_WAIT_SECONDS", "4", number(0, 50), "seconds from 0 to 50"),
        Setting("DICOM_SENSOR_POLL_SECONDS", "0.5", number(0.05, 60), "seconds from 0.05 to 60"),
        # Orthanc deletions (sources/orthanc/reconcile.py).
        Setting("DICOM_RECONCILE_INTERVAL_SECONDS", "60", number(0), SECONDS),
        # Entries converted at a time: bounds a run's memory (DICOM JSON of a realistic instance
        # takes ~150 kB as Python dicts) while keeping conversion at full speed (>= 1,000).
        Setting("DICOM_BATCH_SIZE", "2000", integer(1), "a whole number >= 1"),
        # Checks and lag, read when a check or sensor runs (a change applies without a reload).
        Setting("DICOM_MAX_LAG_SECONDS", "300", number(0), SECONDS),
        Setting("DICOM_MAX_QUARANTINE_SHARE", "0.01", number(0, 1),
                "a share from 0 to 1, e.g. 0.01"),
        Setting("DICOM_LAG_INTERVAL_SECONDS", "30", integer(1), "a whole number of seconds >= 1"),
        # De-identification before landing (docs/deidentification.md, dicom_assets/deid/).
        Setting("DICOM_DEIDENTIFY", "off", one_of("off", "basic"), "off or basic"),
        Setting("DICOM_DEID_OPTIONS", "", deid_options,
                "comma-separated profile options (docs/deidentification.md), only with "
                "DICOM_DEIDENTIFY=basic"),
        Setting("DICOM_DEID_KEY", None, min_length(32),
                "a secret of at least 32 characters, e.g. from "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'", secret=True,
                required_when=lambda get: get("DICOM_DEIDENTIFY").lower() == "basic"),
        # Custom tables (docs/custom-tables.md): the templates themselves are validated by
        # definitions.py (file:line: reason, as dicom-assets check-templates prints them).
        Setting("DICOM_CUSTOM_SCHEMAS", None, templates_folder,
                "a folder of <name>.yaml templates (docs/custom-tables.md)"),
        # Lake maintenance (lake/maintenance.py): vacuum keeps unreferenced files this long, so a
        # reader holding an older snapshot still reads it; a day partition with this many small
        # files is compacted.
        Setting("DICOM_VACUUM_RETENTION_HOURS", "168", integer(0), "a whole number of hours >= 0"),
        Setting("DICOM_COMPACT_AFTER_FILES", "16", integer(2), "a whole number of files >= 2"),
        # Lake credentials (lake/azure_storage.py picks the first that is set).
        Setting("AZURE_STORAGE_CONNECTION_STRING", None, connection_string,
                "a storage connection string (AccountName=...;AccountKey=...;...)", secret=True),
        Setting("AZURE_STORAGE_ACCOUNT_NAME", None, storage_account,
                "a storage account name (3-24 lowercase letters and digits)"),
        Setting("AZURE_STORAGE_ACCOUNT_KEY", None, text, "the account's key", secret=True),
        Setting("AZURE_STORAGE_SAS_TOKEN", None, sas_token, "a SAS token (sv=...&sig=...)",
                secret=True),
    )
}  # fmt: skip

# name -> default, for code that only needs the default.
DEFAULTS: dict[str, str | None] = {name: row.default for name, row in SETTINGS.items()}


def raw_value(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's text now: set and non-empty, else its default, else ''."""
    environ = os.environ if environ is None else environ
    return environ.get(name) or SETTINGS[name].default or ""


def problem_of(row: Setting, environ: Mapping[str, str]) -> str | None:
    """The message for a bad (or missing required) value of ``row``, or None when it is fine."""
    value = environ.get(row.name) or ""
    if not value:
        if row.default is None:
            needed = row.required_when and row.required_when(lambda n: raw_value(n, environ))
            if needed:
                return f"{row.name} is not set (accepted: {row.accepted})"
            return None
        value = row.default
    try:
        _checked(row, value, environ)
    except ValueError as error:
        return f"{row.name}={row.shown(value)} is not accepted: {error} (accepted: {row.accepted})"
    return None


def _checked(row: Setting, value: str, environ: Mapping[str, str]) -> Any:
    if getattr(row.check, "reads_environ", False):
        return row.check(value, environ)
    return row.check(value)


def validate_settings(environ: Mapping[str, str] | None = None) -> None:
    """Check every setting; raise one :class:`SettingError` listing every bad one."""
    environ = os.environ if environ is None else environ
    problems = [p for row in SETTINGS.values() if (p := problem_of(row, environ))]
    if problems:
        raise SettingError("\n".join(problems))


def value_of(name: str) -> Any:
    """The typed value now, checked (a bad value raises :class:`SettingError` naming it)."""
    row = SETTINGS[name]
    problem = problem_of(row, os.environ)
    if problem:
        raise SettingError(problem)
    value = raw_value(name)
    return _checked(row, value, os.environ) if value else None


def setting(name: str) -> Any:
    """An ``EnvVar`` when the variable is set, else its default (for resource fields)."""
    if os.environ.get(name):
        return EnvVar(name)
    return SETTINGS[name].default or ""


def setting_value(name: str) -> str:
    """The text now (for things decided when definitions load, e.g. the partition start)."""
    return raw_value(name)
