"""The native extensions built with AddressSanitizer and UndefinedBehaviorSanitizer.

``build()`` compiles ``_shredder``, ``_temporal`` and the de-identification pass ``_deid`` with
``-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer`` into ``build/asan/`` (setup.py's
``-O3`` build stays untouched);
``install()`` loads them in place of the regular ones, in a Python started by ``environment()``
(libasan and libubsan preloaded, ``PYTHONMALLOC=malloc`` so every object is its own heap block).
``build("ubsan")`` / ``environment("ubsan")`` give the UndefinedBehaviorSanitizer-only build the
fuzzer runs (gcc's libasan, preloaded, takes over libFuzzer's coverage hooks: see run.py).

CPython keeps a NUL after every ``bytes`` object, which hides one-byte over-reads: ``install()``
wraps the entry points so that the byte after each input is poisoned first (ASan's manual
poisoning), and the splitters and the kernel also get inputs copied into exact-size buffers.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dicom_assets"
NATIVE = PACKAGE / "native"
SANITIZERS = {"asan": "address,undefined", "ubsan": "undefined"}
FLAGS = [
    "-O1",
    "-g",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=undefined",
    "-std=c99",
    "-fPIC",
    "-shared",
]
# module -> (its package, its sources under dicom_assets/)
EXTENSIONS = {
    "_shredder": ("native", ["native/_shredder.c", "native/_split.c"]),
    "_temporal": ("native", ["native/_temporal.c"]),
    "_deid": ("deid", ["deid/_deid.c"]),
}
HEADERS = ["native/_json.h", "native/_split.h"]
# Sanitizer reports: any of these in a run's output is a finding.
REPORT_MARKERS = (
    "ERROR: AddressSanitizer",
    "runtime error:",
    "ERROR: LeakSanitizer",
    "UndefinedBehaviorSanitizer",
)


def _library(name: str) -> str:
    return subprocess.run(
        ["gcc", f"-print-file-name={name}"], capture_output=True, text=True, check=True
    ).stdout.strip()


def module_path(name: str, kind: str = "asan") -> Path:
    return ROOT / "build" / kind / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"


def build(kind: str = "asan") -> Path:
    """Compiles the sanitized extensions when their sources changed; returns the folder."""
    include = sysconfig.get_paths()["include"]
    for name, (_, sources) in EXTENSIONS.items():
        target = module_path(name, kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        inputs = [PACKAGE / s for s in sources + HEADERS]
        if target.exists() and target.stat().st_mtime > max(p.stat().st_mtime for p in inputs):
            continue
        subprocess.run(
            [
                "gcc",
                f"-fsanitize={SANITIZERS[kind]}",
                *FLAGS,
                f"-I{include}",
                f"-I{NATIVE}",
                *(str(PACKAGE / s) for s in sources),
                "-o",
                str(target),
            ],
            check=True,
        )
    return target.parent


def environment(kind: str = "asan") -> dict[str, str]:
    """The environment of a Python that runs the sanitized extensions."""
    env = dict(os.environ)
    env.update(
        {
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
            "PYTHONMALLOC": "malloc",
            "DICOM_ASSETS_SANITIZED": kind,
        }
    )
    if kind == "asan":
        env["LD_PRELOAD"] = f"{_library('libasan.so')}:{_library('libubsan.so')}"
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:halt_on_error=1"
    return env


# Offset of a bytes object's data from its address (CPython's PyBytesObject.ob_sval).
_BYTES_DATA = sys.getsizeof(b"") - 1
_poison = None
CALLS = {
    "shred": 0,
    "split": 0,
    "temporal": 0,
    "deid": 0,
}  # calls into the sanitized code, for the report


def poisoned(data: Any) -> Any:
    """``data`` with the NUL CPython keeps after a ``bytes`` object made unreadable (ASan)."""
    if _poison is not None and type(data) is bytes and len(data) > 1:  # 0/1 bytes: static
        _poison(ctypes.c_void_p(id(data) + _BYTES_DATA + len(data)), ctypes.c_size_t(1))
    return data


def exact(data: Any) -> Any:
    """A copy of a bytes-like input in a buffer of its exact size (nothing readable after)."""
    import numpy as np

    if data is None or not len(memoryview(data)):
        return data
    return memoryview(np.frombuffer(bytes(memoryview(data)), np.uint8).copy())


class _Wrapped:
    """A sanitized module seen through a wrapper: what it does not wrap (its name, its KIND_*
    codes, which dicom_assets.native checks at import) is the module's own."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def __dir__(self) -> list[str]:
        return dir(self._module)


class _Shredder(_Wrapped):
    """The sanitized ``_shredder``, poisoning the byte after every input it reads."""

    def shred(self, payloads: Any, kind_of: Any) -> Any:
        CALLS["shred"] += 1
        for payload in payloads:
            poisoned(payload)
        return self._module.shred(payloads, kind_of)

    def split_array(self, body: Any, keys: Any) -> Any:
        CALLS["split"] += 1
        return self._module.split_array(exact(body), keys)

    def split_member(self, body: Any, member: Any) -> Any:
        CALLS["split"] += 1
        return self._module.split_member(exact(body), member)


class _Deid:
    """The sanitized ``_deid``, poisoning the byte after every payload it reads."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def deidentify(self, payloads: Any, *arguments: Any) -> Any:
        CALLS["deid"] += 1
        for payload in payloads:
            poisoned(payload)
        return self._module.deidentify(payloads, *arguments)


class _Temporal(_Wrapped):
    """The sanitized ``_temporal``, reading Arrow's buffers from exact-size copies (Arrow's own
    allocator is not instrumented)."""

    def parse(self, kind: int, count: int, offset: int, offsets: Any, data: Any) -> Any:
        CALLS["temporal"] += 1
        return self._module.parse(kind, count, offset, exact(offsets), exact(data))


def install() -> None:
    """Loads the sanitized extensions in place of the regular ones (before any conversion)."""
    global _poison
    kind = os.environ.get("DICOM_ASSETS_SANITIZED")
    if kind not in SANITIZERS:
        raise RuntimeError("run under sanitizer.environment()")
    if kind == "asan":
        if "libasan" not in os.environ.get("LD_PRELOAD", ""):
            raise RuntimeError("libasan is not preloaded")
        _poison = ctypes.CDLL(None).__asan_poison_memory_region
        _poison.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    from dicom_assets import native
    from dicom_assets.deid import native as deid_native

    modules = {}
    for name, (package, _) in EXTENSIONS.items():
        spec = importlib.util.spec_from_file_location(
            f"dicom_assets.{package}.{name}", module_path(name, kind)
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[name] = module
    native._shredder = _Shredder(modules["_shredder"])
    native._temporal = _Temporal(modules["_temporal"])
    deid_native._deid = _Deid(modules["_deid"])
