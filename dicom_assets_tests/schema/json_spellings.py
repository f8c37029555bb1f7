"""One JSON value spelled as many JSON texts (a Hypothesis strategy): both readers of the
shredder must give every spelling the same meaning (test_shredded.py)."""

import math

from hypothesis import strategies as st

# Spellings of the same JSON: escaped characters in names and texts, numbers with exponents,
# "-0", whitespace between tokens. Both readers must give each spelling one meaning.
WHITESPACE = st.sampled_from(["", "", "", " ", "\n ", "\t", "\r\n"])


def _spelled_string(draw: st.DrawFn, text: str) -> str:
    """A JSON string of ``text``, some characters written as ``\\u`` escapes (either case)."""
    out = []
    for char in text:
        code = ord(char)
        must = char in '"\\' or code < 0x20 or 0xD800 <= code <= 0xDFFF
        if not must and draw(st.integers(0, 7)) != 0:
            out.append(char)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(f"\\u{code:04x}" if draw(st.booleans()) else f"\\u{code:04X}")
    return '"' + "".join(out) + '"'


def _spelled_number(draw: st.DrawFn, n: float) -> str:
    """A JSON number of ``n``: ``-0`` for an integer zero at times, exponents for decimals."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        raise TypeError(n)
    if isinstance(n, int):
        return "-0" if n == 0 and draw(st.booleans()) else str(n)
    text = repr(n)
    if not math.isfinite(n):
        return "null"  # as orjson writes them
    if "e" in text or not draw(st.booleans()):
        return text
    whole, _, fraction = text.partition(".")  # -12.5 -> -125e-1, exactly the same number
    sign = "-" if whole.startswith("-") else ""
    digits = (whole.lstrip("-") + fraction).lstrip("0") or "0"
    return f"{sign}{digits}{draw(st.sampled_from(['e', 'E']))}-{len(fraction)}"


def _spelled_value(draw: st.DrawFn, v: object) -> str:
    def ws() -> str:
        return draw(WHITESPACE)

    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, str):
        return _spelled_string(draw, v)
    if isinstance(v, (int, float)):
        return _spelled_number(draw, v)
    if isinstance(v, dict):
        members = [
            ws() + _spelled_string(draw, k) + ws() + ":" + ws() + _spelled_value(draw, x) + ws()
            for k, x in v.items()
        ]
        return "{" + ",".join(members) + "}"
    if isinstance(v, list):
        return "[" + ",".join(ws() + _spelled_value(draw, x) + ws() for x in v) + "]"
    raise TypeError(type(v))


@st.composite
def spelled(draw: st.DrawFn, value: object) -> bytes:
    """``value`` as JSON text, spelled differently at each drawing."""
    return (draw(WHITESPACE) + _spelled_value(draw, value) + draw(WHITESPACE)).encode("utf-8")
