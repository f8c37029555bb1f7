"""atheris (libFuzzer) harness of one target: ``python -m dicom_assets_tests.fuzz.fuzz TARGET
[libFuzzer arguments]``, normally started by ``make fuzz`` (run.py) in a Python with the
sanitizers preloaded, so the extensions under test are the sanitized build."""

from __future__ import annotations

import os
import sys

import atheris

with atheris.instrument_imports(include=["dicom_assets"]):
    from dicom_assets_tests.fuzz import sanitizer
    from dicom_assets_tests.fuzz.targets import TARGETS


def main() -> None:
    name, libfuzzer_args = sys.argv[1], sys.argv[2:]
    if os.environ.get("DICOM_ASSETS_SANITIZED"):
        sanitizer.install()
    target = TARGETS[name]
    atheris.Setup([sys.argv[0], *libfuzzer_args], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
