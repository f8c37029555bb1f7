"""What the Synapse script is generated for: database, lake location and object names.

``SynapseConfig`` validates everything it is given when it is built, so a hostile or mistyped
value fails before any SQL is generated. ``config_for_lake`` derives the external data source
location (``https://<account>.dfs.core.windows.net/<container>``) and the lake's path inside the
container from a lake URL such as ``abfss://<container>@<account>.dfs.core.windows.net/<prefix>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from dicom_assets.sql.synapse.quoting import validate_identifier, validate_variable_name

# Synapse caps an external table at 1,024 columns; 1,020 leaves headroom for the view's
# helper columns and is the limit the issue sets.
MAX_EXTERNAL_TABLE_COLUMNS = 1020

# Host names (RFC 1123 labels) and the path characters storage accounts use for containers and
# folders. Quotes, blanks, brackets, wildcards and percent-escapes are rejected outright: the
# lake layout never needs them, and they are what an injection would be made of.
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_PATH = re.compile(r"^[A-Za-z0-9._~=-]+(?:/[A-Za-z0-9._~=-]+)*$")
_LOCATION_SCHEMES = ("https", "abfss")
_LAKE_SCHEMES = ("abfs", "abfss", "az")


def validate_host(host: str, *, what: str = "host name") -> str:
    """A DNS host name (letters, digits, hyphens, dots), nothing else."""
    if not isinstance(host, str) or not _HOST.match(host):
        raise ValueError(f"{what} {host!r} is not a valid host name")
    return host


def validate_path(path: str, *, what: str = "path") -> str:
    """A relative storage path of ``[A-Za-z0-9._~=-]`` segments separated by ``/`` ('' allowed)."""
    if path == "":
        return path
    if not isinstance(path, str) or not _PATH.match(path) or ".." in path.split("/"):
        raise ValueError(f"{what} {path!r} may only contain letters, digits and . _ ~ = - /")
    return path


def validate_location(location: str) -> str:
    """``https://<host>/<container>[/<path>]`` (or ``abfss://``): the external data source URL."""
    parts = urlsplit(location) if isinstance(location, str) else None
    if parts is None or parts.scheme not in _LOCATION_SCHEMES:
        raise ValueError(f"data source location {location!r} must start with https:// or abfss://")
    has_user = parts.password is not None or (parts.scheme == "https" and parts.username)
    if parts.query or parts.fragment or has_user or parts.port:
        raise ValueError(f"data source location {location!r} must not have a query, user or port")
    host = parts.netloc
    if parts.scheme == "abfss" and "@" in host:
        container, host = host.split("@", 1)
        validate_path(container, what="container")
    validate_host(host, what="data source host")
    path = parts.path.strip("/")
    if parts.scheme == "https" and not path:
        raise ValueError(f"data source location {location!r} must name a container")
    validate_path(path, what="data source path")
    return location


@dataclass(frozen=True, kw_only=True)
class SynapseConfig:
    """Names and locations for the Synapse serverless objects.

    ``lake_prefix`` is the lake root's folder inside the data source location ('' when the lake
    is the container root); the external table reads ``<lake_prefix>/result/Dicom/**``.
    ``master_key_password_env`` names the secret environment variable (never the password).
    """

    data_source_location: str
    database: str = "dicomdb"
    lake_prefix: str = ""
    master_key_password_env: str = "SYNAPSE_MASTER_KEY_PASSWORD"
    schema: str = "dicom"
    credential_name: str = "dicom_lake_identity"
    data_source_name: str = "dicom_lake"
    file_format_name: str = "dicom_delta"
    max_columns: int = MAX_EXTERNAL_TABLE_COLUMNS

    def __post_init__(self) -> None:
        validate_location(self.data_source_location)
        for field, what in (
            ("database", "database name"),
            ("schema", "schema name"),
            ("credential_name", "credential name"),
            ("data_source_name", "data source name"),
            ("file_format_name", "file format name"),
        ):
            validate_identifier(getattr(self, field), what=what)
        if self.credential_name.startswith("#"):
            raise ValueError("credential name cannot start with '#'")
        validate_path(self.lake_prefix.strip("/"), what="lake prefix")
        validate_variable_name(self.master_key_password_env, what="master key password variable")
        if not 7 <= self.max_columns <= MAX_EXTERNAL_TABLE_COLUMNS:
            raise ValueError(f"max_columns must be between 7 and {MAX_EXTERNAL_TABLE_COLUMNS}")

    @property
    def instances_location(self) -> str:
        """The external table's LOCATION, relative to the data source: the Delta table's root
        (``FORMAT_TYPE = DELTA`` reads its log, so only the current version's files)."""
        prefix = self.lake_prefix.strip("/")
        return f"{prefix}/result/Dicom/" if prefix else "result/Dicom/"


def location_for_lake(lake_url: str, account_name: str | None = None) -> tuple[str, str]:
    """(data source location, lake prefix) for an ``abfs://``/``abfss://``/``az://`` lake URL.

    ``abfss://<container>@<account>.dfs.core.windows.net/<prefix>`` carries the account; the
    adlfs short form ``abfs://<container>/<prefix>`` needs ``account_name``.
    """
    parts = urlsplit(lake_url)
    if parts.scheme not in _LAKE_SCHEMES:
        raise ValueError(
            f"lake {lake_url!r} is not on Azure storage: give the data source URL explicitly"
        )
    if "@" in parts.netloc:
        container, host = parts.netloc.split("@", 1)
        account = host.split(".", 1)[0]
    else:
        container, account = parts.netloc, account_name
    if not account:
        raise ValueError(f"lake {lake_url!r} does not name a storage account")
    validate_path(container, what="container")
    validate_host(account, what="storage account")
    prefix = validate_path(parts.path.strip("/"), what="lake prefix")
    return f"https://{account}.dfs.core.windows.net/{container}", prefix


def config_for_lake(
    lake_url: str, *, database: str = "dicomdb", account_name: str | None = None, **overrides
) -> SynapseConfig:
    """The SynapseConfig for an Azure lake URL (``DICOM_LAKE_URL``): data source location and
    lake prefix derived by :func:`location_for_lake`, other fields from ``overrides``."""
    location, prefix = location_for_lake(lake_url, account_name)
    return SynapseConfig(
        data_source_location=location, lake_prefix=prefix, database=database, **overrides
    )
