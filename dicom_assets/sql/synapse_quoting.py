"""Validation and quoting of T-SQL identifiers and string literals.

Every name or value that reaches the generated Synapse script from configuration or from the
lake's data goes through this module. Quoting follows SQL Server's own rules (what
``QUOTENAME`` does): an identifier is wrapped in brackets with ``]`` doubled, a literal is
wrapped in ``N'...'`` with ``'`` doubled. Validation comes first so that values the server
would reject anyway (too long, control characters) fail early with a clear message.
"""

from __future__ import annotations

import re

# sysname is NVARCHAR(128): SQL Server rejects longer identifiers.
MAX_IDENTIFIER_LENGTH = 128

# C0/C1 control characters (including NUL and newlines) have no business in an object name and
# would make the printed script hard to read; everything else is safe once bracket-quoted.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# sqlcmd scripting variables (and environment variables) the script may reference.
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_identifier(name: str, *, what: str = "identifier") -> str:
    """Return ``name`` unchanged if SQL Server can use it as an object or column name.

    Raises ``ValueError`` naming ``what`` (never echoing control characters verbatim).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string")
    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    if _CONTROL_CHARACTERS.search(name):
        raise ValueError(f"{what} {name!r} contains control characters")
    if "$(" in name:
        # sqlcmd substitutes $(VARIABLE) anywhere in a script, even inside brackets and strings:
        # such a name could pull the master key password into the printed script's objects.
        raise ValueError(f"{what} {name!r} contains '$(', which sqlcmd would substitute")
    if name.strip() != name:
        # Leading/trailing blanks are legal in brackets but almost always a configuration typo.
        raise ValueError(f"{what} {name!r} has leading or trailing whitespace")
    return name


def is_valid_identifier(name: str) -> bool:
    """True when :func:`validate_identifier` accepts ``name``."""
    try:
        validate_identifier(name)
    except ValueError:
        return False
    return True


def quote_identifier(name: str) -> str:
    """``[name]`` with ``]`` doubled, after validation (T-SQL ``QUOTENAME(name)``)."""
    validate_identifier(name)
    return "[" + name.replace("]", "]]") + "]"


def quote_qualified(schema: str, name: str) -> str:
    """``[schema].[name]``."""
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


def quote_literal(value: str) -> str:
    """``N'value'`` with ``'`` doubled: a Unicode string literal that cannot end early."""
    if not isinstance(value, str):
        raise TypeError("a T-SQL literal must be a string")
    if "\x00" in value:
        raise ValueError("a T-SQL literal cannot contain NUL characters")
    return "N'" + value.replace("'", "''") + "'"


def quote_ascii_literal(value: str) -> str:
    """``'value'`` with ``'`` doubled, for comparisons with VARCHAR columns (keeps pushdown)."""
    return quote_literal(value)[1:]


def validate_variable_name(name: str, *, what: str = "variable name") -> str:
    """Names usable as sqlcmd ``$(NAME)`` or environment variables: ``[A-Za-z_][A-Za-z0-9_]*``."""
    if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
        raise ValueError(f"{what} {name!r} must match [A-Za-z_][A-Za-z0-9_]*")
    return name
