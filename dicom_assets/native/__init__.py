"""The converter's native code, in one place: the shredder and splitters (``_shredder.c`` with
``_split.c``), the date/time kernel (``_temporal.c``), whether each is built, and their codes.

``sources/`` (the splitters cut server answers into per-instance bytes) and ``schema/`` (the
shredder and the kernel read those bytes) both use this module and not each other. It imports
nothing of the project. Every extension is optional: without a C compiler the package installs
and converts with the Python path only (the same tables, slower).

Each extension exports its codes as ``KIND_<NAME>`` integer constants; :func:`codes` reads them
and refuses (ImportError) a build whose names are not the ones Python asks for, e.g. a stale
build after a kind was added to ``schema/kinds.py`` (rebuild with ``make bootstrap``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

try:
    from dicom_assets.native import _shredder
except ImportError:  # not built (e.g. a source checkout without a compiler): Python path only
    _shredder = None

try:
    from dicom_assets.native import _temporal
except ImportError:  # not built: every date and time text goes through the reference parsers
    _temporal = None

_PREFIX = "KIND_"
# The shredder's codes that are not a carrier of values: what it does with an element instead.
SKIP, SEQUENCE, SPAN = "SKIP", "SEQUENCE", "SPAN"

# The shredder's offsets are int32: the payloads of one call stay under 2 GiB together.
SHRED_BATCH_BYTES = 2**31 - 1


def available() -> bool:
    """Whether the shredder and splitters are built."""
    return _shredder is not None


def temporal_available() -> bool:
    """Whether the date/time kernel is built."""
    return _temporal is not None


def codes(module: ModuleType | None, names: Iterable[str]) -> dict[str, int]:
    """``{name: code}`` of an extension's ``KIND_<name>`` constants, which must be exactly
    ``names``; ``{}`` when the extension is not built."""
    if module is None:
        return {}
    exported = {
        attribute.removeprefix(_PREFIX): getattr(module, attribute)
        for attribute in dir(module)
        if attribute.startswith(_PREFIX)
    }
    wanted = set(names)
    if set(exported) != wanted or len(set(exported.values())) != len(exported):
        raise ImportError(
            f"{module.__name__} exports the kinds {sorted(exported.items())}, Python expects "
            f"{sorted(wanted)} (schema/kinds.py): rebuild the extension (make bootstrap)"
        )
    return exported


def shredder_codes(carriers: Iterable[str]) -> dict[str, int]:
    """The shredder's codes: the value ``carriers`` the kinds name, plus SKIP, SEQUENCE, SPAN."""
    return codes(_shredder, {*carriers, SKIP, SEQUENCE, SPAN})


def temporal_codes(names: Iterable[str]) -> dict[str, int]:
    """The kernel's codes of the temporal kinds (``DATE``, ``TIME``, ``DATETIME``)."""
    return codes(_temporal, names)


def shred(payloads: list[bytes | None], kind_of: Callable[[str, int], int]) -> tuple:
    """The shredder's columns of ``payloads`` (see ``_shredder.c``); the shredder must be built."""
    assert _shredder is not None
    return _shredder.shred(payloads, kind_of)


def parse_temporal(code: int, count: int, offset: int, offsets: Any, data: Any) -> tuple:
    """The kernel's (values, slow) buffers of a string array's buffers; it must be built."""
    assert _temporal is not None
    return _temporal.parse(code, count, offset, offsets, data)


def split_array(body: bytes, keys: tuple[str, ...]) -> list[tuple[bytes, tuple[str, ...]]] | None:
    """Each object of a JSON array of DICOM JSON objects as its own bytes, unparsed, with the
    first text value of each top-level tag in ``keys`` ("" when it has none); None when the
    shredder is not built or ``body`` is not such an array (parse it instead)."""
    if _shredder is None:
        return None
    split = _shredder.split_array(body, keys)
    return None if isinstance(split, str) else split


def split_member(body: bytes, member: str) -> list[tuple[bytes, bytes | None]] | None:
    """Each object of a JSON array with its ``member`` cut out when that is a JSON object:
    ``(rest, value)``, ``rest`` holding ``null`` in its place and ``value`` its bytes, unparsed
    (None for an empty object, or a value that is not an object, which stays in ``rest``).
    None when the shredder is not built or ``body`` is not such an array (parse it instead)."""
    if _shredder is None:
        return None
    split = _shredder.split_member(body, member)
    return None if isinstance(split, str) else split
