"""Every input that ever found a bug (``corpus/<target>/``) and the seeds (``seeds/<target>/``)
pass their fuzz target: read right, or refused with a reason. test_sanitized.py replays them
again under AddressSanitizer and UndefinedBehaviorSanitizer."""

from pathlib import Path

import pytest

from dicom_assets_tests.fuzz.targets import TARGETS

HERE = Path(__file__).parent
INPUTS = sorted(
    p for folder in ("corpus", "seeds") for p in (HERE / folder).glob("*/*") if p.is_file()
)


def test_every_target_has_seeds_and_regressions():
    for target in TARGETS:
        assert list((HERE / "seeds" / target).iterdir()), target
    assert len(list((HERE / "corpus").glob("*/*"))) >= 10


@pytest.mark.parametrize(
    "path", INPUTS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}"
)
def test_input_passes_its_target(path):
    TARGETS[path.parent.name](path.read_bytes())
