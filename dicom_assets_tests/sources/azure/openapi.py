"""Checks a request against the Azure DICOM service's OpenAPI documents (test helper).

openapi-core checks the path, the types and the ranges of declared parameters (v1 ``limit``
1..100, v2 ``Limit`` 1..200, ``date-time`` formats, booleans). It ignores parameters the
document does not declare, so names are checked here too, exactly as the document spells them:
a misspelt parameter is silently ignored by a server, which is how paging bugs hide.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import parse_qsl

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest

DATA = Path(__file__).resolve().parents[2] / "data" / "azure"
SWAGGER = {"v1": DATA / "swagger-v1.yaml", "v2": DATA / "swagger-v2.yaml"}


@functools.cache
def _openapi(version: str) -> OpenAPI:
    # ~1 s to load each document: once per test session.
    return OpenAPI.from_file_path(str(SWAGGER[version]))


@functools.cache
def _declared_query_parameters(version: str) -> dict[tuple[str, str], frozenset[str]]:
    document = yaml.safe_load(SWAGGER[version].read_text())
    declared = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            names = {
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter.get("in") == "query"
            }
            declared[(method.lower(), path)] = frozenset(names)
    return declared


def request_violations(method: str, path: str, query: str) -> list[str]:
    """What is wrong with ``method path?query`` for the document of its version (``/v1/…``)."""
    version = path.strip("/").split("/", 1)[0]
    if version not in SWAGGER:
        return [f"{method} {path}: no OpenAPI document for a path without /v1 or /v2"]
    pairs = parse_qsl(query, keep_blank_values=True)
    problems = []
    names = [name for name, _ in pairs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"{method} {path}: parameters given twice: {duplicates}")
    declared = _declared_query_parameters(version).get((method.lower(), path))
    if declared is None:
        problems.append(f"{method} {path}: path and method not in the {version} document")
        return problems
    unknown = sorted(set(names) - declared)
    if unknown:
        problems.append(
            f"{method} {path}: parameters not in the {version} document: {unknown} "
            f"(declared: {sorted(declared)})"
        )
    request = MockRequest("http://127.0.0.1", method.lower(), path, args=dict(pairs))
    try:
        _openapi(version).validate_request(request)
    except Exception as error:  # noqa: BLE001 (openapi-core raises a family of validation errors)
        cause = error.__cause__ or error
        problems.append(f"{method} {path}?{query}: {error} ({cause})")
    return problems
