"""Templates: ``<name>.yaml`` files read into :class:`Template`, every problem named by file:line.

    description: CT acquisition parameters, one row per change of a CT instance.
    where:
      Modality: CT                 # one value, or a list of accepted values
    columns:
      kvp: KVP                     # a path (see docs/custom-tables.md)
      slice_thickness:
        path: SliceThickness
        description: Nominal slice thickness, mm.
      acme_version:
        path: (0009,"ACME 1.0",10)
        vr: DS                     # private elements only: read the text as this VR

The YAML is *composed* (not loaded) so that every key and value keeps its line; duplicate keys,
which YAML loaders silently collapse, are reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from dicom_assets.custom.resolve import DECLARABLE_VRS, PathError, ResolvedPath, resolve_path
from dicom_assets.custom.where import Condition, parse_condition
from dicom_assets.schema.layout import HEAD_COLUMNS

NAME_RULE = re.compile(r"[a-z0-9_]+")
COLUMN_RULE = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 100  # Synapse object names stay well under 128 characters with a prefix
TOP_KEYS = ("description", "where", "columns")
COLUMN_KEYS = ("path", "description", "vr")


@lru_cache(maxsize=1)
def reserved_words() -> frozenset[str]:
    """SQL words DuckDB reserves (``SELECT from FROM t`` fails): no column may be one."""
    with duckdb.connect() as connection:
        rows = connection.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
        ).fetchall()
    return frozenset(row[0].lower() for row in rows)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class TemplateError(ValueError):
    """One or more invalid templates; the message lists ``file:line: reason``, one per line."""

    def __init__(self, problems: list[Problem], heading: str = "") -> None:
        self.problems = problems
        super().__init__("\n".join(([heading] if heading else []) + [str(p) for p in problems]))


@dataclass(frozen=True)
class CustomColumn:
    name: str
    path: ResolvedPath
    description: str


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    columns: tuple[CustomColumn, ...]
    conditions: tuple[Condition, ...] = ()
    source: str = ""

    def source_columns(self) -> list[str]:
        """The change-log columns a derivation reads: head, paths' and conditions' columns."""
        needed = list(HEAD_COLUMNS)
        for name in [c.path.source_column for c in self.columns] + [
            c.keyword for c in self.conditions
        ]:
            if name not in needed:
                needed.append(name)
        return needed


@dataclass
class _Reader:
    file: str
    problems: list[Problem] = field(default_factory=list)

    def fail(self, node: yaml.Node | None, reason: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.file, line, reason))

    def mapping(self, node: yaml.Node, what: str) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
        """The (key, value) pairs of a mapping node, each key once (duplicates reported)."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
            return
        seen: set[str] = set()
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.fail(key, f"{what}: keys must be plain names")
                continue
            if key.value in seen:
                self.fail(key, f"{what}: {key.value!r} appears twice")
                continue
            seen.add(key.value)
            yield key, value

    def text(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.fail(node, f"{what} must be a text")
            return None
        return node.value


def _column(reader: _Reader, key: yaml.ScalarNode, node: yaml.Node) -> CustomColumn | None:
    name = key.value
    path_node, description, vr = node, "", None
    if isinstance(node, yaml.MappingNode):
        path_node = None
        for item_key, value in reader.mapping(node, f"column {name!r}"):
            if item_key.value == "path":
                path_node = value
            elif item_key.value == "description":
                description = reader.text(value, f"column {name!r}: description") or ""
            elif item_key.value == "vr":
                vr = reader.text(value, f"column {name!r}: vr")
                if vr is not None and vr not in DECLARABLE_VRS:
                    reader.fail(
                        value,
                        f"column {name!r}: unknown VR {vr!r} (one of {', '.join(DECLARABLE_VRS)})",
                    )
                    return None
            else:
                reader.fail(
                    item_key,
                    f"column {name!r}: unknown key {item_key.value!r} "
                    f"(one of {', '.join(COLUMN_KEYS)})",
                )
        if path_node is None:
            reader.fail(node, f"column {name!r} has no path")
            return None
    text = reader.text(path_node, f"column {name!r}: path")
    if text is None:
        return None
    try:
        resolved = resolve_path(text, vr)
    except (PathError, ValueError) as error:
        kind = "bad path syntax" if type(error).__name__ == "PathSyntaxError" else "bad path"
        reader.fail(path_node, f"column {name!r}: {kind} {text!r}: {error}")
        return None
    return CustomColumn(name, resolved, description.strip())


def _columns(reader: _Reader, node: yaml.Node) -> list[CustomColumn]:
    columns: list[CustomColumn] = []
    fixed = {c.lower(): c for c in HEAD_COLUMNS}
    lowered: set[str] = set()
    for key, value in reader.mapping(node, "columns"):
        name = key.value
        if not COLUMN_RULE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            reader.fail(
                key,
                f"invalid column name {name!r}: lowercase letters, digits and _, "
                "starting with a letter",
            )
            continue
        if name in reserved_words():
            reader.fail(
                key,
                f"invalid column name {name!r}: a reserved SQL word (every query "
                "would have to quote it); choose another name",
            )
            continue
        if name in fixed or name in lowered:
            clash = fixed.get(name, name)
            reader.fail(
                key,
                f"duplicate column name {name!r} (SQL engines ignore case: it "
                f"clashes with {clash!r})",
            )
            continue
        lowered.add(name)
        column = _column(reader, key, value)
        if column is not None:
            columns.append(column)
    if isinstance(node, yaml.MappingNode) and not node.value:
        reader.fail(node, "columns is empty")
    return columns


def _conditions(reader: _Reader, node: yaml.Node) -> list[Condition]:
    conditions = []
    for key, value in reader.mapping(node, "where"):
        nodes = value.value if isinstance(value, yaml.SequenceNode) else [value]
        written = [reader.text(v, f"where {key.value}") for v in nodes]
        if any(w is None for w in written) or not written:
            if not written:
                reader.fail(value, f"where {key.value}: no accepted value")
            continue
        try:
            conditions.append(parse_condition(key.value, written))  # type: ignore[arg-type]
        except (PathError, ValueError) as error:
            reader.fail(key, str(error))
    return conditions


def parse_template(text: str, file: str, name: str) -> Template:
    """A template from its YAML text; :class:`TemplateError` lists every problem found."""
    reader = _Reader(file)
    if not NAME_RULE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        reader.fail(
            None,
            f"invalid template name {name!r}: the file name must be lowercase "
            "letters, digits and _ (e.g. ct_acquisition.yaml)",
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise TemplateError(
            [Problem(file, line, f"not valid YAML: {getattr(error, 'problem', error)}")]
        ) from None
    description, columns, conditions = "", [], []
    if root is None:
        reader.fail(None, "the template is empty (it needs columns)")
    else:
        for key, value in reader.mapping(root, "a template"):
            if key.value == "description":
                description = reader.text(value, "description") or ""
            elif key.value == "where":
                conditions = _conditions(reader, value)
            elif key.value == "columns":
                columns = _columns(reader, value)
            else:
                reader.fail(key, f"unknown key {key.value!r} (one of {', '.join(TOP_KEYS)})")
        if isinstance(root, yaml.MappingNode) and not any(
            k.value == "columns" for k, _ in root.value if isinstance(k, yaml.ScalarNode)
        ):
            reader.fail(root, "the template has no columns")
    if reader.problems:
        raise TemplateError(reader.problems)
    return Template(name, description.strip(), tuple(columns), tuple(conditions), file)


def load_templates(folder: str | Path) -> list[Template]:
    """Every ``*.yaml`` template of ``folder``, by name; :class:`TemplateError` lists the problems
    of every file (a ``.yml`` file is reported rather than ignored)."""
    root = Path(folder)
    if not root.is_dir():
        raise TemplateError([Problem(str(root), 1, "no such folder of templates")])
    templates, problems = [], []
    for path in sorted(root.iterdir()):
        if path.suffix == ".yml":
            problems.append(Problem(str(path), 1, "templates end in .yaml (rename the file)"))
            continue
        if path.suffix != ".yaml" or not path.is_file():
            continue
        try:
            templates.append(parse_template(path.read_text(encoding="utf-8"), str(path), path.stem))
        except TemplateError as error:
            problems.extend(error.problems)
        except UnicodeDecodeError:
            problems.append(Problem(str(path), 1, "not UTF-8 text"))
    if problems:
        raise TemplateError(problems)
    return templates
