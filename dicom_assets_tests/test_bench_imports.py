"""Every benchmark script still imports: a moved or renamed name breaks ``make bench*`` at once,
and no other test runs those scripts (they take minutes). Importing runs no benchmark: each
script measures under ``if __name__ == "__main__"`` (``schema_corpus.py`` only defines data)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from dicom_assets.config import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def test_the_bench_folder_is_found():
    assert len(SCRIPTS) >= 8 and (BENCH / "bench_schema.py") in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_the_benchmark_script_imports(script: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import their sibling modules
    spec = importlib.util.spec_from_file_location(f"bench_import_check_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert module.__file__ == str(script)
