"""The import layering of docs/architecture.md, enforced: data flows one way (feed -> metadata ->
Arrow -> Delta -> SQL) and no package imports one to its right, nor the Dagster shell.

Every import counts, at module level or inside a function, read from the source with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dicom_assets

ROOT = Path(dicom_assets.__file__).parent
# The Dagster shell: may import anything; nothing outside it may import it.
SHELL = {
    "assets",
    "checks",
    "cli",
    "definitions",
    "launcher",
    "observability",
    "reconcile_job",
    "resources",
    "sensors",
    "warm_imports",
    "wiring",
}
# What each package (or top-level module) outside the shell may import, besides itself.
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "native": set(),
    "feed_entry": set(),
    "partitions": {"config"},
    "deid": {"config"},
    "sources": {"config", "partitions", "native", "feed_entry"},
    "schema": {"config", "deid", "native", "feed_entry"},
    "lake": {"config", "partitions", "deid", "native", "feed_entry", "schema"},
    "custom": {"config", "partitions", "deid", "native", "feed_entry", "schema", "lake"},
    "sql": {"config", "partitions", "native", "feed_entry", "schema", "lake", "custom"},
    "devtools": {"config", "partitions", "native", "feed_entry", "sources"},
}
# (module, package it imports) pairs that break the layering on purpose, each with its reason.
KNOWN_EXCEPTIONS = {
    # The settings table validates a lake URL and a de-identification key with the parsers of
    # the packages that use them (imported inside the check, when the definitions load).
    ("config.py", "lake"): "config validates DICOM_LAKE_URL with lake.azure_storage",
    ("config.py", "deid"): "config validates the de-identification settings with deid.settings",
    # Issue 16 item 3: Orthanc's reconciliation writes its delete rows through the lake.
    ("sources/orthanc/reconcile.py", "lake"): "writes delete rows (issue 16, item 3)",
    ("sources/orthanc/reconcile.py", "schema"): "converts delete rows (issue 16, item 3)",
}


def _imports() -> list[tuple[str, str, str]]:
    """(module path under dicom_assets/, its package, the project package it imports)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        package = module.split("/")[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "dicom_assets":  # from dicom_assets import native
                    names = [f"dicom_assets.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "dicom_assets" and len(parts) > 1 and parts[1] != package:
                    found.append((module, package, parts[1]))
    return found


def test_every_package_has_a_layer():
    packages = {p.name.removesuffix(".py") for p in ROOT.iterdir() if p.name != "__init__.py"}
    packages = {p for p in packages if not p.startswith("_") and p != "py.typed"}
    assert packages <= SHELL | set(ALLOWED), packages - SHELL - set(ALLOWED)


def test_no_package_imports_one_to_its_right_or_the_shell():
    wrong = [
        f"{module} imports dicom_assets.{imported}"
        for module, package, imported in _imports()
        if package not in SHELL
        and imported not in ALLOWED[package]
        and (module, imported) not in KNOWN_EXCEPTIONS
    ]
    assert wrong == []


def test_schema_and_sources_meet_only_in_the_neutral_modules():
    imports = _imports()
    # The walker sees both forms of import (a guard against a test that checks nothing).
    assert ("schema/kinds.py", "schema", "native") in imports
    assert ("sources/dicomweb.py", "sources", "native") in imports
    assert [
        m for m, package, imported in imports if (package, imported) == ("schema", "sources")
    ] == []
    assert [m for m, package, _ in imports if package in ("native", "feed_entry")] == []


def test_the_product_never_imports_the_devtools():
    assert [m for m, package, imported in _imports() if imported == "devtools"] == []


def test_the_known_exceptions_still_exist():
    # When one is fixed, remove it here (and from docs/architecture.md).
    present = {(module, imported) for module, _, imported in _imports()}
    assert set(KNOWN_EXCEPTIONS) <= present, set(KNOWN_EXCEPTIONS) - present
