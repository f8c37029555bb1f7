"""Runs the Synapse script over a DB-API connection, and opens that connection.

The executor is deliberately thin: for each statement, in order, it runs the probe, skips the
batch when the probe already shows the desired state, otherwise runs the batch and records
``"<created|altered> <kind> <name>"``. The first failing batch stops the run (later objects
depend on earlier ones). Nothing here knows T-SQL, so the ordering, skipping, reporting and
secret binding are tested against a real local database (DuckDB) with statements in its dialect.

Secrets: a statement whose ``secret_env`` is set references the secret as ``N'$(NAME)'`` (a
sqlcmd variable) in its text; the executor binds the environment value as a query parameter in
its place, so the secret is never part of SQL text, logs, errors or metadata.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dicom_assets.config import environment
from dicom_assets.sql.synapse.config import validate_host
from dicom_assets.sql.synapse.quoting import validate_identifier
from dicom_assets.sql.synapse.script import SynapseStatement

log = logging.getLogger(__name__)

# The audience mssql-python requests tokens for with ``token_provider`` (commercial cloud).
SQL_TOKEN_SCOPE = "https://database.windows.net/.default"


class SynapseScriptError(RuntimeError):
    """A batch of the script failed; says which one. The driver's error is the ``__cause__``."""


def _bind_secret(
    statement: SynapseStatement, environ: Mapping[str, str]
) -> tuple[str, tuple[Any, ...]]:
    """(SQL, parameters) to execute: the secret placeholder becomes a ``?`` parameter."""
    if not statement.secret_env:
        return statement.sql, ()
    placeholder = re.compile(r"N?'\$\(" + re.escape(statement.secret_env) + r"\)'")
    sql, count = placeholder.subn("?", statement.sql)
    if count != 1:
        raise ValueError(f"{statement.kind} {statement.name}: expected one secret placeholder")
    # An unset variable binds NULL: the batch raises a clear error only if it needs the secret.
    return sql, (environ.get(statement.secret_env) or None,)


def _probe_state(cursor: Any, probe: str) -> Any:
    cursor.execute(probe)
    row = cursor.fetchone()
    return None if row is None else row[0]


def _drain(cursor: Any) -> None:
    """Consume every result of a batch: SQL Server reports errors of later statements in a
    batch only when the client moves on to their results."""
    next_set = getattr(cursor, "nextset", None)
    if next_set is None:
        return
    try:
        while next_set():
            pass
    except NotImplementedError:
        return


def _scrub(text: str, secret: Any) -> str:
    return text.replace(secret, "***") if isinstance(secret, str) and secret else text


def apply_synapse_script(
    connection: Any,
    statements: Sequence[SynapseStatement],
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Run ``statements`` in order; return ``"created <kind> <name>"``/``"altered ..."`` for
    each batch that changed something (an empty list when everything was up to date).

    ``connection`` is a DB-API 2.0 connection, in autocommit mode for SQL Server (CREATE
    DATABASE cannot run inside a transaction). ``environ`` defaults to the process environment
    (``config.environment``).
    """
    environ = environment(environ)
    changes: list[str] = []
    cursor = connection.cursor()
    try:
        for statement in statements:
            state = None
            if statement.probe is not None:
                state = _probe_state(cursor, statement.probe)
                if state is not None and state == statement.desired_state:
                    log.debug("up to date: %s %s", statement.kind, statement.name)
                    continue
            sql, parameters = _bind_secret(statement, environ)
            try:
                if parameters:
                    cursor.execute(sql, parameters)
                else:
                    cursor.execute(sql)
                _drain(cursor)
                if hasattr(connection, "commit"):
                    connection.commit()
            except Exception as error:  # noqa: BLE001 - DB-API drivers raise their own classes
                secret = parameters[0] if parameters else None
                detail = _scrub(str(error), secret)
                raise SynapseScriptError(
                    f"{statement.kind} {statement.name} failed: {type(error).__name__}: {detail}"
                ) from None if secret else error
            if statement.probe is None:
                continue  # context switches (USE) change no object
            action = "created" if state is None else "altered"
            changes.append(f"{action} {statement.kind} {statement.name}")
            log.info("%s %s %s", action, statement.kind, statement.name)
    finally:
        cursor.close()
    return changes


def synapse_connection_string(endpoint: str, database: str, port: int = 1433) -> str:
    """ODBC connection string for a Synapse SQL endpoint (TLS on, certificate checked)."""
    validate_host(endpoint, what="SQL endpoint")
    validate_identifier(database, what="database name")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port {port!r} is not a TCP port")
    # ODBC values in braces cannot end early: '}' is doubled inside them.
    braced = "{" + database.replace("}", "}}") + "}"
    return f"Server=tcp:{endpoint},{port};Database={braced};Encrypt=yes;TrustServerCertificate=no;"


def synapse_connection(
    endpoint: str,
    database: str,
    credential: Any,
    *,
    port: int = 1433,
    login_timeout_seconds: int = 30,
) -> Any:
    """An autocommit mssql-python connection authenticated with an Entra ID access token.

    ``credential`` is an azure-identity credential (e.g. ``DefaultAzureCredential()``); the
    driver asks it for a token for ``https://database.windows.net/.default`` and hands the token
    to the server itself, so this code never holds, logs or returns it. Connect to ``master``
    when the database may not exist yet: the script creates it and switches to it.
    """
    import mssql_python  # imported here: only Synapse deployments load the driver

    connection_string = synapse_connection_string(endpoint, database, port)
    log.info("connecting to %s, database %s", endpoint, database)
    return mssql_python.connect(
        connection_string,
        autocommit=True,
        token_provider=credential,
        timeout=login_timeout_seconds,
    )
