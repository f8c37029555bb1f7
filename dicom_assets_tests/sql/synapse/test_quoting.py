"""Identifier and literal quoting: every string round-trips and stays one token."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicom_assets.sql.synapse.quoting import (
    is_valid_identifier,
    quote_ascii_literal,
    quote_identifier,
    quote_literal,
    quote_qualified,
    validate_identifier,
    validate_variable_name,
)
from dicom_assets_tests.sql.tsql_lexer import tokens, unquote_identifier, unquote_string

# Names an attacker would try: closing the bracket, closing a string, comments, batch breaks.
HOSTILE = [
    "x]; DROP DATABASE master; --",
    "a'b",
    "']; EXEC('x'); --",
    "]]",
    "/* c */ SELECT 1",
    "GO",
    "ab]]]",
    "Ümlaut ☃",
]

printable_names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"
    ),
    min_size=1,
    max_size=128,
).filter(lambda name: name.strip() == name and is_valid_identifier(name))


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_identifier_is_one_bracket_token(name: str) -> None:
    quoted = quote_identifier(name)
    assert tokens(quoted) == [("identifier", quoted)]
    assert unquote_identifier(quoted) == name


@given(printable_names)
def test_any_valid_identifier_round_trips(name: str) -> None:
    quoted = quote_identifier(name)
    assert [kind for kind, _ in tokens(quoted)] == ["identifier"]
    assert unquote_identifier(quoted) == name


@given(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=200))
def test_any_literal_round_trips(value: str) -> None:
    quoted = quote_literal(value)
    assert [kind for kind, _ in tokens(quoted)] == ["string"]
    assert unquote_string(quoted) == value
    assert unquote_string(quote_ascii_literal(value)) == value


def test_literal_of_a_quoted_identifier_nests() -> None:
    # OBJECT_ID(N'[dicom].[x'']]y]') style: both levels unwrap to the original name.
    name = "x']y"
    literal = quote_literal(quote_qualified("dicom", name))
    inner = unquote_string(literal)
    assert [unquote_identifier(text) for kind, text in tokens(inner) if kind == "identifier"] == [
        "dicom",
        name,
    ]


@pytest.mark.parametrize(
    "name", ["", " lead", "trail ", "new\nline", "nul\x00", "tab\there", "x" * 129, None]
)
def test_invalid_identifiers_are_rejected(name) -> None:
    with pytest.raises(ValueError):
        validate_identifier(name)
    with pytest.raises(ValueError):
        quote_identifier(name)


def test_literal_rejects_nul_and_non_strings() -> None:
    with pytest.raises(ValueError):
        quote_literal("a\x00b")
    with pytest.raises(TypeError):
        quote_literal(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["SYNAPSE_MASTER_KEY_PASSWORD", "_x1"])
def test_variable_names_accepted(name: str) -> None:
    assert validate_variable_name(name) == name


@pytest.mark.parametrize("name", ["", "1X", "A)'; DROP", "A-B", "$(A)"])
def test_variable_names_rejected(name: str) -> None:
    with pytest.raises(ValueError):
        validate_variable_name(name)
