"""Replays inputs through a target: ``python -m dicom_assets_tests.fuzz.replay TARGET PATH...``
(files, or folders of files). Run by ``make fuzz`` under AddressSanitizer on every input the
fuzzer kept; exits 1 when an input fails its target (a sanitizer report aborts the process)."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from dicom_assets_tests.fuzz import sanitizer
from dicom_assets_tests.fuzz.targets import TARGETS


def main() -> None:
    target, paths = TARGETS[sys.argv[1]], [Path(p) for p in sys.argv[2:]]
    if os.environ.get("DICOM_ASSETS_SANITIZED"):
        sanitizer.install()
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.glob("*")) if f.is_file())
    failed = 0
    for path in files:
        try:
            target(path.read_bytes())
        except Exception:  # noqa: BLE001 - every failure is reported, then the next input
            failed += 1
            print(f"FAILED {path}:\n{traceback.format_exc()}", file=sys.stderr)
    print(f"replayed {len(files)} inputs, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
