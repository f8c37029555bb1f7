"""Fuzz target of the native de-identification pass (atheris-style: bytes in, AssertionError on
a wrong answer; crashes and over-reads are the sanitizers' to report).

``deid(data)``: the input, split at 0x1E into payloads, goes through the native pass with three
profiles; every payload it takes must be byte-equal to the reference's result serialised by
orjson, and every payload it leaves must be one the reference can take (or quarantine).
Register it beside the other targets of ``dicom_assets_tests/fuzz`` (``TARGETS["deid"]``) to run
it under ``make fuzz``; alone: ``python -m dicom_assets_tests.deid.fuzz_deid [libFuzzer args]``
(needs ``atheris``), and ``test_fuzz_deid.py`` replays seeds and mutations of them in the suite.
"""

from __future__ import annotations

import sys

import orjson

from dicom_assets.deid import Deidentifier, DeidSettings

SEPARATOR = b"\x1e"
MAX_PAYLOADS = 6
KEY = "fuzz-key-" + "f" * 40
PROFILES = [
    Deidentifier(DeidSettings.parse("basic", options, KEY))
    for options in ("", "retain-longitudinal-modified-dates", "retain-uids,retain-safe-private")
]


def deid(data: bytes) -> None:
    payloads = data.split(SEPARATOR)[:MAX_PAYLOADS]
    for deidentifier in PROFILES:
        reasons: list[str] = []
        outputs = deidentifier.native.payloads(payloads, reasons)
        assert len(outputs) == len(payloads)
        assert len(reasons) == sum(output is None for output in outputs)
        for payload, output in zip(payloads, outputs, strict=True):
            if output is None:
                continue
            parsed = orjson.loads(payload)  # what the pass takes is JSON the reference reads
            assert isinstance(parsed, dict)
            assert output == orjson.dumps(deidentifier.dataset(parsed)), payload
        # the entries level never raises, whatever the bytes
        deidentifier.metadata(payloads[0])


def main() -> None:  # pragma: no cover - run by hand or by make fuzz
    import atheris

    atheris.Setup(sys.argv, deid)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
