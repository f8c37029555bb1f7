"""A minimal T-SQL tokenizer for tests: enough to see where identifiers and literals end.

It knows the lexical rules injection would have to break: ``[...]`` identifiers with ``]]``,
``'...'``/``N'...'`` strings with ``''``, ``--`` and ``/* */`` comments. Tests compare token
kinds of scripts generated from hostile and benign names: equal kinds mean no name escaped its
quotes. Also golden helpers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<identifier>\[(?:[^\]]|\]\])*\])
  | (?P<string>N?'(?:[^']|'')*')
  | (?P<variable>@[A-Za-z_][A-Za-z0-9_]*)
  | (?P<word>[A-Za-z_#][A-Za-z0-9_#]*)
  | (?P<number>\d+)
  | (?P<symbol><>|[(),;.=*+<>?-])
    """,
    re.VERBOSE | re.DOTALL,
)

GOLDEN = Path(__file__).parent / "golden"


def tokens(sql: str) -> list[tuple[str, str]]:
    """(kind, text) of every token except blanks; raises on text that is no token at all."""
    found, position = [], 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        if match is None:
            raise ValueError(f"cannot tokenize at {position}: {sql[position : position + 40]!r}")
        if match.lastgroup != "space":
            found.append((match.lastgroup, match.group()))
        position = match.end()
    return found


def shape(sql: str) -> list[str]:
    """Token kinds, with keywords spelled out: the statement's structure without its names."""
    return [text.upper() if kind == "word" else kind for kind, text in tokens(sql)]


def unquote_identifier(token: str) -> str:
    assert token.startswith("[") and token.endswith("]")
    return token[1:-1].replace("]]", "]")


def unquote_string(token: str) -> str:
    body = token.removeprefix("N")
    assert body.startswith("'") and body.endswith("'")
    return body[1:-1].replace("''", "'")


def assert_matches_golden(name: str, text: str) -> None:
    """Compare with ``golden/<name>``; ``DICOM_UPDATE_GOLDEN=1`` rewrites it instead."""
    path = GOLDEN / name
    if os.environ.get("DICOM_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing: run with DICOM_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"output differs from {path}"
