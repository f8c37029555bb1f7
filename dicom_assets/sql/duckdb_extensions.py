"""DuckDB's ``delta`` and ``azure`` extensions, installed offline from their pinned wheels.

DuckDB installs extensions from its extension server by default; the ``duckdb-extension-delta``
and ``duckdb-extension-azure`` wheels (pinned to the ``duckdb`` version in pyproject.toml) carry
the same binaries. ``INSTALL '<file>'`` copies each into DuckDB's extension folder
(``~/.duckdb/extensions/v<version>/<platform>/``), after which *any* DuckDB of that version on the
machine, a plain ``duckdb.connect(path)`` or the DuckDB CLI, autoloads them when a view calls
``delta_scan``: the views work without the project's code.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

EXTENSIONS = ("delta", "azure")


def wheel_extension_file(name: str) -> Path:
    """The extension binary shipped in ``duckdb-extension-<name>`` for this DuckDB version."""
    module = importlib.import_module(f"duckdb_extension_{name}")
    folder = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    files = sorted(folder.glob(f"{name}.duckdb_extension"))
    if not files:
        raise RuntimeError(
            f"duckdb-extension-{name} holds no build for DuckDB {duckdb.__version__} (looked in "
            f"{folder}); pin duckdb and duckdb-extension-{name} to the same version"
        )
    return files[0]


def ensure_extensions(connection: duckdb.DuckDBPyConnection, names=EXTENSIONS) -> None:
    """Install (once per machine and DuckDB version) and load the extensions."""
    installed = {
        row[0]
        for row in connection.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE installed"
        ).fetchall()
    }
    for name in names:
        if name not in installed:
            path = str(wheel_extension_file(name)).replace("'", "''")
            connection.execute(f"INSTALL '{path}'")
        connection.execute(f"LOAD {name}")
